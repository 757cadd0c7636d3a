// Hand-building BGP bytes for the wire tests: every byte a test feeds the codec is spelled
// out here or in the test, from the RFC layouts, never produced by the encoder under test.
import { expect } from 'vitest';
import { WireError } from '../../../../bgp/errors.ts';
import { DEFAULT_CODEC_OPTIONS } from '../../../../bgp/wire/family.ts';
import { PrefixList } from '../../../../bgp/wire/prefix-list.ts';
import { Afi, type CodecOptions, type Family } from '../../../../bgp/wire/types.ts';

export type Bytes = readonly number[];

export function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export const u16 = (v: number): number[] => [(v >>> 8) & 0xff, v & 0xff];
export const u32 = (v: number): number[] => [
  (v >>> 24) & 0xff,
  (v >>> 16) & 0xff,
  (v >>> 8) & 0xff,
  v & 0xff,
];
export const ip4 = (s: string): number[] => s.split('.').map(Number);

/** A whole message: 16 x 0xff, length, type, body. */
export function message(type: number, body: Bytes, lengthOverride?: number): Uint8Array {
  const len = lengthOverride ?? 19 + body.length;
  return Uint8Array.from([...new Array(16).fill(0xff), ...u16(len), type, ...body]);
}

/** One path attribute; the Extended Length flag (0x10) selects a 2-octet length. */
export function attr(flags: number, type: number, value: Bytes, lengthOverride?: number): number[] {
  const len = lengthOverride ?? value.length;
  return flags & 0x10 ? [flags, type, ...u16(len), ...value] : [flags, type, len, ...value];
}

export const ORIGIN_IGP = attr(0x40, 1, [0]);
/** AS_PATH sequence [65001] with 2-octet ASNs. */
export const AS_PATH_2 = attr(0x40, 2, [2, 1, ...u16(65001)]);
/** AS_PATH sequence [65001] with 4-octet ASNs. */
export const AS_PATH_4 = attr(0x40, 2, [2, 1, ...u32(65001)]);
export const NEXT_HOP = attr(0x40, 3, ip4('192.0.2.1'));

export function update(parts: { withdrawn?: Bytes; attrs?: Bytes; nlri?: Bytes }): Uint8Array {
  const w = parts.withdrawn ?? [];
  const a = parts.attrs ?? [];
  return message(2, [...u16(w.length), ...w, ...u16(a.length), ...a, ...(parts.nlri ?? [])]);
}

export function opts(
  over: Partial<Omit<CodecOptions, 'addPathReceive' | 'addPathSend'>> & {
    addPathReceive?: Family[];
    addPathSend?: Family[];
  } = {},
): CodecOptions {
  return {
    ...DEFAULT_CODEC_OPTIONS,
    ...over,
    addPathReceive: new Set(over.addPathReceive ?? []),
    addPathSend: new Set(over.addPathSend ?? []),
  };
}

/**
 * Expected NLRI for a decoded block, as the codec returns them (PrefixList). vitest's toEqual
 * compares two PrefixLists by their iteration (the canonical texts, in order) and their afi;
 * prefix-list.test.ts checks that it tells different lists apart.
 */
export const list4 = (...texts: string[]): PrefixList => PrefixList.parse(Afi.ipv4, texts);
export const list6 = (...texts: string[]): PrefixList => PrefixList.parse(Afi.ipv6, texts);

export const OPTS2 = opts();
export const OPTS4 = opts({ fourOctetAs: true });

/** Runs `fn`, expects a WireError with this code/subcode (and data when given), returns it. */
export function expectWireError(fn: () => unknown, code: number, subcode: number, data?: Bytes): WireError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected a WireError').toBeInstanceOf(WireError);
  const e = caught as WireError;
  expect([e.notifyCode, e.notifySubcode], e.message).toEqual([code, subcode]);
  expect(e.code).toBe('BGP_ERR_WIRE');
  if (data !== undefined) expect(Array.from(e.data)).toEqual([...data]);
  return e;
}
