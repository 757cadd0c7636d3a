// NLRI fields: <length, prefix> tuples (RFC 4271 §4.3), optionally each preceded by a 4-octet
// path identifier (RFC 7911 §3).
//
// Intent: this is the hottest loop of a full-table ingest (1M prefixes). It reads the frame
// directly within the Reader's bounds and packs each prefix into a PrefixList as address words
// (prefix-list.ts): no string and no object per prefix.
// Decisions:
// - A prefix length above 32/128, or a prefix running past the field, makes the field
//   unparseable: the reader's WireError (the caller picks UPDATE / Invalid Network Field) and a
//   session reset, since RFC 7606 §5.3 allows treat-as-withdraw only when NLRI can be parsed.
// - Host bits set beyond the prefix length are masked off (RFC 4271 is silent; BIRD masks),
//   so "10.0.0.1/24" on the wire becomes 10.0.0.0/24 and the RIB key stays canonical.
// - The field is walked twice: once to validate it and count the prefixes (so the list is
//   allocated at its exact size), once to pack them.

import { WireError } from '../errors.ts';
import { PrefixList } from './prefix-list.ts';
import type { Reader } from './reader.ts';
import { Afi, type AfiCode } from './types.ts';
import type { ByteWriter } from './writer.ts';

const v6 = new Uint32Array(4);

function fail(r: Reader, why: string): never {
  throw new WireError(r.code, r.subcode, `NLRI: ${why}`);
}

/** Validates the field and counts its prefixes. */
function countNlri(r: Reader, maxLen: number, addPath: boolean): number {
  const b = r.buf;
  const end = r.end;
  let p = r.pos;
  let count = 0;
  while (p < end) {
    if (addPath) {
      if (p + 4 > end) fail(r, `path identifier at offset ${p} runs past the field`);
      p += 4;
      if (p >= end) fail(r, `path identifier at offset ${p - 4} has no prefix`);
    }
    const len = b[p++] as number;
    if (len > maxLen) fail(r, `prefix length ${len} exceeds ${maxLen}`);
    const n = (len + 7) >> 3;
    if (p + n > end) fail(r, `prefix /${len} at offset ${p - 1} runs past the field`);
    p += n;
    count++;
  }
  return count;
}

/**
 * Decodes the rest of `r` as NLRI of `afi` into a new PrefixList (and appends the path
 * identifiers to `pathIds` when ADD-PATH applies; pass undefined otherwise).
 */
export function decodeNlri(r: Reader, afi: AfiCode, pathIds: number[] | undefined): PrefixList {
  const isV4 = afi === Afi.ipv4;
  const count = countNlri(r, isV4 ? 32 : 128, pathIds !== undefined);
  const list = new PrefixList(afi, count);
  const b = r.buf;
  const end = r.end;
  let p = r.pos;
  while (p < end) {
    if (pathIds) {
      pathIds.push(
        (b[p] as number) * 0x1000000 +
          (((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number)),
      );
      p += 4;
    }
    const len = b[p++] as number;
    const n = (len + 7) >> 3;
    if (isV4) {
      let addr = 0;
      if (n > 0) addr = (b[p] as number) << 24;
      if (n > 1) addr |= (b[p + 1] as number) << 16;
      if (n > 2) addr |= (b[p + 2] as number) << 8;
      if (n > 3) addr |= b[p + 3] as number;
      // Mask the host bits (see the file comment).
      list.pushIpv4(len === 0 ? 0 : (addr & (0xffffffff << (32 - len))) >>> 0, len);
    } else {
      v6.fill(0);
      for (let i = 0; i < n; i++) {
        const k = i >> 2;
        v6[k] = (v6[k] as number) | ((b[p + i] as number) << (24 - 8 * (i & 3)));
      }
      for (let k = 0; k < 4; k++) {
        const keep = len - k * 32;
        if (keep <= 0) v6[k] = 0;
        else if (keep < 32) v6[k] = (v6[k] as number) & (0xffffffff << (32 - keep));
      }
      list.push(v6, 0, len);
    }
    p += n;
  }
  r.pos = p;
  return list;
}

/** Encoded size of one prefix of `length` bits (with a path identifier when `addPath`). */
export function nlriSize(length: number, addPath: boolean): number {
  return (addPath ? 5 : 1) + ((length + 7) >> 3);
}

/** Writes one packed prefix (`words` from `at`, prefix-list.ts); room checked by the caller. */
export function writePackedNlri(
  w: ByteWriter,
  words: Uint32Array,
  at: number,
  length: number,
  pathId: number | undefined,
): void {
  if (pathId !== undefined) w.u32(pathId);
  w.u8(length);
  const n = (length + 7) >> 3;
  w.room(n, 'prefix');
  const buf = w.buf;
  for (let i = 0; i < n; i++) buf[w.pos++] = ((words[at + (i >> 2)] as number) >>> (24 - 8 * (i & 3))) & 0xff;
}
