// Addresses and CIDRs for felix and the node daemon (src/ reaches them through felix/index.ts):
// the one parser, validator and canonical formatter, built on ipaddr.js. bgp/addr.ts is its twin
// for the BGP library, which imports nothing from felix; test/property/addr-ipaddr.test.ts holds
// both to the same answers.
//
// Parsing is strict where ipaddr.js is lenient: IPv4 is four dotted decimal octets without leading
// zeros ("010.1.1.1" is octal to inet_aton and refused by inet_pton, so it is refused here; so are
// "10.1", "0x0a.0.0.1" and other classful forms), IPv6 takes no zone ("fe80::1%eth0" has no place
// in a route or a ruleset) and its dotted tail ("::ffff:192.0.2.1") follows the IPv4 rule, and a
// prefix length is decimal without leading zeros. ipaddr.js reads "::192.0.2.1" as the
// IPv4-mapped ::ffff:192.0.2.1; it is the IPv4-compatible address ::c000:201, so the dotted tail
// is turned into two hex groups before ipaddr.js sees the text.
//
// Canonical text is what glibc's inet_ntop writes, because `ip` and `ipset save` print it and
// "desired == actual" is a string comparison: IPv4 dotted decimal; IPv6 per RFC 5952 (lowercase,
// no leading zeros, the first longest run of two or more zero groups as "::"), with a dotted tail
// for IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) addresses.
//
// `scanCanonicalV4` is the allocation-free check of the route reconciler's hot path (100k
// destinations per apply); it accepts exactly the IPv4 texts that are already canonical, which the
// property test checks against ipaddr.js.
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
  if (scanCanonicalV4(text, 0, text.length, false, undefined)) return text;
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

const scanned: ScannedV4 = { v4Address: 0, v4Length: 0 };

/** "addr/len" (or, with `bare`, an address), or undefined. */
export function parseCidr(text: string, options: CidrOptions = {}): IpCidr | undefined {
  if (scanCanonicalV4(text, 0, text.length, true, scanned)) {
    const v = scanned.v4Address;
    return {
      family: 4,
      bytes: [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff],
      length: scanned.v4Length,
    };
  }
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
  if (scanCanonicalV4(text, 0, text.length, true, undefined)) return text;
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

/** Where scanCanonicalV4 leaves the numbers of what it accepted. */
export interface ScannedV4 {
  /** The address, as an int32. */
  v4Address: number;
  /** The prefix length (32 for an address). */
  v4Length: number;
}

/**
 * Whether s[from, to) is a dotted-quad IPv4 address (or, `withLength`, a prefix "a.b.c.d/n" with
 * no host bits) in the one canonical spelling (no leading zeros); when it is and `out` is given,
 * its numbers are stored there. One pass, integer arithmetic only, no allocation (the route
 * reconciler validates 100k destinations before it may write the first one).
 */
export function scanCanonicalV4(
  s: string,
  from: number,
  to: number,
  withLength: boolean,
  out: ScannedV4 | undefined,
): boolean {
  let i = from;
  let value = 0;
  for (let octet = 0; octet < 4; octet++) {
    if (octet > 0) {
      if (i >= to || s.charCodeAt(i) !== 46) return false;
      i++;
    }
    const start = i;
    let v = 0;
    while (i < to) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      v = v * 10 + c;
      i++;
    }
    const digits = i - start;
    if (digits === 0 || digits > 3 || v > 255 || (digits > 1 && s.charCodeAt(start) === 48)) return false;
    value = (value << 8) | v;
  }
  let len = 32;
  if (withLength) {
    if (i >= to || s.charCodeAt(i) !== 47) return false;
    i++;
    const start = i;
    len = 0;
    while (i < to) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) return false;
      len = len * 10 + c;
      i++;
    }
    const digits = i - start;
    if (digits === 0 || digits > 2 || len > 32 || (digits > 1 && s.charCodeAt(start) === 48)) return false;
    const hostBits = len === 32 ? 0 : len === 0 ? value : value & ((1 << (32 - len)) - 1);
    if (hostBits !== 0) return false;
  } else if (i !== to) {
    return false;
  }
  if (out !== undefined) {
    out.v4Address = value;
    out.v4Length = len;
  }
  return true;
}
