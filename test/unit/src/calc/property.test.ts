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
import type { NodeIdentity } from '../../../../src/calc/types.ts';
import type { Resource } from '../../../../src/model/resource.ts';
import { resourceKey } from '../../../../src/model/resource.ts';
import type { ResourceChange, Snapshot } from '../../../../src/model/snapshot.ts';
import { diffSnapshots, SNAPSHOT_FIELD, snapshotOf } from '../../../../src/model/snapshot.ts';
import { bgpConfig, bgpPeer, namespace, netpol, node, pod, pool } from './fixtures.ts';

// Every object key with its possible versions (index = variant).
const UNIVERSE: ReadonlyMap<string, readonly Resource[]> = (() => {
  const u = new Map<string, Resource[]>();
  const add = (rs: Resource[]) => u.set(`${rs[0]!.kind}/${resourceKey(rs[0]!)}`, rs);
  for (let k = 1; k <= 4; k++) {
    add([
      node(`n${k}`, { ipv4: `192.0.2.${10 + k}/24`, podCIDRs: [`10.244.${k}.0/24`], labels: { rack: 'r1' } }),
      node(`n${k}`, {
        ipv4: `198.51.100.${10 + k}/24`,
        podCIDRs: [`10.244.${k}.0/24`],
        labels: { rack: 'r2' },
      }),
      node(`n${k}`, {
        ipv4: `192.0.2.${10 + k}/24`,
        ipv6: `2001:db8::${10 + k}/64`,
        podCIDRs: [`10.244.${k}.0/24`, `fd00:${k}::/64`],
        labels: { rack: 'r1', 'route-reflector': 'true' },
        annotations: { 'margay.io/route-reflector-cluster-id': '224.0.0.1' },
      }),
      node(`n${k}`, { internalIPs: [`192.0.2.${20 + k}`], labels: { rack: 'r2' } }),
    ]);
  }
  for (let k = 1; k <= 5; k++) {
    add([
      pod('shop', `p${k}`, {
        node: `n${(k % 4) + 1}`,
        ips: [`10.244.${(k % 4) + 1}.${k + 1}`],
        labels: { app: 'web' },
      }),
      pod('shop', `p${k}`, {
        node: `n${(k % 4) + 1}`,
        ips: [`10.244.${(k % 4) + 1}.${k + 1}`],
        labels: { app: 'db' },
      }),
      pod('shop', `p${k}`, {
        node: `n${(k % 3) + 1}`,
        ips: [`10.244.${(k % 3) + 1}.${k + 9}`],
        phase: 'Succeeded',
      }),
      pod('shop', `p${k}`, { node: `n${(k % 4) + 1}` }),
    ]);
  }
  add([namespace('shop'), namespace('shop', { team: 'a' })]);
  add([
    netpol('shop', 'db', {
      podSelector: { matchLabels: { app: 'db' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 5432 }] }],
    }),
    netpol('shop', 'db', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
  ]);
  add([
    pool('pods', '10.244.0.0/16'),
    pool('pods', '10.244.0.0/16', { vxlanMode: 'CrossSubnet', natOutgoing: true }),
    pool('pods', '10.244.0.0/16', { ipipMode: 'Always' }),
    pool('pods', '10.244.0.0/16', { vxlanMode: 'Always', disabled: true }),
  ]);
  add([pool('extra', '10.250.0.0/16', { natOutgoing: true }), pool('extra', '10.244.1.0/24')]);
  add([
    bgpConfig({}),
    bgpConfig({ nodeToNodeMeshEnabled: false, listenPort: 1179 }),
    bgpConfig({
      nodeASNumbers: [{ nodeSelector: "rack == 'r2'", asNumber: 65002 }],
      communities: [{ name: 'c', value: '65000:1' }],
      prefixAdvertisements: [{ cidr: '10.244.0.0/16', communities: ['c'] }],
    }),
  ]);
  add([
    bgpPeer('tor', { peerIP: '192.0.2.1', asNumber: 65000 }),
    bgpPeer('tor', { peerIP: '192.0.2.1', asNumber: 65000, nodeSelector: "rack == 'r1'" }),
  ]);
  add([
    bgpPeer('rrs', { nodeSelector: 'all()', peerSelector: 'has(route-reflector)' }),
    bgpPeer('rrs', { peerIP: '192.0.2.12', asNumber: 64512, node: 'n1' }),
  ]);
  return u;
})();
const KEYS = [...UNIVERSE.keys()];

/** A cluster state: per key, absent or a variant index. */
type State = ReadonlyMap<string, number>;

const stateArb: fc.Arbitrary<State> = fc
  .tuple(...KEYS.map((k) => fc.option(fc.nat(UNIVERSE.get(k)!.length - 1), { nil: undefined })))
  .map((vs) => new Map(KEYS.flatMap((k, i) => (vs[i] === undefined ? [] : [[k, vs[i]] as const]))));

function resourcesOf(s: State): Resource[] {
  return [...s].map(([k, v]) => UNIVERSE.get(k)![v]!);
}

/** Mutable per-kind maps, filled event by event: insertion order follows the events. */
class EventStore {
  readonly maps = Object.fromEntries(
    Object.values(SNAPSHOT_FIELD).map((f) => [f, new Map<string, Resource>()]),
  );
  apply(c: Pick<ResourceChange, 'type' | 'resource'>): void {
    const m = this.maps[SNAPSHOT_FIELD[c.resource.kind]]!;
    if (c.type === 'deleted') m.delete(resourceKey(c.resource));
    else m.set(resourceKey(c.resource), c.resource);
  }
  snapshot(): Snapshot {
    return { ...this.maps } as unknown as Snapshot;
  }
}

function shuffle<T>(xs: readonly T[], rnd: readonly number[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = (rnd[i % rnd.length]! >>> 0) % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const identityArb: fc.Arbitrary<NodeIdentity> = fc.record({
  name: fc.constantFrom('n1', 'n2', 'n3', 'n4'),
  ipv4: fc.constantFrom('192.0.2.99/24', '192.0.2.11/24'),
  mtu: fc.constantFrom(1500, 9000),
});

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
