// RFC rules that hold whatever else a message carries: the OPEN version is checked first (RFC
// 4271 §6.2), AS 0 anywhere in AS_PATH or AGGREGATOR is malformed (RFC 7607 §2), an external
// peer's LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST are discarded (RFC 7606 §7.5, §7.9, §7.10),
// and its AS_PATH with a confederation segment is treat-as-withdraw (RFC 5065 §5, RFC 7606 §7.2).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WireError } from '../../bgp/errors.ts';
import { DEFAULT_CODEC_OPTIONS } from '../../bgp/wire/family.ts';
import { decodeOpen } from '../../bgp/wire/open.ts';
import type { AsPathSegment, CodecOptions, PathAttributes } from '../../bgp/wire/types.ts';
import { decodeUpdate } from '../../bgp/wire/update.ts';
import { UpdateWriter } from '../../bgp/wire/update-writer.ts';
import { ipv4Host, pathAttributes, prefix4, u8 } from '../unit/bgp/wire/arbitraries.ts';

const RUNS = { numRuns: 200 };
const OPTS4: CodecOptions = { ...DEFAULT_CODEC_OPTIONS, fourOctetAs: true };

/** One IPv4 UPDATE of `attrs` for `prefixes`, encoded on a 4-octet session. */
function encode(attrs: PathAttributes, nextHop: string, prefixes: readonly string[]): Uint8Array {
  const w = new UpdateWriter(OPTS4);
  w.beginReach(attrs, 'ipv4-unicast', nextHop);
  for (const p of prefixes) expect(w.addPrefix(p)).toBe(true);
  return w.finish();
}

const update = fc.record({
  attrs: pathAttributes,
  nextHop: ipv4Host,
  prefixes: fc.uniqueArray(prefix4, { minLength: 1, maxLength: 10 }),
});

