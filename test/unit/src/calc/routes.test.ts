// remoteRoutes: best paths → kernel routes, plain / VXLAN / IPIP per pool mode and subnet, ECMP
// for external routes, and what is skipped.
import { describe, expect, it } from 'vitest';
import { canonicalRoute, remoteNodeRoute } from '../../../../felix/model/routes.ts';
import { calculate } from '../../../../src/calc/calculate.ts';
import { remoteRoutes } from '../../../../src/calc/routes.ts';
import type { Resource } from '../../../../src/model/resource.ts';
import { bgpConfig, flatNodes, node, pool, snap } from './fixtures.ts';

// node-1, node-2 on 192.0.2.0/24; node-3 on 198.51.100.0/24.
const nodes: Resource[] = [
  ...flatNodes(2),
  node('node-3', { ipv4: '198.51.100.13/24', podCIDRs: ['10.244.3.0/24'] }),
];

function routesFor(extra: Resource[], bestPaths: { prefix: string; nextHops: string[] }[], self = 'node-1') {
  const snapshot = snap(...nodes, ...extra);
  const state = calculate(snapshot, { name: self });
  return remoteRoutes({
    bestPaths: bestPaths.map((p) => ({
      ...p,
      family: p.prefix.includes(':') ? ('ipv6-unicast' as const) : ('ipv4-unicast' as const),
    })),
    state,
    snapshot,
  });
}

const podPaths = [
  { prefix: '10.244.1.0/24', nextHops: ['192.0.2.11'] },
  { prefix: '10.244.2.0/24', nextHops: ['192.0.2.12'] },
  { prefix: '10.244.3.0/24', nextHops: ['198.51.100.13'] },
];

describe('remoteRoutes: pod CIDRs of other nodes', () => {
  it('CrossSubnet VXLAN: plain inside our subnet, VXLAN across; our own CIDR skipped', () => {
    const routes = routesFor([pool('pods', '10.244.0.0/16', { vxlanMode: 'CrossSubnet' })], podPaths);
    expect(routes).toEqual([
      {
        dst: '10.244.2.0/24',
        nextHops: [{ gateway: '192.0.2.12' }],
        reason:
          'BGP best path from 192.0.2.12 (node-2), pool 10.244.0.0/16 vxlanMode CrossSubnet: same subnet → direct',
      },
      {
        dst: '10.244.3.0/24',
        nextHops: [{ gateway: '10.244.3.0', dev: 'vxlan.margay', onlink: true }],
        reason:
          'BGP best path from 198.51.100.13 (node-3), pool 10.244.0.0/16 vxlanMode CrossSubnet: other subnet → vxlan',
      },
    ]);
    // The same route felix's remoteNodeRoute builds, and one the route table accepts.
    expect(routes[1]!.nextHops).toEqual(
      remoteNodeRoute({ podCidr: '10.244.3.0/24', nodeIp: '198.51.100.13', encapsulation: 'vxlan' }).nextHops,
    );
    for (const r of routes) expect(() => canonicalRoute(r)).not.toThrow();
  });

  it('vxlanMode Always tunnels inside the subnet too; Never never tunnels', () => {
    const always = routesFor([pool('pods', '10.244.0.0/16', { vxlanMode: 'Always' })], podPaths);
    expect(always.map((r) => r.nextHops?.[0]?.dev)).toEqual(['vxlan.margay', 'vxlan.margay']);
    expect(always[0]!.reason).toBe(
      'BGP best path from 192.0.2.12 (node-2), pool 10.244.0.0/16 vxlanMode Always → vxlan',
    );
    const never = routesFor([pool('pods', '10.244.0.0/16')], podPaths);
    expect(never.map((r) => r.nextHops)).toEqual([
      [{ gateway: '192.0.2.12' }],
      [{ gateway: '198.51.100.13' }],
    ]);
    expect(never[1]!.reason).toBe(
      'BGP best path from 198.51.100.13 (node-3), pool 10.244.0.0/16: no encapsulation → direct',
    );
  });

  it('IPIP CrossSubnet: via the node through tunl0 onlink across subnets', () => {
    const routes = routesFor([pool('pods', '10.244.0.0/16', { ipipMode: 'CrossSubnet' })], podPaths);
    expect(routes.map((r) => r.nextHops)).toEqual([
      [{ gateway: '192.0.2.12' }],
      [{ gateway: '198.51.100.13', dev: 'tunl0', onlink: true }],
    ]);
    expect(routes[1]!.reason).toBe(
      'BGP best path from 198.51.100.13 (node-3), pool 10.244.0.0/16 ipipMode CrossSubnet: other subnet → ipip',
    );
  });

  it('a tunnel this node does not have falls back to a plain route and says so', () => {
    // The pool selects only node-3, so node-1 has no VXLAN device.
    const routes = routesFor(
      [pool('pods', '10.244.0.0/16', { vxlanMode: 'Always', nodeSelector: "kubernetes.io/hostname == 'x'" })],
      podPaths,
    );
    expect(routes[1]).toEqual({
      dst: '10.244.3.0/24',
      nextHops: [{ gateway: '198.51.100.13' }],
      reason:
        'BGP best path from 198.51.100.13 (node-3), pool 10.244.0.0/16 vxlanMode Always → vxlan, but this node has no VXLAN device → direct',
    });
  });

  it('a disabled pool does not tunnel', () => {
    const routes = routesFor(
      [pool('pods', '10.244.0.0/16', { vxlanMode: 'Always', disabled: true })],
      podPaths,
    );
    expect(routes.map((r) => r.nextHops?.[0]?.dev)).toEqual([undefined, undefined]);
    expect(routes[0]!.reason).toBe('BGP best path from 192.0.2.12 (node-2), not in an IPPool → direct');
  });
});

