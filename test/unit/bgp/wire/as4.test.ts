// RFC 6793 §4.2.3: rebuilding the AS path from AS_PATH and AS4_PATH on a 2-octet session.
import { describe, expect, it } from 'vitest';
import { mergeAs4Path, pathLength } from '../../../../bgp/wire/as-path.ts';
import type { AsPathSegment } from '../../../../bgp/wire/types.ts';
import { decodeUpdate } from '../../../../bgp/wire/update.ts';
import { attr, ip4, NEXT_HOP, OPTS2, ORIGIN_IGP, u16, u32, update } from './helpers.ts';

const T = 23456;
const seg2 = (type: number, asns: number[]) => [type, asns.length, ...asns.flatMap(u16)];
const seg4 = (type: number, asns: number[]) => [type, asns.length, ...asns.flatMap(u32)];
const seq = (...asns: number[]): AsPathSegment => ({ type: 2, asns });
const set = (...asns: number[]): AsPathSegment => ({ type: 1, asns });

function decode(asPath: number[], as4Path?: number[], extra: number[] = []) {
  const attrs = [
    ...ORIGIN_IGP,
    ...attr(0x40, 2, asPath),
    ...NEXT_HOP,
    ...(as4Path ? attr(0xc0, 17, as4Path) : []),
    ...extra,
  ];
  return decodeUpdate(update({ attrs, nlri: [8, 10] }), OPTS2);
}

describe('AS4_PATH reconciliation (RFC 6793 §4.2.3)', () => {
  it('replaces AS_TRANS entries: leading AS_PATH ASNs + AS4_PATH', () => {
    const m = decode(seg2(2, [65001, T, T]), seg4(2, [4200000000, 4200000001]));
    expect(m.attributes.asPath).toEqual([seq(65001, 4200000000, 4200000001)]);
    expect(m.discarded).toBeUndefined();
  });

  it('uses AS4_PATH alone when both have the same length', () => {
    const m = decode(seg2(2, [T, 65002]), seg4(2, [4200000000, 65002]));
    expect(m.attributes.asPath).toEqual([seq(4200000000, 65002)]);
  });

  it('ignores an AS4_PATH longer than AS_PATH', () => {
    const m = decode(seg2(2, [65001]), seg4(2, [4200000000, 4200000001]));
    expect(m.attributes.asPath).toEqual([seq(65001)]);
  });

  it('counts an AS_SET as one and keeps segment boundaries', () => {
    const m = decode([...seg2(2, [1, 2]), ...seg2(1, [T, T])], seg4(1, [70000, 70001]));
    expect(m.attributes.asPath).toEqual([seq(1, 2), set(70000, 70001)]);
  });

  it('ignores confederation segments in AS4_PATH (RFC 6793 §6)', () => {
    const m = decode(seg2(2, [65001, T]), [...seg4(3, [4200000009]), ...seg4(2, [4200000000])]);
    expect(m.attributes.asPath).toEqual([seq(65001, 4200000000)]);
  });

  it('keeps the leading confederation segments of AS_PATH', () => {
    const m = decode([...seg2(3, [65010]), ...seg2(2, [T])], seg4(2, [4200000000]));
    expect(m.attributes.asPath).toEqual([{ type: 3, asns: [65010] }, seq(4200000000)]);
  });

  it('AGGREGATOR with a real 2-octet AS: AS4_PATH and AS4_AGGREGATOR are ignored', () => {
    const m = decode(seg2(2, [65001, T]), seg4(2, [4200000000]), [
      ...attr(0xc0, 7, [...u16(65005), ...ip4('192.0.2.5')]),
      ...attr(0xc0, 18, [...u32(4200000005), ...ip4('192.0.2.6')]),
    ]);
    expect(m.attributes.asPath).toEqual([seq(65001, T)]);
    expect(m.attributes.aggregator).toEqual({ asn: 65005, address: '192.0.2.5' });
  });

  it('AGGREGATOR with AS_TRANS: AS4_AGGREGATOR is the aggregator and AS4_PATH is merged', () => {
    const m = decode(seg2(2, [65001, T]), seg4(2, [4200000000]), [
      ...attr(0xc0, 7, [...u16(T), ...ip4('192.0.2.5')]),
      ...attr(0xc0, 18, [...u32(4200000005), ...ip4('192.0.2.6')]),
    ]);
    expect(m.attributes.asPath).toEqual([seq(65001, 4200000000)]);
    expect(m.attributes.aggregator).toEqual({ asn: 4200000005, address: '192.0.2.6' });
  });

  it('AS4_AGGREGATOR without AGGREGATOR is ignored; AS4_PATH still used', () => {
    const m = decode(
      seg2(2, [T]),
      seg4(2, [4200000000]),
      attr(0xc0, 18, [...u32(4200000005), ...ip4('192.0.2.6')]),
    );
    expect(m.attributes.aggregator).toBeUndefined();
    expect(m.attributes.asPath).toEqual([seq(4200000000)]);
  });
});

describe('mergeAs4Path / pathLength', () => {
  it('splits an AS_SEQUENCE to take exactly the ASNs needed', () => {
    expect(mergeAs4Path([seq(1, 2, 3, T)], [seq(2, 3, 4200000000)])).toEqual([seq(1, 2, 3, 4200000000)]);
    expect(mergeAs4Path([seq(1, 2), seq(T, T)], [set(7, 8)])).toEqual([seq(1, 2), seq(T), set(7, 8)]);
  });

  it('counts sets as 1 and confederation segments as 0 (RFC 4271 §9.1.2.2, RFC 5065 §5.3)', () => {
    expect(pathLength([seq(1, 2, 3), set(4, 5), { type: 3, asns: [6, 7] }, { type: 4, asns: [8] }])).toBe(4);
  });

  it('does not mutate its inputs', () => {
    const a = Object.freeze([Object.freeze(seq(1, T))]);
    const b = Object.freeze([Object.freeze(seq(70000))]);
    expect(mergeAs4Path(a, b)).toEqual([seq(1, 70000)]);
    expect(a).toEqual([seq(1, T)]);
  });
});
