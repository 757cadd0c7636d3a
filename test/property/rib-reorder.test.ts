// Calculation reordering (Felix calc_graph_fv_test style): the Loc-RIB (best paths, reasons,
// ECMP sets) and every Adj-RIB-Out after a full drain depend only on the final set of paths,
// not on the order the updates arrived in, on duplicates, on session resets along the way, on
// when (and how much) the speaker pulled from the Adj-RIBs-Out in between, or on a session loss
// whose flush is deferred and advanced in small steps among the other operations.
//
// Each generated history is replayed as is, shuffled, and with duplicated operations; each
// replay is compared with a fresh RIB fed only that replay's final state, in a canonical order.
// Seed: FC_SEED=<n> replays a failure (the seed is in the test name and fast-check's report).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AttrSet, Rib } from '../../bgp/rib/index.ts';
import type { PathAttributes } from '../../bgp/wire/types.ts';
import { announce, drain, makeRib, type PeerSpec, seq, withdraw } from '../unit/bgp/rib/helpers.ts';

const PEERS: readonly PeerSpec[] = [
  { id: '10.0.0.1', bgpId: '1.1.1.1', routeReflectorClient: true },
  { id: '10.0.0.2', bgpId: '2.2.2.2' },
  { id: '10.0.0.3', bgpId: '1.1.1.1', nextHopSelf: true },
  { id: '192.0.2.1', asn: 65001, bgpId: '3.3.3.3' },
  { id: '192.0.2.2', asn: 65002, bgpId: '4.4.4.4' },
  { id: '192.0.2.3', asn: 65001, bgpId: '5.5.5.5' },
];
const PEER_IDS = PEERS.map((p) => p.id);
const PREFIXES = ['10.1.0.0/24', '10.2.0.0/24', '10.3.0.0/24'];

type Op =
  | { kind: 'announce'; peer: string; prefix: string; pathId: number; attrs: number; nextHop: string }
  | { kind: 'withdraw'; peer: string; prefix: string; pathId: number }
  | { kind: 'reset'; peer: string }
  /** Session lost, flush deferred; the peer's next announce/withdraw/pull brings it back up. */
  | { kind: 'down'; peer: string }
  | { kind: 'flush'; budget: number }
  | { kind: 'local'; routes: { prefix: string; med?: number }[] }
  | { kind: 'pull'; peer: string; budget: number };

// A deliberately small attribute space, so that paths tie deep into the decision process.
const attrsArb: fc.Arbitrary<PathAttributes> = fc.record(
  {
    origin: fc.constantFrom(0 as const, 0 as const, 1 as const),
    asPath: fc.constantFrom([], [65001], [65002], [65001, 65003], [65000]).map((a) => [seq(...a)]),
    med: fc.constantFrom(0, 5),
    localPref: fc.constant(200),
    originatorId: fc.constantFrom('9.9.9.1', '9.9.9.2', '10.255.0.1'),
    clusterList: fc.constantFrom(['7.7.7.7'], ['7.7.7.7', '8.8.8.8']),
    communities: fc.constantFrom([1], [0xffffff01], [0xffffff02]),
  },
  { requiredKeys: ['origin', 'asPath'] },
);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('announce' as const),
      peer: fc.constantFrom(...PEER_IDS),
      prefix: fc.constantFrom(...PREFIXES),
      pathId: fc.constantFrom(0, 0, 1),
      attrs: fc.nat(2),
      nextHop: fc.constantFrom('192.0.2.50', '192.0.2.51'),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('withdraw' as const),
      peer: fc.constantFrom(...PEER_IDS),
      prefix: fc.constantFrom(...PREFIXES),
      pathId: fc.constantFrom(0, 1),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('reset' as const), peer: fc.constantFrom(...PEER_IDS) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('down' as const), peer: fc.constantFrom(...PEER_IDS) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('flush' as const), budget: fc.integer({ min: 1, max: 2 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('local' as const),
      routes: fc.uniqueArray(
        fc.record({ prefix: fc.constantFrom(...PREFIXES), med: fc.constantFrom(1, 2) }),
        { selector: (r) => r.prefix, maxLength: 2 },
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('pull' as const),
      peer: fc.constantFrom(...PEER_IDS),
      budget: fc.integer({ min: 1, max: 3 }),
    }),
  },
);

const routerIdOf = (peer: string): string => PEERS.find((p) => p.id === peer)?.bgpId ?? peer;