describe('remoteRoutes: IPv6 pod CIDRs through VXLAN (IPv4 underlay)', () => {
  // The two-subnet lab: node-1, node-2 on 192.0.2.0/24 + 2001:db8:0:1::/64, node-3 on
  // 198.51.100.0/24 + 2001:db8:0:2::/64.
  const dual = [1, 2, 3].map((i) =>
    node(`node-${i}`, {
      ipv4: i < 3 ? `192.0.2.${10 + i}/24` : `198.51.100.${10 + i}/24`,
      ipv6: i < 3 ? `2001:db8:0:1::${10 + i}/64` : `2001:db8:0:2::${10 + i}/64`,
      podCIDRs: [`10.244.${i}.0/24`, `2001:db8:244:${i}::/64`],
    }),
  );
  const paths = [
    { prefix: '2001:db8:244:2::/64', family: 'ipv6-unicast' as const, nextHops: ['2001:db8:0:1::12'] },
    { prefix: '2001:db8:244:3::/64', family: 'ipv6-unicast' as const, nextHops: ['2001:db8:0:2::13'] },
  ];
  const routes6 = (mode: 'Always' | 'CrossSubnet' | 'Never') => {
    const snapshot = snap(
      ...dual,
      pool('p4', '10.244.0.0/16', { vxlanMode: 'CrossSubnet' }),
      pool('p6', '2001:db8:244::/48', { vxlanMode: mode }),
    );
    return remoteRoutes({ bestPaths: paths, state: calculate(snapshot, { name: 'node-1' }), snapshot });
  };

  it('CrossSubnet: direct inside our IPv6 subnet, via the IPv6 tunnel address across', () => {
    const routes = routes6('CrossSubnet');
    expect(routes).toEqual([
      {
        dst: '2001:db8:244:2::/64',
        nextHops: [{ gateway: '2001:db8:0:1::12' }],
        reason:
          'BGP best path from 2001:db8:0:1::12 (node-2), pool 2001:db8:244::/48 vxlanMode CrossSubnet: same subnet → direct',
      },
      {
        dst: '2001:db8:244:3::/64',
        nextHops: [{ gateway: '2001:db8:244:3::', dev: 'vxlan.margay', onlink: true }],
        reason:
          'BGP best path from 2001:db8:0:2::13 (node-3), pool 2001:db8:244::/48 vxlanMode CrossSubnet: other subnet → vxlan',
      },
    ]);
    // The same next hop felix's remoteNodeRoute builds, and routes the route table accepts.
    expect(routes[1]!.nextHops).toEqual(
      remoteNodeRoute({ podCidr: '2001:db8:244:3::/64', nodeIp: '198.51.100.13', encapsulation: 'vxlan' })
        .nextHops,
    );
    for (const r of routes) expect(canonicalRoute(r).family).toBe(6);
  });

  it('Always tunnels inside the subnet too; Never never tunnels', () => {
    expect(routes6('Always').map((r) => r.nextHops?.[0]?.gateway)).toEqual([
      '2001:db8:244:2::',
      '2001:db8:244:3::',
    ]);
    expect(routes6('Never').map((r) => r.nextHops)).toEqual([
      [{ gateway: '2001:db8:0:1::12' }],
      [{ gateway: '2001:db8:0:2::13' }],
    ]);
  });

  it('a remote without an IPv6 pod CIDR has no IPv6 VTEP: plain route, and the reason says so', () => {
    const snapshot = snap(
      ...dual.slice(0, 2),
      node('node-3', {
        ipv4: '198.51.100.13/24',
        ipv6: '2001:db8:0:2::13/64',
        podCIDRs: ['10.244.3.0/24'],
      }),
      pool('p6', '2001:db8:244::/48', { vxlanMode: 'Always' }),
    );
    const routes = remoteRoutes({
      bestPaths: [paths[1]!],
      state: calculate(snapshot, { name: 'node-1' }),
      snapshot,
    });
    expect(routes).toEqual([
      {
        dst: '2001:db8:244:3::/64',
        nextHops: [{ gateway: '2001:db8:0:2::13' }],
        reason:
          'BGP best path from 2001:db8:0:2::13 (node-3), pool 2001:db8:244::/48 vxlanMode Always → vxlan, but node node-3 has no IPv6 VTEP address (IPv6 pod CIDR) → direct',
      },
    ]);
  });
});

