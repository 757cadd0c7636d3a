// AttrStore interns attribute sets by a numeric hash and a field-by-field comparison
// (bgp/rib/attrs.ts). Two UPDATEs must share a set exactly when their attributes and next hops
// are equal — every field counts, an empty list is not an absent one — and a hash collision must
// neither merge two sets nor lose one.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttrStore, attrHash, sameAttrs } from '../../../../bgp/rib/attrs.ts';
import type { PathAttributes } from '../../../../bgp/wire/types.ts';

interface Input {
  readonly attrs: PathAttributes;
  readonly nextHop: string;
  readonly linkLocal: string | undefined;
}

// Small domains, so that two draws are often equal in some fields and differ in one.
const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.option(arb, { nil: undefined, freq: 3 });
const small = fc.constantFrom(0, 1, 65_000, 4_200_000_000);
const ip = fc.constantFrom('192.0.2.1', '192.0.2.2');

const attrsArb: fc.Arbitrary<PathAttributes> = fc.record(
  {
    origin: fc.constantFrom(0, 1, 2) as fc.Arbitrary<0 | 1 | 2>,
    asPath: fc.array(
      fc.record({
        type: fc.constantFrom(1, 2, 3, 4) as fc.Arbitrary<1 | 2 | 3 | 4>,
        asns: fc.array(small, { maxLength: 2 }),
      }),
      { maxLength: 2 },
    ),
    nextHop: ip,
    med: small,
    localPref: small,
    atomicAggregate: fc.boolean(),
    aggregator: fc.record({ asn: small, address: ip }),
    communities: fc.array(small, { maxLength: 2 }),
    originatorId: ip,
    clusterList: fc.array(ip, { maxLength: 2 }),
    extendedCommunities: fc.array(fc.constantFrom(0n, 1n, 0x0002_fde8_0000_0001n, 2n ** 64n - 1n), {
      maxLength: 2,
    }),
    largeCommunities: fc.array(fc.record({ globalAdmin: small, localData1: small, localData2: small }), {
      maxLength: 2,
    }),
    unknown: fc.array(
      fc.record({
        flags: fc.constantFrom(0xc0, 0xe0),
        typeCode: fc.constantFrom(99, 250),
        value: fc.uint8Array({ maxLength: 2, max: 1 }),
      }),
      { maxLength: 1 },
    ),
  },
  { requiredKeys: [] },
);

const FIELDS = [
  'origin',
  'asPath',
  'nextHop',
  'med',
  'localPref',
  'atomicAggregate',
  'aggregator',
  'communities',
  'originatorId',
  'clusterList',
  'extendedCommunities',
  'largeCommunities',
  'unknown',
  'linkLocal',
] as const;

const inputArb: fc.Arbitrary<Input> = fc.record({
  attrs: attrsArb,
  nextHop: ip,
  linkLocal: maybe(fc.constantFrom('fe80::1', 'fe80::2')),
});

/**
 * What makes two inputs one set, written independently of attrs.ts: every attribute but
 * NEXT_HOP (the next hop is the block's), ATOMIC_AGGREGATE false and absent alike.
 */
function canonical(x: Input): string {
  const { nextHop: _ignored, atomicAggregate, ...rest } = x.attrs;
  return JSON.stringify(
    {
      ...rest,
      atomicAggregate: atomicAggregate === true,
      nextHop: x.nextHop,
      linkLocal: x.linkLocal ?? null,
    },
    (_k, v) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? [...v] : v),
  );
}

/** A deep copy, sharing no array or object with the original. */
function copy(x: Input): Input {
  return structuredClone(x);
}

