// The workload-route grace period (route-table.ts header): a pod route margay-cni wrote at ADD
// (`IP/32 dev mgy… scope link proto 109`) before the pod's endpoint reached the agent is left alone
// while an apply or resync runs in that window, adopted with no write when the endpoint arrives,
// and deleted once it has been undesired for longer than the period. A stray route of ours through
// any other device is still deleted at once. Fake kernel + injected clock; the real kernel is in
// test/interop/felix-routes.test.ts.
import { describe, expect, it } from 'vitest';
import type { Command, CommandResult } from '../../../../felix/dataplane/exec.ts';
import { Netlink } from '../../../../felix/dataplane/netlink/netlink.ts';
import { RouteTable } from '../../../../felix/dataplane/routes/route-table.ts';
import { Dataplane, workloadEndpoint } from '../../../../felix/index.ts';
import { ManualClock } from '../../../support/manual-clock.ts';
import { FakeRouteKernel } from './fake-kernel.ts';

const POD_IFACE = 'mgyaaaaaaaaaaa';
const OWN_CIDR = { dst: '10.244.1.0/24', type: 'blackhole' as const, reason: 'own pod CIDR' };

/** What margay-cni leaves in the kernel at ADD, as `ip -json route show` prints it. */
function cniRoutes(k: FakeRouteKernel): void {
  k.routes[4].set('10.244.1.10', {
    type: 'unicast',
    dst: '10.244.1.10',
    dev: POD_IFACE,
    protocol: '109',
    scope: 'link',
    flags: [],
  });
  k.routes[6].set('2001:db8:244:1::a', {
    type: 'unicast',
    dst: '2001:db8:244:1::a',
    dev: POD_IFACE,
    protocol: '109',
    metric: 1024,
    flags: [],
  });
}

function setup(graceMs?: number) {
  const k = new FakeRouteKernel();
  const clock = { t: 1_000_000 };
  const run = async (c: Command): Promise<CommandResult> =>
    k.handle(c) ?? { stdout: '[]', stderr: '', code: 0 };
  const rt = new RouteTable({
    netlink: new Netlink({ runner: run }),
    now: () => clock.t,
    ...(graceMs !== undefined ? { workloadGracePeriodMs: graceMs } : {}),
  });
  return { k, clock, rt };
}

const podRoutes = [
  { dst: '10.244.1.10/32', dev: POD_IFACE, reason: 'local workload prod/web' },
  { dst: '2001:db8:244:1::a/128', dev: POD_IFACE, reason: 'local workload prod/web' },
];

