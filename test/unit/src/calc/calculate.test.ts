// calculate(): this node, speaker settings, announcements with communities, blackholes,
// endpoints, policy input, NAT outgoing, VXLAN/IPIP devices and the problems list.
import { describe, expect, it } from 'vitest';
import { workloadIfaceName } from '../../../../felix/index.ts';
import { vtepMac } from '../../../../felix/model/routes.ts';
import { calculate } from '../../../../src/calc/calculate.ts';
import type { CalculatedState } from '../../../../src/calc/types.ts';
import { bgpConfig, flatNodes, namespace, netpol, node, pod, pool, snap } from './fixtures.ts';

const community = (hi: number, lo: number) => ((hi << 16) | lo) >>> 0;

describe('this node and the speaker', () => {
  it('node, AS, router ID and speaker settings from the snapshot and defaults', () => {
    const st = calculate(snap(...flatNodes(2)), { name: 'node-1' });
    expect(st.node).toEqual({
      name: 'node-1',
      asn: 64512,
      asNumberSource: 'default',
      routerId: '192.0.2.11',
      ipv4: { address: '192.0.2.11', prefixLength: 24 },
      podCIDRs: ['10.244.1.0/24'],
    });
    expect(st.speaker).toEqual({
      asn: 64512,
      routerId: '192.0.2.11',
      listenPort: 179,
      maxPaths: 16,
      gracefulRestartTime: 120,
      gracefulRestartForwardingPreserved: true,
    });
    expect(st.problems).toEqual([]);
  });

  it('a node missing from the datastore: node null, no peers, no announcements, a problem', () => {
    const st = calculate(snap(...flatNodes(2)), { name: 'node-9', ipv4: '192.0.2.19/24' });
    expect(st.node).toBeNull();
    expect(st.peers).toEqual([]);
    expect(st.announcements).toEqual([]);
    expect(st.dataplane.localRoutes).toEqual([]);
    expect(st.problems).toEqual(['Node node-9: this node is not in the datastore']);
  });

  it('a node without any address: node null, nothing announced, its blackhole still programmed', () => {
    const st = calculate(snap(node('node-1', { podCIDRs: ['10.244.1.0/24'] }), ...flatNodes(2).slice(1)), {
      name: 'node-1',
    });
    expect(st.node).toBeNull();
    expect(st.peers).toEqual([]);
    expect(st.announcements).toEqual([]);
    expect(st.dataplane.localRoutes.map((r) => r.dst)).toEqual(['10.244.1.0/24']);
    expect(st.problems[0]).toMatch(/^Node node-1: this node has no address/);
  });

  it('another node without address is reported and not peered', () => {
    const st = calculate(snap(...flatNodes(1), node('node-2')), { name: 'node-1' });
    expect(st.peers).toEqual([]);
    expect(st.problems).toEqual([
      'Node node-2: no address (annotation margay.io/ipv4-address or ipv6-address, or status.addresses InternalIP): not peered, not a VTEP',
    ]);
  });

  it('a malformed autodetected address is reported and ignored', () => {
    const st = calculate(snap(node('node-1')), { name: 'node-1', ipv4: '2001:db8::1/64' });
    expect(st.node).toBeNull();
    expect(st.problems).toContain(
      'Node node-1: autodetected ipv4 "2001:db8::1/64" is not an IPv4 address with optional prefix length (ignored)',
    );
  });
});

