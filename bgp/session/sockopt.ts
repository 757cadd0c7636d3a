// TCP socket options Node has no API for, set with setsockopt(2) on the socket's descriptor:
// TCP_MD5SIG (RFC 2385 signatures, one key per peer address), IP_TTL / IPV6_UNICAST_HOPS (the TTL
// our segments leave with: 255 for TTL security, the hop count for eBGP multihop) and IP_MINTTL /
// IPV6_MINHOPCOUNT (RFC 5082: the kernel drops segments that arrive with a lower TTL).
//
// libc is called through koffi, a foreign-function package with prebuilt binaries, loaded on first
// use. Where it cannot be loaded (a bundle without native modules), `sockoptSupport()` says why
// and every call here throws BGP_ERR_SOCKOPT: a peer that asks for a password or TTL security then
// never connects, rather than connecting without the protection it asked for.
//
// The descriptor of a Node socket is `_handle.fd` (Linux, TCP handles). An outgoing connection
// needs its key before the SYN leaves, and Node creates the descriptor only inside connect(), so
// `openTcpSocket` creates it here (non-blocking, close-on-exec), sets the options, and the caller
// hands it to `new net.Socket({ fd })` and connects that socket: Node's connect() uses the
// descriptor it was given. A listening socket keeps one key per peer address; the kernel copies
// the keys and TTL options of the listener to each connection it accepts.
import type { Server, Socket } from 'node:net';
import { constants } from 'node:os';
import { parseIp } from '../addr.ts';
import { BgpError } from '../errors.ts';
import { firstLine, loadLibc } from '../libc.ts';

// Linux uapi values (socket.h, in.h, in6.h, tcp.h).
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_DOMAIN = 39;
const IPPROTO_IP = 0;
const IPPROTO_TCP = 6;
const IPPROTO_IPV6 = 41;
const IP_TTL = 2;
const IP_MINTTL = 21;
const IPV6_UNICAST_HOPS = 16;
const IPV6_MINHOPCOUNT = 73;
const TCP_MD5SIG = 14;
const TCP_SAVE_SYN = 27;
const TCP_SAVED_SYN = 28;
/** Room for the saved SYN's IP and TCP headers (IPv6 40 + TCP with options 60). */
const SAVED_SYN_BYTES = 128;

/** The longest TCP-MD5 key the kernel takes (TCP_MD5SIG_MAXKEYLEN), in octets. */
export const MD5_MAX_KEY_OCTETS = 80;
/** sizeof(struct tcp_md5sig): sockaddr_storage (128), flags, prefixlen, keylen, ifindex, key. */
export const MD5SIG_STRUCT_BYTES = 128 + 1 + 1 + 2 + 4 + MD5_MAX_KEY_OCTETS;
const KEYLEN_OFFSET = 130;
const KEY_OFFSET = 136;

export type SocketFamily = 4 | 6;

const V4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] as const;

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, length: number): number;
  getsockopt(fd: number, level: number, name: number, value: Buffer, length: number[]): number;
  close(fd: number): number;
  errno(): number;
}

type Loaded = { readonly libc: Libc } | { readonly libc: undefined; readonly reason: string };
let loaded: Loaded | undefined;

function load(): Loaded {
  try {
    const c = loadLibc();
    if (c.koffi === undefined) return { libc: undefined, reason: c.reason };
    const { koffi, lib } = c;
    const fn = (signature: string) => lib.func(signature) as (...args: unknown[]) => number;
    const getsockopt = fn(
      'int getsockopt(int fd, int level, int name, void *value, _Inout_ uint32_t *length)',
    );
    const libc: Libc = {
      socket: fn('int socket(int domain, int type, int protocol)'),
      setsockopt: fn('int setsockopt(int fd, int level, int name, const void *value, uint32_t length)'),
      getsockopt: (fd, level, name, value, length) => getsockopt(fd, level, name, value, length),
      close: fn('int close(int fd)'),
      errno: () => koffi.errno(),
    };
    return { libc };
  } catch (err) {
    return { libc: undefined, reason: firstLine(err) };
  }
}

function libc(): Libc {
  loaded ??= load();
  if (loaded.libc === undefined) {
    throw new BgpError('BGP_ERR_SOCKOPT', `socket options unavailable: ${loaded.reason}`);
  }
  return loaded.libc;
}

