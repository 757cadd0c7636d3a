// Addresses and CIDRs for the BGP library: the one parser, validator and canonical formatter of
// address text outside the packed codec, built on ipaddr.js. felix/model/addr.ts is its twin for
// the dataplane library (the two libraries import nothing from each other);
// test/property/addr-ipaddr.test.ts holds both to the same answers, and holds the codec's own
// packing and formatting (wire/prefix.ts, which parses every prefix UpdateWriter packs and formats
// every prefix it decodes) to this module.
//
// Parsing is strict where ipaddr.js is lenient: IPv4 is four dotted decimal octets without leading
// zeros ("010.1.1.1" is octal to inet_aton and refused by inet_pton, so it is refused here; so are
// "10.1", "0x0a.0.0.1" and other classful forms), IPv6 takes no zone and its dotted tail
// ("::ffff:192.0.2.1") follows the IPv4 rule, and a prefix length is decimal without leading
// zeros. ipaddr.js reads "::192.0.2.1" as the IPv4-mapped ::ffff:192.0.2.1; it is the
// IPv4-compatible address ::c000:201, so the dotted tail is turned into two hex groups before
// ipaddr.js sees the text.
//
// Canonical text is what glibc's inet_ntop writes (and so BIRD, FRR, `ip` and the dataplane):
// IPv4 dotted decimal; IPv6 per RFC 5952 (lowercase, no leading zeros, the first longest run of
// two or more zero groups as "::"), with a dotted tail for IPv4-mapped (::ffff:a.b.c.d) and
// IPv4-compatible (::a.b.c.d) addresses.
import ipaddr from 'ipaddr.js';

/** An address family: 4 or 6. Edges that speak another vocabulary convert there. */
export type IpFamily = 4 | 6;

export interface IpAddress {
  readonly family: IpFamily;
  /** 4 or 16 bytes, network order. */
  readonly bytes: readonly number[];
}

export interface IpCidr {
  readonly family: IpFamily;
  /** The network address, host bits zero: 4 or 16 bytes. */
  readonly bytes: readonly number[];
  readonly length: number;
}

const V4_TEXT = /^(?:0|[1-9][0-9]{0,2})(?:\.(?:0|[1-9][0-9]{0,2})){3}$/;
const V6_TEXT = /^[0-9A-Fa-f:]*$/;
const LENGTH_TEXT = /^(?:0|[1-9][0-9]{0,2})$/;

function parseV4Bytes(text: string): number[] | undefined {
  if (!V4_TEXT.test(text)) return undefined;
  try {
    return ipaddr.IPv4.parse(text).toByteArray();
  } catch {
    return undefined; // an octet above 255
  }
}

function parseV6Bytes(text: string): number[] | undefined {
  let hex = text;
  const lastColon = text.lastIndexOf(':');
  if (lastColon < 0) return undefined;
  if (text.indexOf('.', lastColon) >= 0) {
    const tail = parseV4Bytes(text.slice(lastColon + 1));
    if (tail === undefined) return undefined;
    hex = `${text.slice(0, lastColon + 1)}${((tail[0]! << 8) | tail[1]!).toString(16)}:${((tail[2]! << 8) | tail[3]!).toString(16)}`;
  }
  if (!V6_TEXT.test(hex)) return undefined;
  try {
    return ipaddr.IPv6.parse(hex).toByteArray();
  } catch {
    return undefined;
  }
}

/** An IPv4 or IPv6 address in the strict spelling above, or undefined. */
export function parseIp(text: string): IpAddress | undefined {
  if (text.includes(':')) {
    const bytes = parseV6Bytes(text);
    return bytes === undefined ? undefined : { family: 6, bytes };
  }
  const bytes = parseV4Bytes(text);
  return bytes === undefined ? undefined : { family: 4, bytes };
}

/** The address of `family` or undefined (an address of the other family is undefined too). */
export function parseIpOf(text: string, family: IpFamily): IpAddress | undefined {
  const a = parseIp(text);
  return a?.family === family ? a : undefined;
}

