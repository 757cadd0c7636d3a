// Peer topologies (Calico semantics): full mesh, route reflectors by cluster ID with the Calico
// BGPPeer pattern, global and per-rack ToR peers, per-rack AS numbers, annotation overrides,
// dedupe of one address from several sources, families and session options.
import { describe, expect, it } from 'vitest';
import { Speaker } from '../../../../bgp/speaker/speaker.ts';
import { calculate } from '../../../../src/calc/calculate.ts';
import type { DesiredPeer } from '../../../../src/calc/types.ts';
import {
  bgpConfig,
  bgpPeer,
  flatNodes,
  node,
  reflectorCluster,
  snap,
  twoClusterReflectors,
  withRaw,
} from './fixtures.ts';

const brief = (p: DesiredPeer) => ({ address: p.address, asn: p.asn, peerType: p.peerType });

describe('node-to-node mesh', () => {
  const s = snap(...flatNodes(4));

  it('peers every node with every other node, iBGP at the node address', () => {
    const st = calculate(s, { name: 'node-1' });
    expect(st.peers).toEqual([
      {
        address: '192.0.2.12',
        asn: 64512,
        localAddress: '192.0.2.11',
        holdTime: 90,
        families: ['ipv4-unicast'],
        description: 'node node-2',
        peerType: 'node-to-node mesh',
        source: 'node node-2 (mesh)',
      },
      expect.objectContaining({ address: '192.0.2.13', peerType: 'node-to-node mesh' }),
      expect.objectContaining({ address: '192.0.2.14', peerType: 'node-to-node mesh' }),
    ]);
  });

  it('is symmetric: i peers j exactly when j peers i', () => {
    const pairs = new Set<string>();
    for (let i = 1; i <= 4; i++) {
      for (const p of calculate(s, { name: `node-${i}` }).peers) pairs.add(`192.0.2.${10 + i}>${p.address}`);
    }
    expect(pairs.size).toBe(12);
    for (const pair of pairs) {
      const [a, b] = pair.split('>');
      expect(pairs.has(`${b}>${a}`)).toBe(true);
    }
  });

  it('dual-stack nodes run one session per family; a v4-only node gets only the v4 one', () => {
    const st = calculate(
      snap(
        node('a', {
          ipv4: '192.0.2.11/24',
          ipv6: '2001:db8::11/64',
          podCIDRs: ['10.244.1.0/24', 'fd00:1::/64'],
        }),
        node('b', { ipv4: '192.0.2.12/24', ipv6: '2001:db8::12/64' }),
        node('c', { ipv4: '192.0.2.13/24' }),
      ),
      { name: 'a' },
    );
    expect(st.peers.map((p) => [p.address, p.localAddress, p.families])).toEqual([
      ['192.0.2.12', '192.0.2.11', ['ipv4-unicast']],
      ['192.0.2.13', '192.0.2.11', ['ipv4-unicast']],
      ['2001:db8::12', '2001:db8::11', ['ipv6-unicast']],
    ]);
  });

  it('is off when nodeToNodeMeshEnabled is false', () => {
    const st = calculate(snap(...flatNodes(3), bgpConfig({ nodeToNodeMeshEnabled: false })), {
      name: 'node-1',
    });
    expect(st.peers).toEqual([]);
  });

  it('uses listenPort as the peers port and the configured timers', () => {
    const st = calculate(
      snap(...flatNodes(2), bgpConfig({ listenPort: 1179, holdTime: 30, keepaliveTime: 10 })),
      { name: 'node-1' },
    );
    expect(st.peers[0]).toMatchObject({ port: 1179, holdTime: 30, keepaliveTime: 10 });
    expect(st.speaker.listenPort).toBe(1179);
  });
});