describe('announcements', () => {
  const config = bgpConfig({
    communities: [
      { name: 'cluster', value: '65000:100' },
      { name: 'rack-large', value: '65000:1:2' },
    ],
    prefixAdvertisements: [
      { cidr: '10.244.0.0/16', communities: ['cluster'] },
      { cidr: '10.244.1.0/24', communities: ['rack-large', '64512:7', 'cluster'] },
    ],
    serviceClusterIPs: [{ cidr: '10.96.0.0/12' }],
  });

  it('each pod CIDR with next hop self and the communities of the longest matching prefixAdvertisement', () => {
    const s = snap(...flatNodes(2), config);
    expect(calculate(s, { name: 'node-1' }).announcements).toEqual([
      { prefix: '10.96.0.0/12', nextHop: 'self' },
      {
        prefix: '10.244.1.0/24',
        nextHop: 'self',
        communities: [community(64512, 7), community(65000, 100)],
        largeCommunities: [{ globalAdmin: 65000, localData1: 1, localData2: 2 }],
      },
    ]);
    expect(calculate(s, { name: 'node-2' }).announcements[1]).toEqual({
      prefix: '10.244.2.0/24',
      nextHop: 'self',
      communities: [community(65000, 100)],
    });
  });

  it('dual-stack pod CIDRs are both announced, IPv4 first', () => {
    const st = calculate(
      snap(
        node('n', {
          ipv4: '192.0.2.11/24',
          ipv6: '2001:db8::11/64',
          podCIDRs: ['fd00:1::/64', '10.244.1.0/24'],
        }),
      ),
      { name: 'n' },
    );
    expect(st.announcements.map((a) => a.prefix)).toEqual(['10.244.1.0/24', 'fd00:1::/64']);
  });
});

describe('local dataplane', () => {
  const s = snap(
    ...flatNodes(2),
    namespace('default'),
    namespace('shop', { team: 'a' }),
    pod('shop', 'web', { node: 'node-1', ips: ['10.244.1.5'], labels: { app: 'web' } }),
    pod('shop', 'web6', { node: 'node-1', ips: ['10.244.1.6', 'fd00:1::6'], labels: { app: 'web' } }),
    pod('shop', 'client', { node: 'node-2', ips: ['10.244.2.7'], labels: { app: 'client' } }),
    pod('shop', 'host', { node: 'node-1', ips: ['192.0.2.11'], hostNetwork: true }),
    pod('shop', 'done', { node: 'node-1', ips: ['10.244.1.8'], phase: 'Succeeded' }),
    pod('shop', 'failed', { node: 'node-1', ips: ['10.244.1.9'], phase: 'Failed' }),
    pod('shop', 'pending', { node: 'node-1' }),
    netpol('shop', 'web-from-client', {
      podSelector: { matchLabels: { app: 'web' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }] }],
    }),
  );
  const st = calculate(s, { name: 'node-1' });

  it('one blackhole per own pod CIDR, with the reason', () => {
    expect(st.dataplane.localRoutes).toEqual([
      { dst: '10.244.1.0/24', type: 'blackhole', reason: 'pod CIDR of node node-1' },
    ]);
  });

  it('endpoints: local pods with addresses that are not hostNetwork and not finished', () => {
    expect(st.dataplane.endpoints).toEqual([
      {
        id: 'shop/web',
        namespace: 'shop',
        name: 'web',
        ifaceName: workloadIfaceName('shop', 'web'),
        ipv4: ['10.244.1.5'],
        ipv6: [],
      },
      {
        id: 'shop/web6',
        namespace: 'shop',
        name: 'web6',
        ifaceName: workloadIfaceName('shop', 'web6'),
        ipv4: ['10.244.1.6'],
        ipv6: ['fd00:1::6'],
      },
    ]);
  });

  it('policy: rendered with every pod of the cluster; only local pods get endpoint chains', () => {
    const policy = st.dataplane.iptables.find((t) => t.source === 'policy');
    expect(policy).toBeDefined();
    expect(policy!.inet.length).toBeGreaterThan(0);
    expect(st.dataplane.policyExplain?.endpoints.map((e) => e.endpoint)).toEqual(['shop/web', 'shop/web6']);
    expect(st.dataplane.policyExplain?.endpoints[0]?.ingress).toEqual({
      isolated: true,
      policies: ['shop/web-from-client'],
    });
    // The remote client's address is a member of the set the rule matches.
    const withClient = st.dataplane.ipsets.filter((set) => set.members.includes('10.244.2.7'));
    expect(withClient.length).toBeGreaterThan(0);
    // Finished and hostNetwork pods are nobody's members.
    const all = st.dataplane.ipsets.flatMap((set) => set.members);
    expect(all).not.toContain('10.244.1.8');
    expect(all).not.toContain('192.0.2.11');
  });

  it('on the other node the same policy has no endpoint of ours', () => {
    const other = calculate(s, { name: 'node-2' });
    expect(other.dataplane.policyExplain?.endpoints.map((e) => e.endpoint)).toEqual(['shop/client']);
    expect(other.dataplane.endpoints.map((e) => e.id)).toEqual(['shop/client']);
  });
});

