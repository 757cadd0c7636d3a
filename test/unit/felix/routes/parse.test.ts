// Kernel route JSON → canonical routes, against `ip -json` output captured on this machine
// (fixtures/*.json: each names the command, the kernel and iproute2 versions, and the ip -batch
// lines that installed the routes).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseKernelRoutes } from '../../../../felix/dataplane/netlink/routes-json.ts';
import { computeRouteDelta, desiredEntry } from '../../../../felix/dataplane/routes/delta.ts';
import { canonicalRoute, type RouteSpec, routeKey } from '../../../../felix/model/routes.ts';

interface Fixture {
  readonly command: string;
  readonly family: 4 | 6;
  readonly output: unknown[];
}

const dir = join(import.meta.dirname, 'fixtures');
const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, ...(JSON.parse(readFileSync(join(dir, f), 'utf8')) as Fixture) }));

// What the fixtures' setup lines asked for, as RouteSpecs (the proto-static route is not ours).
const wanted: Record<4 | 6, RouteSpec[]> = {
  4: [
    { dst: '10.244.1.0/24', nextHops: [{ gateway: '192.0.2.2', dev: 'v0' }] },
    { dst: '10.244.2.5/32', dev: 'v0' },
    { dst: '10.244.0.0/24', type: 'blackhole' },
    { dst: '10.244.9.0/24', type: 'unreachable' },
    { dst: '10.244.3.0/24', nextHops: [{ gateway: '203.0.113.9', dev: 'v0', onlink: true }] },
    {
      dst: '10.244.4.0/24',
      nextHops: [
        { gateway: '198.51.100.2', dev: 'v1', weight: 2 },
        { gateway: '192.0.2.2', dev: 'v0', weight: 1 },
      ],
    },
    { dst: '10.244.5.0/24', table: 100, nextHops: [{ gateway: '192.0.2.3', dev: 'v0' }] },
    { dst: '0.0.0.0/0', table: 101, nextHops: [{ gateway: '192.0.2.254', dev: 'v0' }] },
    { dst: '10.244.6.0/24', nextHops: [{ gateway: '192.0.2.2', dev: 'v0' }], src: '192.0.2.1', mtu: 1400 },
  ],
  6: [
    { dst: '2001:db8:aa::/64', nextHops: [{ gateway: '2001:db8::2', dev: 'v0' }] },
    { dst: '2001:db8:bb::5/128', dev: 'v0' },
    { dst: '2001:db8:cc::/64', type: 'blackhole' },
    {
      dst: '2001:db8:dd::/64',
      nextHops: [
        { gateway: '2001:db8::2', dev: 'v0' },
        { gateway: '2001:db8:1::2', dev: 'v1', weight: 3 },
      ],
    },
    { dst: '2001:db8:ee::/64', nextHops: [{ gateway: 'fe80::1', dev: 'v0' }] },
    { dst: '2001:db8:ff::/64', table: 100, nextHops: [{ gateway: '2001:db8::2', dev: 'v0' }] },
    { dst: '::/0', table: 101, nextHops: [{ gateway: '2001:db8::2', dev: 'v0' }] },
    { dst: '2001:db8:99::/64', type: 'unreachable' },
    { dst: '2001:db8:98::/64', nextHops: [{ gateway: '2001:db8::77', dev: 'v0', onlink: true }] },
    { dst: '2001:db8:97::/64', nextHops: [{ gateway: '2001:db8::2', dev: 'v0' }], mtu: 1300 },
  ],
};

describe('kernel route JSON fixtures', () => {
  it('found fixtures for both families, with and without -N -d', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(4);
    expect(new Set(fixtures.map((f) => f.family))).toEqual(new Set([4, 6]));
  });

  for (const fx of fixtures) {
    describe(`${fx.file}: ${fx.command}`, () => {
      const parsed = parseKernelRoutes(fx.output, fx.family, 109);
      const desired = new Map(
        wanted[fx.family].map((s) => {
          const c = canonicalRoute(s);
          return [routeKey(c), desiredEntry(c)] as const;
        }),
      );
      const actual = new Map<string, typeof parsed>();
      for (const r of parsed) actual.set(r.key, [...(actual.get(r.key) ?? []), r]);

      it('parses every route of our protocol', () => {
        // v4: 9 wanted + the metric-50 route; v6: 10 wanted (the proto-static one is filtered out).
        expect(parsed.length).toBe(fx.family === 4 ? 10 : 10);
        expect(parsed.every((r) => r.canonical !== undefined)).toBe(true);
      });

      it('sees exactly what was installed: no write except the stray metric', () => {
        const delta = computeRouteDelta(desired, actual, 109);
        const lines = delta.ops.map((o) => o.line);
        expect(lines).toEqual(fx.family === 4 ? ['route del 10.244.8.0/24 proto 109 metric 50'] : []);
        expect(delta.unchanged).toBe(wanted[fx.family].length);
      });

      it('normalizes default, host routes and blackhole devices', () => {
        const dsts = parsed.map((r) => r.dst);
        expect(dsts).toContain(fx.family === 4 ? '0.0.0.0/0' : '::/0');
        expect(dsts).toContain(fx.family === 4 ? '10.244.2.5/32' : '2001:db8:bb::5/128');
        const bh = parsed.find((r) => r.typeName === 'blackhole');
        expect(bh?.canonical?.nextHops).toEqual([]);
      });
    });
  }
});

describe('kernel route JSON edge cases (synthetic)', () => {
  it('merges old-style IPv6 multipath (one object per next hop) into one ECMP route', () => {
    const old = [
      { dst: '2001:db8:dd::/64', gateway: '2001:db8::2', dev: 'v0', metric: 1024, flags: [] },
      { dst: '2001:db8:dd::/64', gateway: '2001:db8:1::2', dev: 'v1', metric: 1024, flags: [] },
    ];
    const [r] = parseKernelRoutes(old, 6, 109);
    expect(r?.canonical?.nextHops).toEqual([
      { gateway: '2001:db8:1::2', dev: 'v1' },
      { gateway: '2001:db8::2', dev: 'v0' },
    ]);
  });

  it('treats what Margay never writes as not canonical (replace or delete it)', () => {
    const odd = [
      { type: 'prohibit', dst: '10.244.50.0/24', flags: [] },
      { dst: '10.244.51.0/24', dev: 'v0', scope: 'global', flags: [] },
      { dst: '10.244.52.0/24', gateway: '192.0.2.2', dev: 'v0', metrics: [{ advmss: 1000 }], flags: [] },
    ];
    expect(parseKernelRoutes(odd, 4, 109).map((r) => r.canonical)).toEqual([undefined, undefined, undefined]);
  });

  it('filters other protocols and rejects garbage with FELIX_ERR_NETLINK_PARSE', () => {
    expect(parseKernelRoutes([{ dst: '10.244.1.0/24', dev: 'v0', protocol: '4' }], 4, 109)).toEqual([]);
    expect(() => parseKernelRoutes([42], 4, 109)).toThrow(
      expect.objectContaining({ code: 'FELIX_ERR_NETLINK_PARSE' }),
    );
    expect(() => parseKernelRoutes([{ dst: 'nonsense' }], 4, 109)).toThrow(
      expect.objectContaining({ code: 'FELIX_ERR_NETLINK_PARSE' }),
    );
  });
});
