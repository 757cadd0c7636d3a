// CalcGraph ends where calculate() and remoteRoutes() are, whatever way it got there (Felix
// calc_graph_fv_test style): the first snapshot fed as added objects, then the changes to another
// snapshot — shuffled, some delivered twice, objects deleted and re-added — and best paths set,
// replaced and withdrawn, all cut into random batches with update() called at random points. The
// final output deep-equals calculate() of the final snapshot and remoteRoutes() of the final best
// paths, and every update's change flags say exactly which parts are new objects, none of which
// is a new object with the old content.
// fast-check prints the seed and path of a failure; replay with fc.assert(..., { seed, path }).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { calculate } from '../../../../src/calc/calculate.ts';
import { CalcGraph, snapshotChanges } from '../../../../src/calc/graph.ts';
import { remoteRoutes } from '../../../../src/calc/routes.ts';
import type { CalcOutput } from '../../../../src/calc/types.ts';
import type { ResourceChange } from '../../../../src/model/snapshot.ts';
import { diffSnapshots, snapshotOf } from '../../../../src/model/snapshot.ts';
import { identityArb, KEYS, resourcesOf, shuffle, stateArb, UNIVERSE } from './universe.ts';

const PREFIXES = [
  '10.244.1.0/24',
  '10.244.2.0/24',
  '10.244.3.0/24',
  '10.244.4.0/24',
  '10.244.2.128/25',
  'fd00:2::/64',
  'fd00:3::/64',
  '203.0.113.0/24',
  '10.250.1.0/24',
];
const HOPS = [
  '192.0.2.11',
  '192.0.2.12',
  '192.0.2.13',
  '198.51.100.13',
  '192.0.2.24',
  '192.0.2.1',
  '2001:db8::12',
  '2001:db8::13',
  '2001:DB8::0:13',
];

/** Best paths by prefix; an empty list is a withdrawal. */
const pathsArb = fc.dictionary(
  fc.constantFrom(...PREFIXES),
  fc.uniqueArray(fc.constantFrom(...HOPS), { maxLength: 3 }),
  { maxKeys: PREFIXES.length },
);

type Step =
  | { readonly change: ResourceChange }
  | { readonly prefix: string; readonly nextHops: readonly string[] };

function familyOf(prefix: string): 'ipv4-unicast' | 'ipv6-unicast' {
  return prefix.includes(':') ? 'ipv6-unicast' : 'ipv4-unicast';
}

/** Every part the flags speak for: [flag, the objects that make up the part]. */
function parts(o: CalcOutput): Record<keyof CalcOutput['changed'], readonly unknown[]> {
  const s = o.state;
  return {
    cluster: [s.node, s.speaker, s.dataplane.localRoutes, s.dataplane.vxlan, s.dataplane.ipip],
    peers: [s.peers],
    announcements: [s.announcements],
    routes: [o.remoteRoutes],
    policy: [s.dataplane.iptables, s.dataplane.ipsets, s.dataplane.policyExplain],
    endpoints: [s.dataplane.endpoints],
    problems: [s.problems],
  };
}

/** The flags say exactly which parts are new objects; no part is a new object with old content. */
function checkFlags(prev: CalcOutput, next: CalcOutput): void {
  const a = parts(prev);
  const b = parts(next);
  for (const k of Object.keys(a) as (keyof CalcOutput['changed'])[]) {
    const moved = a[k].some((x, i) => x !== b[k][i]);
    expect({ part: k, changed: next.changed[k] }).toEqual({ part: k, changed: moved });
    // The policy part's inner objects are the policy store's; its content is checked at the end.
    if (moved && k !== 'policy') expect(JSON.stringify(b[k])).not.toBe(JSON.stringify(a[k]));
  }
  const any = Object.entries(next.changed).some(([part, v]) => v && part !== 'routes');
  if (!any) expect(next.state).toBe(prev.state);
}

