// CalcGraph, change by change: what each kind of change recomputes and what it leaves as the same
// object, and an object the calculation throws on isolated from the rest.
import { describe, expect, it } from 'vitest';
import { calculate } from '../../../../src/calc/calculate.ts';
import { CalcGraph, snapshotChanges } from '../../../../src/calc/graph.ts';
import type { CalcOutput } from '../../../../src/calc/types.ts';
import type { Resource } from '../../../../src/model/resource.ts';
import { resourceKey } from '../../../../src/model/resource.ts';
import type { ResourceChange } from '../../../../src/model/snapshot.ts';
import { snapshotOf } from '../../../../src/model/snapshot.ts';
import { bgpConfig, flatNodes, namespace, netpol, node, pod, pool } from './fixtures.ts';

const base: Resource[] = [
  ...flatNodes(3),
  bgpConfig({}),
  pool('pods', '10.244.0.0/16', { vxlanMode: 'CrossSubnet', natOutgoing: true }),
  namespace('shop'),
  pod('shop', 'web-1', { node: 'node-1', ips: ['10.244.1.5'], labels: { app: 'web' } }),
  pod('shop', 'web-2', { node: 'node-2', ips: ['10.244.2.5'], labels: { app: 'web' } }),
  pod('shop', 'db-1', { node: 'node-1', ips: ['10.244.1.6'], labels: { app: 'db' } }),
  netpol('shop', 'db', {
    podSelector: { matchLabels: { app: 'db' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }],
  }),
];

function change(type: ResourceChange['type'], resource: Resource, previous?: Resource): ResourceChange {
  return {
    type,
    kind: resource.kind,
    key: resourceKey(resource),
    resource,
    ...(previous !== undefined ? { previous } : {}),
  };
}

function started(): { graph: CalcGraph; out: CalcOutput } {
  const graph = new CalcGraph({ name: 'node-1' });
  graph.applyChanges(snapshotChanges(snapshotOf(base)));
  graph.setBestPath('10.244.2.0/24', 'ipv4-unicast', ['192.0.2.12']);
  graph.setBestPath('10.244.3.0/24', 'ipv4-unicast', ['192.0.2.13']);
  return { graph, out: graph.update() };
}

const nothing = {
  cluster: false,
  peers: false,
  announcements: false,
  routes: false,
  policy: false,
  endpoints: false,
  problems: false,
};

