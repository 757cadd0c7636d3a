// The benchmark feed, as pure data: which prefixes, which attribute sets, which prefix gets which set.
// The blaster encodes it; tests and the bench use the same functions to know what a receiver must hold.
//
// Prefixes are the /24s from 11.0.0.0 upwards (11.0.0.0/24 … 26.255.255.0/24 = 2^20 distinct). The
// receivers run in namespaces that never install routes into a kernel and never send packets to them,
// so public space is safe to use here. Prefix i carries attribute set i % attrSets, so the prefixes of
// one set are spread across the whole range (as in a real table) but still packed together per UPDATE.

export const MAX_PREFIXES = 1 << 20;
export const FIRST_PREFIX = (11 << 24) >>> 0;

/** The sender's AS: a 4-octet private AS, so the OPEN carries AS_TRANS (RFC 6793 section 4.1). */
export const SENDER_ASN = 4_200_000_001;
export const RECEIVER_ASN = 64_512;
export const COMMUNITY_ASN = 64_512;

export interface AttrSet {
  readonly index: number;
  /** AS_SEQUENCE, first AS is the sender's (receivers enforce first-AS on eBGP). */
  readonly asPath: readonly number[];
  readonly med: number;
  /** RFC 1997 communities as [asn, value] pairs. */
  readonly communities: readonly (readonly [number, number])[];
}

/** Attribute set number `s`: MED is unique per set, AS path length and communities vary with it. */
export function attrSet(s: number): AttrSet {
  const asPath = [SENDER_ASN];
  for (let j = 0; j < s % 4; j++) asPath.push(64_600 + ((s * 7 + j * 13) % 300));
  const communities: [number, number][] = [[COMMUNITY_ASN, s % 100]];
  if (s % 3 >= 1) communities.push([COMMUNITY_ASN, 1000 + (s % 7)]);
  if (s % 3 === 2) communities.push([COMMUNITY_ASN, 2000 + s]);
  return { index: s, asPath, med: 100 + s, communities };
}

/** The network address (host order, unsigned) of prefix i; every prefix is a /24. */
export function prefixAddress(i: number): number {
  if (!Number.isInteger(i) || i < 0 || i >= MAX_PREFIXES) {
    throw new RangeError(`prefix index ${i} outside 0..${MAX_PREFIXES - 1}`);
  }
  return (FIRST_PREFIX + i * 256) >>> 0;
}

export function prefixText(i: number): string {
  const a = prefixAddress(i);
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/24`;
}

export function attrSetOf(i: number, attrSets: number): number {
  return i % attrSets;
}

/** Index of the prefix the blaster sends last: the last NLRI of the last attribute set's last UPDATE. */
export function lastSentPrefixIndex(n: number, attrSets: number): number {
  const sets = Math.min(attrSets, n);
  return n - 1 - ((((n - 1 - (sets - 1)) % sets) + sets) % sets);
}