/** The canonical text of 4 or 16 bytes (see the header). */
export function formatIp(bytes: readonly number[]): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const a = new ipaddr.IPv6([...bytes]);
  const p = a.parts;
  if (p[0] === 0 && p[1] === 0 && p[2] === 0 && p[3] === 0 && p[4] === 0) {
    // inet_ntop's dotted tail: ::ffff:a.b.c.d, and ::a.b.c.d when the zero run is exactly six
    // groups long (::a.b.c.d with a.b ≠ 0; "::1" and "::" stay hex).
    const v4 = `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
    if (p[5] === 0xffff) return `::ffff:${v4}`;
    if (p[5] === 0 && p[6] !== 0) return `::${v4}`;
  }
  return a.toRFC5952String();
}

/** The canonical text of an address, or undefined when the text is not one. */
export function canonicalIp(text: string): string | undefined {
  const a = parseIp(text);
  return a === undefined ? undefined : formatIp(a.bytes);
}

/** The family of an address (not a CIDR), or undefined when the text is not one. */
export function ipFamily(text: string): IpFamily | undefined {
  return parseIp(text)?.family;
}

function maskBytes(bytes: readonly number[], length: number): number[] {
  return bytes.map((b, i) => b & ((0xff << (8 - Math.max(0, Math.min(8, length - i * 8)))) & 0xff));
}

export interface CidrOptions {
  /** A bare address is a host prefix (/32, /128) instead of an error. Default false. */
  readonly bare?: boolean;
  /** 'clear' (default): "10.0.0.1/24" means 10.0.0.0/24; 'reject': it is an error. */
  readonly hostBits?: 'clear' | 'reject';
}

/** "addr/len" (or, with `bare`, an address), or undefined. */
export function parseCidr(text: string, options: CidrOptions = {}): IpCidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0 && options.bare !== true) return undefined;
  const a = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (a === undefined) return undefined;
  const max = a.family === 4 ? 32 : 128;
  let length = max;
  if (slash >= 0) {
    const lenText = text.slice(slash + 1);
    if (!LENGTH_TEXT.test(lenText)) return undefined;
    length = Number(lenText);
    if (length > max) return undefined;
  }
  const bytes = maskBytes(a.bytes, length);
  if (options.hostBits === 'reject' && bytes.some((b, i) => b !== a.bytes[i])) return undefined;
  return { family: a.family, bytes, length };
}

/** Why `text` is not a CIDR (for messages), or undefined when it is one. */
export function cidrProblem(text: string, options: CidrOptions = {}): string | undefined {
  if (parseCidr(text, options) !== undefined) return undefined;
  const slash = text.indexOf('/');
  if (slash < 0 && options.bare !== true) return 'missing the prefix length ("/length")';
  const a = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (a === undefined) return 'not an IPv4 or IPv6 address';
  const lenText = text.slice(slash + 1);
  const max = a.family === 4 ? 32 : 128;
  if (!LENGTH_TEXT.test(lenText)) return `prefix length "${lenText}" is not a number`;
  if (Number(lenText) > max) return `prefix length ${lenText} exceeds ${max}`;
  return `host bits are set beyond /${lenText}`;
}

export function formatCidr(c: IpCidr): string {
  return `${formatIp(c.bytes)}/${c.length}`;
}

/** The canonical "network/len" of a CIDR (host bits cleared unless `hostBits: 'reject'`), or undefined. */
export function canonicalCidr(text: string, options: CidrOptions = {}): string | undefined {
  const c = parseCidr(text, options);
  return c === undefined ? undefined : formatCidr(c);
}

/** The family of a CIDR, or undefined when the text is not one. */
export function cidrFamily(text: string): IpFamily | undefined {
  return parseCidr(text)?.family;
}

/** Whether `inner` (a CIDR or an address) lies inside `outer` (same family, same leading bits). */
export function contains(outer: IpCidr, inner: IpCidr | IpAddress): boolean {
  if (outer.family !== inner.family) return false;
  const innerLength = 'length' in inner ? inner.length : inner.bytes.length * 8;
  if (innerLength < outer.length) return false;
  const o = ipaddr.fromByteArray([...outer.bytes]);
  const i = ipaddr.fromByteArray([...inner.bytes]);
  return i.match(o, outer.length);
}

/** Whether `inner` (a CIDR or a bare address) lies inside CIDR `outer`; false when either is invalid. */
export function cidrContains(outer: string, inner: string): boolean {
  const o = parseCidr(outer);
  const i = parseCidr(inner, { bare: true });
  return o !== undefined && i !== undefined && contains(o, i);
}

/** Whether two CIDRs share at least one address. */
export function cidrsOverlap(a: string, b: string): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

/** An IPv4 address as an unsigned 32-bit number, or -1 when the text is not one. */
export function ipv4ToNumber(text: string): number {
  const b = parseIpOf(text, 4)?.bytes;
  return b === undefined ? -1 : ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

/**
 * A fixed-width hex key of an address (IPv4 as its IPv4-mapped IPv6 form) whose string order is
 * the numeric order; null when the text is not an address.
 */
export function addressSortKey(text: string): string | null {
  const a = parseIp(text);
  if (a === undefined) return null;
  const bytes = a.family === 4 ? [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...a.bytes] : a.bytes;
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
}