describe('AttrStore', () => {
  it('gives two inputs the same set exactly when they are equal in every field', () => {
    // b is a with one field (an attribute or a next hop) taken from another draw: often equal,
    // else different in that field alone, the case a comparison that skipped it would get wrong.
    const pairArb = fc
      .tuple(inputArb, inputArb, fc.constantFrom(...FIELDS))
      .map(([a, other, field]): [Input, Input] => {
        if (field === 'nextHop' || field === 'linkLocal') return [a, { ...a, [field]: other[field] }];
        const attrs: Record<string, unknown> = { ...a.attrs };
        if (other.attrs[field] === undefined) delete attrs[field];
        else attrs[field] = other.attrs[field];
        return [a, { ...a, attrs: attrs as PathAttributes }];
      });
    fc.assert(
      fc.property(pairArb, ([a, b]) => {
        const store = new AttrStore();
        const sa = store.intern(a.attrs, a.nextHop, a.linkLocal);
        const sb = store.intern(b.attrs, b.nextHop, b.linkLocal);
        const equal = canonical(a) === canonical(b);
        expect(sa === sb).toBe(equal);
        expect(store.size).toBe(equal ? 1 : 2);
        expect(sameAttrs(sa, b.attrs, b.nextHop, b.linkLocal)).toBe(equal);
        // A copy of either finds its set again.
        const c = copy(a);
        expect(store.intern(c.attrs, c.nextHop, c.linkLocal)).toBe(sa);
        expect(attrHash(c.attrs, c.nextHop, c.linkLocal)).toBe(sa.hash);
      }),
      { numRuns: 3000 },
    );
  });

  it('keeps two sets of one hash apart, and forgets one without losing the other', () => {
    // Sets that differ in MED and LOCAL_PREF until two share a hash (one field alone never
    // collides: the hash is a bijection of each single 32-bit value; two of 32 bits among 1M
    // draws collide ~100 times).
    const base: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [65_001] }], communities: [1] };
    const seen = new Map<number, [number, number]>();
    let pair: [[number, number], [number, number]] | undefined;
    for (let localPref = 0; localPref < 1000 && pair === undefined; localPref++) {
      for (let med = 0; med < 1000; med++) {
        const h = attrHash({ ...base, med, localPref }, '192.0.2.1');
        const other = seen.get(h);
        if (other !== undefined) {
          pair = [other, [med, localPref]];
          break;
        }
        seen.set(h, [med, localPref]);
      }
    }
    expect(pair, 'no two of 1M (MED, LOCAL_PREF) pairs share a hash').toBeDefined();
    const [[med1, lp1], [med2, lp2]] = pair as [[number, number], [number, number]];
    const a1: PathAttributes = { ...base, med: med1, localPref: lp1 };
    const a2: PathAttributes = { ...base, med: med2, localPref: lp2 };
    const store = new AttrStore();
    const s1 = store.intern(a1, '192.0.2.1');
    const s2 = store.intern(a2, '192.0.2.1');
    expect(s1.hash).toBe(s2.hash);
    expect(s1).not.toBe(s2);
    expect([s1.attrs.med, s2.attrs.med]).toEqual([med1, med2]);
    expect(store.intern(a2, '192.0.2.1')).toBe(s2);
    expect(store.size).toBe(2);

    store.retain(s1);
    store.retain(s2);
    store.release(s1);
    expect(store.size).toBe(1);
    expect(store.intern(a2, '192.0.2.1')).toBe(s2);
    // s1's attributes intern to a new set now.
    const again = store.intern(a1, '192.0.2.1');
    expect(again).not.toBe(s1);
    expect(store.size).toBe(2);
    store.releaseIfUnused(again);
    store.release(s2);
    expect(store.size).toBe(0);
  });

  it('counts references: a set is forgotten at zero, and one never retained by releaseIfUnused', () => {
    const store = new AttrStore();
    const set = store.intern({ origin: 0, med: 5 }, '192.0.2.1');
    store.retain(set, 2);
    store.releaseIfUnused(set);
    store.release(set);
    expect(store.size).toBe(1);
    store.release(set);
    expect(store.size).toBe(0);
    expect(store.intern({ origin: 0, med: 5 }, '192.0.2.1')).not.toBe(set);
  });
});
