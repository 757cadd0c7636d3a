// validateResource for every kind: good objects come back typed with defaults applied; bad ones
// give problems that name the kind, the object and the field.
import { describe, expect, it } from 'vitest';
import type { NetworkPolicySpec, PolicyPod } from '../../../../felix/model/policy.ts';
import type { BGPConfiguration, BGPPeer } from '../../../../src/model/bgp.ts';
import { parsePeerIP } from '../../../../src/model/bgp.ts';
import { cidrContains } from '../../../../src/model/fields.ts';
import type { IPPool } from '../../../../src/model/ippool.ts';
import type { NetworkPolicy, Pod } from '../../../../src/model/kube.ts';
import { podContainerPorts, podIPs } from '../../../../src/model/kube.ts';
import type { Node } from '../../../../src/model/node.ts';
import { nodeAnnotationSettings, nodePodCIDRs, resolveNodeBGP } from '../../../../src/model/node.ts';
import type { Resource } from '../../../../src/model/resource.ts';
import { formatPath, resourceKey, validateAs, validateResource } from '../../../../src/model/resource.ts';

function ok(obj: unknown): Resource {
  const r = validateResource(obj);
  if (!r.ok) throw new Error(`expected valid, got:\n${r.problems.join('\n')}`);
  return r.resource;
}

function problems(obj: unknown): readonly string[] {
  const r = validateResource(obj);
  if (r.ok) throw new Error(`expected problems, got a valid ${r.resource.kind}`);
  return r.problems;
}

const peer = (spec: Record<string, unknown>, name = 'tor-1') => ({
  apiVersion: 'margay.io/v1',
  kind: 'BGPPeer',
  metadata: { name },
  spec,
});
const pool = (spec: Record<string, unknown>) => ({
  apiVersion: 'margay.io/v1',
  kind: 'IPPool',
  metadata: { name: 'pool' },
  spec,
});
const bgpConfig = (spec: Record<string, unknown>, name = 'default') => ({
  apiVersion: 'margay.io/v1',
  kind: 'BGPConfiguration',
  metadata: { name },
  spec,
});
const node = (
  extra: { annotations?: Record<string, string>; labels?: Record<string, string> } = {},
  spec = {},
) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name: 'node-1', ...extra },
  spec,
  status: { addresses: [{ type: 'InternalIP', address: '192.0.2.11' }] },
});

