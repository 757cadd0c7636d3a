// The route-table reconciler against the real kernel, in a network namespace of its own
// (`mgyr-<pid>-rt`, never connected to anything, no default route; removed in afterAll, also on
// failure). Covers: every route kind (IPv4+IPv6, via, dev scope link, blackhole, unreachable,
// onlink, ECMP, custom tables), adoption on restart with `ip monitor route` showing no event,
// drift repair, a foreign route left alone, a conflict, and routes the kernel refuses (which hold
// up no other route).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Netlink } from '../../felix/dataplane/netlink/netlink.ts';
import { RouteTable } from '../../felix/dataplane/routes/route-table.ts';
import type { RouteSpec } from '../../felix/model/routes.ts';
import { waitFor } from './lib/wait.ts';

const NS = `mgyr-${process.pid}-rt`;

function ip(...args: string[]): string {
  return execFileSync('ip', ['-n', NS, ...args], { encoding: 'utf8' });
}

const ROUTES: RouteSpec[] = [
  { dst: '10.244.1.0/24', nextHops: [{ gateway: '192.0.2.2' }], reason: 'node b' },
  { dst: '10.244.2.5/32', dev: 'v0', reason: 'pod' },
  { dst: '10.244.0.0/24', type: 'blackhole', reason: 'own pod CIDR' },
  { dst: '10.244.9.0/24', type: 'unreachable' },
  { dst: '10.244.3.0/24', nextHops: [{ gateway: '203.0.113.9', dev: 'v0', onlink: true }] },
  {
    dst: '10.244.4.0/24',
    nextHops: [
      { gateway: '198.51.100.2', dev: 'v1', weight: 2 },
      { gateway: '192.0.2.2', dev: 'v0' },
    ],
  },
  { dst: '10.244.5.0/24', table: 100, nextHops: [{ gateway: '192.0.2.3' }] },
  { dst: '0.0.0.0/0', table: 101, nextHops: [{ gateway: '192.0.2.254' }] },
  { dst: '10.244.6.0/24', nextHops: [{ gateway: '192.0.2.2' }], src: '192.0.2.1', mtu: 1400 },
  { dst: '2001:db8:aa::/64', nextHops: [{ gateway: '2001:db8::2' }] },
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
  { dst: '::/0', table: 101, nextHops: [{ gateway: '2001:db8::2' }] },
  { dst: '2001:db8:98::/64', nextHops: [{ gateway: '2001:db8::77', dev: 'v0', onlink: true }] },
];

const table = () => new RouteTable({ netlink: new Netlink({ netns: NS }) });

beforeAll(() => {
  execFileSync('ip', ['netns', 'add', NS]);
  ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
  for (const d of ['lo', 'v0', 'v1']) ip('link', 'set', d, 'up');
  ip('addr', 'add', '192.0.2.1/24', 'dev', 'v0');
  ip('addr', 'add', '198.51.100.1/24', 'dev', 'v1');
  ip('-6', 'addr', 'add', '2001:db8::1/64', 'dev', 'v0', 'nodad');
  ip('-6', 'addr', 'add', '2001:db8:1::1/64', 'dev', 'v1', 'nodad');
});

afterAll(() => {
  execFileSync('ip', ['netns', 'del', NS]);
});