describe('route reflectors (mesh off, cluster ID, BGPPeer nodeSelector all() / peerSelector)', () => {
  const s = snap(...reflectorCluster(5));

  it('a client peers only with the route reflectors, as a plain iBGP peer', () => {
    const st = calculate(s, { name: 'node-4' });
    expect(st.speaker.clusterId).toBeUndefined();
    expect(st.peers.map(brief)).toEqual([
      { address: '192.0.2.11', asn: 64512, peerType: 'route reflector' },
      { address: '192.0.2.12', asn: 64512, peerType: 'route reflector' },
    ]);
    expect(st.peers.every((p) => p.routeReflectorClient === undefined)).toBe(true);
    expect(st.peers[0]!.source).toBe('BGPPeer peer-with-rrs (node node-1)');
  });

  it('a route reflector peers with the other RR of its cluster as iBGP and with every client as RR client', () => {
    const st = calculate(s, { name: 'node-1' });
    expect(st.speaker.clusterId).toBe('224.0.0.1');
    expect(st.node?.clusterId).toBe('224.0.0.1');
    expect(st.peers.map((p) => [p.address, p.peerType, p.routeReflectorClient ?? false])).toEqual([
      ['192.0.2.12', 'route reflector', false],
      ['192.0.2.13', 'route reflector client', true],
      ['192.0.2.14', 'route reflector client', true],
      ['192.0.2.15', 'route reflector client', true],
    ]);
  });

  it('both ends agree: every client/RR pair is configured on both nodes, no client/client pair', () => {
    const edges = new Set<string>();
    for (let i = 1; i <= 5; i++)
      for (const p of calculate(s, { name: `node-${i}` }).peers)
        edges.add(`${10 + i}-${p.address.split('.')[3]}`);
    for (const e of edges) {
      const [a, b] = e.split('-');
      expect(edges.has(`${b}-${a}`)).toBe(true);
      expect(Number(a) <= 12 || Number(b) <= 12).toBe(true);
    }
    expect(edges.size).toBe(2 * (1 + 3 * 2));
  });

  it('route reflectors of different clusters treat each other as clients (Calico "rr client" rule)', () => {
    const st = calculate(twoClusterReflectors(), { name: 'rr-a' });
    expect(st.peers.map((p) => [p.address, p.peerType, p.routeReflectorClient])).toEqual([
      ['192.0.2.12', 'route reflector client', true],
    ]);
  });

  it('with the mesh still on, the RR source wins over the mesh and both are recorded', () => {
    const st = calculate(snap(...reflectorCluster(3, { mesh: true })), { name: 'node-3' });
    expect(st.peers.map((p) => [p.address, p.peerType, p.source])).toEqual([
      ['192.0.2.11', 'route reflector', 'BGPPeer peer-with-rrs (node node-1); node node-1 (mesh)'],
      ['192.0.2.12', 'route reflector', 'BGPPeer peer-with-rrs (node node-2); node node-2 (mesh)'],
    ]);
  });
});

