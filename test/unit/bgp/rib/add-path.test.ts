// ADD-PATH (RFC 7911) in the RIB. Receiving: several paths per prefix from one peer, keyed by
// path identifier; withdraw by identifier; implicit replace; the decision and ECMP see them all.
// Sending: a route reflector advertises every exportable path of a prefix to an ADD-PATH client
// with stable identifiers (implicit replace on change, withdraw by identifier), per-path
// reflection rules, one path per distinct exported set; other peers keep getting the best path.
// A property test replays random announce/withdraw sequences and checks that the client's view,
// rebuilt from the batches alone, is every eligible path of every prefix.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PendingBatch } from '../../../../bgp/rib/index.ts';
import type { Family } from '../../../../bgp/wire/types.ts';
import { announce, drain, makeRib, type PeerSpec, withdraw } from './helpers.ts';

const A: PeerSpec = { id: '192.0.2.1', routeReflectorClient: true };
const B: PeerSpec = { id: '192.0.2.2', routeReflectorClient: true };
/** The ADD-PATH client: every path is sent to it. */
const C: PeerSpec = {
  id: '192.0.2.3',
  routeReflectorClient: true,
  addPathSend: ['ipv4-unicast', 'ipv6-unicast'],
};
/** A client without ADD-PATH. */
const D: PeerSpec = { id: '192.0.2.4', routeReflectorClient: true };
/** A non-client with ADD-PATH send. */
const N: PeerSpec = { id: '192.0.2.5', addPathSend: ['ipv4-unicast'] };
const P = '10.244.1.0/24';

/** What a receiver holds after applying batches: prefix → path id → next hop (+ MED). */
type View = Map<string, Map<number, string>>;

function apply(view: View, batches: readonly PendingBatch[]): void {
  for (const b of batches) {
    b.withdrawn.toArray().forEach((prefix, i) => {
      const id = b.withdrawnPathIds?.[i] ?? 0;
      const paths = view.get(prefix);
      expect(paths?.has(id), `withdraw of ${prefix} id ${id} that was never sent`).toBe(true);
      paths?.delete(id);
      if (paths?.size === 0) view.delete(prefix);
    });
    for (const g of b.announced) {
      g.prefixes.toArray().forEach((prefix, i) => {
        const id = g.pathIds?.[i] ?? 0;
        const paths = view.get(prefix) ?? new Map<number, string>();
        view.set(prefix, paths);
        paths.set(id, `${g.attrs.nextHop} med ${g.attrs.attrs.med ?? '-'}`);
      });
    }
  }
}

function ready(peers: readonly PeerSpec[], maxPaths = 1) {
  const t = makeRib(peers, { maxPaths });
  for (const p of peers) for (const f of ['ipv4-unicast', 'ipv6-unicast'] as Family[]) drain(t.rib, p.id, f);
  return t;
}

describe('ADD-PATH receive', () => {
  it('keeps every path of one peer by identifier; ECMP sees them; withdraw and replace by identifier', () => {
    const { rib } = ready([A], 4);
    rib.applyUpdate(A.id, announce({ prefixes: [P, P], nextHop: '192.0.2.11', pathIds: [1, 2] }));
    rib.applyUpdate(A.id, announce({ prefixes: [P], nextHop: '192.0.2.12', pathIds: [2] }));
    let d = rib.getDest(P);
    expect((d?.paths as { pathId: number }[] | undefined)?.map((p) => p.pathId).sort()).toEqual([1, 2]);
    expect(d?.multipath?.map((p) => p.attrs.nextHop).sort()).toEqual(['192.0.2.11', '192.0.2.12']);
    expect(rib.peerStats(A.id).received).toBe(2);
    // Implicit replace of id 1 (RFC 7911 §3): still two paths, new next hop.
    rib.applyUpdate(A.id, announce({ prefixes: [P], nextHop: '192.0.2.13', pathIds: [1] }));
    d = rib.getDest(P);
    expect(d?.multipath?.map((p) => p.attrs.nextHop).sort()).toEqual(['192.0.2.12', '192.0.2.13']);
    // Withdraw by id: only that path goes.
    rib.applyUpdate(A.id, withdraw([P], [2]));
    d = rib.getDest(P);
    expect(d?.best?.attrs.nextHop).toBe('192.0.2.13');
    expect(d?.multipath).toBeNull();
    rib.applyUpdate(A.id, withdraw([P], [7]));
    expect(rib.getDest(P)?.best?.pathId).toBe(1);
    rib.applyUpdate(A.id, withdraw([P], [1]));
    expect(rib.getDest(P)).toBeUndefined();
  });
});

