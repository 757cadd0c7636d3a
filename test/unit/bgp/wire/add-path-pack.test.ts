// ADD-PATH send through the packer (RFC 7911 §3): `packAll` with a path identifier per prefix,
// split over as many UPDATEs as the size limit needs, decodes back to the same (prefix, path
// identifier) pairs in order — announcements and withdrawals, IPv4 (classic NLRI and Withdrawn
// Routes fields) and IPv6 (MP_REACH_NLRI / MP_UNREACH_NLRI). The same prefix may appear once per
// path. Without ADD-PATH send on the session the identifiers are not written.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PrefixList } from '../../../../bgp/wire/prefix-list.ts';
import { Afi, type Family } from '../../../../bgp/wire/types.ts';
import { decodeUpdate } from '../../../../bgp/wire/update.ts';
import { UpdateWriter } from '../../../../bgp/wire/update-writer.ts';
import { opts } from './helpers.ts';

const FAMILIES: readonly Family[] = ['ipv4-unicast', 'ipv6-unicast'];

const prefix4 = fc
  .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }))
  .map(([a, len]) => {
    const masked = len === 0 ? 0 : (a >>> (32 - len)) << (32 - len);
    const v = masked >>> 0;
    return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}/${len}`;
  });
const prefix6 = fc
  .tuple(
    fc.integer({ min: 0, max: 0xffff }),
    fc.integer({ min: 0, max: 0xffff }),
    fc.integer({ min: 0, max: 32 }),
  )
  .map(([a, b, len]) => {
    const v = (((a << 16) | b) >>> 0) & (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);
    return `${(v >>> 16).toString(16)}:${(v & 0xffff).toString(16)}::/${len}`;
  });
const pathId = fc.oneof(fc.constant(0), fc.constant(0xffffffff), fc.integer({ min: 1, max: 0xfffffffe }));

function pack(
  family: Family,
  texts: readonly string[],
  ids: readonly number[],
  isWithdraw: boolean,
  maxLength: number,
) {
  const o = opts({ fourOctetAs: true, addPathSend: [family], addPathReceive: [family] });
  const list = PrefixList.parse(family === 'ipv4-unicast' ? Afi.ipv4 : Afi.ipv6, texts);
  const w = new UpdateWriter(o, maxLength);
  const updates: Uint8Array[] = [];
  const nextHop = family === 'ipv4-unicast' ? '192.0.2.1' : '2001:db8::1';
  w.packAll(
    list,
    (x) => (isWithdraw ? x.beginWithdraw(family) : x.beginReach({ origin: 0, asPath: [] }, family, nextHop)),
    (u) => updates.push(u),
    ids,
  );
  const pairs: [string, number][] = [];
  for (const u of updates) {
    expect(u.length).toBeLessThanOrEqual(maxLength);
    const m = decodeUpdate(u, o);
    for (const block of isWithdraw ? m.withdrawn : m.reach) {
      const got = block.prefixes.toArray();
      expect(block.pathIds).toHaveLength(got.length);
      got.forEach((p, i) => {
        pairs.push([p, block.pathIds?.[i] as number]);
      });
    }
  }
  return { pairs, updates, list };
}

describe('ADD-PATH packing', () => {
  it('round-trips (prefix, path id) pairs through UPDATEs of any size limit', () => {
    const entry = (prefix: fc.Arbitrary<string>) => fc.array(fc.tuple(prefix, pathId), { maxLength: 120 });
    fc.assert(
      fc.property(
        fc.constantFrom(...FAMILIES).chain((family) =>
          fc.record({
            family: fc.constant(family),
            entries: entry(family === 'ipv4-unicast' ? prefix4 : prefix6),
            isWithdraw: fc.boolean(),
            maxLength: fc.integer({ min: 120, max: 4096 }),
          }),
        ),
        ({ family, entries, isWithdraw, maxLength }) => {
          const texts = entries.map(([p]) => p);
          const ids = entries.map(([, id]) => id);
          const { pairs, list } = pack(family, texts, ids, isWithdraw, maxLength);
          expect(pairs).toEqual(list.toArray().map((p, i) => [p, ids[i]]));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('writes one prefix twice with two identifiers, and refuses an identifier beyond 32 bits', () => {
    const { pairs } = pack('ipv4-unicast', ['10.1.0.0/24', '10.1.0.0/24'], [2, 3], false, 4096);
    expect(pairs).toEqual([
      ['10.1.0.0/24', 2],
      ['10.1.0.0/24', 3],
    ]);
    expect(() => pack('ipv4-unicast', ['10.1.0.0/24'], [2 ** 32], false, 4096)).toThrow(/32 bits/);
  });

  it('leaves the identifiers out when ADD-PATH send is not negotiated', () => {
    const o = opts({ fourOctetAs: true });
    const w = new UpdateWriter(o);
    const updates: Uint8Array[] = [];
    w.packAll(
      PrefixList.parse(Afi.ipv4, ['10.1.0.0/24']),
      (x) => x.beginWithdraw('ipv4-unicast'),
      (u) => updates.push(u),
      [9],
    );
    const m = decodeUpdate(updates[0] as Uint8Array, o);
    expect(m.withdrawn[0]?.prefixes.toArray()).toEqual(['10.1.0.0/24']);
    expect(m.withdrawn[0]?.pathIds).toBeUndefined();
  });
});