describe('remoteRoutes: other prefixes and skips', () => {
  it('a ToR-learned route with several next hops is one ECMP route, next hops in order', () => {
    const routes = routesFor([], [{ prefix: '203.0.113.0/24', nextHops: ['192.0.2.2', '192.0.2.1'] }]);
    expect(routes).toEqual([
      {
        dst: '203.0.113.0/24',
        nextHops: [{ gateway: '192.0.2.1' }, { gateway: '192.0.2.2' }],
        reason: 'BGP best paths (ECMP) from 192.0.2.1, 192.0.2.2, not in an IPPool → direct',
      },
    ]);
  });

  it('a pool prefix whose next hop is not a node is routed plainly', () => {
    const routes = routesFor(
      [pool('pods', '10.244.0.0/16', { vxlanMode: 'Always' })],
      [{ prefix: '10.244.9.0/24', nextHops: ['192.0.2.1'] }],
    );
    expect(routes).toEqual([
      {
        dst: '10.244.9.0/24',
        nextHops: [{ gateway: '192.0.2.1' }],
        reason: 'BGP best path from 192.0.2.1, pool 10.244.0.0/16, next hop not a Margay node → direct',
      },
    ]);
  });

  it('skips what we originate (own pod CIDR and inside it, Service ranges), withdrawn paths, foreign-family and own next hops', () => {
    const routes = routesFor(
      [bgpConfig({ serviceClusterIPs: [{ cidr: '10.96.0.0/12' }] })],
      [
        { prefix: '10.244.1.0/24', nextHops: ['192.0.2.12'] },
        { prefix: '10.244.1.128/25', nextHops: ['192.0.2.12'] },
        { prefix: '10.96.0.0/12', nextHops: ['192.0.2.12', '192.0.2.13'] },
        { prefix: '10.244.2.0/24', nextHops: [] },
        { prefix: '10.244.3.0/24', nextHops: ['2001:db8::13'] },
        { prefix: '10.244.4.0/24', nextHops: ['192.0.2.11'] },
      ],
    );
    expect(routes).toEqual([]);
  });

  it('a later best path for a prefix replaces the earlier one', () => {
    const routes = routesFor(
      [],
      [
        { prefix: '10.244.2.0/24', nextHops: ['192.0.2.12'] },
        { prefix: '10.244.3.0/24', nextHops: ['198.51.100.13'] },
        { prefix: '10.244.2.0/24', nextHops: [] },
      ],
    );
    expect(routes.map((r) => r.dst)).toEqual(['10.244.3.0/24']);
  });

  it('IPv6 pod CIDRs of other nodes are plain routes via their IPv6 address', () => {
    const snapshot = snap(
      node('a', {
        ipv4: '192.0.2.11/24',
        ipv6: '2001:db8::11/64',
        podCIDRs: ['10.244.1.0/24', 'fd00:1::/64'],
      }),
      node('b', {
        ipv4: '192.0.2.12/24',
        ipv6: '2001:db8::12/64',
        podCIDRs: ['10.244.2.0/24', 'fd00:2::/64'],
      }),
      pool('v6', 'fd00::/16'),
    );
    const routes = remoteRoutes({
      bestPaths: [{ prefix: 'fd00:2::/64', family: 'ipv6-unicast', nextHops: ['2001:DB8::12'] }],
      state: calculate(snapshot, { name: 'a' }),
      snapshot,
    });
    expect(routes).toEqual([
      {
        dst: 'fd00:2::/64',
        nextHops: [{ gateway: '2001:db8::12' }],
        reason: 'BGP best path from 2001:db8::12 (b), pool fd00::/16: no encapsulation → direct',
      },
    ]);
  });
});
