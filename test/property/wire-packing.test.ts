// UpdateWriter packing: whatever the prefixes and the size limit, the UPDATEs produced carry
// exactly the input prefixes, each fits the limit, and all carry the same attributes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeUpdate } from '../../bgp/wire/update.ts';
import { UpdateWriter } from '../../bgp/wire/update-writer.ts';
import {
  codecOptions,
  family,
  pathAttributes,
  prefixOf,
  roundTripsOn2Octet,
  u32,
} from '../unit/bgp/wire/arbitraries.ts';

const packCase = fc.tuple(codecOptions({ extendedNextHopIpv4: false }), family).chain(([opts, fam]) =>
  fc.record({
    opts: fc.constant(opts),
    fam: fc.constant(fam),
    attrs: pathAttributes
      .map((a) => ({ ...a, unknown: undefined, communities: a.communities?.slice(0, 3) }))
      .filter((a) => opts.fourOctetAs || roundTripsOn2Octet(a)),
    withdraw: fc.boolean(),
    maxLength: fc.integer({ min: 1200, max: 4096 }), // above the largest generated attribute set
    prefixes: fc.array(fc.record({ prefix: prefixOf(fam), pathId: u32 }), { maxLength: 600 }),
  }),
);

describe('UpdateWriter packing', () => {
  it('the union of the UPDATEs is the input; each fits; attributes identical', () => {
    fc.assert(
      fc.property(packCase, ({ opts, fam, attrs, withdraw, maxLength, prefixes }) => {
        const nextHop = fam === 'ipv4-unicast' ? '192.0.2.1' : '2001:db8::1';
        const w = new UpdateWriter(opts, maxLength);
        const begin = () => (withdraw ? w.beginWithdraw(fam) : w.beginReach(attrs, fam, nextHop));
        const messages: Uint8Array[] = [];
        begin();
        for (const p of prefixes) {
          if (w.addPrefix(p.prefix, p.pathId)) continue;
          expect(w.count).toBeGreaterThan(0); // never an empty UPDATE because of a full one
          messages.push(w.finish());
          begin();
          expect(w.addPrefix(p.prefix, p.pathId)).toBe(true);
        }
        if (w.count > 0) messages.push(w.finish());

        const got: string[] = [];
        const ids: number[] = [];
        let firstAttrs: unknown;
        for (const m of messages) {
          expect(m.length).toBeLessThanOrEqual(maxLength);
          const u = decodeUpdate(m, opts);
          expect(u.treatAsWithdraw).toBeUndefined();
          const blocks = withdraw ? u.withdrawn : u.reach;
          expect(blocks).toHaveLength(1);
          got.push(...(blocks[0]?.prefixes.toArray() ?? []));
          ids.push(...(blocks[0]?.pathIds ?? []));
          if (firstAttrs === undefined) firstAttrs = u.attributes;
          else expect(u.attributes).toEqual(firstAttrs);
        }
        expect(got).toEqual(prefixes.map((p) => p.prefix));
        if (opts.addPathSend.has(fam)) expect(ids).toEqual(prefixes.map((p) => p.pathId));
      }),
      { numRuns: 150 },
    );
  });
});