describe('CalcGraph ends equal to calculate() and remoteRoutes()', () => {
  it('any split, order, duplication and interleaving of changes and best paths', () => {
    fc.assert(
      fc.property(
        stateArb,
        stateArb,
        identityArb,
        pathsArb,
        pathsArb,
        fc.array(fc.integer(), { minLength: 32, maxLength: 32 }),
        fc.subarray(KEYS),
        fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }),
        (detour, final, identity, paths1, paths2, rnd, churn, cuts) => {
          const before = snapshotOf(resourcesOf(detour));
          const after = snapshotOf(resourcesOf(final));
          const pathSteps = (p: Record<string, string[]>): Step[] =>
            Object.entries(p).map(([prefix, nextHops]) => ({ prefix, nextHops }));
          const first: Step[] = shuffle(
            [...snapshotChanges(before).map((change) => ({ change })), ...pathSteps(paths1)],
            rnd,
          );
          const changes = diffSnapshots(before, after);
          const replay = [...changes, ...changes.filter((_, i) => (rnd[i % 32]! & 3) === 0)];
          const withdrawn = Object.keys(paths1).filter((p) => !(p in paths2));
          const second: Step[] = shuffle(
            [
              ...replay.map((change) => ({ change })),
              ...pathSteps(paths2),
              ...withdrawn.map((prefix) => ({ prefix, nextHops: [] })),
            ],
            rnd.slice(5),
          );
          // Delete and re-add: the graph sees the object go and come back.
          const third: Step[] = [];
          for (const key of churn) {
            const v = final.get(key);
            if (v === undefined) continue;
            const resource = UNIVERSE.get(key)![v]!;
            const k = key.slice(key.indexOf('/') + 1);
            third.push({ change: { type: 'deleted', kind: resource.kind, key: k, resource } });
            third.push({ change: { type: 'added', kind: resource.kind, key: k, resource } });
          }

          const graph = new CalcGraph(identity);
          let prev: CalcOutput | undefined;
          let n = 0;
          const steps = [...first, ...second, ...third];
          let batch: ResourceChange[] = [];
          const flush = () => {
            graph.applyChanges(batch);
            batch = [];
          };
          for (const step of steps) {
            if ('change' in step) batch.push(step.change);
            else {
              flush();
              graph.setBestPath(step.prefix, familyOf(step.prefix), step.nextHops);
            }
            if (cuts[n++ % cuts.length]!) {
              flush();
              const out = graph.update();
              if (prev !== undefined) checkFlags(prev, out);
              prev = out;
            }
          }
          flush();
          const out = graph.update();
          if (prev !== undefined) checkFlags(prev, out);

          const state = calculate(after, identity);
          expect(out.state).toEqual(state);
          expect(JSON.stringify(out.state)).toBe(JSON.stringify(state));
          const bestPaths = Object.entries(paths2)
            .filter(([, hops]) => hops.length > 0)
            .map(([prefix, nextHops]) => ({ prefix, family: familyOf(prefix), nextHops }));
          expect(out.remoteRoutes).toEqual(remoteRoutes({ bestPaths, state, snapshot: after }));

          // Nothing new in: nothing moves, and the output is the very same state.
          const again = graph.update();
          expect(again.changed).toEqual({
            cluster: false,
            peers: false,
            announcements: false,
            routes: false,
            policy: false,
            endpoints: false,
            problems: false,
          });
          expect(again.state).toBe(out.state);
          expect(again.remoteRoutes).toBe(out.remoteRoutes);
        },
      ),
      { numRuns: 100 },
    );
  }, 60_000);

  it('the same objects again as new copies change nothing', () => {
    fc.assert(
      fc.property(stateArb, identityArb, pathsArb, (state, identity, paths) => {
        const snapshot = snapshotOf(resourcesOf(state));
        const graph = new CalcGraph(identity);
        graph.applyChanges(snapshotChanges(snapshot));
        for (const [prefix, hops] of Object.entries(paths)) graph.setBestPath(prefix, familyOf(prefix), hops);
        const out = graph.update();
        const copies = snapshotChanges(snapshot).map(
          (c): ResourceChange => ({
            type: 'modified',
            kind: c.kind,
            key: c.key,
            resource: structuredClone(c.resource),
            previous: c.resource,
          }),
        );
        graph.applyChanges(copies);
        for (const [prefix, hops] of Object.entries(paths))
          graph.setBestPath(prefix, familyOf(prefix), [...hops]);
        const again = graph.update();
        checkFlags(out, again);
        expect(Object.values(again.changed).some((v) => v)).toBe(false);
        expect(again.state).toBe(out.state);
      }),
      { numRuns: 100 },
    );
  });
});
