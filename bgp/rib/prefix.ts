// Address and prefix helpers for the RIB, on bgp/addr.ts.
//
// The codec hands the RIB packed prefixes (bgp/wire/prefix-list.ts), so the hot path never
// parses text. These helpers serve the text inputs: local routes the caller configures and API
// lookups (canonicalised leniently: host bits are masked, where bgp/wire/prefix.ts refuses
// them), a prefix's family, and the numeric comparisons of the decision process (BGP
// identifiers, peer addresses).

import { canonicalCidr, ipFamily } from '../addr.ts';
import type { Family } from '../wire/types.ts';

export { addressSortKey, ipv4ToNumber } from '../addr.ts';

/** The family of a canonical prefix string; IPv6 is the only form that contains ':'. */
export function familyOfPrefix(prefix: string): Family {
  return prefix.includes(':') ? 'ipv6-unicast' : 'ipv4-unicast';
}

/**
 * Validates a prefix and returns its canonical form (host bits cleared, canonical address text),
 * or null when it is not a prefix.
 */
export function canonicalPrefix(text: string): string | null {
  return canonicalCidr(text) ?? null;
}

export function isIpv4Address(text: string): boolean {
  return ipFamily(text) === 4;
}

export function isIpv6Address(text: string): boolean {
  return ipFamily(text) === 6;
}
