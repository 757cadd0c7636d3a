// UDP sockets for single-hop BFD (RFC 5881): control packets go to port 3784 from a source port
// in 49152–65535 with TTL (hop limit) 255, and a packet that arrives with any other TTL is
// dropped, since only a directly connected neighbour can send one with 255 (the Generalized TTL
// Security Mechanism, RFC 5082).
//
// The receive check is a classic BPF socket filter (SO_ATTACH_FILTER) that loads the TTL byte of
// the IPv4 header (offset 8) or the hop limit of the IPv6 header (offset 7) through the kernel's
// network-header offset (SKF_NET_OFF) and drops the packet unless it is 255. IP_MINTTL and
// IPV6_MINHOPCOUNT, which do this for TCP, are not applied to UDP sockets by Linux.
//
// The socket is created and bound here through libc (koffi), with the filter attached before
// bind so no packet is queued unchecked, and then handed to a Node dgram socket with
// `bind({ fd })`, which reads and writes it on the event loop.
import { constants } from 'node:os';
import { parseIp } from '../addr.ts';
import { firstLine, loadLibc } from '../libc.ts';
import { setTtl } from '../session/sockopt.ts';

/** The destination port of single-hop BFD control packets (RFC 5881 §4). */
export const BFD_CONTROL_PORT = 3784;
/** The range source ports of control packets come from (RFC 5881 §4). */
export const SOURCE_PORT_MIN = 49152;
export const SOURCE_PORT_MAX = 65535;

// Linux uapi values (socket.h, in.h, in6.h, filter.h).
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_ATTACH_FILTER = 26;
const IPPROTO_IPV6 = 41;
const IPV6_V6ONLY = 26;
const SKF_NET_OFF = -0x100000;
const BPF_LD_B_ABS = 0x30;
const BPF_JEQ_K = 0x15;
const BPF_RET_K = 0x06;

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, length: number): number;
  attachFilter(fd: number, program: { len: number; filter: Buffer }): number;
  bind(fd: number, address: Buffer, length: number): number;
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
    koffi.struct('margay_bfd_sock_fprog', { len: 'uint16_t', filter: 'void *' });
    const attach = fn(
      'int setsockopt(int fd, int level, int name, const margay_bfd_sock_fprog *value, uint32_t length)',
    );
    const libc: Libc = {
      socket: fn('int socket(int domain, int type, int protocol)'),
      setsockopt: fn('int setsockopt(int fd, int level, int name, const void *value, uint32_t length)'),
      // struct sock_fprog is a length and a pointer: 16 bytes on a 64-bit ABI.
      attachFilter: (fd, program) => attach(fd, SOL_SOCKET, SO_ATTACH_FILTER, program, 16),
      bind: fn('int bind(int fd, const void *address, uint32_t length)'),
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
  if (loaded.libc === undefined) throw new Error(`BFD sockets unavailable: ${loaded.reason}`);
  return loaded.libc;
}

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/** An error from a failed libc call, with the errno's name as its `code`. */
export class BfdSocketError extends Error {
  readonly code: string;
  constructor(call: string, errno: number) {
    const code = ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
    super(`BFD ${call}: ${code}`);
    this.code = code;
  }
}

/**
 * The socket filter that accepts a datagram only when the TTL (hop limit) in its IP header is 255:
 * load the byte, compare, accept the whole packet or none of it.
 */
export function ttl255Filter(family: 4 | 6): Buffer {
  const program: [number, number, number, number][] = [
    [BPF_LD_B_ABS, 0, 0, (SKF_NET_OFF + (family === 4 ? 8 : 7)) >>> 0],
    [BPF_JEQ_K, 0, 1, 255],
    [BPF_RET_K, 0, 0, 0xffff_ffff],
    [BPF_RET_K, 0, 0, 0],
  ];
  const b = Buffer.alloc(program.length * 8);
  program.forEach(([code, jt, jf, k], i) => {
    b.writeUInt16LE(code, i * 8);
    b[i * 8 + 2] = jt;
    b[i * 8 + 3] = jf;
    b.writeUInt32LE(k, i * 8 + 4);
  });
  return b;
}

/** struct sockaddr_in / sockaddr_in6 for `address` (empty: the wildcard of `family`) and `port`. */
export function sockaddr(family: 4 | 6, address: string, port: number): Buffer {
  const ip = address === '' ? undefined : parseIp(address);
  if (address !== '' && (ip === undefined || ip.family !== family))
    throw new Error(`BFD local address ${address} is not an IPv${family} address`);
  if (family === 4) {
    const b = Buffer.alloc(16);
    b.writeUInt16LE(AF_INET, 0);
    b.writeUInt16BE(port, 2);
    if (ip !== undefined) b.set(ip.bytes, 4);
    return b;
  }
  const b = Buffer.alloc(28);
  b.writeUInt16LE(AF_INET6, 0);
  b.writeUInt16BE(port, 2);
  if (ip !== undefined) b.set(ip.bytes, 8);
  return b;
}

export interface BfdSocketOptions {
  readonly family: 4 | 6;
  /** The local address to bind, or '' for any. */
  readonly address: string;
  readonly port: number;
}

/**
 * A non-blocking, close-on-exec UDP socket bound to `address`:`port` that sends with TTL 255 and
 * receives only datagrams that arrived with TTL 255; an IPv6 socket is IPv6-only. The caller
 * hands the descriptor to a dgram socket's `bind({ fd })`. Throws BfdSocketError (code
 * EADDRINUSE when the port is taken) and closes the descriptor on any failure.
 */
export function openBfdSocket(options: BfdSocketOptions): number {
  const c = libc();
  const { family } = options;
  const address = sockaddr(family, options.address, options.port);
  const fd = c.socket(family === 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw new BfdSocketError('socket', c.errno());
  try {
    if (family === 6) {
      const one = Buffer.alloc(4);
      one.writeInt32LE(1);
      if (c.setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, one, 4) !== 0)
        throw new BfdSocketError('setsockopt(IPV6_V6ONLY)', c.errno());
    }
    const filter = ttl255Filter(family);
    if (c.attachFilter(fd, { len: filter.length / 8, filter }) !== 0)
      throw new BfdSocketError('setsockopt(SO_ATTACH_FILTER)', c.errno());
    setTtl(fd, 255);
    if (c.bind(fd, address, address.length) !== 0)
      throw new BfdSocketError(`bind(${options.address || 'any'}:${options.port})`, c.errno());
  } catch (err) {
    c.close(fd);
    throw err;
  }
  return fd;
}

/**
 * openBfdSocket on a source port drawn from 49152–65535, trying others while the port drawn is
 * in use. Returns the descriptor and the port.
 */
export function openSourceSocket(
  family: 4 | 6,
  address: string,
  random: () => number = Math.random,
): { fd: number; port: number } {
  const span = SOURCE_PORT_MAX - SOURCE_PORT_MIN + 1;
  let port = SOURCE_PORT_MIN + Math.floor(random() * span);
  for (let tries = 0; tries < 64; tries++) {
    try {
      return { fd: openBfdSocket({ family, address, port }), port };
    } catch (err) {
      if (!(err instanceof BfdSocketError) || err.code !== 'EADDRINUSE') throw err;
      port = SOURCE_PORT_MIN + ((port - SOURCE_PORT_MIN + 1 + Math.floor(random() * 97)) % span);
    }
  }
  throw new Error(`BFD: no free source port in ${SOURCE_PORT_MIN}-${SOURCE_PORT_MAX} on ${address || 'any'}`);
}