describe('RouteTable in a namespace', () => {
  it('installs every kind of route, with our protocol', async () => {
    const rt = table();
    rt.setDesired(ROUTES);
    const r = await rt.apply();
    expect(r).toMatchObject({ added: ROUTES.length, replaced: 0, deleted: 0, conflicts: [] });
    const v4 = ip('route', 'show', 'table', 'all', 'proto', '109');
    expect(v4).toMatch(/10\.244\.4\.0\/24[^\n]*\n\s+nexthop via 192\.0\.2\.2 dev v0 weight 1/);
    expect(v4).toMatch(/nexthop via 198\.51\.100\.2 dev v1 weight 2/);
    expect(v4).toMatch(/10\.244\.3\.0\/24 via 203\.0\.113\.9 dev v0 [^\n]*onlink/);
    expect(v4).toMatch(/blackhole 10\.244\.0\.0\/24/);
    expect(v4).toMatch(/default via 192\.0\.2\.254 dev v0 table 101/);
    expect(v4).toMatch(/10\.244\.2\.5 dev v0 [^\n]*scope link/);
    const v6 = ip('-6', 'route', 'show', 'table', 'all', 'proto', '109');
    expect(v6).toMatch(/2001:db8:dd::\/64[^\n]*\n\s+nexthop via /);
    expect(v6).toMatch(/nexthop via 2001:db8::2 dev v0 weight 1/);
    expect(v6).toMatch(/nexthop via 2001:db8:1::2 dev v1 weight 3/);
    expect(v6).toMatch(
      /default via 2001:db8::2 dev v0 [^\n]*table 101|default via 2001:db8::2 dev v0 table 101/,
    );
    // A resync finds nothing to do: the read-back of every kind compares equal.
    expect(await rt.resync()).toMatchObject({ added: 0, replaced: 0, deleted: 0, unchanged: ROUTES.length });
    expect(rt.list().every((l) => l.state === 'programmed')).toBe(true);
  });

  it('a restarted reconciler adopts the routes without any netlink route event', async () => {
    let monitor: ChildProcess | undefined;
    try {
      let out = '';
      monitor = spawn('ip', ['-n', NS, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
      monitor.stdout?.on('data', (b: Buffer) => {
        out += b.toString();
      });
      // Sentinels prove the monitor is listening before, and still reporting after, the adoption.
      ip('route', 'add', '203.0.113.1/32', 'dev', 'v0', 'proto', 'static');
      await waitFor(() => out.includes('203.0.113.1'), {
        describe: 'ip monitor saw sentinel 1',
        timeoutMs: 5_000,
      });
      const before = out.length;
      const rt = table();
      rt.setDesired(ROUTES);
      const r = await rt.apply();
      expect(r).toMatchObject({ added: 0, replaced: 0, deleted: 0, unchanged: ROUTES.length, didRead: true });
      ip('route', 'add', '203.0.113.2/32', 'dev', 'v0', 'proto', 'static');
      await waitFor(() => out.includes('203.0.113.2'), {
        describe: 'ip monitor saw sentinel 2',
        timeoutMs: 5_000,
      });
      const during = out.slice(before, out.indexOf('203.0.113.2'));
      expect(
        during
          .trim()
          .split('\n')
          .filter((l) => l.trim() !== '' && !l.includes('203.0.113.2')),
      ).toEqual([]);
    } finally {
      if (monitor?.pid !== undefined && monitor.exitCode === null) process.kill(monitor.pid, 'SIGTERM');
      ip('route', 'del', '203.0.113.1/32', 'dev', 'v0');
      ip('route', 'del', '203.0.113.2/32', 'dev', 'v0');
    }
  });

  it('repairs drift on resync and never touches a foreign route', async () => {
    const rt = table();
    rt.setDesired(ROUTES);
    await rt.apply();
    ip('route', 'del', '10.244.1.0/24', 'proto', '109'); // one of ours deleted
    ip('route', 'replace', '10.244.5.0/24', 'via', '192.0.2.9', 'table', '100', 'proto', '109'); // changed
    ip('-6', 'route', 'del', '2001:db8:cc::/64', 'proto', '109');
    ip('route', 'add', '10.244.77.0/24', 'via', '192.0.2.2', 'proto', '109'); // stray with our protocol
    ip('route', 'add', '10.244.88.0/24', 'via', '192.0.2.2', 'proto', 'static'); // foreign
    // Without a resync the cached view does not know: nothing is written.
    expect(await rt.apply()).toMatchObject({ added: 0, replaced: 0, deleted: 0 });
    const r = await rt.resync();
    expect(r).toMatchObject({ added: 2, replaced: 1, deleted: 1, didRead: true });
    expect(ip('route', 'show', '10.244.1.0/24')).toContain('via 192.0.2.2');
    expect(ip('route', 'show', 'table', '100', '10.244.5.0/24')).toContain('via 192.0.2.3');
    expect(ip('-6', 'route', 'show', '2001:db8:cc::/64')).toContain('blackhole');
    expect(ip('route', 'show', '10.244.77.0/24')).toBe('');
    expect(ip('route', 'show', '10.244.88.0/24')).toContain('proto static');
    ip('route', 'del', '10.244.88.0/24', 'proto', 'static');
  });

  it('reports a foreign route at a desired key as a conflict and leaves it alone', async () => {
    ip('route', 'add', '10.244.66.0/24', 'via', '192.0.2.2', 'proto', 'static');
    try {
      const rt = table();
      rt.setDesired([...ROUTES, { dst: '10.244.66.0/24', dev: 'v1', reason: 'wants the foreign key' }]);
      const r = await rt.apply();
      expect(r.conflicts.map((c) => c.dst)).toEqual(['10.244.66.0/24']);
      expect(ip('route', 'show', '10.244.66.0/24')).toContain('via 192.0.2.2 dev v0 proto static');
    } finally {
      ip('route', 'del', '10.244.66.0/24', 'proto', 'static');
    }
  });

  it('a route the kernel refuses holds up no other: the rest applies and is listed programmed', async () => {
    // The two-subnet lab's failure: an IPv6 pod CIDR `via` an address on no connected subnet
    // ("No route to host") in the same pass as IPv4 routes and blackholes of both families.
    const refused: RouteSpec[] = [
      { dst: '2001:db8:244:3::/64', nextHops: [{ gateway: '2001:db8:0:2::13' }], reason: 'other subnet' },
      { dst: '10.244.55.0/24', nextHops: [{ gateway: '203.0.113.77' }], reason: 'no such subnet' },
    ];
    const rt = table();
    rt.setDesired([...ROUTES, ...refused]);
    ip('route', 'del', '10.244.1.0/24', 'proto', '109');
    ip('-6', 'route', 'del', '2001:db8:cc::/64', 'proto', '109');
    const r = await rt.resync();
    expect(r).toMatchObject({ added: 2, conflicts: [] });
    expect(r.failed.map((f) => [f.dst, f.message])).toEqual([
      ['10.244.55.0/24', expect.stringMatching(/Nexthop has invalid gateway|Network is unreachable/)],
      ['2001:db8:244:3::/64', expect.stringMatching(/No route to host/)],
    ]);
    expect(ip('route', 'show', '10.244.1.0/24')).toContain('via 192.0.2.2'); // the rest applied
    expect(ip('-6', 'route', 'show', '2001:db8:cc::/64')).toContain('blackhole');
    const listed = rt.list();
    const notProgrammed = listed.filter((l) => l.state !== 'programmed').map((l) => [l.route.dst, l.state]);
    expect(notProgrammed.sort()).toEqual([
      ['10.244.55.0/24', 'failed'],
      ['2001:db8:244:3::/64', 'failed'],
    ]);
    expect(listed.find((l) => l.route.dst === '2001:db8:244:3::/64')?.message).toMatch(/No route to host/);
    // Retried by the next apply (only those two lines); dropping them leaves nothing to do.
    expect(await rt.apply()).toMatchObject({ didRead: false, added: 0, unchanged: ROUTES.length });
    rt.setDesired(ROUTES);
    expect(await rt.apply()).toMatchObject({
      didRead: false,
      added: 0,
      failed: [],
      unchanged: ROUTES.length,
    });
    expect(rt.list().every((l) => l.state === 'programmed')).toBe(true);
  });

  it('removes all of its routes and nothing else', async () => {
    const rt = table();
    rt.setDesired([]);
    expect(await rt.apply()).toMatchObject({ deleted: ROUTES.length });
    expect(ip('route', 'show', 'table', 'all', 'proto', '109')).toBe('');
    expect(ip('-6', 'route', 'show', 'table', 'all', 'proto', '109')).toBe('');
    expect(ip('route', 'show', '192.0.2.0/24')).toContain('proto kernel');
  });
});

describe('RouteTable in a namespace: workload route grace period', () => {
  // What margay-cni leaves at ADD, before the pod's IP reaches the agent (src/cni/wire.ts).
  const POD_IFACE = 'mgyg0000000001';

  it('keeps a pod route it was not told about for the period, then deletes it; other strays at once', async () => {
    ip('link', 'add', POD_IFACE, 'type', 'veth', 'peer', 'name', 'pgy1');
    try {
      for (const d of [POD_IFACE, 'pgy1']) ip('link', 'set', d, 'up');
      ip('route', 'add', '10.244.0.7/32', 'dev', POD_IFACE, 'scope', 'link', 'proto', '109');
      ip('-6', 'route', 'add', '2001:db8:244::7/128', 'dev', POD_IFACE, 'proto', '109');
      ip('route', 'add', '10.244.8.0/24', 'via', '192.0.2.2', 'proto', '109'); // a stray via v0
      const rt = new RouteTable({ netlink: new Netlink({ netns: NS }), workloadGracePeriodMs: 1_000 });
      rt.setDesired([{ dst: '10.244.0.0/24', type: 'blackhole', reason: 'own pod CIDR' }]);

      const t0 = Date.now();
      expect(await rt.apply()).toMatchObject({ added: 1, deleted: 1, didRead: true });
      expect(ip('route', 'show', '10.244.8.0/24')).toBe('');
      expect(await rt.resync()).toMatchObject({ added: 0, deleted: 0, didRead: true });
      expect(await rt.apply()).toMatchObject({ deleted: 0 });
      expect(Date.now() - t0).toBeLessThan(1_000); // all of the above inside the period
      expect(ip('route', 'show', '10.244.0.7')).toMatch(
        new RegExp(`10\\.244\\.0\\.7 dev ${POD_IFACE} proto 109`),
      );
      expect(ip('-6', 'route', 'show', '2001:db8:244::7')).toContain(`dev ${POD_IFACE} proto 109`);
      expect(
        rt
          .list()
          .filter((l) => l.state === 'grace')
          .map((l) => l.route.dst),
      ).toEqual(['10.244.0.7/32', '2001:db8:244::7/128']);

      await new Promise((r) => setTimeout(r, 1_100 - (Date.now() - t0)));
      expect(await rt.apply()).toMatchObject({ deleted: 2 });
      expect(ip('route', 'show', '10.244.0.7')).toBe('');
      expect(ip('-6', 'route', 'show', '2001:db8:244::7')).toBe('');
      expect(rt.list().map((l) => [l.route.dst, l.state])).toEqual([['10.244.0.0/24', 'programmed']]);
    } finally {
      ip('link', 'del', POD_IFACE);
      ip('route', 'flush', 'table', 'all', 'proto', '109');
    }
  });
});