describe('wire conformance properties', () => {
  it('an OPEN of any version but 4 is refused with 2/1 and data 0x0004, whatever follows it', () => {
    const open = fc.record({
      version: u8.filter((v) => v !== 4),
      // The body after the version: at least the 9 octets of the fixed fields, then anything.
      rest: fc.uint8Array({ minLength: 9, maxLength: 200 }),
    });
    fc.assert(
      fc.property(open, ({ version, rest }) => {
        const length = 19 + 1 + rest.length;
        const frame = Uint8Array.from([
          ...new Array(16).fill(0xff),
          length >>> 8,
          length & 0xff,
          1,
          version,
          ...rest,
        ]);
        let caught: unknown;
        try {
          decodeOpen(frame);
        } catch (err) {
          caught = err;
        }
        expect(caught).toBeInstanceOf(WireError);
        const e = caught as WireError;
        expect([e.notifyCode, e.notifySubcode, Array.from(e.data)]).toEqual([2, 1, [0, 4]]);
      }),
      RUNS,
    );
  });

  it('AS 0 at any place of AS_PATH makes the UPDATE treat-as-withdraw, its prefixes still listed', () => {
    const withZero = update.chain((u) =>
      fc.record({
        u: fc.constant(u),
        segment: fc.nat({ max: u.attrs.asPath?.length ?? 0 }),
        at: fc.nat({ max: 10 }),
        type: fc.constantFrom<AsPathSegment['type']>(1, 2, 3, 4),
      }),
    );
    fc.assert(
      fc.property(withZero, ({ u, segment, at, type }) => {
        const path = [...(u.attrs.asPath ?? [])];
        const old = path[segment];
        // AS 0 put into an existing segment, or a segment of its own after the last one.
        path[segment] =
          old === undefined
            ? { type, asns: [0] }
            : { type: old.type, asns: old.asns.toSpliced(Math.min(at, old.asns.length), 0, 0) };
        const m = decodeUpdate(encode({ ...u.attrs, asPath: path }, u.nextHop, u.prefixes), OPTS4);
        expect(m.treatAsWithdraw).toMatchObject({ typeCode: 2, action: 'treat-as-withdraw' });
        expect(m.reach[0]?.prefixes.toArray()).toEqual(u.prefixes);
      }),
      RUNS,
    );
  });

  it('AGGREGATOR with AS 0 is discarded; the rest of the UPDATE is as sent', () => {
    fc.assert(
      fc.property(update, ipv4Host, ({ attrs, nextHop, prefixes }, address) => {
        const m = decodeUpdate(
          encode({ ...attrs, aggregator: { asn: 0, address } }, nextHop, prefixes),
          OPTS4,
        );
        const { aggregator: _dropped, ...rest } = attrs;
        expect(m.treatAsWithdraw).toBeUndefined();
        expect(m.discarded?.map((d) => [d.typeCode, d.action])).toEqual([[7, 'attribute-discard']]);
        expect(m.attributes).toEqual({
          ...rest,
          nextHop,
          ...(attrs.unknown && { unknown: attrs.unknown.map((x) => ({ ...x, flags: 0xe0 })) }),
        });
      }),
      RUNS,
    );
  });

  it('from an external peer, exactly LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST are dropped', () => {
    const withoutConfed = update.map((u) => ({
      ...u,
      attrs: { ...u.attrs, asPath: u.attrs.asPath?.filter((s) => s.type === 1 || s.type === 2) },
    }));
    fc.assert(
      fc.property(withoutConfed, ({ attrs, nextHop, prefixes }) => {
        const frame = encode(attrs, nextHop, prefixes);
        const internal = decodeUpdate(frame, { ...OPTS4, ebgp: false });
        const external = decodeUpdate(frame, { ...OPTS4, ebgp: true });
        const { localPref, originatorId, clusterList, ...kept } = internal.attributes;
        expect(internal.discarded).toBeUndefined();
        expect(external.treatAsWithdraw).toBeUndefined();
        expect(external.attributes).toEqual(kept);
        expect(external.reach).toEqual(internal.reach);
        // Discarded in type-code order: LOCAL_PREF 5, ORIGINATOR_ID 9, CLUSTER_LIST 10.
        const expected = [
          ...(localPref !== undefined ? [5] : []),
          ...(originatorId !== undefined ? [9] : []),
          ...(clusterList !== undefined ? [10] : []),
        ];
        expect((external.discarded ?? []).map((d) => d.typeCode)).toEqual(expected);
        expect((external.discarded ?? []).every((d) => d.action === 'attribute-discard')).toBe(true);
      }),
      RUNS,
    );
  });

  it('from an external peer, a confederation segment anywhere in AS_PATH is treat-as-withdraw', () => {
    const withConfed = update.chain((u) =>
      fc.record({
        u: fc.constant(u),
        at: fc.nat({ max: u.attrs.asPath?.length ?? 0 }),
        segment: fc.record({
          type: fc.constantFrom<AsPathSegment['type']>(3, 4),
          asns: fc.array(fc.integer({ min: 1, max: 0xffffffff }), { minLength: 1, maxLength: 5 }),
        }),
      }),
    );
    fc.assert(
      fc.property(withConfed, ({ u, at, segment }) => {
        const asPath = (u.attrs.asPath ?? []).toSpliced(at, 0, segment);
        const frame = encode({ ...u.attrs, asPath }, u.nextHop, u.prefixes);
        const external = decodeUpdate(frame, { ...OPTS4, ebgp: true });
        expect(external.treatAsWithdraw).toMatchObject({ typeCode: 2, action: 'treat-as-withdraw' });
        expect(external.attributes.asPath).toBeUndefined();
        expect(external.reach[0]?.prefixes.toArray()).toEqual(u.prefixes);
        // From an internal peer the same path is kept as sent.
        const internal = decodeUpdate(frame, { ...OPTS4, ebgp: false });
        expect(internal.treatAsWithdraw).toBeUndefined();
        expect(internal.attributes.asPath).toEqual(asPath);
      }),
      RUNS,
    );
  });
});
