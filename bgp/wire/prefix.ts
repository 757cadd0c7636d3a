// Addresses and prefixes as bytes for the codec: UpdateWriter parses every prefix it packs, and
// NLRI decode formats every prefix it receives (see nlri.ts), so both keep their own hand-rolled
// code here. Every other parse, check and canonical form of address text is bgp/addr.ts (on
// ipaddr.js); test/property/addr-ipaddr.test.ts holds the two to the same answers.
//
// Parsing is strict (config and API input; a typo must be an error that names the text), with the
// spelling rules of bgp/addr.ts: IPv4 only dotted decimal with no leading zeros ("010.1.1.1" is
// rejected: inet_aton would read it as octal, inet_pton rejects it), IPv6 without a zone.
// Formatting is the canonical text of bgp/addr.ts: RFC 5952 §4 (lowercase, no leading zeros, the
// longest run of two or more zero groups compressed, the first on a tie) with a dotted tail for
// IPv4-mapped and IPv4-compatible addresses, as glibc's inet_ntop writes them.

import { canonicalIp, cidrProblem, formatCidr, parseCidr } from '../addr.ts';
import { BgpError } from '../errors.ts';
import { Afi, type AfiCode } from './types.ts';

export interface ParsedPrefix {
  readonly afi: AfiCode;
  readonly length: number;
  /** The full address (4 or 16 bytes), host bits zero. */
  readonly bytes: Uint8Array;
}

function invalid(text: string, why: string): BgpError {
  return new BgpError('BGP_ERR_INVALID_CONFIG', `invalid address or prefix "${text}": ${why}`);
}

function parseIpv4Into(text: string, whole: string, out: Uint8Array, off: number): void {
  // Hand-rolled (no split/regex): UpdateWriter parses every prefix it packs.
  let octet = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46; // '.' terminates the last octet
    if (c === 46) {
      if (digits === 0) throw invalid(whole, 'empty IPv4 octet');
      if (octet > 3) throw invalid(whole, 'IPv4 needs four dotted decimal octets');
      out[off + octet++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) throw invalid(whole, 'IPv4 octet with a leading zero');
      value = value * 10 + (c - 48);
      if (value > 255) throw invalid(whole, 'IPv4 octet above 255');
      digits++;
    } else {
      throw invalid(whole, `unexpected character "${text[i]}" in IPv4 address`);
    }
  }
  if (octet !== 4) throw invalid(whole, 'IPv4 needs four dotted decimal octets');
}

function parseGroups(text: string, whole: string, out: number[]): void {
  if (text === '') return;
  for (const g of text.split(':')) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw invalid(whole, `group "${g}" is not 1-4 hex digits`);
    out.push(Number.parseInt(g, 16));
  }
}

function parseIpv6(text: string): Uint8Array {
  const out = new Uint8Array(16);
  let body = text;
  let tail4: Uint8Array | undefined;
  const lastColon = body.lastIndexOf(':');
  if (body.indexOf('.', lastColon) !== -1) {
    // Trailing embedded IPv4 (RFC 4291 §2.2 form 3) takes the last two groups.
    tail4 = new Uint8Array(4);
    parseIpv4Into(body.slice(lastColon + 1), text, tail4, 0);
    body = `${body.slice(0, lastColon + 1)}0:0`;
  }
  const dbl = body.indexOf('::');
  const head: number[] = [];
  const tail: number[] = [];
  if (dbl === -1) {
    parseGroups(body, text, head);
    if (head.length !== 8) throw invalid(text, 'IPv6 needs eight groups or "::"');
  } else {
    if (body.indexOf('::', dbl + 1) !== -1) throw invalid(text, '"::" may appear only once');
    parseGroups(body.slice(0, dbl), text, head);
    parseGroups(body.slice(dbl + 2), text, tail);
    if (head.length + tail.length > 7) throw invalid(text, 'too many groups around "::"');
  }
  for (let i = 0; i < head.length; i++) {
    out[i * 2] = (head[i] as number) >>> 8;
    out[i * 2 + 1] = head[i] as number;
  }
  const start = 8 - tail.length;
  for (let i = 0; i < tail.length; i++) {
    out[(start + i) * 2] = (tail[i] as number) >>> 8;
    out[(start + i) * 2 + 1] = tail[i] as number;
  }
  if (tail4) out.set(tail4, 12);
  return out;
}

