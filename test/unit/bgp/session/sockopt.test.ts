// bgp/session/sockopt.ts: the struct tcp_md5sig it hands the kernel (laid out as in
// include/uapi/linux/tcp.h and netinet/in.h, written out here byte by byte), the values it refuses,
// and the options on real sockets of this kernel over 127.0.0.1.
import { createServer, type Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  descriptorOf,
  encodeMd5Sig,
  openTcpSocket,
  parseSynTtl,
  savedSynTtl,
  setMd5Key,
  setMinTtl,
  setSaveSyn,
  setTtl,
  socketFamilyOf,
} from '../../../../bgp/session/sockopt.ts';

describe('encodeMd5Sig', () => {
  it('lays out an IPv4 peer on an IPv4 socket as sockaddr_in', () => {
    const b = encodeMd5Sig(4, '192.0.2.7', 'abc');
    expect(b.length).toBe(216);
    // sa_family AF_INET = 2 in host (little-endian) order, port 0, then the address.
    expect([...b.subarray(0, 8)]).toEqual([2, 0, 0, 0, 192, 0, 2, 7]);
    // flags, prefixlen, keylen (3, host order), ifindex.
    expect([...b.subarray(128, 136)]).toEqual([0, 0, 3, 0, 0, 0, 0, 0]);
    expect(b.subarray(136, 139).toString()).toBe('abc');
    expect(b.subarray(139).every((x) => x === 0)).toBe(true);
  });

  it('lays out an IPv6 peer as sockaddr_in6 and an IPv4 one as IPv4-mapped on an IPv6 socket', () => {
    const v6 = encodeMd5Sig(6, '2001:db8::1', 'k');
    expect([...v6.subarray(0, 8)]).toEqual([10, 0, 0, 0, 0, 0, 0, 0]);
    expect([...v6.subarray(8, 24)]).toEqual([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(v6.readUInt16LE(130)).toBe(1);
    const mapped = encodeMd5Sig(6, '10.1.2.3', 'k');
    expect([...mapped.subarray(8, 24)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3]);
  });

  it('counts the key in UTF-8 octets and takes 80 at most', () => {
    expect(encodeMd5Sig(4, '192.0.2.7', 'é').readUInt16LE(130)).toBe(2);
    expect(encodeMd5Sig(4, '192.0.2.7', 'x'.repeat(80)).readUInt16LE(130)).toBe(80);
    expect(() => encodeMd5Sig(4, '192.0.2.7', 'x'.repeat(81))).toThrow(/81 octets/);
    expect(() => encodeMd5Sig(4, '192.0.2.7', 'é'.repeat(41))).toThrow(
      expect.objectContaining({ code: 'BGP_ERR_SOCKOPT' }),
    );
  });

  it('removes a key with key length 0', () => {
    const b = encodeMd5Sig(4, '192.0.2.7', null);
    expect(b.readUInt16LE(130)).toBe(0);
  });

  it('refuses an IPv6 peer on an IPv4 socket and what is no address', () => {
    expect(() => encodeMd5Sig(4, '2001:db8::1', 'k')).toThrow(/IPv4 socket/);
    expect(() => encodeMd5Sig(6, 'peer.example', 'k')).toThrow(/not an IP address/);
  });
});

describe('parseSynTtl', () => {
  it('reads the TTL of an IPv4 header and the hop limit of an IPv6 one', () => {
    expect(parseSynTtl(Uint8Array.from([0x45, 0, 0, 60, 0, 0, 0x40, 0, 254, 6]))).toBe(254);
    expect(parseSynTtl(Uint8Array.from([0x60, 0, 0, 0, 0, 40, 6, 253]))).toBe(253);
    expect(parseSynTtl(Uint8Array.from([0x10, 0, 0, 0, 0, 0, 0, 9, 9]))).toBeUndefined();
  });
});

describe('options on real sockets', () => {
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  const listen = async (): Promise<Server> => {
    const server = createServer((s) => {
      sockets.push(s);
      s.end('ok');
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return server;
  };

  it('connects with the same key on both sides, the key set before connect', async () => {
    const server = await listen();
    const sfd = descriptorOf(server);
    expect(socketFamilyOf(sfd)).toBe(4);
    setMd5Key(sfd, '127.0.0.1', 'same secret');
    const fd = openTcpSocket(4, '127.0.0.1', { password: 'same secret', ttl: 255, minTtl: 1 });
    const socket = new Socket({ fd, readable: true, writable: true });
    sockets.push(socket);
    const port = (server.address() as { port: number }).port;
    const received = new Promise<string>((resolve, reject) => {
      let text = '';
      socket.on('data', (d) => {
        text += d.toString();
      });
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    socket.connect({ host: '127.0.0.1', port });
    expect(await received).toBe('ok');
  });

  it('removes a key, and removing a key the socket does not have is no error', async () => {
    const server = await listen();
    const fd = descriptorOf(server);
    setMd5Key(fd, '127.0.0.2', 'k');
    setMd5Key(fd, '127.0.0.2', null);
    expect(() => setMd5Key(fd, '127.0.0.3', null)).not.toThrow();
  });

  it('sets TTLs on an IPv6 socket and refuses values out of range', () => {
    const fd = openTcpSocket(6, '::1', {});
    const socket = new Socket({ fd });
    sockets.push(socket);
    expect(socketFamilyOf(fd)).toBe(6);
    expect(() => setTtl(fd, 255)).not.toThrow();
    expect(() => setTtl(fd, -1)).not.toThrow();
    expect(() => setMinTtl(fd, 254)).not.toThrow();
    expect(() => setTtl(fd, 0)).toThrow(/TTL 0 is not in 1..255/);
    expect(() => setTtl(fd, 256)).toThrow(expect.objectContaining({ code: 'BGP_ERR_SOCKOPT' }));
    expect(() => setMinTtl(fd, 256)).toThrow(/minimum TTL 256/);
  });

  it('tells the TTL a SYN arrived with, from the headers the listener saved', async () => {
    let accepted: (fd: number) => void = () => {};
    const fdOfAccepted = new Promise<number>((r) => {
      accepted = r;
    });
    const server = createServer((s) => {
      sockets.push(s);
      accepted(descriptorOf(s));
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    setSaveSyn(descriptorOf(server), true);
    const fd = openTcpSocket(4, '127.0.0.1', { ttl: 77 });
    const socket = new Socket({ fd, readable: true, writable: true });
    sockets.push(socket);
    socket.connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port });
    const serverSide = await fdOfAccepted;
    expect(savedSynTtl(serverSide)).toBe(77);
    // Handed out once.
    expect(savedSynTtl(serverSide)).toBeUndefined();
  });

  it('names the failing call and errno', () => {
    expect(() => setTtl(1_000_000, 64)).toThrow(/EBADF/);
  });
});