/** Whether the options can be set here, and why not. */
export function sockoptSupport(): { readonly ok: true } | { readonly ok: false; readonly reason: string } {
  loaded ??= load();
  return loaded.libc !== undefined ? { ok: true } : { ok: false, reason: loaded.reason };
}

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));

function fail(call: string, errno: number): never {
  throw new BgpError('BGP_ERR_SOCKOPT', `${call}: ${ERRNO_NAMES.get(errno) ?? `errno ${errno}`}`);
}

/**
 * struct tcp_md5sig for `address` on a socket of `socketFamily`: the key, or no key (length 0),
 * which removes the address's key. An IPv6 socket takes IPv4 peers as IPv4-mapped addresses (a
 * dual-stack listener); an IPv4 socket takes only IPv4 addresses. Throws BGP_ERR_SOCKOPT when the
 * key is longer than the kernel takes or the address does not fit the socket.
 */
export function encodeMd5Sig(socketFamily: SocketFamily, address: string, key: string | null): Buffer {
  const keyBytes = Buffer.from(key ?? '', 'utf8');
  if (keyBytes.length > MD5_MAX_KEY_OCTETS) {
    throw new BgpError('BGP_ERR_SOCKOPT', `TCP-MD5 key of ${keyBytes.length} octets is longer than 80`);
  }
  const ip = parseIp(address);
  if (ip === undefined) throw new BgpError('BGP_ERR_SOCKOPT', `${address} is not an IP address`);
  if (ip.family === 6 && socketFamily === 4) {
    throw new BgpError('BGP_ERR_SOCKOPT', `${address} cannot have a key on an IPv4 socket`);
  }
  const b = Buffer.alloc(MD5SIG_STRUCT_BYTES);
  if (socketFamily === 4) {
    // struct sockaddr_in: family (host order), port, address.
    b.writeUInt16LE(AF_INET, 0);
    b.set(ip.bytes, 4);
  } else {
    // struct sockaddr_in6: family, port, flowinfo, address at offset 8; an IPv4 peer as ::ffff:a.b.c.d.
    b.writeUInt16LE(AF_INET6, 0);
    b.set(ip.family === 4 ? [...V4_MAPPED_PREFIX, ...ip.bytes] : ip.bytes, 8);
  }
  b.writeUInt16LE(keyBytes.length, KEYLEN_OFFSET);
  b.set(keyBytes, KEY_OFFSET);
  return b;
}

/** The descriptor of a Node TCP socket or server, or throws when it has none (not yet open). */
export function descriptorOf(handleOwner: Socket | Server): number {
  const fd = (handleOwner as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new BgpError('BGP_ERR_SOCKOPT', 'socket has no descriptor');
  return fd;
}

function setInt(fd: number, level: number, name: number, value: number, call: string): void {
  const b = Buffer.alloc(4);
  b.writeInt32LE(value);
  if (libc().setsockopt(fd, level, name, b, 4) !== 0) fail(call, libc().errno());
}

/** The address family of the socket behind `fd` (SO_DOMAIN). */
export function socketFamilyOf(fd: number): SocketFamily {
  const b = Buffer.alloc(4);
  if (libc().getsockopt(fd, SOL_SOCKET, SO_DOMAIN, b, [4]) !== 0)
    fail('getsockopt(SO_DOMAIN)', libc().errno());
  const domain = b.readInt32LE();
  if (domain === AF_INET) return 4;
  if (domain === AF_INET6) return 6;
  throw new BgpError('BGP_ERR_SOCKOPT', `socket of address family ${domain} is not IP`);
}

/** Sets (or with null removes) the TCP-MD5 key for segments to and from `address`. */
export function setMd5Key(fd: number, address: string, key: string | null): void {
  const value = encodeMd5Sig(socketFamilyOf(fd), address, key);
  if (libc().setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, value, value.length) !== 0) {
    const errno = libc().errno();
    // Removing a key the socket does not have is what was asked for.
    if (key === null && errno === constants.errno.ENOENT) return;
    fail(`setsockopt(TCP_MD5SIG, ${address})`, errno);
  }
}

/**
 * The TTL (hop limit) of the segments this socket sends; -1 restores the system default. On an
 * IPv6 socket both options are set: IPv4-mapped connections of a dual-stack socket use IP_TTL.
 */