describe('top-of-rack peers', () => {
  it('a global BGPPeer (no selector) is peered by every node, besides the mesh', () => {
    const s = snap(...flatNodes(3), bgpPeer('tor', { peerIP: '192.0.2.1', asNumber: 65000 }));
    for (const name of ['node-1', 'node-2', 'node-3']) {
      const tor = calculate(s, { name }).peers.find((p) => p.address === '192.0.2.1');
      expect(tor).toMatchObject({ asn: 65000, peerType: 'global', source: 'BGPPeer tor' });
    }
    expect(calculate(s, { name: 'node-1' }).peers).toHaveLength(3);
  });

  it('nodeSelector all() is global too', () => {
    const s = snap(
      ...flatNodes(1),
      bgpPeer('tor', { peerIP: '192.0.2.1', asNumber: 65000, nodeSelector: 'all()' }),
    );
    expect(calculate(s, { name: 'node-1' }).peers.map((p) => p.peerType)).toEqual(['global']);
  });

  it('per rack: each node peers with its own rack ToR only (node specific)', () => {
    const s = snap(
      ...flatNodes(4, (i) => ({ rack: i <= 2 ? 'r1' : 'r2' })),
      bgpConfig({ nodeToNodeMeshEnabled: false }),
      bgpPeer('tor-r1', { peerIP: '192.0.2.1', asNumber: 65001, nodeSelector: "rack == 'r1'" }),
      bgpPeer('tor-r2', { peerIP: '192.0.2.2', asNumber: 65002, nodeSelector: "rack == 'r2'" }),
    );
    expect(calculate(s, { name: 'node-2' }).peers.map(brief)).toEqual([
      { address: '192.0.2.1', asn: 65001, peerType: 'node specific' },
    ]);
    expect(calculate(s, { name: 'node-3' }).peers.map(brief)).toEqual([
      { address: '192.0.2.2', asn: 65002, peerType: 'node specific' },
    ]);
  });

  it('`node` names the one node that peers', () => {
    const s = snap(...flatNodes(2), bgpPeer('tor', { peerIP: '192.0.2.1', asNumber: 65000, node: 'node-2' }));
    expect(calculate(s, { name: 'node-1' }).peers.map((p) => p.address)).toEqual(['192.0.2.12']);
    expect(calculate(s, { name: 'node-2' }).peers.map((p) => [p.address, p.peerType])).toEqual([
      ['192.0.2.1', 'node specific'],
      ['192.0.2.11', 'node-to-node mesh'],
    ]);
  });

  it('carries the BGPPeer session options: port, source address, next hop self, timers, max prefix', () => {
    const s = snap(
      ...flatNodes(1),
      bgpConfig({ holdTime: 90, keepaliveTime: 30 }),
      bgpPeer('a', {
        peerIP: '192.0.2.1:1179',
        asNumber: 65000,
        sourceAddress: 'None',
        nextHopMode: 'Self',
        holdTime: 60,
        maxPrefix: 1000,
      }),
      bgpPeer('b', { peerIP: '192.0.2.2', asNumber: 65000, holdTime: 9, keepaliveTime: 3 }),
      bgpPeer('c', { peerIP: '192.0.2.3', asNumber: 65000, holdTime: 120 }),
    );
    const [a, b, c] = calculate(s, { name: 'node-1' }).peers;
    expect(a).toEqual({
      address: '192.0.2.1',
      asn: 65000,
      port: 1179,
      holdTime: 60,
      nextHopSelf: true,
      maxPrefix: 1000,
      families: ['ipv4-unicast'],
      description: 'BGPPeer a',
      exportPolicy: 'local',
      peerType: 'global',
      source: 'BGPPeer a',
    });
    expect(a).not.toHaveProperty('keepalive'); // 30 * 3 > 60: the inherited keepalive does not fit
    expect(b).toMatchObject({ holdTime: 9, keepaliveTime: 3, localAddress: '192.0.2.11' });
    expect(c).toMatchObject({ holdTime: 120, keepaliveTime: 30 });
  });

  it('carries per-family prefix limits as written', () => {
    const maxPrefix = {
      'ipv4-unicast': { limit: 100, action: 'warn' as const },
      'ipv6-unicast': { limit: 50, restartAfterSeconds: 30 },
    };
    const s = snap(...flatNodes(1), bgpPeer('a', { peerIP: '192.0.2.1', asNumber: 65000, maxPrefix }));
    expect(calculate(s, { name: 'node-1' }).peers[0]?.maxPrefix).toEqual(maxPrefix);
  });

  it("sends a router that is not a node only this node's routes; node peers and reflected routers get all", () => {
    const s = snap(
      ...flatNodes(3),
      bgpPeer('tor', { peerIP: '192.0.2.1', asNumber: 65000 }),
      // A peerIP that is another node's address is a Margay node, not an external router.
      bgpPeer('to-node-3', { peerIP: '192.0.2.13', asNumber: 64512, node: 'node-1' }),
      // A router we reflect to keeps route reflection semantics (RFC 4456 §6).
      bgpPeer('rr-client', { peerIP: '192.0.2.5', asNumber: 64512, routeReflectorClient: true }),
    );
    const policies = calculate(s, { name: 'node-1' }).peers.map((p) => [
      p.address,
      p.peerType,
      p.exportPolicy,
    ]);
    expect(policies).toEqual([
      ['192.0.2.1', 'global', 'local'],
      ['192.0.2.5', 'global', undefined],
      ['192.0.2.12', 'node-to-node mesh', undefined],
      ['192.0.2.13', 'node specific', undefined],
    ]);
    // Every node exports only its own routes to the ToR (each CIDR from exactly one node).
    for (const name of ['node-2', 'node-3']) {
      const tor = calculate(s, { name }).peers.find((p) => p.address === '192.0.2.1');
      expect(tor?.exportPolicy).toBe('local');
    }
  });

  it('IPv6 rides an IPv4 ToR session (next hop = our IPv6 address) unless an IPv6 BGPPeer applies', () => {
    const dual = node('node-1', {
      ipv4: '192.0.2.11/24',
      ipv6: '2001:db8::11/64',
      podCIDRs: ['10.244.1.0/24', 'fd00:1::/64'],
    });
    const v4Only = calculate(snap(dual, bgpPeer('tor', { peerIP: '192.0.2.1', asNumber: 65000 })), {
      name: 'node-1',
    });
    expect(v4Only.peers[0]).toMatchObject({
      families: ['ipv4-unicast', 'ipv6-unicast'],
      localAddress: '192.0.2.11',
      nextHop: { ipv6: '2001:db8::11' },
    });
    const both = calculate(
      snap(
        dual,
        bgpPeer('tor', { peerIP: '192.0.2.1', asNumber: 65000 }),
        bgpPeer('tor6', { peerIP: '2001:db8::1', asNumber: 65000 }),
      ),
      { name: 'node-1' },
    );
    expect(both.peers.map((p) => [p.address, p.families, p.nextHop])).toEqual([
      ['192.0.2.1', ['ipv4-unicast'], undefined],
      ['2001:db8::1', ['ipv6-unicast'], undefined],
    ]);
  });
});

