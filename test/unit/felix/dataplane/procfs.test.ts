// The pure parts of netlink/procfs.ts: /proc/net/if_inet6 as the kernel prints it (if6_seq_show in
// net/ipv6/addrconf.c: the address as 32 hex digits, then ifindex, prefix length, scope and flags
// in hex, then the interface name right-aligned in 8 columns), and the sysctl keys it turns into
// file names. The reads and writes themselves are tested against a kernel in
// test/interop/felix-links-local.test.ts.
import { describe, expect, it } from 'vitest';
import { parseIfInet6, sysctlPath } from '../../../../felix/dataplane/netlink/procfs.ts';
import { FelixError } from '../../../../felix/errors.ts';

const IF_INET6 = [
  '00000000000000000000000000000001 01 80 10 80       lo',
  'fe800000000000000000000000000001 05 40 20 80 mgy0123456789a',
  'fe80000000000000a8c1abfffe12d3e4 05 40 20 80 mgy0123456789a',
  '20010db8000000010000000000000a0b 05 7f 00 80 mgy0123456789a',
  'fe80000000000000b0b1b2fffeb3b4b5 06 40 20 80 mgyffffffffffff',
  'fd000000000000000000000000000011 07 30 00 80     eth0',
  '',
].join('\n');

describe('parseIfInet6', () => {
  it('gives the addresses of the named interfaces, canonical, with their prefix lengths', () => {
    const got = parseIfInet6(IF_INET6, new Set(['lo', 'mgy0123456789a', 'eth0', 'mgy-absent']));
    expect(Object.fromEntries(got)).toEqual({
      lo: ['::1/128'],
      mgy0123456789a: ['fe80::1/64', 'fe80::a8c1:abff:fe12:d3e4/64', '2001:db8:0:1::a0b/127'],
      eth0: ['fd00::11/48'],
    });
  });

  it('an interface with no line is absent; an empty file is an empty map', () => {
    expect(parseIfInet6(IF_INET6, new Set(['mgy-absent'])).size).toBe(0);
    expect(parseIfInet6('', new Set(['lo'])).size).toBe(0);
  });

  it('a malformed line of a named interface is a parse error', () => {
    const bad = 'fe80::1 05 40 20 80 mgy0123456789a\n';
    expect(() => parseIfInet6(bad, new Set(['mgy0123456789a']))).toThrow(FelixError);
  });
});

describe('sysctlPath', () => {
  it('is the key under /proc/sys; dots in an interface name stay', () => {
    expect(sysctlPath('net/ipv4/conf/mgy.1/proxy_arp')).toBe('/proc/sys/net/ipv4/conf/mgy.1/proxy_arp');
  });
  it('refuses a key that would leave its directory or is empty', () => {
    for (const key of ['net/ipv4/conf/../../../etc/x', 'net/ipv4/conf/./forwarding', '', '/net/ipv4/x'])
      expect(() => sysctlPath(key), key).toThrow(FelixError);
  });
});