export function setTtl(fd: number, ttl: number): void {
  if (!Number.isInteger(ttl) || ttl < -1 || ttl === 0 || ttl > 255) {
    throw new BgpError('BGP_ERR_SOCKOPT', `TTL ${ttl} is not in 1..255`);
  }
  setInt(fd, IPPROTO_IP, IP_TTL, ttl, 'setsockopt(IP_TTL)');
  if (socketFamilyOf(fd) === 6)
    setInt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, ttl, 'setsockopt(IPV6_UNICAST_HOPS)');
}

/** Segments arriving with a TTL (hop limit) below `minTtl` are dropped (0 accepts all). */
export function setMinTtl(fd: number, minTtl: number): void {
  if (!Number.isInteger(minTtl) || minTtl < 0 || minTtl > 255) {
    throw new BgpError('BGP_ERR_SOCKOPT', `minimum TTL ${minTtl} is not in 0..255`);
  }
  setInt(fd, IPPROTO_IP, IP_MINTTL, minTtl, 'setsockopt(IP_MINTTL)');
  if (socketFamilyOf(fd) === 6)
    setInt(fd, IPPROTO_IPV6, IPV6_MINHOPCOUNT, minTtl, 'setsockopt(IPV6_MINHOPCOUNT)');
}

/**
 * Makes a listening socket keep the headers of each connection's SYN (TCP_SAVE_SYN), for
 * `savedSynTtl`: the minimum TTL of an accepted connection is set only once it is accepted,
 * after its first segments may have been queued, so the TTL its SYN arrived with is what tells
 * whether the peer is as near as TTL security requires.
 */
export function setSaveSyn(fd: number, on: boolean): void {
  setInt(fd, IPPROTO_TCP, TCP_SAVE_SYN, on ? 1 : 0, 'setsockopt(TCP_SAVE_SYN)');
}

/**
 * The TTL (hop limit) the SYN of the accepted connection `fd` arrived with, from the headers its
 * listener saved (and hands out once); undefined when none were saved.
 */
export function savedSynTtl(fd: number): number | undefined {
  const c = libc();
  const b = Buffer.alloc(SAVED_SYN_BYTES);
  const length = [SAVED_SYN_BYTES];
  if (c.getsockopt(fd, IPPROTO_TCP, TCP_SAVED_SYN, b, length) !== 0) {
    const errno = c.errno();
    if (errno === constants.errno.ENOENT) return undefined;
    fail('getsockopt(TCP_SAVED_SYN)', errno);
  }
  if ((length[0] ?? 0) < 20) return undefined;
  return parseSynTtl(b.subarray(0, length[0]));
}

/** The TTL of an IPv4 header (octet 8) or hop limit of an IPv6 header (octet 7). */
export function parseSynTtl(headers: Uint8Array): number | undefined {
  const version = (headers[0] ?? 0) >> 4;
  if (version === 4) return headers[8];
  if (version === 6) return headers[7];
  return undefined;
}

/** What a BGP connection to one peer needs from its socket; absent fields are left alone. */
export interface TcpSecurity {
  /** The TCP-MD5 key shared with the peer. */
  readonly password?: string;
  /** The TTL our segments leave with. */
  readonly ttl?: number;
  /** The lowest TTL accepted from the peer (RFC 5082). */
  readonly minTtl?: number;
}

/** Applies `security` to the connection socket `fd` whose peer is `address`. */
export function applyTcpSecurity(fd: number, address: string, security: TcpSecurity): void {
  if (security.password !== undefined) setMd5Key(fd, address, security.password);
  if (security.ttl !== undefined) setTtl(fd, security.ttl);
  if (security.minTtl !== undefined) setMinTtl(fd, security.minTtl);
}

/**
 * A new non-blocking, close-on-exec TCP socket of `family` with `security` applied to it for
 * the connection to `address`, ready to be handed to `new net.Socket({ fd })` and connected.
 * The descriptor is closed again when an option cannot be set.
 */
export function openTcpSocket(family: SocketFamily, address: string, security: TcpSecurity): number {
  const c = libc();
  const fd = c.socket(family === 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) fail('socket', c.errno());
  try {
    applyTcpSecurity(fd, address, security);
  } catch (err) {
    c.close(fd);
    throw err;
  }
  return fd;
}