describe('CalcGraph: what a change touches', () => {
  it('starts equal to calculate()', () => {
    const { out } = started();
    expect(out.state).toEqual(calculate(snapshotOf(base), { name: 'node-1' }));
    expect(out.remoteRoutes.map((r) => r.dst)).toEqual(['10.244.2.0/24', '10.244.3.0/24']);
    expect(out.state.peers.map((p) => p.address)).toEqual(['192.0.2.12', '192.0.2.13']);
  });

  it('a best-path change moves the routes only', () => {
    const { graph, out } = started();
    graph.setBestPath('10.244.3.0/24', 'ipv4-unicast', ['192.0.2.12', '192.0.2.13']);
    const next = graph.update();
    expect(next.changed).toEqual({ ...nothing, routes: true });
    expect(next.state).toBe(out.state);
    expect(next.remoteRoutes[0]).toBe(out.remoteRoutes[0]);
    expect(next.remoteRoutes[1]!.nextHops).toEqual([{ gateway: '192.0.2.12' }, { gateway: '192.0.2.13' }]);
    graph.setBestPath('10.244.3.0/24', 'ipv4-unicast', []);
    const withdrawn = graph.update();
    expect(withdrawn.changed).toEqual({ ...nothing, routes: true });
    expect(withdrawn.remoteRoutes).toEqual([out.remoteRoutes[0]]);
  });

  it('a remote pod label change moves policy only: peers, routes and endpoints stay the same objects', () => {
    const { graph, out } = started();
    const old = base.find((r) => r.kind === 'Pod' && r.metadata.name === 'web-2')!;
    const relabelled = pod('shop', 'web-2', {
      node: 'node-2',
      ips: ['10.244.2.5'],
      labels: { app: 'other' },
    });
    graph.applyChanges([change('modified', relabelled, old)]);
    const next = graph.update();
    expect(next.changed).toEqual({ ...nothing, policy: true });
    expect(next.state.peers).toBe(out.state.peers);
    expect(next.state.node).toBe(out.state.node);
    expect(next.state.dataplane.endpoints).toBe(out.state.dataplane.endpoints);
    expect(next.state.dataplane.vxlan).toBe(out.state.dataplane.vxlan);
    expect(next.remoteRoutes).toBe(out.remoteRoutes);
    expect(next.state).toEqual(
      calculate(snapshotOf([...base.filter((r) => r !== old), relabelled]), { name: 'node-1' }),
    );
  });

  it('a pod status change the policy does not see feeds nothing', () => {
    const { graph, out } = started();
    const old = base.find((r) => r.kind === 'Pod' && r.metadata.name === 'web-2')!;
    const pending = {
      ...old,
      status: { ...(old as { status: object }).status, phase: 'Unknown' },
    } as Resource;
    graph.applyChanges([change('modified', pending, old)]);
    expect(graph.dirty).toBe(false);
    expect(graph.update().state).toBe(out.state);
  });

  it('a local pod that finishes loses its endpoint', () => {
    const { graph, out } = started();
    const old = base.find((r) => r.kind === 'Pod' && r.metadata.name === 'web-1')!;
    const done = pod('shop', 'web-1', {
      node: 'node-1',
      ips: ['10.244.1.5'],
      labels: { app: 'web' },
      phase: 'Succeeded',
    });
    graph.applyChanges([change('modified', done, old)]);
    const next = graph.update();
    expect(next.changed.endpoints).toBe(true);
    expect(next.changed.cluster || next.changed.peers || next.changed.routes).toBe(false);
    expect(next.state.dataplane.endpoints.map((e) => e.id)).toEqual(['shop/db-1']);
    expect(next.state.dataplane.endpoints[0]).toBe(out.state.dataplane.endpoints[0]);
  });

  it("another node's new address moves peers and the routes via it, not the other routes", () => {
    const { graph, out } = started();
    const old = base.find((r) => r.kind === 'Node' && r.metadata.name === 'node-3')!;
    const moved = node('node-3', { ipv4: '198.51.100.13/24', podCIDRs: ['10.244.3.0/24'] });
    graph.applyChanges([change('modified', moved, old)]);
    graph.setBestPath('10.244.3.0/24', 'ipv4-unicast', ['198.51.100.13']);
    const next = graph.update();
    expect(next.changed.peers).toBe(true);
    expect(next.changed.routes).toBe(true);
    expect(next.changed.endpoints).toBe(false);
    expect(next.state.dataplane.endpoints).toBe(out.state.dataplane.endpoints);
    expect(next.remoteRoutes[0]).toBe(out.remoteRoutes[0]);
    // CrossSubnet: node-3 is on another subnet now, so its pod CIDR goes through the tunnel.
    expect(next.remoteRoutes[1]).toMatchObject({
      dst: '10.244.3.0/24',
      nextHops: [{ gateway: '10.244.3.0', dev: 'vxlan.margay', onlink: true }],
    });
  });

  it("another node's label change recomputes the cluster part but keeps every equal piece", () => {
    const { graph, out } = started();
    const old = base.find((r) => r.kind === 'Node' && r.metadata.name === 'node-3')!;
    const relabelled = node('node-3', {
      ipv4: '192.0.2.13/24',
      podCIDRs: ['10.244.3.0/24'],
      labels: { a: 'b' },
    });
    graph.applyChanges([change('modified', relabelled, old)]);
    const next = graph.update();
    expect(next.changed).toEqual(nothing);
    expect(next.state).toBe(out.state);
  });
});

describe('CalcGraph: isolation', () => {
  it('an object the calculation throws on is reported and left out; the rest proceeds', () => {
    const { graph } = started();
    // What datastore validation normally stops: a Pod without status.
    const broken = { ...pod('shop', 'bad', { node: 'node-1', ips: ['10.244.1.9'] }), status: undefined };
    graph.applyChanges([
      change('added', broken as unknown as Resource),
      change('added', pod('shop', 'good', { node: 'node-1', ips: ['10.244.1.10'], labels: { app: 'web' } })),
    ]);
    const next = graph.update();
    expect(next.state.problems.filter((p) => p.startsWith('Pod shop/bad: '))).toHaveLength(1);
    expect(next.state.dataplane.endpoints.map((e) => e.id)).toEqual(['shop/db-1', 'shop/good', 'shop/web-1']);
    expect(graph.inputs().pods.has('shop/bad')).toBe(false);

    const fixed = pod('shop', 'bad', { node: 'node-1', ips: ['10.244.1.9'] });
    graph.applyChanges([change('added', fixed)]);
    const after = graph.update();
    expect(after.changed.problems).toBe(true);
    expect(after.state.problems.some((p) => p.startsWith('Pod shop/bad: '))).toBe(false);
    expect(after.state.dataplane.endpoints.map((e) => e.id)).toContain('shop/bad');
  });
});