/** Ops name one of a few attribute sets generated per run, so that paths often tie. */
function apply(rib: Rib, op: Op, pool: readonly PathAttributes[]): void {
  if (
    (op.kind === 'announce' || op.kind === 'withdraw' || op.kind === 'pull') &&
    !rib.peerStats(op.peer).isUp
  ) {
    rib.peerUp(op.peer, { routerId: routerIdOf(op.peer) });
  }
  switch (op.kind) {
    case 'announce': {
      const attrs = pool[op.attrs % pool.length];
      rib.applyUpdate(
        op.peer,
        announce({ prefixes: [op.prefix], pathIds: [op.pathId], attrs, nextHop: op.nextHop }),
      );
      return;
    }
    case 'withdraw':
      rib.applyUpdate(op.peer, withdraw([op.prefix], [op.pathId]));
      return;
    case 'reset':
      rib.peerDown(op.peer);
      rib.peerUp(op.peer, { routerId: routerIdOf(op.peer) });
      return;
    case 'down':
      if (rib.peerStats(op.peer).isUp) rib.peerDown(op.peer, { isDeferred: true });
      return;
    case 'flush':
      rib.flush(op.budget);
      return;
    case 'local':
      rib.setLocalRoutes(op.routes);
      return;
    case 'pull':
      rib.takePending(op.peer, 'ipv4-unicast', op.budget);
      return;
  }
}

/**
 * The final state a history leaves: the last announce per (peer, prefix, path id), the last
 * local set, and the peers left down (a synchronous flush: the canonical run has no steps).
 */
function finalOps(ops: readonly Op[]): Op[] {
  const paths = new Map<string, Op>();
  let local: Op | undefined;
  const down = new Set<string>();
  for (const op of ops) {
    if (op.kind === 'announce' || op.kind === 'withdraw' || op.kind === 'pull') down.delete(op.peer);
    if (op.kind === 'announce') paths.set(`${op.peer} ${op.prefix} ${op.pathId}`, op);
    else if (op.kind === 'withdraw') paths.delete(`${op.peer} ${op.prefix} ${op.pathId}`);
    else if (op.kind === 'local') local = op;
    else if (op.kind === 'reset' || op.kind === 'down') {
      for (const k of [...paths.keys()]) if (k.startsWith(`${op.peer} `)) paths.delete(k);
      if (op.kind === 'down') down.add(op.peer);
      else down.delete(op.peer);
    }
  }
  const sorted = [...paths.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, op]) => op);
  const downs = [...down].sort().map((peer): Op => ({ kind: 'down', peer }));
  return [...(local === undefined ? [] : [local]), ...sorted, ...downs];
}

/** An attribute set as text, comparable between two RIBs. */
function describeSet(s: AttrSet): string {
  return JSON.stringify({ nextHop: s.nextHop, linkLocal: s.linkLocalNextHop, attrs: s.attrs }, (_k, v) =>
    typeof v === 'bigint' ? v.toString() : v,
  );
}

function snapshot(rib: Rib) {
  // Deferred flushes still running are part of the history's end state.
  while (rib.flush(1000));
  const locRib = PREFIXES.map((prefix) => {
    const d = rib.getDest(prefix);
    const id = (p: { peer: { id: string } | null; pathId: number; attrs: AttrSet }) =>
      `${p.peer?.id ?? 'local'}#${p.pathId} ${describeSet(p.attrs)}`;
    return {
      prefix,
      best: d?.best ? id(d.best) : null,
      reason: d?.best ? d.reason : null,
      multipath: d?.multipath?.map(id) ?? null,
    };
  });
  const adjRibOut = PEER_IDS.map((peer) => {
    drain(rib, peer);
    const sent = [...rib.advertised(peer, 'ipv4-unicast')]
      .map(([prefix, s]) => `${prefix} ${describeSet(s)}`)
      .sort();
    return { peer, sent, advertised: rib.peerStats(peer).advertised };
  });
  const counters = PEER_IDS.map((peer) => rib.peerStats(peer)).map(({ received, accepted }) => ({
    received,
    accepted,
  }));
  return { locRib, adjRibOut, counters, attrSets: rib.attrSetCount, exportSets: rib.exportAttrSetCount };
}

interface RunOptions {
  readonly maxPaths: number;
  readonly alwaysCompareMed: boolean;
  readonly pool: readonly PathAttributes[];
}

function run(ops: readonly Op[], { pool, ...options }: RunOptions) {
  const { rib } = makeRib(PEERS, options);
  for (const op of ops) apply(rib, op, pool);
  return snapshot(rib);
}

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);

describe('RIB reordering property', () => {
  it(`final Loc-RIB and Adj-RIBs-Out depend only on the final paths (seed ${seed})`, () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 40 }),
        fc.array(attrsArb, { minLength: 1, maxLength: 3 }),
        fc.infiniteStream(fc.nat()),
        fc.integer({ min: 1, max: 3 }),
        fc.boolean(),
        (ops, pool, randoms, maxPaths, alwaysCompareMed) => {
          const options = { maxPaths, alwaysCompareMed, pool };
          const rand = randoms[Symbol.iterator]();
          const next = (n: number) => (rand.next().value as number) % n;
          const shuffled = [...ops];
          for (let i = shuffled.length - 1; i > 0; i--) {
            const j = next(i + 1);
            [shuffled[i], shuffled[j]] = [shuffled[j] as Op, shuffled[i] as Op];
          }
          const duplicated = ops.flatMap((op) => (next(3) === 0 ? [op, op] : [op]));
          for (const history of [ops, shuffled, duplicated]) {
            expect(run(history, options)).toEqual(run(finalOps(history), options));
          }
        },
      ),
      { seed, numRuns: 300 },
    );
  });
});
