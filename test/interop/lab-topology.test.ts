// `margay lab` without namespaces: topology validation (errors name the field), the address
// plan, the generated datastore (accepted by the agents' own file parser), agent configs, ToR
// configs (BIRD's own parser checks its config), apply/delete merging, probe target syntax.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../src/config/agent.ts';
import { parseResourceFile } from '../../src/datastore/file/parse.ts';
import { rawObjects } from '../../src/lab/apply.ts';
import {
  agentConfigObject,
  type ClusterInput,
  clusterObjects,
  mergeObjects,
  objectKey,
  removeObjects,
  renderDatastore,
  torConfig,
} from '../../src/lab/cluster.ts';
import { expectedPeers } from '../../src/lab/converge.ts';
import { parseTarget } from '../../src/lab/echo.ts';
import type { LabState } from '../../src/lab/state.ts';
import { defaultTopology, parseTopology, planLab, type Topology } from '../../src/lab/topology.ts';
import { parseBirdProtocols, parseBirdRoutePrefixes } from '../../src/lab/tor.ts';
import { parsePortSpec } from '../../src/lab/traffic.ts';

const tmp = mkdtempSync(join(tmpdir(), 'mgy-lab-topology-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function errorOf(doc: unknown): string {
  try {
    parseTopology(doc, 'lab.yaml');
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the topology to be rejected');
}

function inputOf(t: Topology): ClusterInput {
  const plan = planLab(t);
  return {
    asNumber: t.asNumber,
    torAsNumber: t.torAsNumber,
    tor: t.tor,
    routeReflectors: t.routeReflectors,
    nodes: plan.nodes,
    pods: plan.pods,
    namespaces: plan.namespaces,
    pools: plan.pools,
    ...(plan.router ? { router: plan.router } : {}),
  };
}

describe('topology validation', () => {
  it('names the field of every mistake', () => {
    expect(errorOf({ nodes: 0 })).toMatch(/lab\.yaml: nodes: must be at least 1/);
    expect(errorOf({ nodes: 2, tor: 'quagga' })).toMatch(/tor: must be one of bird, frr, gobgp, none/);
    expect(errorOf({ nodes: 2, routeReflectors: 3 })).toMatch(
      /routeReflectors: must be at most the number of nodes \(2\)/,
    );
    expect(errorOf({ nodes: 2, subnets: 3 })).toMatch(/subnets: must be 1 or 2/);
    expect(errorOf({ nodes: [{ name: 'a' }, { name: 'a' }] })).toMatch(
      /nodes\[1\]\.name: duplicates nodes\[0\]/,
    );
    expect(errorOf({ nodes: [{ name: 'a', subnet: 2 }] })).toMatch(
      /nodes\[0\]\.subnet: is 2 but subnets is 1/,
    );
    expect(errorOf({ nodes: 1, pods: [{ name: 'p', node: 'node-9' }] })).toMatch(
      /pods\[0\]\.node: "node-9" is not a node of this topology \(node-1\)/,
    );
    expect(errorOf({ nodes: 1, pods: [{ name: 'p', node: 'node-1', ports: [{ port: 70000 }] }] })).toMatch(
      /pods\[0\]\.ports\[0\]/,
    );
    expect(errorOf({ nodes: 1, pods: [{ name: 'p', node: 'node-1', ports: [80, 80] }] })).toMatch(
      /pods\[0\]\.ports\[1\]: duplicates port 80\/TCP/,
    );
    expect(errorOf({ nodes: 1, ipPools: [{ name: 'x', cidr: '192.168.0.0/16' }] })).toMatch(
      /ipPools\[0\]\.cidr: "192\.168\.0\.0\/16" must be a CIDR inside 10\.244\.0\.0\/16 or 2001:db8::\/32/,
    );
    expect(errorOf({ nodes: 1, colour: 'red' })).toMatch(/colour|unrecognized|Unrecognized/i);
  });

  it('plans addresses, pod CIDRs and pod IPs from the documentation ranges', () => {
    const plan = planLab(
      parseTopology({
        nodes: 4,
        subnets: 2,
        tor: 'bird',
        pods: [
          { namespace: 'a', name: 'p0', node: 'node-1', ports: [80] },
          { namespace: 'a', name: 'p1', node: 'node-1' },
          { namespace: 'b', name: 'p2', node: 'node-4', ports: [{ port: 53, protocol: 'UDP', name: 'dns' }] },
        ],
      }),
    );
    expect(plan.nodes.map((n) => [n.name, n.subnet, n.ipv4, n.ipv6, n.podCIDRv4, n.podCIDRv6])).toEqual([
      ['node-1', 1, '192.0.2.11/24', '2001:db8:0:1::11/64', '10.244.1.0/24', '2001:db8:244:1::/64'],
      ['node-2', 1, '192.0.2.12/24', '2001:db8:0:1::12/64', '10.244.2.0/24', '2001:db8:244:2::/64'],
      ['node-3', 2, '198.51.100.13/24', '2001:db8:0:2::13/64', '10.244.3.0/24', '2001:db8:244:3::/64'],
      ['node-4', 2, '198.51.100.14/24', '2001:db8:0:2::14/64', '10.244.4.0/24', '2001:db8:244:4::/64'],
    ]);
    expect(plan.pods.map((p) => [p.name, p.ipv4, p.ipv6])).toEqual([
      ['p0', '10.244.1.10', '2001:db8:244:1::a'],
      ['p1', '10.244.1.11', '2001:db8:244:1::b'],
      ['p2', '10.244.4.10', '2001:db8:244:4::a'],
    ]);
    expect(plan.router?.interfaces.map((i) => [i.ifname, i.ipv4])).toEqual([
      ['eth0', '192.0.2.1/24'],
      ['eth1', '198.51.100.1/24'],
    ]);
    expect(plan.pools.map((p) => [p.cidr, p.vxlanMode])).toEqual([
      ['10.244.0.0/16', 'CrossSubnet'],
      ['2001:db8:244::/48', 'CrossSubnet'],
    ]);
    // Namespaces a pod uses exist even when the topology does not list them.
    expect(plan.namespaces.map((n) => n.name)).toEqual(['a', 'b']);
  });

  it('defaults: N nodes, 3 pods over two namespaces with labels and ports', () => {
    const t = defaultTopology({ nodes: 2, tor: 'frr', routeReflectors: 1 });
    const plan = planLab(t);
    expect(plan.nodes.map((n) => n.name)).toEqual(['node-1', 'node-2']);
    expect(plan.pods.map((p) => `${p.namespace}/${p.name}@${p.node}`)).toEqual([
      'frontend/web-0@node-1',
      'frontend/web-1@node-2',
      'backend/db-0@node-1',
    ]);
    expect(plan.nodes[0]?.isRouteReflector).toBe(true);
    expect(plan.nodes[1]?.isRouteReflector).toBe(false);
    expect(plan.router?.nsShort).toBe('tor');
  });
});

describe('generated datastore and configs', () => {
  it('is accepted by the file datastore parser, with Calico-style RR and ToR peers', () => {
    const t = defaultTopology({ nodes: 3, tor: 'bird', routeReflectors: 2 });
    const text = renderDatastore(clusterObjects(inputOf(t)));
    const resources = parseResourceFile(text, 'cluster.yaml');
    const kinds = resources.map((r) => r.kind);
    expect(kinds.filter((k) => k === 'Node')).toHaveLength(3);
    expect(kinds.filter((k) => k === 'Pod')).toHaveLength(3);
    expect(kinds.filter((k) => k === 'Namespace')).toHaveLength(2);
    const bgp = resources.find((r) => r.kind === 'BGPConfiguration');
    expect(bgp?.kind === 'BGPConfiguration' && bgp.spec.nodeToNodeMeshEnabled).toBe(false);
    const peers = resources.flatMap((r) => (r.kind === 'BGPPeer' ? [r] : []));
    expect(peers.map((p) => p.metadata.name).sort()).toEqual([
      'peer-with-route-reflectors',
      'tor-subnet-1',
      'tor-subnet-1-v6',
    ]);
    expect(peers.find((p) => p.metadata.name === 'tor-subnet-1')?.spec).toMatchObject({
      peerIP: '192.0.2.1',
      asNumber: 65000,
    });
    const node1 = resources.find((r) => r.kind === 'Node' && r.metadata.name === 'node-1');
    expect(node1?.metadata.annotations).toMatchObject({
      'margay.io/ipv4-address': '192.0.2.11/24',
      'margay.io/ipv6-address': '2001:db8:0:1::11/64',
      'margay.io/route-reflector-cluster-id': '244.0.0.1',
    });
    expect(node1?.metadata.labels).toMatchObject({ 'route-reflector': 'true', 'lab.margay.io/subnet': '1' });
    const pod = resources.find((r) => r.kind === 'Pod' && r.metadata.name === 'db-0');
    expect(pod?.kind === 'Pod' && pod.status).toMatchObject({
      phase: 'Running',
      podIP: '10.244.3.10',
      podIPs: [{ ip: '10.244.3.10' }, { ip: '2001:db8:244:3::a' }],
    });
    expect(pod?.kind === 'Pod' && pod.spec.containers[0]?.ports).toEqual([
      { name: 'postgres', containerPort: 5432, protocol: 'TCP' },
      { name: 'dns', containerPort: 53, protocol: 'UDP' },
    ]);
  });

  it('full mesh without a ToR has no BGPPeers and mesh on', () => {
    const resources = parseResourceFile(
      renderDatastore(clusterObjects(inputOf(defaultTopology()))),
      'c.yaml',
    );
    expect(resources.filter((r) => r.kind === 'BGPPeer')).toEqual([]);
    const bgp = resources.find((r) => r.kind === 'BGPConfiguration');
    expect(bgp?.kind === 'BGPConfiguration' && bgp.spec.nodeToNodeMeshEnabled).toBe(true);
  });

  it('agent configs pass the agent config schema', () => {
    const cfg = parseAgentConfig(
      agentConfigObject({ nodeName: 'node-1', datastorePath: '/tmp/x/cluster.yaml', ipv6: true }),
    );
    expect(cfg.api.listen).toEqual({ host: '127.0.0.1', port: 9099 });
    expect(cfg.datastore).toEqual({ type: 'file', path: '/tmp/x/cluster.yaml' });
    expect(cfg.ipv4Autodetection).toBe('interface=eth0');
    expect(cfg.ipv6Autodetection).toBe('interface=eth0');
  });

  it('BIRD accepts the generated ToR config (bird -p)', () => {
    const t = parseTopology({ nodes: 3, subnets: 2, tor: 'bird' });
    const plan = planLab(t);
    const conf = torConfig({
      kind: 'bird',
      asNumber: 65000,
      nodeAsNumber: 64512,
      router: plan.router!,
      nodes: plan.nodes,
    });
    expect(conf).toContain('protocol bgp node3 {');
    expect(conf).toContain('neighbor 198.51.100.13 as 64512;');
    expect(conf).toContain('local 198.51.100.1 as 65000;');
    expect(conf).toContain('protocol bgp node3_v6 {');
    const path = join(tmp, 'bird.conf');
    writeFileSync(path, conf);
    execFileSync('bird', ['-p', '-c', path]);
    expect(
      torConfig({
        kind: 'frr',
        asNumber: 65000,
        nodeAsNumber: 64512,
        router: plan.router!,
        nodes: plan.nodes,
      }),
    ).toContain(' neighbor 192.0.2.11 remote-as 64512');
    expect(
      torConfig({
        kind: 'gobgp',
        asNumber: 65000,
        nodeAsNumber: 64512,
        router: plan.router!,
        nodes: plan.nodes,
      }),
    ).toContain('neighbor-address = "2001:db8:0:2::13"');
  });
});

describe('convergence expectations', () => {
  function stateOf(t: Topology): LabState {
    const plan = planLab(t);
    return {
      version: 1,
      prefix: 'mgy-lab-test-',
      dir: '/tmp/x',
      datastorePath: '/tmp/x/cluster.yaml',
      createdAt: '',
      phase: 'ready',
      asNumber: t.asNumber,
      ipv6: t.ipv6,
      subnets: t.subnets,
      routeReflectors: t.routeReflectors,
      segments: [],
      nodes: plan.nodes.map((n) => ({ ...n, ns: n.nsShort, configPath: '' })),
      pods: [],
      namespaces: [],
      ...(plan.router
        ? {
            router: {
              ns: 'tor',
              interfaces: plan.router.interfaces,
              tor: t.tor,
              torAsNumber: 65000,
              torProcesses: [],
            },
          }
        : {}),
    };
  }

  it('mesh: every other node per family, plus the ToR leg of the node subnet', () => {
    const s = stateOf(parseTopology({ nodes: 3, subnets: 2, tor: 'bird' }));
    expect(expectedPeers(s, s.nodes[2]!)).toEqual([
      '192.0.2.11',
      '2001:db8:0:1::11',
      '192.0.2.12',
      '2001:db8:0:1::12',
      '198.51.100.1',
      '2001:db8:0:2::1',
    ]);
  });

  it('route reflectors: clients peer with RRs only, RRs with everyone', () => {
    const s = stateOf(parseTopology({ nodes: 4, routeReflectors: 2, ipv6: false }));
    expect(expectedPeers(s, s.nodes[0]!)).toEqual(['192.0.2.12', '192.0.2.13', '192.0.2.14']);
    expect(expectedPeers(s, s.nodes[3]!)).toEqual(['192.0.2.11', '192.0.2.12']);
  });
});

describe('apply/delete merging and probe syntax', () => {
  it('merges by kind/namespace/name and removes by key', () => {
    const current = rawObjects(
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: a}\nspec: {podSelector: {}}\n',
      'cur.yaml',
    );
    const incoming = rawObjects(
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: a}\nspec: {podSelector: {}, policyTypes: [Ingress]}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny}\nspec: {podSelector: {}}\n',
      'in.yaml',
    );
    const m = mergeObjects(current, incoming);
    expect(m.replaced).toEqual(['NetworkPolicy/a/deny']);
    expect(m.created).toEqual(['NetworkPolicy/default/deny']);
    expect(m.objects.map(objectKey)).toEqual([
      'Namespace/a',
      'NetworkPolicy/a/deny',
      'NetworkPolicy/default/deny',
    ]);
    const r = removeObjects(
      m.objects,
      rawObjects(
        'kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\nmetadata: {name: deny, namespace: a}\n---\nkind: Namespace\napiVersion: v1\nmetadata: {name: zz}\n',
        'd.yaml',
      ),
    );
    expect(r.removed).toEqual(['NetworkPolicy/a/deny']);
    expect(r.missing).toEqual(['Namespace/zz']);
    expect(() => rawObjects('kind: Gadget\nmetadata: {name: x}\n', 'bad.yaml')).toThrow(
      /bad\.yaml: document 1: kind/,
    );
  });

  it('parses probe targets and port specs', () => {
    expect(parseTarget('10.244.1.10:8080/tcp=frontend/web-0')).toEqual({
      address: '10.244.1.10',
      port: 8080,
      protocol: 'tcp',
      expect: 'frontend/web-0',
    });
    expect(parseTarget('[2001:db8:244:1::a]:53/UDP')).toEqual({
      address: '2001:db8:244:1::a',
      port: 53,
      protocol: 'udp',
    });
    expect(() => parseTarget('10.244.1.10:0/tcp')).toThrow(/bad probe target/);
    expect(parsePortSpec('53/udp')).toEqual({ port: 53, protocol: 'udp' });
    expect(parsePortSpec('8080')).toEqual({ port: 8080, protocol: 'tcp' });
    expect(() => parsePortSpec('80/icmp')).toThrow(/PORT\/tcp/);
  });

  it('reads BIRD protocol and route listings', () => {
    const protocols = `Name       Proto      Table      State  Since         Info
device1    Device     ---        up     10:00:00.000
node1      BGP        ---        up     10:00:01.000  Established
node2_v6   BGP        ---        start  10:00:01.000  Active        Socket: Connection refused
`;
    expect(parseBirdProtocols(protocols)).toEqual([
      { peer: 'node1', state: 'Established' },
      { peer: 'node2_v6', state: 'Active' },
    ]);
    const routes = `Table master4:
10.244.1.0/24        unicast [node1 10:00:02.000] * (100) [AS64512i]
\tvia 192.0.2.11 on eth0
10.244.2.0/24        unicast [node2 10:00:02.000] * (100) [AS64512i]
`;
    expect(parseBirdRoutePrefixes(routes)).toEqual(['10.244.1.0/24', '10.244.2.0/24']);
  });
});
