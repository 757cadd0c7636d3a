// calculate() depends only on the final content of the snapshot (Felix calc_graph_fv_test style):
// the same final objects reached through any order of add / modify / delete events — including
// detours through an unrelated intermediate state, deletes and re-adds that move an object to the
// end of its map, and duplicated events — give a deep-equal CalculatedState. Plus determinism:
// peers strictly sorted by address, remoteRoutes independent of the best-path order.
// fast-check prints the seed and path of a failure; replay with fc.assert(..., { seed, path }).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressSortKey } from '../../../../src/calc/addr.ts';
import { calculate } from '../../../../src/calc/calculate.ts';
import { remoteRoutes } from '../../../../src/calc/routes.ts';
import { diffSnapshots, snapshotOf } from '../../../../src/model/snapshot.ts';
import { EventStore, identityArb, KEYS, resourcesOf, shuffle, stateArb, UNIVERSE } from './universe.ts';

describe('calculate depends only on the final snapshot content', () => {
  it('any event order, detour, churn and duplicates give the same CalculatedState', () => {
    fc.assert(
      fc.property(
        stateArb,
        stateArb,
        identityArb,
        fc.array(fc.integer(), { minLength: 32, maxLength: 32 }),
        fc.subarray(KEYS),
        (detour, final, identity, rnd, churn) => {
          const store = new EventStore();
          const before = snapshotOf(resourcesOf(detour));
          for (const r of shuffle(resourcesOf(detour), rnd)) store.apply({ type: 'added', resource: r });
          const after = snapshotOf(resourcesOf(final));
          const changes = diffSnapshots(before, after);
          // Every change once, some twice (a re-delivered watch event), in a random order.
          const replay = shuffle(
            [...changes, ...changes.filter((_, i) => (rnd[i % 32]! & 3) === 0)],
            rnd.slice(3),
          );
          for (const c of replay) store.apply(c);
          // Delete and re-add: the object moves to the end of its map.
          for (const key of churn) {
            const v = final.get(key);
            if (v === undefined) continue;
            const r = UNIVERSE.get(key)![v]!;
            store.apply({ type: 'deleted', resource: r });
            store.apply({ type: 'added', resource: r });
          }
          const viaEvents = calculate(store.snapshot(), identity);
          const direct = calculate(after, identity);
          expect(viaEvents).toEqual(direct);
          expect(JSON.stringify(viaEvents)).toBe(JSON.stringify(direct));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('peers are strictly sorted by address and the result is deterministic', () => {
    fc.assert(
      fc.property(stateArb, identityArb, (state, identity) => {
        const s = snapshotOf(resourcesOf(state));
        const a = calculate(s, identity);
        const keys = a.peers.map((p) => addressSortKey(p.address));
        expect(keys).toEqual([...keys].sort());
        expect(new Set(keys).size).toBe(keys.length);
        expect(calculate(s, identity)).toEqual(a);
      }),
      { numRuns: 100 },
    );
  });

  it('remoteRoutes does not depend on the order of the best paths', () => {
    const pathArb = fc.uniqueArray(
      fc.record({
        prefix: fc.constantFrom(
          '10.244.1.0/24',
          '10.244.2.0/24',
          '10.244.3.0/24',
          '10.244.4.0/24',
          '203.0.113.0/24',
        ),
        nextHops: fc.uniqueArray(
          fc.constantFrom('192.0.2.11', '192.0.2.12', '198.51.100.13', '192.0.2.24', '192.0.2.1'),
          { maxLength: 3 },
        ),
      }),
      { selector: (p) => p.prefix },
    );
    fc.assert(
      fc.property(
        stateArb,
        identityArb,
        pathArb,
        fc.array(fc.integer(), { minLength: 8, maxLength: 8 }),
        (state, identity, paths, rnd) => {
          const snapshot = snapshotOf(resourcesOf(state));
          const st = calculate(snapshot, identity);
          const withFamily = paths.map((p) => ({ ...p, family: 'ipv4-unicast' as const }));
          const a = remoteRoutes({ bestPaths: withFamily, state: st, snapshot });
          const b = remoteRoutes({
            bestPaths: shuffle(withFamily, rnd).map((p) => ({ ...p, nextHops: [...p.nextHops].reverse() })),
            state: st,
            snapshot,
          });
          expect(b).toEqual(a);
        },
      ),
      { numRuns: 100 },
    );
  });
});