describe('NAT outgoing', () => {
  const natSource = (st: CalculatedState) => st.dataplane.iptables.find((t) => t.source === 'nat-outgoing')!;
  const setMembers = (st: CalculatedState, name: string) =>
    st.dataplane.ipsets.find((set) => set.name === name)?.members;

  it('present: a masquerade chain for a natOutgoing pool, sets of all and NATed pools', () => {
    const st = calculate(
      snap(
        ...flatNodes(1),
        pool('pods', '10.244.0.0/16', { natOutgoing: true }),
        pool('other', '10.250.0.0/16'),
        pool('off', '10.251.0.0/16', { natOutgoing: true, disabled: true }),
      ),
      { name: 'node-1' },
    );
    const nat = natSource(st);
    expect(nat.inet[0]?.chains.map((c) => c.name)).toEqual(['mgy-nat-outgoing']);
    expect(nat.inet[0]?.jumps).toEqual([
      { from: 'POSTROUTING', to: 'mgy-nat-outgoing', comment: 'natOutgoing' },
    ]);
    expect(nat.inet6[0]?.chains).toEqual([]);
    expect(setMembers(st, 'mgy-all-ipam-pools')).toEqual(['10.244.0.0/16', '10.250.0.0/16']);
    expect(setMembers(st, 'mgy-masq-ipam-pools')).toEqual(['10.244.0.0/16']);
  });

  it('absent: no chain and no jump when no pool masquerades', () => {
    const st = calculate(snap(...flatNodes(1), pool('pods', '10.244.0.0/16')), { name: 'node-1' });
    expect(natSource(st).inet).toEqual([{ table: 'nat', chains: [], jumps: [] }]);
    expect(setMembers(st, 'mgy-masq-ipam-pools')).toEqual([]);
  });

  it('an overlapping pool is refused (the first by name stays)', () => {
    const st = calculate(
      snap(...flatNodes(1), pool('a', '10.244.0.0/16', { natOutgoing: true }), pool('b', '10.244.1.0/24')),
      { name: 'node-1' },
    );
    expect(setMembers(st, 'mgy-all-ipam-pools')).toEqual(['10.244.0.0/16']);
    expect(st.problems).toEqual([
      'IPPool b: spec.cidr: 10.244.1.0/24 overlaps IPPool a 10.244.0.0/16 (pool ignored)',
    ]);
  });
});

