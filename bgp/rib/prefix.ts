// Minimal address and prefix helpers for the RIB.
//
// The codec hands the RIB packed prefixes (bgp/wire/prefix-list.ts), so the hot path never
// parses text. These helpers serve the text inputs: local routes the caller configures and API
// lookups (canonicalised leniently: host bits are masked, where bgp/wire/prefix.ts refuses
// them), a prefix's family, and the numeric comparisons of the decision process (BGP
// identifiers, peer addresses).

import type { Family } from '../wire/types.ts';

/** The family of a canonical prefix string; IPv6 is the only form that contains ':'. */
export function familyOfPrefix(prefix: string): Family {
  return prefix.includes(':') ? 'ipv6-unicast' : 'ipv4-unicast';
}

/** An IPv4 address as an unsigned 32-bit number, or -1 when the text is not one. */
export function ipv4ToNumber(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) return -1;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return -1;
    const octet = Number(part);
    if (octet > 255) return -1;
    value = value * 256 + octet;
  }
  return value;
}

function numberToIpv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/** An IPv6 address as eight 16-bit groups, or null when the text is not one. */
export function parseIpv6(text: string): number[] | null {
  let head = text;
  const groupsTail: number[] = [];
  // An embedded IPv4 tail (::ffff:192.0.2.1) supplies the last two groups.
  const lastColon = head.lastIndexOf(':');
  if (lastColon >= 0 && head.indexOf('.', lastColon) > lastColon) {
    const v4 = ipv4ToNumber(head.slice(lastColon + 1));
    if (v4 < 0) return null;
    groupsTail.push(v4 >>> 16, v4 & 0xffff);
    head = head.slice(0, lastColon + 1);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const halves = head.split('::');
  if (halves.length > 2) return null;
  const parseGroups = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const left = parseGroups(halves[0] ?? '');
  const right = halves.length === 2 ? parseGroups(halves[1] ?? '') : [];
  if (left === null || right === null) return null;
  right.push(...groupsTail);
  const explicit = left.length + right.length;
  if (halves.length === 1) return explicit === 8 ? left.concat(right) : null;
  if (explicit > 7) return null;
  return [...left, ...new Array<number>(8 - explicit).fill(0), ...right];
}

/** RFC 5952 §4 text form: lowercase, no leading zeros, the longest run of 2+ zero groups as "::". */
export function formatIpv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) =>
    groups
      .slice(from, to)
      .map((g) => g.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

/**
 * Validates a prefix and returns its canonical form (host bits cleared, IPv6 per RFC 5952),
 * or null when it is not a prefix.
 */
export function canonicalPrefix(text: string): string | null {
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const addr = text.slice(0, slash);
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) return null;
  const len = Number(lenText);
  if (!addr.includes(':')) {
    const value = ipv4ToNumber(addr);
    if (value < 0 || len > 32) return null;
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    return `${numberToIpv4((value & mask) >>> 0)}/${len}`;
  }
  const groups = parseIpv6(addr);
  if (groups === null || len > 128) return null;
  for (let i = 0; i < 8; i++) {
    const keep = Math.max(0, Math.min(16, len - i * 16));
    const mask = keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff;
    groups[i] = (groups[i] ?? 0) & mask;
  }
  return `${formatIpv6(groups)}/${len}`;
}

/**
 * A fixed-width hex key of an address (IPv4 as its IPv4-mapped IPv6 form) whose string order
 * is the numeric order; null when the text is not an address.
 */
export function addressSortKey(text: string): string | null {
  const v4 = ipv4ToNumber(text);
  if (v4 >= 0) return `00000000000000000000ffff${v4.toString(16).padStart(8, '0')}`;
  const groups = parseIpv6(text);
  if (groups === null) return null;
  return groups.map((g) => g.toString(16).padStart(4, '0')).join('');
}

export function isIpv4Address(text: string): boolean {
  return ipv4ToNumber(text) >= 0;
}

export function isIpv6Address(text: string): boolean {
  return text.includes(':') && parseIpv6(text) !== null;
}
