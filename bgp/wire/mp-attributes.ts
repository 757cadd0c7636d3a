// MP_REACH_NLRI and MP_UNREACH_NLRI (RFC 4760 §3, §4) decoding. Their NLRI are hoisted into
// UpdateMessage.reach / withdrawn; encoding lives in update-writer.ts.
//
// Decisions:
// - Any error inside these attributes resets the session with UPDATE / Optional Attribute
//   Error (RFC 4760 §7) and the attribute as data: a bad next-hop length makes the NLRI
//   unlocatable (RFC 7606 §7.11) and bad NLRI cannot be withdrawn (RFC 7606 §5.3).
// - A family this codec does not carry (anything but IPv4/IPv6 unicast) is skipped and
//   reported in `discarded`, not an error: RFC 4760 §7 allows a reset only for families that
//   were not negotiated, and skipping is the milder choice.
// - Next hops: IPv6 16 or 32 bytes (global + link-local, RFC 2545 §3); IPv4 NLRI with 4 bytes,
//   or 16/32 (RFC 8950 §3) — accepted whether or not extended next hop was negotiated.
// - The Reserved (former SNPA count) octet is ignored (RFC 4760 §3).

import { WireError } from '../errors.ts';
import { familyOf } from './family.ts';
import { decodeNlri } from './nlri.ts';
import { formatIpv4, formatIpv6 } from './prefix.ts';
import type { Reader } from './reader.ts';
import {
  Afi,
  type AfiCode,
  type AttributeIssue,
  AttrType,
  type CodecOptions,
  type Family,
  type NlriBlock,
  NotifyCode,
  type ReachBlock,
  UpdateSubcode,
} from './types.ts';

export interface MpDecodeState {
  readonly reach: ReachBlock[];
  readonly withdrawn: NlriBlock[];
  readonly discarded: AttributeIssue[];
  /** The family of an MP_UNREACH_NLRI that carried no prefixes (End-of-RIB candidate). */
  emptyUnreach?: Family;
}

function optionalError(why: string): WireError {
  return new WireError(NotifyCode.updateMessage, UpdateSubcode.optionalAttributeError, why);
}

function inner(r: Reader): Reader {
  return r.sub(r.remaining, 'MP attribute', NotifyCode.updateMessage, UpdateSubcode.optionalAttributeError);
}

function skipped(st: MpDecodeState, typeCode: number, afi: number, safi: number): void {
  st.discarded.push({
    typeCode,
    action: 'attribute-discard',
    reason: `${typeCode === AttrType.mpReachNlri ? 'MP_REACH_NLRI' : 'MP_UNREACH_NLRI'} for unsupported AFI/SAFI ${afi}/${safi} skipped`,
  });
}

export function decodeMpReach(value: Reader, st: MpDecodeState, opts: CodecOptions): void {
  const r = inner(value);
  const afi = r.u16('MP_REACH_NLRI AFI');
  const safi = r.u8('MP_REACH_NLRI SAFI');
  const family = familyOf(afi, safi);
  if (family === undefined) {
    skipped(st, AttrType.mpReachNlri, afi, safi);
    return;
  }
  const nhLen = r.u8('next hop length');
  const nh = r.bytes(nhLen, 'next hop');
  let nextHop: string;
  let linkLocalNextHop: string | undefined;
  if (afi === Afi.ipv4 && nhLen === 4) {
    nextHop = formatIpv4(nh, 0);
  } else if (nhLen === 16 || nhLen === 32) {
    // RFC 2545 §3 (IPv6), RFC 8950 §3 (IPv4 NLRI over an IPv6 next hop).
    nextHop = formatIpv6(nh, 0);
    if (nhLen === 32) linkLocalNextHop = formatIpv6(nh, 16);
  } else {
    throw optionalError(`MP_REACH_NLRI next hop length ${nhLen} is invalid for AFI ${afi}`);
  }
  r.skip(1, 'reserved octet');
  const nlri = r.sub(r.remaining, 'MP_REACH_NLRI NLRI');
  const pathIds = opts.addPathReceive.has(family) ? [] : undefined;
  const prefixes = decodeNlri(nlri, afi as AfiCode, pathIds);
  if (prefixes.length === 0) return;
  const block: ReachBlock = { afi: afi as AfiCode, safi, prefixes, nextHop };
  st.reach.push(withExtras(block, pathIds, linkLocalNextHop));
}

function withExtras(block: ReachBlock, pathIds: number[] | undefined, ll: string | undefined): ReachBlock {
  if (pathIds === undefined && ll === undefined) return block;
  const out: { -readonly [K in keyof ReachBlock]: ReachBlock[K] } = { ...block };
  if (pathIds !== undefined) out.pathIds = pathIds;
  if (ll !== undefined) out.linkLocalNextHop = ll;
  return out;
}

export function decodeMpUnreach(value: Reader, st: MpDecodeState, opts: CodecOptions): void {
  const r = inner(value);
  const afi = r.u16('MP_UNREACH_NLRI AFI');
  const safi = r.u8('MP_UNREACH_NLRI SAFI');
  const family = familyOf(afi, safi);
  if (family === undefined) {
    skipped(st, AttrType.mpUnreachNlri, afi, safi);
    return;
  }
  const pathIds = opts.addPathReceive.has(family) ? [] : undefined;
  const prefixes = decodeNlri(r, afi as AfiCode, pathIds);
  if (prefixes.length === 0) {
    st.emptyUnreach = family;
    return;
  }
  const block: NlriBlock =
    pathIds === undefined
      ? { afi: afi as AfiCode, safi, prefixes }
      : { afi: afi as AfiCode, safi, prefixes, pathIds };
  st.withdrawn.push(block);
}