describe('tunnel devices', () => {
  const nodes = [
    ...flatNodes(2, () => ({ zone: 'a' })),
    node('node-3', { ipv4: '198.51.100.13/24', podCIDRs: ['10.244.3.0/24'], labels: { zone: 'b' } }),
    node('node-4', { ipv6: '2001:db8::14/64', podCIDRs: ['fd00:4::/64'] }),
  ];

  it('VXLAN: the device with this node as VTEP and every other IPv4 node as remote VTEP', () => {
    const st = calculate(snap(...nodes, pool('p', '10.244.0.0/16', { vxlanMode: 'CrossSubnet' })), {
      name: 'node-1',
      mtu: 9000,
    });
    expect(st.dataplane.vxlan).toEqual({
      nodeName: 'node-1',
      underlayAddress: '192.0.2.11',
      tunnelAddress: '10.244.1.0',
      underlayMtu: 9000,
      remoteVteps: [
        { nodeName: 'node-2', nodeIp: '192.0.2.12', tunnelAddress: '10.244.2.0', mac: vtepMac('node-2') },
        { nodeName: 'node-3', nodeIp: '198.51.100.13', tunnelAddress: '10.244.3.0', mac: vtepMac('node-3') },
      ],
    });
    expect(st.dataplane.ipip).toBeNull();
  });

  it('no VXLAN when no pool uses it, when the pool does not select this node, or when it is disabled', () => {
    for (const p of [
      pool('p', '10.244.0.0/16'),
      pool('p', '10.244.0.0/16', { vxlanMode: 'Always', nodeSelector: "zone == 'b'" }),
      pool('p', '10.244.0.0/16', { vxlanMode: 'Always', disabled: true }),
    ]) {
      expect(calculate(snap(...nodes, p), { name: 'node-1' }).dataplane.vxlan).toBeNull();
    }
    expect(
      calculate(
        snap(...nodes, pool('p', '10.244.0.0/16', { vxlanMode: 'Always', nodeSelector: "zone == 'b'" })),
        {
          name: 'node-3',
        },
      ).dataplane.vxlan?.tunnelAddress,
    ).toBe('10.244.3.0');
  });

  it('no VXLAN on a node without an IPv4 pod CIDR, and it says why', () => {
    const st = calculate(snap(...nodes, pool('p', '10.244.0.0/16', { vxlanMode: 'Always' })), {
      name: 'node-4',
    });
    expect(st.dataplane.vxlan).toBeNull();
    expect(st.problems).toContain(
      'Node node-4: no IPv4 pod CIDR for a VXLAN tunnel address (IPPool p): no VXLAN',
    );
  });

  it('IPIP: tunl0 with the .0 of the pod CIDR and the MTU', () => {
    const st = calculate(snap(...nodes, pool('p', '10.244.0.0/16', { ipipMode: 'Always' })), {
      name: 'node-2',
      mtu: 1450,
    });
    expect(st.dataplane.ipip).toEqual({ tunnelAddress: '10.244.2.0', underlayMtu: 1450 });
    expect(st.dataplane.vxlan).toBeNull();
  });

  it('an IPv6 pool with VXLAN: IPv6 tunnel addresses on the same device, no problem', () => {
    const dual = [1, 2, 3].map((i) =>
      node(`node-${i}`, {
        ipv4: i < 3 ? `192.0.2.${10 + i}/24` : `198.51.100.${10 + i}/24`,
        ipv6: i < 3 ? `2001:db8:0:1::${10 + i}/64` : `2001:db8:0:2::${10 + i}/64`,
        podCIDRs: [`10.244.${i}.0/24`, `2001:db8:244:${i}::/64`],
      }),
    );
    const st = calculate(
      snap(
        ...dual,
        pool('p4', '10.244.0.0/16', { vxlanMode: 'CrossSubnet' }),
        pool('p6', '2001:db8:244::/48', { vxlanMode: 'CrossSubnet' }),
      ),
      { name: 'node-1' },
    );
    expect(st.problems).toEqual([]);
    expect(st.dataplane.vxlan).toEqual({
      nodeName: 'node-1',
      underlayAddress: '192.0.2.11',
      tunnelAddress: '10.244.1.0',
      tunnelAddressV6: '2001:db8:244:1::',
      remoteVteps: [
        {
          nodeName: 'node-2',
          nodeIp: '192.0.2.12',
          tunnelAddress: '10.244.2.0',
          tunnelAddressV6: '2001:db8:244:2::',
          mac: vtepMac('node-2'),
        },
        {
          nodeName: 'node-3',
          nodeIp: '198.51.100.13',
          tunnelAddress: '10.244.3.0',
          tunnelAddressV6: '2001:db8:244:3::',
          mac: vtepMac('node-3'),
        },
      ],
    });
    // Only the IPv6 pool tunnels: the device exists (IPv4 underlay) with both tunnel addresses.
    const only6 = calculate(
      snap(...dual, pool('p4', '10.244.0.0/16'), pool('p6', '2001:db8:244::/48', { vxlanMode: 'Always' })),
      { name: 'node-3' },
    );
    expect(only6.dataplane.vxlan).toMatchObject({
      underlayAddress: '198.51.100.13',
      tunnelAddress: '10.244.3.0',
      tunnelAddressV6: '2001:db8:244:3::',
    });
    // An IPv4-only VXLAN pool: no IPv6 address on the device, no IPv6 neighbours.
    const only4 = calculate(
      snap(...dual, pool('p4', '10.244.0.0/16', { vxlanMode: 'Always' }), pool('p6', '2001:db8:244::/48')),
      { name: 'node-1' },
    );
    expect(only4.dataplane.vxlan?.tunnelAddressV6).toBeUndefined();
    expect(only4.dataplane.vxlan?.remoteVteps.map((v) => v.tunnelAddressV6)).toEqual([undefined, undefined]);
  });
});
