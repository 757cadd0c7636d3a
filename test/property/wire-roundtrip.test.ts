// Round trips through the codec: encode → decode gives back what went in (fast-check prints
// the seed and the shrunk counterexample on failure; replay with { seed, path }).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeRouteRefresh } from '../../bgp/wire/messages.ts';
import { decodeNotification, encodeNotification } from '../../bgp/wire/notification.ts';
import { decodeOpen, encodeOpen } from '../../bgp/wire/open.ts';
import { normalizePrefix, parsePrefix } from '../../bgp/wire/prefix.ts';
import { PrefixList } from '../../bgp/wire/prefix-list.ts';
import { Afi, type ReachBlock } from '../../bgp/wire/types.ts';
import { decodeUpdate } from '../../bgp/wire/update.ts';
import { UpdateWriter } from '../../bgp/wire/update-writer.ts';
import {
  bytes,
  codecOptions,
  family,
  ipv4Host,
  ipv6,
  openMessage,
  pathAttributes,
  prefix4,
  prefix6,
  prefixOf,
  roundTripsOn2Octet,
  u8,
  u16,
  u32,
} from '../unit/bgp/wire/arbitraries.ts';

const RUNS = { numRuns: 200 };

describe('wire round trips', () => {
  it('prefix text: canonical prefixes normalize to themselves', () => {
    fc.assert(
      fc.property(fc.oneof(prefix4, prefix6), (p) => {
        expect(normalizePrefix(p)).toBe(p);
        expect(parsePrefix(p).length).toBe(Number(p.split('/')[1]));
      }),
      { numRuns: 500 },
    );
  });

  it('OPEN with arbitrary capability sets (incl. RFC 9072 extended parameters)', () => {
    fc.assert(
      fc.property(openMessage, (open) => {
        const { type: _t, ...input } = open;
        const bytes = encodeOpen(input);
        expect(decodeOpen(bytes)).toEqual(open);
      }),
      RUNS,
    );
  });

  it('NOTIFICATION with arbitrary data', () => {
    fc.assert(
      fc.property(u8, u8, bytes(200), (code, subcode, data) => {
        const n = decodeNotification(encodeNotification({ code, subcode, data }));
        expect([n.code, n.subcode, Array.from(n.data)]).toEqual([code, subcode, Array.from(data)]);
      }),
      RUNS,
    );
  });

  it('NOTIFICATION shutdown communication: a UTF-8 prefix of at most 255 bytes (RFC 9003 §2)', () => {
    fc.assert(
      fc.property(fc.constantFrom(2, 4), fc.string({ unit: 'grapheme', maxLength: 150 }), (subcode, text) => {
        const n = decodeNotification(encodeNotification({ code: 6, subcode, shutdownMessage: text }));
        const got = n.shutdownMessage ?? '';
        expect(text.startsWith(got)).toBe(true);
        const full = new TextEncoder().encode(text).length;
        const kept = new TextEncoder().encode(got).length;
        expect(kept).toBeLessThanOrEqual(255);
        if (full <= 255) expect(got).toBe(text);
        else expect(kept).toBeGreaterThan(251); // at most one partial character dropped
      }),
      RUNS,
    );
  });

  it('ROUTE-REFRESH', () => {
    fc.assert(
      fc.property(u16, u8, fc.constantFrom(0 as const, 1 as const, 2 as const), (afi, safi, subtype) => {
        expect(decodeMessage(encodeRouteRefresh({ afi, safi, subtype }), codecOptionsDefault)).toEqual({
          type: 'routeRefresh',
          afi,
          safi,
          subtype,
        });
      }),
      RUNS,
    );
  });

  const reachCase = fc
    .tuple(codecOptions(), family, pathAttributes, fc.boolean(), fc.boolean())
    .chain(([opts, fam, attrs, v6NextHop, linkLocal]) =>
      fc.record({
        opts: fc.constant(opts),
        fam: fc.constant(fam),
        attrs: fc.constant(attrs),
        nextHop: fam === 'ipv6-unicast' || (v6NextHop && opts.extendedNextHopIpv4) ? ipv6 : ipv4Host,
        linkLocal: linkLocal ? fc.option(ipv6, { nil: undefined }) : fc.constant(undefined),
        prefixes: fc.array(fc.record({ prefix: prefixOf(fam), pathId: u32 }), {
          minLength: 1,
          maxLength: 30,
        }),
      }),
    )
    .filter((c) => c.opts.fourOctetAs || roundTripsOn2Octet(c.attrs));

  it('UPDATE reach: arbitrary attributes, families, prefixes, path ids, 2/4-octet AS', () => {
    fc.assert(
      fc.property(reachCase, ({ opts, fam, attrs, nextHop, linkLocal, prefixes }) => {
        const isV6Nh = nextHop.includes(':');
        const ll = isV6Nh ? linkLocal : undefined;
        const w = new UpdateWriter(opts);
        w.beginReach(attrs, fam, nextHop, ll);
        for (const p of prefixes) expect(w.addPrefix(p.prefix, p.pathId)).toBe(true);
        const m = decodeUpdate(w.finish(), opts);
        const addPath = opts.addPathSend.has(fam);
        const afi = fam === 'ipv4-unicast' ? Afi.ipv4 : Afi.ipv6;
        const block: ReachBlock = {
          afi,
          safi: 1,
          prefixes: PrefixList.parse(
            afi,
            prefixes.map((p) => p.prefix),
          ),
          nextHop,
          ...(addPath ? { pathIds: prefixes.map((p) => p.pathId) } : {}),
          ...(ll ? { linkLocalNextHop: ll } : {}),
        };
        expect(m.treatAsWithdraw).toBeUndefined();
        expect(m.discarded).toBeUndefined();
        expect(m.reach).toEqual([block]);
        const expectedAttrs = {
          ...attrs,
          ...(isV6Nh ? {} : { nextHop }),
          ...(attrs.unknown ? { unknown: attrs.unknown.map((u) => ({ ...u, flags: 0xe0 })) } : {}),
        };
        expect(m.attributes).toEqual(expectedAttrs);
      }),
      RUNS,
    );
  });

  it('UPDATE withdraw: arbitrary prefixes and path ids', () => {
    const withdrawCase = fc.tuple(codecOptions(), family).chain(([opts, fam]) =>
      fc.record({
        opts: fc.constant(opts),
        fam: fc.constant(fam),
        prefixes: fc.array(fc.record({ prefix: prefixOf(fam), pathId: u32 }), {
          minLength: 1,
          maxLength: 30,
        }),
      }),
    );
    fc.assert(
      fc.property(withdrawCase, ({ opts, fam, prefixes }) => {
        const w = new UpdateWriter(opts);
        w.beginWithdraw(fam);
        for (const p of prefixes) w.addPrefix(p.prefix, p.pathId);
        const m = decodeUpdate(w.finish(), opts);
        const addPath = opts.addPathSend.has(fam);
        const afi = fam === 'ipv4-unicast' ? Afi.ipv4 : Afi.ipv6;
        expect(m.withdrawn).toEqual([
          {
            afi,
            safi: 1,
            prefixes: PrefixList.parse(
              afi,
              prefixes.map((p) => p.prefix),
            ),
            ...(addPath ? { pathIds: prefixes.map((p) => p.pathId) } : {}),
          },
        ]);
        expect(m.reach).toEqual([]);
        expect(m.endOfRib).toBeUndefined();
      }),
      RUNS,
    );
  });
});

const codecOptionsDefault = {
  fourOctetAs: false,
  extendedMessages: false,
  addPathReceive: new Set<never>(),
  addPathSend: new Set<never>(),
  extendedNextHopIpv4: false,
};