describe('AS numbers and node annotations', () => {
  const racks = (i: number) => ({ rack: i <= 2 ? 'r1' : 'r2' });

  it('per-rack AS from BGPConfiguration nodeASNumbers: mesh peers use each node its own AS', () => {
    const st = calculate(
      snap(
        ...flatNodes(4, racks),
        bgpConfig({
          nodeASNumbers: [
            { nodeSelector: "rack == 'r1'", asNumber: 65001 },
            { nodeSelector: "rack == 'r2'", asNumber: 65002 },
          ],
        }),
      ),
      { name: 'node-1' },
    );
    expect(st.speaker.asn).toBe(65001);
    expect(st.node?.asNumberSource).toBe('nodeASNumbers');
    expect(st.peers.map((p) => [p.address, p.asn])).toEqual([
      ['192.0.2.12', 65001],
      ['192.0.2.13', 65002],
      ['192.0.2.14', 65002],
    ]);
  });

  it('annotations override BGPConfiguration and the autodetected address', () => {
    const s = snap(
      node('node-1', {
        ipv4: '198.51.100.7/24',
        podCIDRs: ['10.244.1.0/24'],
        labels: { rack: 'r1' },
        annotations: {
          'margay.io/as-number': '65100',
          'margay.io/route-reflector-cluster-id': '224.0.0.9',
        },
      }),
      node('node-2', { ipv4: '192.0.2.12/24', labels: { rack: 'r1' } }),
      bgpConfig({
        nodeASNumbers: [{ nodeSelector: "rack == 'r1'", asNumber: 65001 }],
        routeReflectorClusterIDs: [{ nodeSelector: 'all()', clusterID: '224.0.0.1' }],
      }),
    );
    const st = calculate(s, { name: 'node-1', ipv4: '192.0.2.11/24' });
    expect(st.node).toMatchObject({
      asn: 65100,
      asNumberSource: 'annotation',
      clusterId: '224.0.0.9',
      routerId: '198.51.100.7',
      ipv4: { address: '198.51.100.7', prefixLength: 24 },
    });
    expect(st.peers.map((p) => [p.address, p.asn, p.localAddress])).toEqual([
      ['192.0.2.12', 65001, '198.51.100.7'],
    ]);
  });

  it('without an annotation this node uses the identity address; other nodes fall back to InternalIP', () => {
    const st = calculate(
      snap(node('node-1', { podCIDRs: ['10.244.1.0/24'] }), node('node-2', { internalIPs: ['192.0.2.12'] })),
      { name: 'node-1', ipv4: '192.0.2.11/24' },
    );
    expect(st.node?.ipv4).toEqual({ address: '192.0.2.11', prefixLength: 24 });
    expect(st.peers.map((p) => p.address)).toEqual(['192.0.2.12']);
  });

  it('an IPv6-only node gets a stable router ID hashed from its name', () => {
    const s = snap(node('v6', { ipv6: '2001:db8::11/64' }), node('w6', { ipv6: '2001:db8::12/64' }));
    const a = calculate(s, { name: 'v6' });
    const b = calculate(s, { name: 'w6' });
    expect(a.speaker.routerId).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(a.speaker.routerId).not.toBe('0.0.0.0');
    expect(a.speaker.routerId).toBe(calculate(s, { name: 'v6' }).speaker.routerId);
    expect(a.speaker.routerId).not.toBe(b.speaker.routerId);
    expect(a.node?.routerId).toBe(a.speaker.routerId);
  });
});