describe('envelope', () => {
  it('names an unknown kind', () => {
    expect(problems({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' } })).toEqual([
      'kind: unknown kind "Service" (expected one of Node, Pod, Namespace, NetworkPolicy, BGPConfiguration, BGPPeer, IPPool, Secret)',
    ]);
  });
  it('requires a kind, an object and the right apiVersion', () => {
    expect(problems({ metadata: { name: 'x' } })[0]).toMatch(/^kind: required/);
    expect(problems('text')[0]).toMatch(/must be an object/);
    expect(problems([])[0]).toMatch(/must be an object/);
    expect(
      problems({ ...peer({ peerIP: '192.0.2.1', asNumber: 65001 }), apiVersion: 'projectcalico.org/v3' }),
    ).toEqual(['BGPPeer tor-1: apiVersion: must be margay.io/v1 for BGPPeer, not "projectcalico.org/v3"']);
  });
  it('rejects unknown fields in a margay.io spec and in metadata', () => {
    expect(problems(peer({ peerIP: '192.0.2.1', asNumber: 65001, holdtime: 30 }))).toEqual([
      'BGPPeer tor-1: spec.holdtime: unknown field',
    ]);
    expect(problems({ ...node(), metadata: { name: 'node-1', label: { a: 'b' } } })).toEqual([
      'Node node-1: metadata.label: unknown field',
    ]);
  });
  it('accepts and drops the metadata the API server fills in', () => {
    const n = ok({
      ...node(),
      metadata: {
        name: 'node-1',
        uid: 'u-1',
        resourceVersion: '42',
        creationTimestamp: '2024-01-01T00:00:00Z',
        managedFields: [{ manager: 'kubelet' }],
      },
    });
    expect(n.metadata).toEqual({
      name: 'node-1',
      labels: {},
      annotations: {},
      resourceVersion: '42',
      uid: 'u-1',
    });
  });
  it('validates names and labels', () => {
    expect(problems({ ...node(), metadata: { name: 'Node_1' } })).toEqual([
      'Node Node_1: metadata.name: must be a DNS subdomain: lowercase letters, digits, "-" and "."',
    ]);
    expect(problems({ ...node(), metadata: { name: 'n', labels: { rack: 7 } } })).toEqual([
      'Node n: metadata.labels.rack: label values must be strings',
    ]);
    expect(problems({ ...node(), metadata: { name: 'n', labels: { 'bad key!': 'x' } } })[0]).toMatch(
      /^Node n: metadata\.labels\["bad key!"\]: label key "bad key!": bad name/,
    );
  });
  it('refuses a namespace on a cluster-scoped kind, defaults it on a namespaced kind', () => {
    expect(problems({ ...node(), metadata: { name: 'n', namespace: 'x' } })).toEqual([
      'Node x/n: metadata.namespace: must be absent: this kind is cluster-scoped',
    ]);
    const p = ok({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' } });
    expect(p.metadata.namespace).toBe('default');
    expect(resourceKey(p)).toBe('default/web');
  });
  it('fills kind and apiVersion for list items (validateAs)', () => {
    const r = validateAs('Namespace', { metadata: { name: 'prod', labels: { env: 'prod' } } });
    expect(r.ok && r.resource.metadata.labels).toEqual({ env: 'prod' });
    const wrong = validateAs('Namespace', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' } });
    expect(wrong.ok).toBe(false);
  });
  it('formats paths with brackets for keys that are not identifiers', () => {
    expect(formatPath(['metadata', 'annotations', 'margay.io/as-number'])).toBe(
      'metadata.annotations["margay.io/as-number"]',
    );
    expect(formatPath(['spec', 'peers', 2, 'asn'])).toBe('spec.peers[2].asn');
    expect(formatPath([])).toBe('(top level)');
  });
});

describe('BGPConfiguration', () => {
  it('applies the defaults', () => {
    const c = ok(bgpConfig({})) as BGPConfiguration;
    // AS 64512 and the node-to-node mesh (Calico's defaults), port 179, hold time 90 s (RFC 4271
    // §10's suggestion); keepaliveTime absent (a third of the negotiated hold time); empty lists.
    expect(c.spec).toEqual({
      asNumber: 64512,
      nodeToNodeMeshEnabled: true,
      listenPort: 179,
      holdTime: 90,
      logSeverity: 'Info',
      communities: [],
      prefixAdvertisements: [],
      nodeASNumbers: [],
      routeReflectorClusterIDs: [],
      serviceClusterIPs: [],
      serviceExternalIPs: [],
    });
    const noSpec = ok({
      apiVersion: 'margay.io/v1',
      kind: 'BGPConfiguration',
      metadata: { name: 'default' },
    });
    expect((noSpec as BGPConfiguration).spec.asNumber).toBe(64512);
  });
  it('accepts communities, per-selector AS numbers and route reflectors', () => {
    const c = ok(
      bgpConfig({
        asNumber: 65000,
        nodeToNodeMeshEnabled: false,
        communities: [
          { name: 'no-transit', value: '65000:100' },
          { name: 'large', value: '65000:1:2' },
        ],
        prefixAdvertisements: [{ cidr: '10.244.0.0/16', communities: ['no-transit', '65000:200'] }],
        nodeASNumbers: [
          { nodeSelector: "rack == 'r1'", asNumber: 65101 },
          { nodeSelector: { matchLabels: { rack: 'r2' } }, asNumber: 65102 },
        ],
        routeReflectorClusterIDs: [{ nodeSelector: 'has(route-reflector)', clusterID: '224.0.0.1' }],
        serviceClusterIPs: [{ cidr: '10.96.0.0/12' }],
      }),
    ) as BGPConfiguration;
    expect(c.spec.nodeASNumbers).toHaveLength(2);
  });
  it('names every bad field', () => {
    expect(
      problems(
        bgpConfig({
          asNumber: 0,
          listenPort: 70000,
          holdTime: 2,
          logSeverity: 'Verbose',
          communities: [
            { name: 'a', value: '65000:70000' },
            { name: 'a', value: '1:1' },
          ],
          prefixAdvertisements: [{ cidr: '10.244.0.1/16', communities: ['nope'] }],
          nodeASNumbers: [{ nodeSelector: "rack = 'r1'", asNumber: 65001 }],
        }),
      ),
    ).toEqual([
      'BGPConfiguration default: spec.asNumber: must be 1..4294967295',
      'BGPConfiguration default: spec.listenPort: must be 1..65535',
      'BGPConfiguration default: spec.holdTime: must be 0 or 3..65535 seconds (RFC 4271 §4.2)',
      'BGPConfiguration default: spec.logSeverity: Invalid option: expected one of "Debug"|"Info"|"Warning"|"Error"',
      'BGPConfiguration default: spec.communities[0].value: must be a community AA:NN (each 0..65535) or a large community AA:NN:MM (each 0..4294967295)',
      'BGPConfiguration default: spec.prefixAdvertisements[0].cidr: invalid address or prefix "10.244.0.1/16": host bits are set beyond /16',
      `BGPConfiguration default: spec.nodeASNumbers[0].nodeSelector: selector "rack = 'r1'" at 5: expected ==, !=, in, not in, contains, starts with or ends with after the label key "rack"; found "="`,
    ]);
  });
  it('checks cross-field rules once the fields are valid', () => {
    expect(
      problems(
        bgpConfig({
          holdTime: 30,
          keepaliveTime: 20,
          communities: [
            { name: 'a', value: '1:1' },
            { name: 'a', value: '1:2' },
          ],
          prefixAdvertisements: [{ cidr: '10.244.0.0/16', communities: ['nope'] }],
        }),
      ),
    ).toEqual([
      'BGPConfiguration default: spec.keepaliveTime: 20 is more than holdTime / 3; with holdTime 30 it must be 1..10 seconds (RFC 4271 §4.4, §10)',
      'BGPConfiguration default: spec.communities[1].name: duplicates communities[0]',
      'BGPConfiguration default: spec.prefixAdvertisements[0].communities[0]: "nope" is neither a name in communities nor a community value AA:NN / AA:NN:MM',
    ]);
  });
  it('only the object named default exists', () => {
    expect(problems(bgpConfig({}, 'node.node-1'))[0]).toMatch(
      /^BGPConfiguration node\.node-1: metadata\.name: must be "default"/,
    );
  });
});

describe('BGPPeer', () => {
  it('accepts a router peer and applies the defaults', () => {
    const p = ok(peer({ peerIP: '192.0.2.1', asNumber: 65001, nodeSelector: "rack == 'r1'" })) as BGPPeer;
    expect(p.spec).toEqual({
      peerIP: '192.0.2.1',
      asNumber: 65001,
      nodeSelector: "rack == 'r1'",
      sourceAddress: 'UseNodeIP',
      nextHopMode: 'Auto',
      routeReflectorClient: false,
    });
  });
  it('accepts a peer selector (route reflector topology) and every option', () => {
    ok(
      peer({
        peerSelector: { matchExpressions: [{ key: 'route-reflector', operator: 'Exists' }] },
        nodeSelector: '!has(route-reflector)',
        sourceAddress: 'None',
        holdTime: 30,
        keepaliveTime: 10,
        nextHopMode: 'Self',
        routeReflectorClient: true,
        maxPrefix: 1000,
      }),
    );
    ok(
      peer({
        peerIP: '[2001:db8::1]:1179',
        asNumber: 4200000000,
        node: 'node-1',
        sourceAddress: '2001:db8::2',
      }),
    );
  });
  it('maxPrefix: a number, or limits per family; a bad one names its field', () => {
    ok(
      peer({
        peerIP: '192.0.2.1',
        asNumber: 65001,
        maxPrefix: {
          'ipv4-unicast': { limit: 10, action: 'warn' },
          'ipv6-unicast': { limit: 5, restartAfterSeconds: 5 },
        },
      }),
    );
    expect(
      problems(peer({ peerIP: '192.0.2.1', asNumber: 65001, maxPrefix: { 'ipv4-unicast': { limit: 0 } } })),
    ).toEqual(['BGPPeer tor-1: spec.maxPrefix["ipv4-unicast"].limit: must be at least 1']);
    expect(
      problems(
        peer({
          peerIP: '192.0.2.1',
          asNumber: 65001,
          maxPrefix: { 'ipv4-unicast': { limit: 1, warningOnly: true } },
        }),
      )[0],
    ).toBe('BGPPeer tor-1: spec.maxPrefix["ipv4-unicast"].warningOnly: unknown field');
  });
  it('parses peerIP with and without a port', () => {
    expect(parsePeerIP('192.0.2.1')).toEqual({ address: '192.0.2.1' });
    expect(parsePeerIP('192.0.2.1:1179')).toEqual({ address: '192.0.2.1', port: 1179 });
    expect(parsePeerIP('[2001:db8::1]:179')).toEqual({ address: '2001:db8::1', port: 179 });
    expect(parsePeerIP('2001:db8::1')).toEqual({ address: '2001:db8::1' });
    expect(parsePeerIP('192.0.2.1:0')).toBeUndefined();
    expect(parsePeerIP('[192.0.2.1]:179')).toBeUndefined();
    expect(parsePeerIP('router.example')).toBeUndefined();
  });
  it('names the bad field', () => {
    expect(problems(peer({ peerIP: '192.0.2.1', asNumber: 4294967296 }))).toEqual([
      'BGPPeer tor-1: spec.asNumber: must be 1..4294967295',
    ]);
    expect(problems(peer({ peerIP: '192.0.2.300', asNumber: 65001 }))).toEqual([
      'BGPPeer tor-1: spec.peerIP: must be an address with an optional port: 192.0.2.1, 192.0.2.1:1179 or [2001:db8::1]:1179',
    ]);
    expect(problems(peer({ peerIP: '192.0.2.1', asNumber: 65001, sourceAddress: 'eth0' }))).toEqual([
      'BGPPeer tor-1: spec.sourceAddress: must be UseNodeIP, None or an IP address',
    ]);
    expect(problems(peer({ peerIP: '192.0.2.1', asNumber: 65001, nextHopMode: 'self' }))[0]).toMatch(
      /^BGPPeer tor-1: spec\.nextHopMode: /,
    );
    expect(problems(peer({ peerIP: '192.0.2.1', asNumber: 65001, nodeSelector: 42 }))).toEqual([
      'BGPPeer tor-1: spec.nodeSelector: must be string or object',
    ]);
    expect(
      problems(peer({ peerIP: '192.0.2.1', asNumber: 65001, nodeSelector: { matchLabels: { rack: 1 } } })),
    ).toEqual(['BGPPeer tor-1: spec.nodeSelector.matchLabels.rack: label values must be strings']);
    expect(
      problems(
        peer({
          peerSelector: {
            matchExpressions: [{ key: 'rr', operator: 'In' }],
          },
        }),
      ),
    ).toEqual(['BGPPeer tor-1: spec.peerSelector.matchExpressions[0].values: must be non-empty for In']);
  });
  it('rejects peer and source addresses no session can use, naming the field', () => {
    const peerIP = (ip: string) => problems(peer({ peerIP: ip, asNumber: 65001 }));
    expect(peerIP('0.0.0.0')).toEqual([
      'BGPPeer tor-1: spec.peerIP: 0.0.0.0 is the unspecified address, which no host has',
    ]);
    expect(peerIP('[::]:1179')).toEqual([
      'BGPPeer tor-1: spec.peerIP: :: is the unspecified address, which no host has',
    ]);
    expect(peerIP('224.0.0.5')).toEqual([
      'BGPPeer tor-1: spec.peerIP: 224.0.0.5 is a multicast address, not one host',
    ]);
    expect(peerIP('FF02::5')).toEqual([
      'BGPPeer tor-1: spec.peerIP: ff02::5 is a multicast address, not one host',
    ]);
    expect(peerIP('255.255.255.255:179')).toEqual([
      'BGPPeer tor-1: spec.peerIP: 255.255.255.255 is the broadcast address, not one host',
    ]);
    // The speaker keys peers by the IPv4 address an IPv4-mapped one maps, so the two spellings
    // would be one peer with an IPv6 source address; one spelling is accepted.
    expect(peerIP('::ffff:192.0.2.2')).toEqual([
      'BGPPeer tor-1: spec.peerIP: ::ffff:192.0.2.2 is an IPv4-mapped IPv6 address: write 192.0.2.2',
    ]);
    expect(peerIP('[0:0:0:0:0:ffff:c000:202]:1179')).toEqual([
      'BGPPeer tor-1: spec.peerIP: 0:0:0:0:0:ffff:c000:202 is an IPv4-mapped IPv6 address: write 192.0.2.2',
    ]);
    expect(ok(peer({ peerIP: '2001:DB8:0:0::2', asNumber: 65001 }))).toMatchObject({
      spec: { peerIP: '2001:DB8:0:0::2' },
    });
    const source = (a: string) => problems(peer({ peerIP: '192.0.2.2', asNumber: 65001, sourceAddress: a }));
    expect(source('0.0.0.0')).toEqual([
      'BGPPeer tor-1: spec.sourceAddress: 0.0.0.0 is the unspecified address, which no host has (None lets the kernel choose)',
    ]);
    expect(source('239.1.1.1')).toEqual([
      'BGPPeer tor-1: spec.sourceAddress: 239.1.1.1 is a multicast address, not one host',
    ]);
  });
  it('rejects keepalive and hold time pairs no session accepts', () => {
    expect(problems(peer({ peerIP: '192.0.2.1', asNumber: 1, holdTime: 0, keepaliveTime: 30 }))).toEqual([
      'BGPPeer tor-1: spec.keepaliveTime: 30 with holdTime 0: must be 0, no KEEPALIVEs without a hold timer (RFC 4271 §4.4)',
    ]);
    expect(problems(peer({ peerIP: '192.0.2.1', asNumber: 1, holdTime: 90, keepaliveTime: 0 }))).toEqual([
      'BGPPeer tor-1: spec.keepaliveTime: 0 requires holdTime 0; with holdTime 90 it must be 1..30 seconds (RFC 4271 §4.4)',
    ]);
    expect(problems(peer({ peerIP: '192.0.2.1', asNumber: 1, keepaliveTime: 0 }))).toEqual([
      'BGPPeer tor-1: spec.keepaliveTime: 0 requires holdTime 0, set in this object too (an inherited holdTime may change)',
    ]);
    expect(problems(bgpConfig({ keepaliveTime: 0 }))).toEqual([
      'BGPConfiguration default: spec.keepaliveTime: 0 requires holdTime 0; with holdTime 90 it must be 1..30 seconds (RFC 4271 §4.4)',
    ]);
    // Without its own holdTime a BGPPeer's other keepalive times wait for the inherited one.
    expect(ok(peer({ peerIP: '192.0.2.1', asNumber: 1, keepaliveTime: 40 }))).toMatchObject({
      spec: { keepaliveTime: 40 },
    });
    // A bad hold time is reported alone, not again through the keepalive time.
    expect(problems(peer({ peerIP: '192.0.2.1', asNumber: 1, holdTime: 2, keepaliveTime: 1 }))).toEqual([
      'BGPPeer tor-1: spec.holdTime: must be 0 or 3..65535 seconds (RFC 4271 §4.2)',
    ]);
    expect(ok(peer({ peerIP: '192.0.2.1', asNumber: 1, holdTime: 0, keepaliveTime: 0 }))).toMatchObject({
      spec: { holdTime: 0, keepaliveTime: 0 },
    });
    expect(ok(bgpConfig({ holdTime: 0, keepaliveTime: 0 }))).toMatchObject({
      spec: { holdTime: 0, keepaliveTime: 0 },
    });
  });
  it('checks the combinations', () => {
    expect(problems(peer({}))).toEqual([
      'BGPPeer tor-1: spec.peerIP: one of peerIP or peerSelector is required',
    ]);
    expect(problems(peer({ peerIP: '192.0.2.1' }))).toEqual([
      'BGPPeer tor-1: spec.asNumber: is required with peerIP',
    ]);
    expect(problems(peer({ peerIP: '192.0.2.1', asNumber: 1, peerSelector: 'all()' }))).toEqual([
      'BGPPeer tor-1: spec.peerSelector: must be absent when peerIP is set',
    ]);
    expect(problems(peer({ peerSelector: 'has(rr)', asNumber: 1 }))[0]).toMatch(
      /spec\.asNumber: must be absent/,
    );
    expect(problems(peer({ peerSelector: 'has(rr)', node: 'a', nodeSelector: 'all()' }))).toEqual([
      'BGPPeer tor-1: spec.nodeSelector: must be absent when node is set',
    ]);
    expect(problems(peer({ peerIP: '192.0.2.1', asNumber: 1, holdTime: 9, keepaliveTime: 4 }))).toEqual([
      'BGPPeer tor-1: spec.keepaliveTime: 4 is more than holdTime / 3; with holdTime 9 it must be 1..3 seconds (RFC 4271 §4.4, §10)',
    ]);
  });
});

describe('IPPool', () => {
  it('defaults the block size by family and the modes to Never', () => {
    const v4 = ok(pool({ cidr: '10.244.0.0/16' })) as IPPool;
    expect(v4.spec).toEqual({
      cidr: '10.244.0.0/16',
      blockSize: 26,
      vxlanMode: 'Never',
      ipipMode: 'Never',
      natOutgoing: false,
      disabled: false,
      nodeSelector: 'all()',
    });
    const v6 = ok(pool({ cidr: 'fd00:10:244::/56', vxlanMode: 'CrossSubnet' })) as IPPool;
    expect(v6.spec.blockSize).toBe(122);
  });
  it('names the bad field', () => {
    expect(problems(pool({ cidr: '10.244.0.0/33' }))[0]).toMatch(
      /^IPPool pool: spec\.cidr: .*prefix length 33/,
    );
    expect(problems(pool({ cidr: '10.244.0.0/16', blockSize: 120 }))).toEqual([
      'IPPool pool: spec.blockSize: must be 20..32 for an IPv4 pool',
    ]);
    expect(problems(pool({ cidr: '10.244.0.0/24', blockSize: 20 }))).toEqual([
      "IPPool pool: spec.blockSize: must be at least the pool's prefix length /24",
    ]);
    expect(problems(pool({ cidr: '10.244.0.0/16', vxlanMode: 'Always', ipipMode: 'CrossSubnet' }))).toEqual([
      'IPPool pool: spec.ipipMode: must be Never when vxlanMode is Always (one encapsulation per pool)',
    ]);
    expect(problems(pool({ cidr: 'fd00::/48', ipipMode: 'Always' }))).toEqual([
      'IPPool pool: spec.ipipMode: must be Never for an IPv6 pool (IPIP is IPv4-only)',
    ]);
    expect(problems(pool({ cidr: '10.244.0.0/16', vxlanMode: 'Sometimes' }))[0]).toMatch(/spec\.vxlanMode: /);
    expect(problems(pool({ cidr: '10.244.0.0/16', natOutgoing: 'yes' }))).toEqual([
      'IPPool pool: spec.natOutgoing: Invalid input: expected boolean, received string',
    ]);
    expect(problems({ apiVersion: 'margay.io/v1', kind: 'IPPool', metadata: { name: 'p' } })).toEqual([
      'IPPool p: spec: Invalid input: expected object, received undefined',
    ]);
  });
});

describe('Node', () => {
  it('reads the fields and drops the rest', () => {
    const n = ok({
      ...node(
        { labels: { rack: 'r1' } },
        { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24', 'fd00:1::/64'], taints: [] },
      ),
      status: {
        addresses: [
          { type: 'InternalIP', address: '192.0.2.11' },
          { type: 'Hostname', address: 'node-1' },
        ],
        conditions: [{ type: 'Ready', status: 'True' }],
      },
    }) as Node;
    expect(n.spec).toEqual({ podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24', 'fd00:1::/64'] });
    expect(nodePodCIDRs(n)).toEqual(['10.244.1.0/24', 'fd00:1::/64']);
    expect(n.status.addresses).toHaveLength(2);
  });
  it('parses the Margay annotations', () => {
    const n = ok(
      node({
        annotations: {
          'margay.io/as-number': '65101',
          'margay.io/route-reflector-cluster-id': '224.0.0.1',
          'margay.io/ipv4-address': '192.0.2.11/24',
          'margay.io/ipv6-address': '2001:db8::11',
        },
      }),
    ) as Node;
    expect(nodeAnnotationSettings(n)).toEqual({
      asNumber: 65101,
      routeReflectorClusterID: '224.0.0.1',
      ipv4Address: { address: '192.0.2.11', prefixLength: 24 },
      ipv6Address: { address: '2001:db8::11', prefixLength: 128 },
    });
  });
  it('names the node and the annotation when one is bad', () => {
    expect(
      problems(
        node({
          annotations: {
            'margay.io/as-number': '65101x',
            'margay.io/route-reflector-cluster-id': '1',
            'margay.io/ipv4-address': '2001:db8::1/64',
            'margay.io/ipv6-address': '2001:db8::1/129',
          },
        }),
      ),
    ).toEqual([
      'Node node-1: metadata.annotations["margay.io/as-number"]: "65101x" must be an AS number 1..4294967295',
      'Node node-1: metadata.annotations["margay.io/route-reflector-cluster-id"]: "1" must be a cluster ID in IPv4 form, e.g. 224.0.0.1',
      'Node node-1: metadata.annotations["margay.io/ipv4-address"]: "2001:db8::1/64" must be an IPv4 address with optional prefix length, e.g. 192.0.2.10/24',
      'Node node-1: metadata.annotations["margay.io/ipv6-address"]: "2001:db8::1/129" prefix length must be 0..128',
    ]);
    expect(problems(node({ annotations: { 'margay.io/as-number': '0' } }))[0]).toMatch(/as-number/);
  });
  it('refuses a node address no BGP session or tunnel can use', () => {
    const address = (key: 'ipv4' | 'ipv6', value: string) =>
      problems(node({ annotations: { [`margay.io/${key}-address`]: value } }));
    expect(address('ipv4', '224.0.0.5/24')).toEqual([
      'Node node-1: metadata.annotations["margay.io/ipv4-address"]: "224.0.0.5/24" is not a node address: 224.0.0.5 is a multicast address, not one host',
    ]);
    expect(address('ipv4', '0.0.0.0')).toEqual([
      'Node node-1: metadata.annotations["margay.io/ipv4-address"]: "0.0.0.0" is not a node address: 0.0.0.0 is the unspecified address, which no host has',
    ]);
    expect(address('ipv6', 'ff02::1/64')[0]).toMatch(/ff02::1 is a multicast address/);
    expect(address('ipv6', '::ffff:192.0.2.11/120')).toEqual([
      'Node node-1: metadata.annotations["margay.io/ipv6-address"]: "::ffff:192.0.2.11/120" is not a node address: ::ffff:192.0.2.11 is an IPv4-mapped IPv6 address, which BGP takes for the IPv4 address it maps',
    ]);
    expect(ok(node({ annotations: { 'margay.io/ipv4-address': '192.0.2.11/24' } }))).toMatchObject({
      kind: 'Node',
    });
  });
  it('checks pod CIDRs and addresses', () => {
    expect(problems(node({}, { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.2.0/24'] }))).toEqual([
      'Node node-1: spec.podCIDRs[0]: must equal spec.podCIDR',
    ]);
    expect(problems(node({}, { podCIDRs: ['10.244.1.0/24', '10.244.2.0/24'] }))).toEqual([
      'Node node-1: spec.podCIDRs: must be one per family',
    ]);
    expect(
      problems({ ...node(), status: { addresses: [{ type: 'InternalIP', address: 'node-1' }] } }),
    ).toEqual(['Node node-1: status.addresses[0].address: must be an IP address for InternalIP']);
  });
  it('resolves the AS number: annotation, then the first matching selector, then the default', () => {
    const config = (
      ok(
        bgpConfig({
          asNumber: 65000,
          nodeASNumbers: [
            { nodeSelector: "rack == 'r1'", asNumber: 65101 },
            { nodeSelector: { matchLabels: { rack: 'r1' } }, asNumber: 65999 },
            { nodeSelector: "rack == 'r2'", asNumber: 65102 },
          ],
          routeReflectorClusterIDs: [{ nodeSelector: 'has(rr)', clusterID: '224.0.0.1' }],
        }),
      ) as BGPConfiguration
    ).spec;
    const r1 = ok(node({ labels: { rack: 'r1' } })) as Node;
    const r2rr = ok(node({ labels: { rack: 'r2', rr: '' } })) as Node;
    const annotated = ok(
      node({
        labels: { rack: 'r1', rr: '' },
        annotations: { 'margay.io/as-number': '65555', 'margay.io/route-reflector-cluster-id': '224.0.0.9' },
      }),
    ) as Node;
    const plain = ok(node()) as Node;
    expect(resolveNodeBGP(r1, config)).toEqual({ asNumber: 65101, asNumberSource: 'nodeASNumbers' });
    expect(resolveNodeBGP(r2rr, config)).toEqual({
      asNumber: 65102,
      asNumberSource: 'nodeASNumbers',
      routeReflectorClusterID: '224.0.0.1',
    });
    expect(resolveNodeBGP(annotated, config)).toEqual({
      asNumber: 65555,
      asNumberSource: 'annotation',
      routeReflectorClusterID: '224.0.0.9',
    });
    expect(resolveNodeBGP(plain, config)).toEqual({ asNumber: 65000, asNumberSource: 'default' });
    expect(resolveNodeBGP(plain)).toEqual({ asNumber: 64512, asNumberSource: 'default' });
  });
});

describe('Pod and Namespace', () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'web-0',
      namespace: 'shop',
      labels: { app: 'web' },
      ownerReferences: [{ kind: 'StatefulSet' }],
    },
    spec: {
      nodeName: 'node-1',
      restartPolicy: 'Always',
      containers: [
        { name: 'web', image: 'nginx', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] },
        { name: 'metrics', image: 'x', ports: [{ containerPort: 9100 }] },
      ],
    },
    status: {
      phase: 'Running',
      podIP: '10.244.1.5',
      podIPs: [{ ip: '10.244.1.5' }, { ip: 'fd00:1::5' }],
      hostIP: '192.0.2.11',
    },
  };
  it('reads what the policy renderer needs', () => {
    const p = ok(pod) as Pod;
    expect(resourceKey(p)).toBe('shop/web-0');
    expect(podIPs(p)).toEqual(['10.244.1.5', 'fd00:1::5']);
    expect(podContainerPorts(p)).toEqual([
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { containerPort: 9100 },
    ]);
    // The model's fields feed felix/model/policy.ts without conversion of their types.
    const asPolicyPod: PolicyPod = {
      namespace: p.metadata.namespace,
      name: p.metadata.name,
      labels: p.metadata.labels,
      ports: podContainerPorts(p),
      nodeName: p.spec.nodeName,
    };
    expect(asPolicyPod.labels).toEqual({ app: 'web' });
    expect(p.spec.hostNetwork).toBe(false);
  });
  it('names the bad field', () => {
    const bad = structuredClone(pod);
    bad.spec.containers[0]!.ports[0]!.containerPort = 0;
    (bad.spec.containers[1]!.ports[0] as { protocol?: string }).protocol = 'ICMP';
    bad.status.podIP = '10.244.1.500';
    expect(problems(bad)).toEqual([
      'Pod shop/web-0: spec.containers[0].ports[0].containerPort: must be 1..65535',
      'Pod shop/web-0: spec.containers[1].ports[0].protocol: must be one of TCP, UDP, SCTP',
      'Pod shop/web-0: status.podIP: must be an IPv4 or IPv6 address',
    ]);
    const named = structuredClone(pod);
    (named.spec.containers[0]!.ports[0] as { name?: string }).name = 'HTTP_port';
    expect(problems(named)[0]).toMatch(/^Pod shop\/web-0: spec\.containers\[0\]\.ports\[0\]\.name: /);
  });
  it('namespaces carry labels', () => {
    const ns = ok({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'shop', labels: { env: 'prod' } },
      spec: { finalizers: ['kubernetes'] },
    });
    expect(ns.metadata.labels).toEqual({ env: 'prod' });
    expect(problems({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'Shop' } })[0]).toMatch(
      /^Namespace Shop: metadata\.name: /,
    );
  });
});

describe('NetworkPolicy', () => {
  const np = (spec: unknown) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'allow-web', namespace: 'shop' },
    spec,
  });
  it('accepts the full spec shape, typed for the renderer', () => {
    const p = ok(
      np({
        podSelector: { matchLabels: { app: 'web' } },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [
          {
            from: [
              {
                podSelector: { matchLabels: { app: 'lb' } },
                namespaceSelector: { matchLabels: { env: 'prod' } },
              },
              { ipBlock: { cidr: '192.0.2.0/24', except: ['192.0.2.128/25'] } },
            ],
            ports: [
              { protocol: 'TCP', port: 'http' },
              { port: 8000, endPort: 8100 },
            ],
          },
        ],
        egress: [{ to: [{ namespaceSelector: {} }], ports: [{ protocol: 'UDP', port: 53 }] }, {}],
      }),
    ) as NetworkPolicy;
    const spec: NetworkPolicySpec = p.spec;
    expect(spec.ingress?.[0]?.ports?.[0]?.port).toBe('http');
  });
  it('names the bad field', () => {
    expect(problems(np({ podSelector: {}, ingres: [] }))).toEqual([
      'NetworkPolicy shop/allow-web: spec.ingres: unknown field',
    ]);
    expect(problems(np({ podSelector: {}, ingress: [{ ports: [{ port: 'http', endPort: 90 }] }] }))).toEqual([
      'NetworkPolicy shop/allow-web: spec.ingress[0].ports[0].endPort: needs a numeric port',
    ]);
    expect(problems(np({ podSelector: {}, ingress: [{ ports: [{ port: 100, endPort: 90 }] }] }))).toEqual([
      'NetworkPolicy shop/allow-web: spec.ingress[0].ports[0].endPort: must be at least port',
    ]);
    expect(problems(np({ podSelector: {}, ingress: [{ ports: [{ port: 70000 }] }] }))).toEqual([
      'NetworkPolicy shop/allow-web: spec.ingress[0].ports[0].port: must be 1..65535',
    ]);
    expect(problems(np({ podSelector: {}, ingress: [{ ports: [{ port: true }] }] }))).toEqual([
      'NetworkPolicy shop/allow-web: spec.ingress[0].ports[0].port: must be number or string',
    ]);
    expect(
      problems(
        np({
          podSelector: {},
          egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['11.0.0.0/16'] } }] }],
        }),
      ),
    ).toEqual([
      'NetworkPolicy shop/allow-web: spec.egress[0].to[0].ipBlock.except[0]: must be a strict subset of 10.0.0.0/8',
    ]);
    expect(
      problems(
        np({ podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }] }),
      ),
    ).toEqual([
      'NetworkPolicy shop/allow-web: spec.egress[0].to[0].ipBlock: must be alone: no podSelector/namespaceSelector',
    ]);
    expect(problems(np({ podSelector: {}, egress: [{ to: [{}] }] }))).toEqual([
      'NetworkPolicy shop/allow-web: spec.egress[0].to[0]: must have podSelector, namespaceSelector or ipBlock',
    ]);
    expect(problems(np({ policyTypes: ['Ingress'] }))[0]).toMatch(/spec\.podSelector: /);
  });
  it('cidrContains handles families and lengths', () => {
    expect(cidrContains('10.0.0.0/8', '10.1.0.0/16')).toBe(true);
    expect(cidrContains('10.0.0.0/8', '11.1.0.0/16')).toBe(false);
    expect(cidrContains('10.0.0.0/16', '10.0.0.0/8')).toBe(false);
    expect(cidrContains('2001:db8::/32', '2001:db8:1::/48')).toBe(true);
    expect(cidrContains('10.0.0.0/8', '2001:db8::/48')).toBe(false);
  });
});
