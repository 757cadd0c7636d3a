// Address arithmetic the calculation needs (pure): canonical text, family, "addr/len" parsing,
// the subnet an interface address sits in, containment, and a total order for sorting peers and
// routes. Canonical text is RFC 5952 (bgp/wire/prefix.ts), so two spellings of one IPv6 address
// compare equal; every address the calculation emits or compares goes through `canonicalIp`.
//
// remoteRoutes handles every best path of a full table (100k+ prefixes from a ToR) on each
// recalculation, so prefixes are parsed once into bytes (`parseCidr`) and compared and sorted as
// bytes: sort keys computed inside the comparator would be rebuilt on every one of the sort's
// comparisons.
import { formatIpv4, formatIpv6, parseIp } from '../../bgp/wire/prefix.ts';

export type Family = 4 | 6;

export interface HostAddress {
  /** Canonical address text, no prefix length. */
  readonly address: string;
  readonly prefixLength: number;
}

/**
 * A CIDR parsed once: canonical text, family, network (host bits cleared) as 32-bit words (one
 * for IPv4, four for IPv6: plain numbers, because 100k retained typed arrays cost more in
 * allocation and GC than the whole calculation), length.
 */
export interface ParsedCidr {
  readonly text: string;
  readonly family: Family;
  readonly words: readonly number[];
  readonly length: number;
}

function tryParseIp(text: string): Uint8Array | undefined {
  try {
    return parseIp(text);
  } catch {
    return undefined;
  }
}

function formatBytes(bytes: Uint8Array): string {
  return bytes.length === 4 ? formatIpv4(bytes, 0) : formatIpv6(bytes, 0);
}

/** Canonical text and family of an address, or undefined when it is not one. */
export function canonicalIp(text: string): { address: string; family: Family } | undefined {
  const bytes = tryParseIp(text);
  if (bytes === undefined) return undefined;
  return { address: formatBytes(bytes), family: bytes.length === 4 ? 4 : 6 };
}

export function familyOf(address: string): Family | undefined {
  return canonicalIp(address)?.family;
}

/** "192.0.2.11/24" or a bare address (= /32, /128) of `family`; undefined when it is not one. */
export function parseHostAddress(text: string, family?: Family): HostAddress | undefined {
  const slash = text.indexOf('/');
  const ip = canonicalIp(slash < 0 ? text : text.slice(0, slash));
  if (ip === undefined || (family !== undefined && ip.family !== family)) return undefined;
  const max = ip.family === 4 ? 32 : 128;
  if (slash < 0) return { address: ip.address, prefixLength: max };
  const lenText = text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText) || Number(lenText) > max) return undefined;
  return { address: ip.address, prefixLength: Number(lenText) };
}

/**
 * Parse "addr/len" (host bits are cleared: lenient) or, with `bareIsHost`, a bare address as a
 * host prefix. Undefined when it is neither.
 */
export function parseCidr(text: string, bareIsHost = false): ParsedCidr | undefined {
  const fast = parseV4CidrFast(text);
  if (fast !== undefined) return fast;
  const slash = text.indexOf('/');
  if (slash < 0 && !bareIsHost) return undefined;
  const bytes = tryParseIp(slash < 0 ? text : text.slice(0, slash));
  if (bytes === undefined) return undefined;
  const max = bytes.length * 8;
  let length = max;
  if (slash >= 0) {
    const lenText = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText)) return undefined;
    length = Number(lenText);
    if (length > max) return undefined;
  }
  const words: number[] = [];
  for (let w = 0; w < bytes.length / 4; w++) {
    const value =
      ((bytes[w * 4]! << 24) | (bytes[w * 4 + 1]! << 16) | (bytes[w * 4 + 2]! << 8) | bytes[w * 4 + 3]!) >>>
      0;
    const keep = length - w * 32;
    words.push(keep >= 32 ? value : keep <= 0 ? 0 : (value & (0xffffffff << (32 - keep))) >>> 0);
  }
  for (let i = 0; i < bytes.length; i++) bytes[i] = (words[i >> 2]! >>> (24 - (i & 3) * 8)) & 0xff;
  return { text: `${formatBytes(bytes)}/${length}`, family: bytes.length === 4 ? 4 : 6, words, length };
}