describe('RouteTable: workload route grace period', () => {
  it('keeps an undesired pod route across applies and a resync, shows it as grace, deletes it after', async () => {
    const { k, clock, rt } = setup(); // default 30 s
    cniRoutes(k);
    rt.setDesired([OWN_CIDR]);
    let r = await rt.apply(); // first apply reads the kernel: the CNI route is there, not desired
    expect(r).toMatchObject({ added: 1, deleted: 0, didRead: true });
    clock.t += 10_000;
    rt.setDesired([OWN_CIDR, { dst: '10.244.2.0/24', nextHops: [{ gateway: '192.0.2.12' }] }]);
    r = await rt.apply();
    expect(r).toMatchObject({ added: 1, deleted: 0 });
    clock.t += 10_000;
    r = await rt.resync(); // re-read: the route is still ours-but-undesired, its clock still runs
    expect(r).toMatchObject({ added: 0, deleted: 0, didRead: true });
    clock.t += 5_000;
    r = await rt.apply();
    expect(r.deleted).toBe(0);
    expect(k.routes[4].has('10.244.1.10')).toBe(true);
    expect(k.routes[6].has('2001:db8:244:1::a')).toBe(true);
    expect(k.lines.filter((l) => l.startsWith('route del'))).toEqual([]);

    const grace = rt.list().filter((x) => x.state === 'grace');
    expect(grace.map((x) => [x.route.dst, x.graceRemainingMs])).toEqual([
      ['10.244.1.10/32', 5_000],
      ['2001:db8:244:1::a/128', 5_000],
    ]);
    expect(grace[0]?.route.nextHops).toEqual([{ dev: POD_IFACE }]);
    expect(grace[0]?.route.reason).toContain(POD_IFACE);
    expect(grace[0]?.message).toMatch(/kept 5 s more .*grace period 30 s/);
    expect(rt.summary()).toMatchObject({ desired: 2, programmed: 2, grace });
    expect(rt.nextGraceExpiry).toBe(1_000_000 + 30_001);
    expect(rt.desiredCount).toBe(2);

    clock.t += 5_000; // exactly the period: not yet longer than it
    expect((await rt.apply()).deleted).toBe(0);
    clock.t += 1;
    r = await rt.apply();
    expect(r.deleted).toBe(2);
    expect(k.routes[4].has('10.244.1.10')).toBe(false);
    expect(k.routes[6].has('2001:db8:244:1::a')).toBe(false);
    expect(rt.list().filter((x) => x.state === 'grace')).toEqual([]);
    expect(rt.nextGraceExpiry).toBeUndefined();
  });

  it('adopts the pod route with no write when the endpoint arrives within the period', async () => {
    const { k, clock, rt } = setup(30_000);
    cniRoutes(k);
    rt.setDesired([OWN_CIDR]);
    await rt.apply();
    clock.t += 20_000;
    await rt.resync();
    const before = k.lines.length;
    clock.t += 5_000;
    rt.setDesired([OWN_CIDR, ...podRoutes]);
    const r = await rt.apply();
    expect(r).toMatchObject({ added: 0, replaced: 0, deleted: 0, unchanged: 3 });
    expect(k.lines.length).toBe(before);
    expect(rt.list().map((x) => [x.route.dst, x.state])).toEqual([
      ['10.244.1.0/24', 'programmed'],
      ['10.244.1.10/32', 'programmed'],
      ['2001:db8:244:1::a/128', 'programmed'],
    ]);
    expect(rt.nextGraceExpiry).toBeUndefined();
    // Long after the period: it is desired, so nothing deletes it.
    clock.t += 60_000;
    expect(await rt.resync()).toMatchObject({ added: 0, replaced: 0, deleted: 0, unchanged: 3 });
    expect(k.routes[4].has('10.244.1.10')).toBe(true);
  });

  it('still deletes a stray route of ours through a non-workload device at once', async () => {
    const { k, rt } = setup(30_000);
    cniRoutes(k);
    k.routes[4].set('10.99.0.0/16', {
      type: 'unicast',
      dst: '10.99.0.0/16',
      gateway: '192.0.2.1',
      dev: 'eth0',
      protocol: '109',
      flags: [],
    });
    k.routes[4].set('10.98.0.0/16', {
      type: 'unicast',
      dst: '10.98.0.0/16',
      dev: 'eth1',
      protocol: '109',
      scope: 'link',
      flags: [],
    });
    k.routes[4].set('10.97.0.0/16', { type: 'blackhole', dst: '10.97.0.0/16', protocol: '109', flags: [] });
    rt.setDesired([OWN_CIDR]);
    const r = await rt.apply();
    expect(r.deleted).toBe(3);
    expect([...k.routes[4].keys()].sort()).toEqual(['10.244.1.0/24', '10.244.1.10']);
    expect(
      rt
        .list()
        .filter((x) => x.state === 'grace')
        .map((x) => x.route.dst),
    ).toEqual(['10.244.1.10/32', '2001:db8:244:1::a/128']);
  });

  it('0 disables it: the pod route is deleted at once, as before', async () => {
    const { k, rt } = setup(0);
    cniRoutes(k);
    rt.setDesired([OWN_CIDR]);
    expect((await rt.apply()).deleted).toBe(2);
    expect(k.routes[4].has('10.244.1.10')).toBe(false);
  });

  it('a route that comes back after its deletion gets a fresh period', async () => {
    const { k, clock, rt } = setup(1_000);
    cniRoutes(k);
    rt.setDesired([OWN_CIDR]);
    await rt.apply();
    clock.t += 1_001;
    expect((await rt.apply()).deleted).toBe(2);
    cniRoutes(k); // a new sandbox, same IP
    clock.t += 500;
    expect((await rt.resync()).deleted).toBe(0);
    expect(rt.list().find((x) => x.state === 'grace')?.graceRemainingMs).toBe(1_000);
  });
});

