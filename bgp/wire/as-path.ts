// AS_PATH and AS4_PATH: segments, 2- or 4-octet encoding, and the RFC 6793 §4.2.3 merge.
//
// Decisions where the RFCs leave room:
// - Segments longer than 255 ASNs are split into consecutive segments of the same type on
//   encode for AS_SEQUENCE / AS_CONFED_SEQUENCE (meaning unchanged); an AS_SET or
//   AS_CONFED_SET of more than 255 cannot be split without changing its path length and is
//   an encode error, as is an empty segment (RFC 7606 §7.2 calls it malformed).
// - The merge takes leading confederation segments of AS_PATH even when no AS numbers are
//   needed: they count zero (RFC 5065 §5.3) and AS4_PATH never carries them (RFC 6793 §3), so
//   dropping them would lose the confederation path.

import { BgpError, WireError } from '../errors.ts';
import type { Reader } from './reader.ts';
import { AS_TRANS, type AsPathSegment, AsPathSegmentType, type AsPathSegmentTypeCode } from './types.ts';
import { type ByteWriter, checkUint } from './writer.ts';

/**
 * Decodes the rest of `r` as path segments of `asnSize` octets. RFC 7606 §7.2: an unknown
 * segment type, a zero segment length or a segment overrunning the attribute is malformed, and
 * RFC 7607 §2: so is AS 0 in any segment (the caller decides between treat-as-withdraw and
 * discard).
 */
export function decodeAsPath(r: Reader, asnSize: 2 | 4): AsPathSegment[] {
  const segments: AsPathSegment[] = [];
  while (r.remaining > 0) {
    const type = r.u8('segment type');
    const count = r.u8('segment length');
    if (type < AsPathSegmentType.set || type > AsPathSegmentType.confedSet) {
      throw new WireError(r.code, r.subcode, `unknown AS path segment type ${type}`);
    }
    if (count === 0) throw new WireError(r.code, r.subcode, 'AS path segment of length zero');
    r.need(count * asnSize, `segment of ${count} ASNs`);
    const asns: number[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const asn = asnSize === 4 ? r.u32() : r.u16();
      if (asn === 0) throw new WireError(r.code, r.subcode, 'AS 0 in an AS path segment (RFC 7607 §2)');
      asns[i] = asn;
    }
    segments.push({ type: type as AsPathSegmentTypeCode, asns });
  }
  return segments;
}

function isConfed(t: number): boolean {
  return t === AsPathSegmentType.confedSequence || t === AsPathSegmentType.confedSet;
}

/** True when the path holds an AS_CONFED_SEQUENCE or AS_CONFED_SET segment (RFC 5065 §3). */
export function hasConfed(segments: readonly AsPathSegment[]): boolean {
  return segments.some((s) => isConfed(s.type));
}

/** Writes segments; with `asnSize` 2, ASNs above 65535 become AS_TRANS (RFC 6793 §4.2.2). */
export function encodeAsPath(w: ByteWriter, segments: readonly AsPathSegment[], asnSize: 2 | 4): void {
  for (const seg of segments) {
    const n = seg.asns.length;
    if (n === 0) throw new BgpError('BGP_ERR_ENCODE', 'AS path segment with no ASNs');
    const splittable =
      seg.type === AsPathSegmentType.sequence || seg.type === AsPathSegmentType.confedSequence;
    if (n > 255 && !splittable) {
      throw new BgpError('BGP_ERR_ENCODE', `AS_SET of ${n} ASNs exceeds the 255 a segment can hold`);
    }
    checkUint(seg.type, 8, 'segment type');
    for (let start = 0; start < n; start += 255) {
      const end = Math.min(n, start + 255);
      w.u8(seg.type);
      w.u8(end - start);
      for (let i = start; i < end; i++) {
        const asn = checkUint(seg.asns[i] as number, 32, 'ASN');
        if (asnSize === 4) w.u32(asn);
        else w.u16(asn > 0xffff ? AS_TRANS : asn);
      }
    }
  }
}

/** True when a non-confederation segment holds an ASN that needs 4 octets. */
export function needsAs4Path(segments: readonly AsPathSegment[]): boolean {
  for (const seg of segments) {
    if (isConfed(seg.type)) continue;
    for (const asn of seg.asns) if (asn > 0xffff) return true;
  }
  return false;
}

/** RFC 6793 §3: AS4_PATH carries no confederation segments. */
export function withoutConfed(segments: readonly AsPathSegment[]): AsPathSegment[] {
  return segments.filter((s) => !isConfed(s.type));
}

/** RFC 4271 §9.1.2.2 path length: a set counts 1, confederation segments 0 (RFC 5065 §5.3). */
export function pathLength(segments: readonly AsPathSegment[]): number {
  let n = 0;
  for (const seg of segments) {
    if (seg.type === AsPathSegmentType.sequence) n += seg.asns.length;
    else if (seg.type === AsPathSegmentType.set) n += 1;
  }
  return n;
}

/**
 * RFC 6793 §4.2.3: the AS path from a 2-octet AS_PATH and an AS4_PATH (confederation segments
 * already removed from it, RFC 6793 §6).
 */
export function mergeAs4Path(
  asPath: readonly AsPathSegment[],
  as4Path: readonly AsPathSegment[],
): AsPathSegment[] {
  const have = pathLength(asPath);
  const have4 = pathLength(as4Path);
  // "If the number of AS numbers in the AS_PATH attribute is less than the number of AS
  // numbers in the AS4_PATH attribute, then the AS4_PATH attribute SHALL be ignored".
  if (have < have4) return [...asPath];
  let need = have - have4;
  const lead: AsPathSegment[] = [];
  for (const seg of asPath) {
    if (isConfed(seg.type)) {
      lead.push(seg);
      continue;
    }
    if (need === 0) break;
    if (seg.type === AsPathSegmentType.set) {
      lead.push(seg);
      need -= 1;
    } else if (seg.asns.length <= need) {
      lead.push(seg);
      need -= seg.asns.length;
    } else {
      lead.push({ type: seg.type, asns: seg.asns.slice(0, need) });
      need = 0;
    }
  }
  // Join a trailing AS_SEQUENCE of the lead with a leading AS_SEQUENCE of AS4_PATH: one
  // segment, same path.
  const out = [...lead];
  let rest = as4Path;
  const last = out[out.length - 1];
  const first = as4Path[0];
  if (
    last &&
    first &&
    last.type === AsPathSegmentType.sequence &&
    first.type === AsPathSegmentType.sequence
  ) {
    out[out.length - 1] = { type: last.type, asns: [...last.asns, ...first.asns] };
    rest = as4Path.slice(1);
  }
  out.push(...rest);
  return out;
}