/** Parses an IPv4 (4 bytes) or IPv6 (16 bytes) address. Throws BGP_ERR_INVALID_CONFIG. */
export function parseIp(text: string): Uint8Array {
  if (text.includes(':')) return parseIpv6(text);
  const out = new Uint8Array(4);
  parseIpv4Into(text, text, out, 0);
  return out;
}

/**
 * Parses "addr/len". Throws BGP_ERR_INVALID_CONFIG for bad syntax, a length out of range for
 * the family, or host bits set ("10.0.0.1/24": say 10.0.0.0/24 or 10.0.0.1/32).
 */
export function parsePrefix(text: string): ParsedPrefix {
  const slash = text.indexOf('/');
  if (slash === -1) throw invalid(text, 'missing "/length"');
  const lenText = text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText))
    throw invalid(text, `prefix length "${lenText}" is not a number`);
  const bytes = parseIp(text.slice(0, slash));
  const length = Number(lenText);
  const max = bytes.length * 8;
  if (length > max) throw invalid(text, `prefix length ${length} exceeds ${max}`);
  if (hasHostBits(bytes, length)) throw invalid(text, `host bits are set beyond /${length}`);
  return { afi: bytes.length === 4 ? Afi.ipv4 : Afi.ipv6, length, bytes };
}

function hasHostBits(bytes: Uint8Array, length: number): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const keep = length - i * 8;
    const mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (0xff << (8 - keep)) & 0xff;
    if (((bytes[i] as number) & ~mask) !== 0) return true;
  }
  return false;
}

/**
 * The canonical text of a prefix ("2001:DB8:0::/32" → "2001:db8::/32"). Throws
 * BGP_ERR_INVALID_CONFIG for what parsePrefix refuses (host bits set included).
 */
export function normalizePrefix(text: string): string {
  const p = parseCidr(text, { hostBits: 'reject' });
  if (p === undefined) throw invalid(text, cidrProblem(text, { hostBits: 'reject' }) ?? 'not a prefix');
  return formatCidr(p);
}

/** The canonical text of an address ("::FFFF:192.0.2.1" → "::ffff:192.0.2.1"). Throws like parseIp. */
export function normalizeIp(text: string): string {
  const a = canonicalIp(text);
  if (a === undefined) throw invalid(text, 'not an IPv4 or IPv6 address');
  return a;
}

export function formatIpv4(bytes: Uint8Array, off: number): string {
  return `${bytes[off]}.${bytes[off + 1]}.${bytes[off + 2]}.${bytes[off + 3]}`;
}

/** RFC 5952 canonical text of the 16 bytes at `off`. */
export function formatIpv6(bytes: Uint8Array, off: number): string {
  // Find the longest run of zero groups (RFC 5952 §4.2.3: first on a tie, only if ≥ 2 groups).
  let bestStart = -1;
  let bestLen = 1;
  let runStart = -1;
  for (let g = 0; g < 8; g++) {
    const zero = bytes[off + g * 2] === 0 && bytes[off + g * 2 + 1] === 0;
    if (zero) {
      if (runStart === -1) runStart = g;
      const len = g - runStart + 1;
      if (len > bestLen) {
        bestLen = len;
        bestStart = runStart;
      }
    } else {
      runStart = -1;
    }
  }
  // A dotted tail where inet_ntop writes one: IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible
  // (::a.b.c.d, exactly six leading zero groups) addresses.
  if (
    bestStart === 0 &&
    (bestLen === 6 || (bestLen === 5 && bytes[off + 10] === 0xff && bytes[off + 11] === 0xff))
  ) {
    return `::${bestLen === 5 ? 'ffff:' : ''}${formatIpv4(bytes, off + 12)}`;
  }
  let s = '';
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      s += '::';
      g += bestLen - 1;
      continue;
    }
    if (s !== '' && !s.endsWith(':')) s += ':';
    s += (((bytes[off + g * 2] as number) << 8) | (bytes[off + g * 2 + 1] as number)).toString(16);
  }
  return s;
}