describe('Dataplane: workload route grace period', () => {
  it('shows the kept route in listRoutes() and status(), and deletes it by itself when the period ends', async () => {
    const k = new FakeRouteKernel();
    cniRoutes(k);
    const runner = async (c: Command): Promise<CommandResult> => {
      const routed = k.handle(c);
      if (routed !== undefined) return routed;
      if (c.argv[0] === 'sysctl' && c.argv[1] === '-n') {
        return {
          stdout: c.argv
            .slice(2)
            .map(() => '0\n')
            .join(''),
          stderr: '',
          code: 0,
        };
      }
      return { stdout: c.argv.join(' ').includes('-json') ? '[]' : '', stderr: '', code: 0 };
    };
    const clock = new ManualClock(5_000_000);
    const d = new Dataplane({
      runner,
      backend: 'nft',
      resyncIntervalMs: 0,
      workloadRouteGracePeriodMs: 200,
      now: clock.now,
      timers: clock.timers,
    });
    try {
      d.setDesired({ routes: [OWN_CIDR], endpoints: [], iptables: { inet: [], inet6: [] }, ipsets: [] });
      const s = await d.idle();
      expect(s.counts).toMatchObject({ routes: 1, routesProgrammed: 1, routesInGrace: 2 });
      expect(s.routesInGrace).toEqual([
        { family: 4, table: 254, dst: '10.244.1.10/32', dev: POD_IFACE, remainingMs: 200 },
        { family: 6, table: 254, dst: '2001:db8:244:1::a/128', dev: POD_IFACE, remainingMs: 200 },
      ]);
      expect(d.listRoutes().find((r) => r.dst === '10.244.1.10/32')).toMatchObject({
        state: 'grace',
        graceRemainingMs: 200,
        nextHops: [{ dev: POD_IFACE }],
      });
      expect(k.routes[4].has('10.244.1.10')).toBe(true);
      // The period ends: the Dataplane runs a pass by itself (no setDesired, no resync) and deletes.
      clock.advance(199);
      await d.idle();
      expect(k.routes[4].has('10.244.1.10')).toBe(true);
      clock.advance(2);
      await d.idle();
      expect(k.routes[4].has('10.244.1.10')).toBe(false);
      expect(k.routes[6].has('2001:db8:244:1::a')).toBe(false);
      expect(d.status().routesInGrace).toEqual([]);
    } finally {
      await d.stop();
    }
  });

  it('adopts with no write when the endpoint arrives within the period', async () => {
    const k = new FakeRouteKernel();
    cniRoutes(k);
    // The pod route is there, so its interface is too (a pod whose interface is missing is held back).
    const runner = async (c: Command): Promise<CommandResult> => {
      const text = c.argv.join(' ');
      if (text.includes('addr show'))
        return { stdout: JSON.stringify([{ ifname: POD_IFACE, addr_info: [] }]), stderr: '', code: 0 };
      if (c.argv[0] === 'sysctl' && c.argv[1] === '-n')
        return {
          stdout: c.argv
            .slice(2)
            .map(() => '0\n')
            .join(''),
          stderr: '',
          code: 0,
        };
      return k.handle(c) ?? { stdout: text.includes('-json') ? '[]' : '', stderr: '', code: 0 };
    };
    const d = new Dataplane({ runner, backend: 'nft', resyncIntervalMs: 0, now: () => 0 });
    try {
      const base = { routes: [OWN_CIDR], iptables: { inet: [], inet6: [] }, ipsets: [] };
      d.setDesired({ ...base, endpoints: [] });
      await d.idle();
      await d.resync();
      const ep = workloadEndpoint({
        namespace: 'prod',
        name: 'web',
        ipv4: ['10.244.1.10'],
        ipv6: ['2001:db8:244:1::a'],
        ifaceName: POD_IFACE,
      });
      d.setDesired({ ...base, endpoints: [ep] });
      await d.idle();
      expect(k.lines).toEqual([`route add blackhole 10.244.1.0/24 proto 109`]);
      expect(d.listRoutes().map((r) => [r.dst, r.state])).toEqual([
        ['10.244.1.10/32', 'programmed'],
        ['2001:db8:244:1::a/128', 'programmed'],
        ['10.244.1.0/24', 'programmed'],
      ]);
    } finally {
      await d.stop();
    }
  });
});
