// Address families and the codec options in force before the OPEN exchange.

import { Afi, type AfiCode, type CodecOptions, type Family, Safi } from './types.ts';

/** What a session uses until both OPENs are in: RFC 4271 as written (2-octet AS, 4096 bytes). */
export const DEFAULT_CODEC_OPTIONS: CodecOptions = Object.freeze({
  fourOctetAs: false,
  extendedMessages: false,
  addPathReceive: new Set<Family>(),
  addPathSend: new Set<Family>(),
  extendedNextHopIpv4: false,
});

/** The Family of an AFI/SAFI pair, or undefined for one this codec does not carry. */
export function familyOf(afi: number, safi: number): Family | undefined {
  if (safi !== Safi.unicast) return undefined;
  if (afi === Afi.ipv4) return 'ipv4-unicast';
  if (afi === Afi.ipv6) return 'ipv6-unicast';
  return undefined;
}

export function afiOf(family: Family): AfiCode {
  return family === 'ipv4-unicast' ? Afi.ipv4 : Afi.ipv6;
}

export function afiSafiOf(family: Family): { readonly afi: AfiCode; readonly safi: number } {
  return { afi: afiOf(family), safi: Safi.unicast };
}