/**
 * The common case without allocations beyond the result: "a.b.c.d/n" in canonical spelling (no
 * leading zeros). Anything else (IPv6, bare, odd spelling) returns undefined and takes the
 * general path, which accepts the same inputs.
 */
function parseV4CidrFast(s: string): ParsedCidr | undefined {
  let i = 0;
  let value = 0;
  for (let octet = 0; octet < 4; octet++) {
    const start = i;
    let n = 0;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      n = n * 10 + (c - 48);
      i++;
    }
    const digits = i - start;
    if (digits === 0 || digits > 3 || n > 255 || (digits > 1 && s.charCodeAt(start) === 48)) return undefined;
    value = value * 256 + n;
    if (octet < 3) {
      if (s.charCodeAt(i) !== 46) return undefined;
      i++;
    }
  }
  if (s.charCodeAt(i) !== 47) return undefined;
  i++;
  const start = i;
  let length = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
    length = length * 10 + (c - 48);
    i++;
  }
  const digits = i - start;
  if (digits === 0 || digits > 2 || length > 32 || (digits > 1 && s.charCodeAt(start) === 48))
    return undefined;
  const network = length === 0 ? 0 : (value & (0xffffffff << (32 - length))) >>> 0;
  const text =
    network === value
      ? s
      : `${network >>> 24}.${(network >>> 16) & 0xff}.${(network >>> 8) & 0xff}.${network & 0xff}/${length}`;
  return { text, family: 4, words: [network], length };
}

/** Whether `inner` lies inside `outer` (same family, at least as long, same leading bits). */
export function parsedContains(outer: ParsedCidr, inner: ParsedCidr): boolean {
  if (outer.family !== inner.family || inner.length < outer.length) return false;
  for (let w = 0; w < outer.words.length; w++) {
    const keep = outer.length - w * 32;
    if (keep <= 0) return true;
    const mask = keep >= 32 ? 0xffffffff : (0xffffffff << (32 - keep)) >>> 0;
    if ((outer.words[w]! & mask) >>> 0 !== (inner.words[w]! & mask) >>> 0) return false;
  }
  return true;
}

/** Order: IPv4 before IPv6, then network numerically, then shorter first. */
export function compareParsed(a: ParsedCidr, b: ParsedCidr): number {
  if (a.family !== b.family) return a.family - b.family;
  for (let w = 0; w < a.words.length; w++) {
    const d = a.words[w]! - b.words[w]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** The connected subnet of an interface address: 192.0.2.11/24 → 192.0.2.0/24. */
export function subnetOf(a: HostAddress): string {
  return parseCidr(`${a.address}/${a.prefixLength}`)!.text;
}

/** Canonical "network/len" of a CIDR, or undefined. */
export function canonicalCidr(cidr: string): string | undefined {
  return parseCidr(cidr)?.text;
}

export function cidrFamily(cidr: string): Family | undefined {
  return parseCidr(cidr)?.family;
}

/** Whether `inner` (a CIDR or a bare address) lies inside CIDR `outer`. */
export function cidrContains(outer: string, inner: string): boolean {
  const o = parseCidr(outer);
  const i = parseCidr(inner, true);
  return o !== undefined && i !== undefined && parsedContains(o, i);
}

/** Whether two CIDRs share at least one address. */
export function cidrsOverlap(a: string, b: string): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

/** Compare two addresses (or CIDRs): IPv4 before IPv6, then numerically. Unparsable ones last. */
export function compareAddresses(a: string, b: string): number {
  const pa = parseCidr(a, true);
  const pb = parseCidr(b, true);
  if (pa === undefined || pb === undefined)
    return pa === undefined && pb === undefined ? compareStrings(a, b) : pa === undefined ? 1 : -1;
  return compareParsed(pa, pb);
}

/** Sort key with the order of compareAddresses (zero-padded hex, so string order = numeric). */
export function addressSortKey(address: string): string {
  const bytes = tryParseIp(address);
  if (bytes === undefined) return `9:${address}`;
  return `${bytes.length === 4 ? 4 : 6}:${Buffer.from(bytes).toString('hex').padStart(32, '0')}`;
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