describe('dedupe and refusals', () => {
  it('one address from several sources is one peer; the most specific source wins', () => {
    const st = calculate(
      snap(
        ...flatNodes(2),
        bgpPeer('b-global', { peerIP: '192.0.2.12', asNumber: 64512 }),
        bgpPeer('a-specific', { peerIP: '192.0.2.12', asNumber: 64512, node: 'node-1', nextHopMode: 'Self' }),
      ),
      { name: 'node-1' },
    );
    expect(st.peers).toHaveLength(1);
    expect(st.peers[0]).toMatchObject({
      address: '192.0.2.12',
      peerType: 'node specific',
      nextHopSelf: true,
      source: 'BGPPeer a-specific; BGPPeer b-global; node node-2 (mesh)',
    });
  });

  it('never peers with itself', () => {
    const st = calculate(snap(...flatNodes(1), bgpPeer('self', { peerIP: '192.0.2.11', asNumber: 64512 })), {
      name: 'node-1',
    });
    expect(st.peers).toEqual([]);
    expect(st.problems).toEqual([]);
  });

  it('a peer of a family this node has no address of is refused with a problem', () => {
    const st = calculate(snap(...flatNodes(1), bgpPeer('tor6', { peerIP: '2001:db8::1', asNumber: 65000 })), {
      name: 'node-1',
    });
    expect(st.peers).toEqual([]);
    expect(st.problems).toContain(
      'BGPPeer tor6: spec.peerIP: 2001:db8::1 is IPv6, and node node-1 has no IPv6 address (not peered)',
    );
  });

  it('an invalid peer address or selector (objects validation would stop) is refused, naming the field', () => {
    let s = snap(...flatNodes(2));
    s = withRaw(s, 'bgpPeers', 'bad-ip', {
      apiVersion: 'margay.io/v1',
      kind: 'BGPPeer',
      metadata: { name: 'bad-ip', labels: {}, annotations: {} },
      spec: {
        peerIP: '192.0.2.300',
        asNumber: 65000,
        sourceAddress: 'UseNodeIP',
        nextHopMode: 'Auto',
        routeReflectorClient: false,
      },
    });
    s = withRaw(s, 'bgpPeers', 'bad-sel', {
      apiVersion: 'margay.io/v1',
      kind: 'BGPPeer',
      metadata: { name: 'bad-sel', labels: {}, annotations: {} },
      spec: {
        peerIP: '192.0.2.1',
        asNumber: 65000,
        nodeSelector: 'rack == ',
        sourceAddress: 'UseNodeIP',
        nextHopMode: 'Auto',
        routeReflectorClient: false,
      },
    });
    const st = calculate(s, { name: 'node-1' });
    expect(st.peers.map((p) => p.address)).toEqual(['192.0.2.12']);
    expect(st.problems).toContain(
      'BGPPeer bad-ip: spec.peerIP: "192.0.2.300" is not an address (not peered)',
    );
    expect(st.problems.some((p) => p.startsWith('BGPPeer bad-sel: spec.nodeSelector: selector'))).toBe(true);
  });

  it('nextHopMode Keep on an eBGP session is reported (the speaker cannot keep it)', () => {
    const st = calculate(
      snap(...flatNodes(1), bgpPeer('tor', { peerIP: '192.0.2.1', asNumber: 65000, nextHopMode: 'Keep' })),
      { name: 'node-1' },
    );
    expect(st.peers).toHaveLength(1);
    expect(st.problems).toEqual([
      'BGPPeer tor: spec.nextHopMode: Keep is not supported on eBGP sessions; the speaker sends itself as next hop',
    ]);
  });

  it('two nodes claiming one address: the first by name keeps it', () => {
    const st = calculate(
      snap(
        node('node-1', { ipv4: '192.0.2.11/24' }),
        node('node-2', { ipv4: '192.0.2.12/24' }),
        node('node-3', { ipv4: '192.0.2.12/24' }),
      ),
      { name: 'node-1' },
    );
    expect(st.peers.map((p) => p.description)).toEqual(['node node-2']);
    expect(st.problems).toContain(
      'Node node-3: metadata.annotations["margay.io/ipv4-address"]: 192.0.2.12 is also node node-2\'s address (ignored for node-3)',
    );
  });
});

