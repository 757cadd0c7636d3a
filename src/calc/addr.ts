// Address arithmetic the calculation needs (pure): canonical text, family, "addr/len" parsing,
// the subnet an interface address sits in, containment, and a total order for sorting peers and
// routes. Parsing, validation and canonical text are felix's address module (felix/model/addr.ts,
// on ipaddr.js), so two spellings of one IPv6 address compare equal; every address the
// calculation emits or compares goes through `canonicalIp`.
//
// remoteRoutes handles every best path of a full table (100k+ prefixes from a ToR) on each
// recalculation, so prefixes are parsed once into 32-bit words (`parseCidr`) and compared and
// sorted as words: sort keys computed inside the comparator would be rebuilt on every one of the
// sort's comparisons.
import {
  canonicalIp as canonicalIpText,
  cidrContains,
  cidrsOverlap,
  formatCidr,
  type IpFamily,
  parseIp,
  parseCidr as parseIpCidr,
  type ScannedV4,
  scanCanonicalV4,
} from '../../felix/index.ts';

export type { IpFamily };
export { cidrContains, cidrsOverlap };

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
  readonly family: IpFamily;
  readonly words: readonly number[];
  readonly length: number;
}

/** Canonical text and family of an address, or undefined when it is not one. */
export function canonicalIp(text: string): { address: string; family: IpFamily } | undefined {
  const address = canonicalIpText(text);
  // Canonical IPv6 text always has a ':' (a mapped address too: ::ffff:a.b.c.d), IPv4 never.
  return address === undefined ? undefined : { address, family: address.includes(':') ? 6 : 4 };
}

export function familyOf(address: string): IpFamily | undefined {
  return canonicalIp(address)?.family;
}

/** "192.0.2.11/24" or a bare address (= /32, /128) of `family`; undefined when it is not one. */
export function parseHostAddress(text: string, family?: IpFamily): HostAddress | undefined {
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
  // The common case, an IPv4 prefix already canonical: its numbers straight from the scan.
  if (scanCanonicalV4(text, 0, text.length, true, scanned)) {
    return { text, family: 4, words: [scanned.v4Address >>> 0], length: scanned.v4Length };
  }
  const c = parseIpCidr(text, { bare: bareIsHost });
  if (c === undefined) return undefined;
  const b = c.bytes;
  const words: number[] = [];
  for (let w = 0; w < b.length; w += 4)
    words.push(((b[w]! << 24) | (b[w + 1]! << 16) | (b[w + 2]! << 8) | b[w + 3]!) >>> 0);
  return { text: formatCidr(c), family: c.family, words, length: c.length };
}

const scanned: ScannedV4 = { v4Address: 0, v4Length: 0 };

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

export function cidrFamily(cidr: string): IpFamily | undefined {
  return parseCidr(cidr)?.family;
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
  const a = parseIp(address);
  if (a === undefined) return `9:${address}`;
  return `${a.family}:${a.bytes
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('')
    .padStart(32, '0')}`;
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