describe('ADD-PATH send', () => {
  it('a route reflector sends its ADD-PATH client both clients’ paths; a plain client gets the best', () => {
    const { rib } = ready([A, B, C, D]);
    rib.applyUpdate(A.id, announce({ prefixes: [P], nextHop: A.id }));
    rib.applyUpdate(B.id, announce({ prefixes: [P], nextHop: B.id }));
    const c: View = new Map();
    apply(c, drain(rib, C.id));
    const ids = [...(c.get(P)?.keys() ?? [])];
    expect([...(c.get(P)?.values() ?? [])].sort()).toEqual([`${A.id} med -`, `${B.id} med -`]);
    expect(new Set(ids).size).toBe(2);
    expect(ids.every((id) => id >= 2)).toBe(true);
    expect(rib.advertisedPaths(C.id, 'ipv4-unicast').get(P)).toHaveLength(2);
    expect(rib.peerStats(C.id).advertised).toBe(1);
    const d: View = new Map();
    apply(d, drain(rib, D.id));
    expect(d.get(P)?.size).toBe(1);
    expect([...(d.get(P)?.keys() ?? [])]).toEqual([0]);
    // A client never gets its own path back: A has B's only.
    const a: View = new Map();
    apply(a, drain(rib, A.id));
    expect(a.get(P)?.size ?? 0).toBeLessThanOrEqual(1);
  });

  it('a changed path keeps its identifier (implicit replace); a withdrawn one is withdrawn by it', () => {
    const { rib } = ready([A, B, C]);
    rib.applyUpdate(A.id, announce({ prefixes: [P], nextHop: A.id }));
    rib.applyUpdate(B.id, announce({ prefixes: [P], nextHop: B.id }));
    const c: View = new Map();
    apply(c, drain(rib, C.id));
    const idOf = (nh: string) => [...(c.get(P) ?? [])].find(([, v]) => v.startsWith(`${nh} `))?.[0];
    const idA = idOf(A.id);
    const idB = idOf(B.id);
    // B's path changes (MED): the best path does not, yet C is sent B's path again, same id,
    // and nothing is withdrawn.
    rib.applyUpdate(B.id, announce({ prefixes: [P], nextHop: B.id, attrs: { med: 5 } }));
    const batches = drain(rib, C.id);
    expect(batches.flatMap((b) => b.withdrawn.toArray())).toEqual([]);
    expect(batches.flatMap((b) => b.announced.flatMap((g) => g.pathIds))).toEqual([idB]);
    apply(c, batches);
    expect(c.get(P)?.get(idB as number)).toBe(`${B.id} med 5`);
    // A withdraws: C gets a withdrawal of A's id only.
    rib.applyUpdate(A.id, withdraw([P]));
    const w = drain(rib, C.id);
    expect(w.flatMap((b) => b.withdrawnPathIds ?? [])).toEqual([idA]);
    apply(c, w);
    expect([...(c.get(P)?.keys() ?? [])]).toEqual([idB]);
    // A comes back: the same identifier as before (stable per source path).
    rib.applyUpdate(A.id, announce({ prefixes: [P], nextHop: A.id }));
    apply(c, drain(rib, C.id));
    expect(idOf(A.id)).toBe(idA);
  });

  it('reflection rules apply per path; paths that export alike are sent once; local routes are id 1', () => {
    const nonClient: PeerSpec = { id: '192.0.2.6' };
    const { rib } = ready([A, nonClient, N]);
    rib.applyUpdate(A.id, announce({ prefixes: [P], nextHop: A.id }));
    rib.applyUpdate(nonClient.id, announce({ prefixes: [P], nextHop: nonClient.id }));
    const n: View = new Map();
    apply(n, drain(rib, N.id));
    // RFC 4456 §6: a non-client's path is not reflected to another non-client.
    expect([...(n.get(P)?.values() ?? [])]).toEqual([`${A.id} med -`]);

    // Two paths of one client that differ only in NEXT_HOP export alike with nextHopSelf.
    const { rib: rib2 } = ready([A, { ...C, nextHopSelf: true }]);
    rib2.applyUpdate(A.id, announce({ prefixes: [P, P], nextHop: A.id, pathIds: [1, 2] }));
    rib2.applyUpdate(A.id, announce({ prefixes: [P], nextHop: '192.0.2.11', pathIds: [2] }));
    const c: View = new Map();
    apply(c, drain(rib2, C.id));
    expect(c.get(P)?.size).toBe(1);
    rib2.setLocalRoutes([{ prefix: '10.244.9.0/24' }]);
    const local = drain(rib2, C.id).flatMap((b) => b.announced.flatMap((g) => g.pathIds));
    expect(local).toEqual([1]);
  });

  it('property: the client’s view rebuilt from batches is every eligible path, ids unique per prefix', () => {
    const sources = [A, B, { id: '192.0.2.7', routeReflectorClient: true }] as const;
    const prefixes = ['10.1.0.0/24', '10.2.0.0/24', '10.3.0.0/24'];
    const op = fc.record({
      src: fc.integer({ min: 0, max: sources.length - 1 }),
      prefix: fc.constantFrom(...prefixes),
      kind: fc.constantFrom('announce', 'announce', 'withdraw', 'flap'),
      med: fc.integer({ min: 0, max: 3 }),
      drainAfter: fc.boolean(),
      budget: fc.integer({ min: 1, max: 4 }),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const { rib } = ready([...sources, C], 2);
        const view: View = new Map();
        const truth = new Map<string, Map<string, number>>();
        for (const o of ops) {
          const s = sources[o.src] as PeerSpec;
          const paths = truth.get(o.prefix) ?? new Map<string, number>();
          truth.set(o.prefix, paths);
          if (o.kind === 'announce') {
            rib.applyUpdate(s.id, announce({ prefixes: [o.prefix], nextHop: s.id, attrs: { med: o.med } }));
            paths.set(s.id, o.med);
          } else if (o.kind === 'withdraw') {
            rib.applyUpdate(s.id, withdraw([o.prefix]));
            paths.delete(s.id);
          } else {
            // The session of the source goes down and up: its paths are flushed.
            rib.peerDown(s.id);
            rib.peerUp(s.id, { routerId: s.id });
            for (const m of truth.values()) m.delete(s.id);
          }
          if (o.drainAfter) apply(view, drain(rib, C.id, 'ipv4-unicast', o.budget));
        }
        apply(view, drain(rib, C.id));
        const expected = new Map<string, string[]>();
        for (const [prefix, paths] of truth) {
          if (paths.size > 0) expected.set(prefix, [...paths].map(([nh, med]) => `${nh} med ${med}`).sort());
        }
        const got = new Map([...view].map(([prefix, paths]) => [prefix, [...paths.values()].sort()]));
        expect(got).toEqual(expected);
        const advertised = rib.advertisedPaths(C.id, 'ipv4-unicast');
        for (const [prefix, paths] of view) {
          expect(
            advertised
              .get(prefix)
              ?.map((p) => p.id)
              .sort(),
          ).toEqual([...paths.keys()].sort());
        }
      }),
      { numRuns: 200 },
    );
  });
});