describe('timers across a BGPPeer and BGPConfiguration', () => {
  /** The peers as the agent hands them to the speaker; throws if the speaker refuses the set. */
  const handOver = (peers: readonly DesiredPeer[]): void => {
    const speaker = new Speaker({ asn: 64512, routerId: '192.0.2.11', listen: null });
    speaker.setPeers(peers.map(({ peerType: _t, source: _s, ...p }) => p));
  };

  it('a BGPPeer keepaliveTime that breaks the inherited holdTime leaves only that BGPPeer out', () => {
    const s = snap(
      ...flatNodes(2),
      bgpConfig({ holdTime: 0, keepaliveTime: 0 }),
      bgpPeer('bad', { peerIP: '192.0.2.1', asNumber: 65000, keepaliveTime: 5 }),
      bgpPeer('good', { peerIP: '192.0.2.2', asNumber: 65000 }),
    );
    const st = calculate(s, { name: 'node-1' });
    expect(st.peers.map((p) => [p.source, p.holdTime, p.keepaliveTime])).toEqual([
      ['BGPPeer good', 0, 0],
      ['node node-2 (mesh)', 0, 0],
    ]);
    expect(st.problems).toEqual([
      "BGPPeer bad: spec.keepaliveTime: 5 with holdTime 0: must be 0, no KEEPALIVEs without a hold timer (RFC 4271 §4.4) (holdTime 0 is BGPConfiguration default's) (not peered)",
    ]);
    handOver(st.peers);
  });

  it('a keepaliveTime above a third of the inherited holdTime, on a peerSelector BGPPeer too', () => {
    const s = snap(
      ...flatNodes(3, (i): Record<string, string> => (i === 3 ? { rr: 'true' } : {})),
      bgpConfig({ holdTime: 90, nodeToNodeMeshEnabled: false }),
      bgpPeer('to-rr', { peerSelector: 'has(rr)', keepaliveTime: 31 }),
      bgpPeer('tor', { peerIP: '192.0.2.1', asNumber: 65000, keepaliveTime: 30 }),
    );
    const st = calculate(s, { name: 'node-1' });
    expect(st.peers.map((p) => [p.address, p.keepaliveTime])).toEqual([['192.0.2.1', 30]]);
    expect(st.problems).toEqual([
      "BGPPeer to-rr: spec.keepaliveTime: 31 is more than holdTime / 3; with holdTime 90 it must be 1..30 seconds (RFC 4271 §4.4, §10) (holdTime 90 is BGPConfiguration default's) (not peered)",
    ]);
    handOver(st.peers);
  });

  it('Calico durations go through the same rule: the misfit BGPPeer alone is left out', () => {
    const s = snap(
      ...flatNodes(1),
      bgpConfig({ holdTime: '1m30s', keepaliveTime: '20s', nodeToNodeMeshEnabled: false }),
      bgpPeer('misfit', { peerIP: '192.0.2.1', asNumber: 65000, keepaliveTime: '31s' }),
      bgpPeer('own', { peerIP: '192.0.2.2', asNumber: 65000, holdTime: '1m', keepaliveTime: '10s' }),
      bgpPeer('inherits', { peerIP: '192.0.2.3', asNumber: 65000 }),
    );
    const st = calculate(s, { name: 'node-1' });
    expect(st.peers.map((p) => [p.source, p.holdTime, p.keepaliveTime])).toEqual([
      ['BGPPeer own', 60, 10],
      ['BGPPeer inherits', 90, 20],
    ]);
    expect(st.problems).toEqual([
      "BGPPeer misfit: spec.keepaliveTime: 31 is more than holdTime / 3; with holdTime 90 it must be 1..30 seconds (RFC 4271 §4.4, §10) (holdTime 90 is BGPConfiguration default's) (not peered)",
    ]);
    handOver(st.peers);
  });

  it("an inherited keepaliveTime that does not fit the BGPPeer's own holdTime is dropped, not an error", () => {
    const s = snap(
      ...flatNodes(1),
      bgpConfig({ holdTime: 90, keepaliveTime: 30 }),
      bgpPeer('zero', { peerIP: '192.0.2.1', asNumber: 65000, holdTime: 0 }),
      bgpPeer('short', { peerIP: '192.0.2.2', asNumber: 65000, holdTime: 9 }),
      bgpPeer('long', { peerIP: '192.0.2.3', asNumber: 65000, holdTime: 91 }),
    );
    const st = calculate(s, { name: 'node-1' });
    expect(st.problems).toEqual([]);
    expect(st.peers.map((p) => [p.source, p.holdTime, p.keepaliveTime])).toEqual([
      ['BGPPeer zero', 0, undefined],
      ['BGPPeer short', 9, undefined],
      ['BGPPeer long', 91, 30],
    ]);
    handOver(st.peers);
  });

  it('a peer the speaker would refuse is left out with its object named; the next source of its address is used', () => {
    // Validation stops asNumber 0; the calculation still must not hand it to the speaker.
    const s = withRaw(snap(...flatNodes(2)), 'bgpPeers', 'raw', {
      apiVersion: 'margay.io/v1',
      kind: 'BGPPeer',
      metadata: { name: 'raw', labels: {}, annotations: {} },
      spec: {
        peerIP: '192.0.2.12',
        asNumber: 0,
        node: 'node-1',
        sourceAddress: 'UseNodeIP',
        nextHopMode: 'Auto',
        routeReflectorClient: false,
      },
    });
    const st = calculate(s, { name: 'node-1' });
    expect(st.problems).toEqual(['BGPPeer raw: spec.asNumber: 0 is not in 1..4294967295 (not peered)']);
    expect(st.peers).toEqual([
      expect.objectContaining({
        address: '192.0.2.12',
        asn: 64512,
        peerType: 'node-to-node mesh',
        source: 'node node-2 (mesh)',
      }),
    ]);
    handOver(st.peers);
  });
});
