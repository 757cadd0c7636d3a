// The bytes bgp/bfd/udp.ts hands the kernel, written out by hand: the classic BPF program that
// keeps only TTL 255 datagrams (linux/filter.h) and the socket addresses (netinet/in.h).
import { describe, expect, it } from 'vitest';
import { sockaddr, ttl255Filter } from '../../../../bgp/bfd/udp.ts';

/** One struct sock_filter: u16 code, u8 jt, u8 jf, u32 k, little-endian. */
function insn(code: number, jt: number, jf: number, k: number): number[] {
  return [code & 0xff, code >> 8, jt, jf, k & 0xff, (k >>> 8) & 0xff, (k >>> 16) & 0xff, k >>> 24];
}

describe('BFD UDP sockets', () => {
  it('filters on the IPv4 TTL byte, offset 8 of the network header', () => {
    // ldb [SKF_NET_OFF + 8]; jeq #255, 0, 1; ret #-1; ret #0  (SKF_NET_OFF = -0x100000)
    expect([...ttl255Filter(4)]).toEqual([
      ...insn(0x30, 0, 0, 0xfff0_0008),
      ...insn(0x15, 0, 1, 255),
      ...insn(0x06, 0, 0, 0xffff_ffff),
      ...insn(0x06, 0, 0, 0),
    ]);
  });

  it('filters on the IPv6 hop limit, offset 7 of the network header', () => {
    expect([...ttl255Filter(6).subarray(0, 8)]).toEqual(insn(0x30, 0, 0, 0xfff0_0007));
    expect(ttl255Filter(6).subarray(8)).toEqual(ttl255Filter(4).subarray(8));
  });

  it('binds sockaddr_in and sockaddr_in6 with the port in network order', () => {
    expect([...sockaddr(4, '192.0.2.1', 3784)]).toEqual([
      2, 0, 0x0e, 0xc8, 192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    expect([...sockaddr(4, '', 49152)]).toEqual([2, 0, 0xc0, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const v6 = [10, 0, 0xff, 0xff, 0, 0, 0, 0, 0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 1, 0, 0, 0, 0];
    expect([...sockaddr(6, '2001:db8::1', 65535)]).toEqual(v6);
  });

  it('refuses an address of the other family', () => {
    expect(() => sockaddr(4, '2001:db8::1', 3784)).toThrow(/not an IPv4 address/);
    expect(() => sockaddr(6, '192.0.2.1', 3784)).toThrow(/not an IPv6 address/);
    expect(() => sockaddr(4, 'tor-1', 3784)).toThrow(/not an IPv4 address/);
  });
});
