// Pure route model: canonical prefixes/addresses, route validation, encapsulation choice, VTEPs,
// workload names and routes, and the delta rules.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseKernelRoutes } from '../../../../felix/dataplane/netlink/routes-json.ts';
import { computeRouteDelta, desiredEntry } from '../../../../felix/dataplane/routes/delta.ts';
import { FelixErrorCode } from '../../../../felix/errors.ts';
import { workloadEndpoint, workloadIfaceName, workloadRoutes } from '../../../../felix/model/endpoints.ts';
import {
  canonicalAddress,
  canonicalPrefix,
  canonicalRoute,
  remoteNodeRoute,
  routeKey,
  selectEncapsulation,
  vtepMac,
  vtepTunnelAddress,
} from '../../../../felix/model/routes.ts';

const invalid = expect.objectContaining({ code: 'FELIX_ERR_INVALID_ROUTE' });

describe('canonical addresses and prefixes', () => {
  it.each([
    ['10.244.1.7', '10.244.1.7/32'],
    ['10.244.1.7/24', '10.244.1.0/24'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['2001:DB8:0:0::1', '2001:db8::1/128'],
    ['2001:db8:0:0:1:0:0:1/128', '2001:db8::1:0:0:1/128'],
    ['2001:db8::ffff:1/64', '2001:db8::/64'],
    // iproute2 prints IPv4-mapped destinations with a dotted tail (`ip -json route` on this kernel
    // shows "dst":"::ffff:192.0.2.1"), so that is the canonical form to compare against.
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1/128'],
  ])('%s → %s', (input, want) => expect(canonicalPrefix(input)).toBe(want));

  it.each([
    '10.244.1',
    '10.244.1.256/24',
    '10.244.01.1',
    '10.0.0.0/33',
    '2001:db8::1::2',
    'fe80::1%eth0',
    'x',
  ])('rejects %s', (bad) => expect(() => canonicalPrefix(bad)).toThrow(invalid));

  it('keeps canonical IPv4 and compresses IPv6 (RFC 5952)', () => {
    expect(canonicalAddress('192.0.2.1')).toBe('192.0.2.1');
    expect(canonicalAddress('2001:0db8:0000:0000:0000:0000:0002:0001')).toBe('2001:db8::2:1');
    expect(canonicalAddress('2001:db8:0:1:0:0:0:1')).toBe('2001:db8:0:1::1');
  });
});

describe('canonicalRoute', () => {
  it('fills defaults, drops a lone weight, sorts ECMP hops', () => {
    expect(canonicalRoute({ dst: '10.244.2.0/24', nextHops: [{ gateway: '192.0.2.2', weight: 5 }] })).toEqual(
      {
        family: 4,
        dst: '10.244.2.0/24',
        table: 254,
        type: 'unicast',
        nextHops: [{ gateway: '192.0.2.2' }],
      },
    );
    const ecmp = canonicalRoute({
      dst: '10.244.3.0/24',
      nextHops: [
        { gateway: '198.51.100.2', dev: 'v1' },
        { gateway: '192.0.2.2', dev: 'v0', weight: 3 },
      ],
    });
    expect(ecmp.nextHops.map((h) => h.gateway)).toEqual(['192.0.2.2', '198.51.100.2']);
  });

  it.each([
    [{ dst: '10.0.0.0/8' }, 'no next hop'],
    [{ dst: '10.0.0.0/8', dev: 'v0', nextHops: [{ gateway: '192.0.2.1' }] }, 'both'],
    [{ dst: '10.0.0.0/8', type: 'blackhole' as const, dev: 'v0' }, 'blackhole with dev'],
    [{ dst: '10.0.0.0/8', nextHops: [{ gateway: '2001:db8::1' }] }, 'v6 gateway'],
    [{ dst: '10.0.0.0/8', nextHops: [{ gateway: '192.0.2.1', onlink: true }] }, 'onlink without dev'],
    [{ dst: '10.0.0.0/8', dev: 'a name that is too long' }, 'dev name'],
    [{ dst: '10.0.0.0/8', dev: 'v0', table: 255 }, 'local table'],
    [{ dst: '10.0.0.0/8', dev: 'v0', mtu: 10 }, 'mtu'],
    [
      {
        dst: '10.0.0.0/8',
        nextHops: [
          { gateway: '192.0.2.1', dev: 'v0' },
          { gateway: '192.0.2.1', dev: 'v0' },
        ],
      },
      'duplicate hop',
    ],
  ])('rejects %j (%s)', (spec, _why) => expect(() => canonicalRoute(spec)).toThrow(invalid));
});

describe('delta', () => {
  const entry = (s: Parameters<typeof canonicalRoute>[0]) => {
    const c = canonicalRoute(s);
    return [routeKey(c), desiredEntry(c)] as const;
  };
  const kernel = (list: unknown[], family: 4 | 6 = 4) => {
    const m = new Map<string, ReturnType<typeof parseKernelRoutes>>();
    for (const r of parseKernelRoutes(list, family, 109)) m.set(r.key, [...(m.get(r.key) ?? []), r]);
    return m;
  };

  it('adds new keys with add (never replace), replaces changed ones, deletes strays', () => {
    const desired = new Map([
      entry({ dst: '10.244.1.0/24', nextHops: [{ gateway: '192.0.2.2' }] }),
      entry({ dst: '10.244.2.0/24', nextHops: [{ gateway: '192.0.2.3' }] }),
      entry({ dst: '10.244.3.0/24', type: 'blackhole' }),
    ]);
    const actual = kernel([
      { dst: '10.244.2.0/24', gateway: '192.0.2.9', dev: 'v0', flags: [] },
      { type: 'blackhole', dst: '10.244.3.0/24', flags: [] },
      { dst: '10.244.9.0/24', gateway: '192.0.2.2', dev: 'v0', flags: [] },
    ]);
    const d = computeRouteDelta(desired, actual, 109);
    expect(d.ops.map((o) => o.line)).toEqual([
      'route add 10.244.1.0/24 proto 109 via 192.0.2.2',
      'route replace 10.244.2.0/24 proto 109 via 192.0.2.3',
      'route del 10.244.9.0/24 proto 109',
    ]);
    expect(d.unchanged).toBe(1);
  });

  it('a gateway-only next hop matches the kernel route whatever dev the kernel chose', () => {
    const desired = new Map([entry({ dst: '10.244.1.0/24', nextHops: [{ gateway: '192.0.2.2' }] })]);
    const actual = kernel([{ dst: '10.244.1.0/24', gateway: '192.0.2.2', dev: 'eth7', flags: ['linkdown'] }]);
    expect(computeRouteDelta(desired, actual, 109).ops).toEqual([]);
  });

  it('renders ECMP, onlink, tables, IPv6 metrics and custom protocols', () => {
    const desired = new Map([
      entry({
        dst: '2001:db8:dd::/64',
        table: 100,
        nextHops: [
          { gateway: '2001:db8::2', dev: 'v0' },
          { gateway: 'fe80::1', dev: 'v1', weight: 2, onlink: true },
        ],
      }),
    ]);
    const actual = kernel([{ dst: '2001:db8:ee::/64', dev: 'v0', metric: 1024, table: '100' }], 6);
    expect(computeRouteDelta(desired, actual, 42).ops.map((o) => o.line)).toEqual([
      'route add 2001:db8:dd::/64 proto 42 table 100 nexthop via 2001:db8::2 dev v0 weight 1 nexthop via fe80::1 dev v1 weight 2 onlink',
      'route del 2001:db8:ee::/64 table 100 proto 42 metric 1024',
    ]);
  });

  it('depends only on the final sets, not on input order or duplicates', () => {
    const specs = [
      { dst: '10.244.1.0/24', nextHops: [{ gateway: '192.0.2.2' }] },
      { dst: '10.244.2.0/24', dev: 'v0' },
      { dst: '10.244.3.0/24', type: 'unreachable' as const },
    ];
    const a = new Map(specs.map(entry));
    const b = new Map([...specs, ...specs].reverse().map(entry));
    const actual = kernel([{ dst: '10.244.7.0/24', dev: 'v0', scope: 'link' }]);
    expect(
      computeRouteDelta(b, actual, 109)
        .ops.map((o) => o.line)
        .sort(),
    ).toEqual(
      computeRouteDelta(a, actual, 109)
        .ops.map((o) => o.line)
        .sort(),
    );
  });
});

describe('encapsulation choice (CrossSubnet = plain inside a connected subnet)', () => {
  const base = { localSubnets: ['192.0.2.0/24', '2001:db8::/64'], encapsulation: 'vxlan' as const };
  it.each([
    ['192.0.2.7', 'CrossSubnet', 'none'],
    ['198.51.100.7', 'CrossSubnet', 'vxlan'],
    ['2001:db8::7', 'CrossSubnet', 'none'],
    ['192.0.2.7', 'Always', 'vxlan'],
    ['198.51.100.7', 'Never', 'none'],
  ] as const)('%s in %s → %s', (nextHop, mode, want) =>
    expect(selectEncapsulation({ ...base, nextHop, mode })).toBe(want),
  );

  it('builds the route per encapsulation', () => {
    const r = { podCidr: '10.244.2.0/24', nodeIp: '198.51.100.2' };
    expect(remoteNodeRoute({ ...r, encapsulation: 'none' }).nextHops).toEqual([{ gateway: '198.51.100.2' }]);
    expect(remoteNodeRoute({ ...r, encapsulation: 'vxlan' }).nextHops).toEqual([
      { gateway: '10.244.2.0', dev: 'vxlan.margay', onlink: true },
    ]);
    expect(remoteNodeRoute({ ...r, encapsulation: 'ipip' }).nextHops).toEqual([
      { gateway: '198.51.100.2', dev: 'tunl0', onlink: true },
    ]);
  });

  it('VTEP address is the first address of the pod CIDR and the MAC is stable, unicast and local', () => {
    expect(vtepTunnelAddress('10.244.2.0/24')).toBe('10.244.2.0');
    expect(vtepTunnelAddress('2001:DB8:244:2::/64')).toBe('2001:db8:244:2::');
    expect(() => vtepTunnelAddress('2001:db8:244:2::1')).toThrow(/pod CIDR/);
    expect(() => vtepTunnelAddress('10.244.2.1/32')).toThrow(/pod CIDR/);
    expect(vtepMac('node-a')).toBe(vtepMac('node-a'));
    expect(vtepMac('node-a')).not.toBe(vtepMac('node-b'));
    const first = Number.parseInt(vtepMac('node-a').slice(0, 2), 16);
    expect(first & 1).toBe(0);
    expect(first & 2).toBe(2);
  });
});

describe('workload endpoints', () => {
  it('names the host veth mgy + 11 hex, stable per namespace/name', () => {
    const n = workloadIfaceName('default', 'web-0');
    expect(n).toMatch(/^mgy[0-9a-f]{11}$/);
    expect(n).toBe(workloadIfaceName('default', 'web-0'));
    expect(n).not.toBe(workloadIfaceName('default', 'web-1'));
  });

  it('routes each pod address as a /32 or /128 scope link, with a reason', () => {
    const ep = workloadEndpoint({
      namespace: 'ns',
      name: 'p',
      ipv4: ['10.244.1.5'],
      ipv6: ['2001:DB8:A::5'],
    });
    expect(workloadRoutes(ep)).toEqual([
      { dst: '10.244.1.5/32', dev: ep.ifaceName, reason: 'local workload ns/p' },
      { dst: '2001:db8:a::5/128', dev: ep.ifaceName, reason: 'local workload ns/p' },
    ]);
    expect(() => workloadEndpoint({ namespace: 'ns', name: 'p', ipv4: ['2001:db8::1'] })).toThrow(invalid);
  });
});

describe('felix error catalog', () => {
  const readme = readFileSync(join(import.meta.dirname, '..', '..', '..', '..', 'README.md'), 'utf8');
  const documented = new Set([...readme.matchAll(/^\| `([A-Z0-9_]+)`/gm)].map((m) => m[1]));
  for (const code of [
    'FELIX_ERR_BATCH_FAILED',
    'FELIX_ERR_INVALID_ROUTE',
    'FELIX_ERR_NETLINK_PARSE',
    'FELIX_ERR_ENCAP_UNSUPPORTED',
  ] as const) {
    it(`${code} is in the catalog and the README error table`, () => {
      expect(FelixErrorCode[code]).toBeTypeOf('string');
      expect(documented.has(code)).toBe(true);
    });
  }
});
