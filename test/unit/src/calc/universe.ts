// A small universe of cluster objects for the calculation's property tests: every object key with
// the versions it may take (nodes with other addresses, labels and pod CIDRs, pods running,
// relabelled, finished or without an address, policies, pools with every encapsulation, BGP
// configurations and peers), and random cluster states over it.
import fc from 'fast-check';
import type { NodeIdentity } from '../../../../src/calc/types.ts';
import type { Resource } from '../../../../src/model/resource.ts';
import { resourceKey } from '../../../../src/model/resource.ts';
import type { ResourceChange, Snapshot } from '../../../../src/model/snapshot.ts';
import { SNAPSHOT_FIELD } from '../../../../src/model/snapshot.ts';
import { bgpConfig, bgpPeer, namespace, netpol, node, pod, pool } from './fixtures.ts';

// Every object key with its possible versions (index = variant).
export const UNIVERSE: ReadonlyMap<string, readonly Resource[]> = (() => {
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
  add([namespace('web', { team: 'a' }), namespace('web', { team: 'b' })]);
  add([
    pod('web', 'w1', { node: 'n1', ips: ['10.244.1.40', 'fd00:1::40'], labels: { app: 'web' } }),
    pod('web', 'w1', { node: 'n2', ips: ['10.244.2.40'], labels: { app: 'web' } }),
    pod('web', 'w1', {
      node: 'n1',
      ips: ['10.244.1.41'],
      labels: { app: 'api' },
      ports: [{ name: 'http', containerPort: 8080 }],
    }),
  ]);
  add([
    netpol('shop', 'from-team-a', {
      podSelector: { matchLabels: { app: 'db' } },
      ingress: [
        {
          from: [
            { namespaceSelector: { matchLabels: { team: 'a' } } },
            { ipBlock: { cidr: '10.0.0.0/8', except: ['10.244.9.0/24'] } },
          ],
          ports: [{ port: 'http' }],
        },
      ],
    }),
    netpol('shop', 'from-team-a', {
      podSelector: { matchLabels: { app: 'web' } },
      policyTypes: ['Egress'],
      egress: [{ to: [{ podSelector: { matchLabels: { app: 'api' } }, namespaceSelector: {} }] }],
    }),
  ]);
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
export const KEYS = [...UNIVERSE.keys()];

/** A cluster state: per key, absent or a variant index. */
export type State = ReadonlyMap<string, number>;

export const stateArb: fc.Arbitrary<State> = fc
  .tuple(...KEYS.map((k) => fc.option(fc.nat(UNIVERSE.get(k)!.length - 1), { nil: undefined })))
  .map((vs) => new Map(KEYS.flatMap((k, i) => (vs[i] === undefined ? [] : [[k, vs[i]] as const]))));

export function resourcesOf(s: State): Resource[] {
  return [...s].map(([k, v]) => UNIVERSE.get(k)![v]!);
}

/** Mutable per-kind maps, filled event by event: insertion order follows the events. */
export class EventStore {
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

export function shuffle<T>(xs: readonly T[], rnd: readonly number[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = (rnd[i % rnd.length]! >>> 0) % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export const identityArb: fc.Arbitrary<NodeIdentity> = fc.record({
  name: fc.constantFrom('n1', 'n2', 'n3', 'n4'),
  ipv4: fc.constantFrom('192.0.2.99/24', '192.0.2.11/24'),
  mtu: fc.constantFrom(1500, 9000),
});
