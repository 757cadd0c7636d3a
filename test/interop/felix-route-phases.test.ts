// The route table's two phases and two streams (family-streams.ts) against the real kernel, in a
// network namespace of its own (`mgyph-<pid>`, a veth pair with no address, connected to nothing;
// removed in afterAll, also on failure; needs root, as felix-routes.test.ts). The fake ip of
// test/unit/felix/routes/streaming.test.ts shows in which order and process each line is
// written; here the kernel shows why: a gateway is reachable only through a device route of
// ours, so a gateway route listed before that device route goes in only because the device
// routes are written first — with one process per phase and with each phase split over two — and
// a gateway route whose device route the same apply deletes is refused, because deletes go first.
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Netlink } from '../../felix/dataplane/netlink/netlink.ts';
import { RouteTable } from '../../felix/dataplane/routes/route-table.ts';
import type { RouteSpec } from '../../felix/model/routes.ts';

const NS = `mgyph-${process.pid}`;

function ip(...args: string[]): string {
  return execFileSync('ip', ['-n', NS, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Our routes in the kernel, one line each. */
function ours(): string[] {
  return ip('route', 'show', 'table', 'all', 'proto', '109')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

const table = (splitLines?: number) =>
  new RouteTable({
    netlink: new Netlink({ netns: NS }),
    families: [4],
    ...(splitLines !== undefined ? { splitLines } : {}),
  });

/** `10.250.i.0/24 via 198.51.i.2` then `198.51.i.0/24 dev v1`: each gateway route before its device route. */
function gatewaysFirst(n: number): RouteSpec[] {
  const gateways: RouteSpec[] = [];
  const devices: RouteSpec[] = [];
  for (let i = 0; i < n; i++) {
    gateways.push({ dst: `10.250.${i}.0/24`, nextHops: [{ gateway: `198.51.${i}.2` }] });
    devices.push({ dst: `198.51.${i}.0/24`, dev: 'v1' });
  }
  return [...gateways, ...devices];
}

beforeAll(() => {
  execFileSync('ip', ['netns', 'add', NS]);
  ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
  for (const d of ['lo', 'v0', 'v1']) ip('link', 'set', d, 'up');
});

// A failed test leaves nothing of ours for the next one.
afterEach(() => {
  ip('route', 'flush', 'table', 'all', 'proto', '109');
});

afterAll(() => {
  execFileSync('ip', ['netns', 'del', NS]);
});

describe('RouteTable phases in a namespace', () => {
  it('a gateway route listed before the device route it needs goes in (one process per phase)', async () => {
    // Without a device route of ours the gateway is unreachable: written in the diff's order, the
    // gateway route would be refused.
    expect(() => ip('route', 'add', '10.250.99.0/24', 'via', '198.51.0.2')).toThrow(/invalid gateway/i);
    const rt = table();
    rt.setDesired(gatewaysFirst(1));
    expect(await rt.apply()).toMatchObject({ added: 2, failed: [], conflicts: [] });
    expect(rt.stats.commands).toBe(2); // the read's process (device route), then the gateway phase's
    expect(ours()).toEqual(['10.250.0.0/24 via 198.51.0.2 dev v1', '198.51.0.0/24 dev v1 scope link']);
    rt.setDesired([]);
    expect(await rt.apply()).toMatchObject({ deleted: 2 });
    expect(ours()).toEqual([]);
  });

  it('the same with each phase split over two processes, and a removal through two', async () => {
    const rt = table(16);
    rt.setDesired(gatewaysFirst(40));
    expect(await rt.apply()).toMatchObject({ added: 80, failed: [], conflicts: [] });
    // The read's process and one more for the device routes, two for the gateway routes.
    expect(rt.stats.commands).toBe(4);
    expect(ours()).toHaveLength(80);
    expect(await rt.resync()).toMatchObject({ unchanged: 80, added: 0, replaced: 0, deleted: 0 });
    const before = rt.stats.commands;
    rt.setDesired([]);
    expect(await rt.apply()).toMatchObject({ deleted: 80 });
    expect(rt.stats.commands - before).toBe(2);
    expect(ours()).toEqual([]);
  });

  it.each([
    ['from the cached view', false],
    ['after a restart (the delete is of a route as read)', true],
  ])(
    'deletes go first: a new gateway route through a device route the same apply deletes is refused, alone (%s)',
    async (_when, isRestart) => {
      let rt = table();
      const device: RouteSpec = { dst: '198.51.0.0/24', dev: 'v1' };
      const kept: RouteSpec = { dst: '10.250.0.0/24', nextHops: [{ gateway: '198.51.0.2' }] };
      const added: RouteSpec = { dst: '10.250.1.0/24', nextHops: [{ gateway: '198.51.0.2' }] };
      const other: RouteSpec = { dst: '10.250.2.0/24', type: 'blackhole' };
      rt.setDesired([device, kept]);
      expect(await rt.apply()).toMatchObject({ added: 2, failed: [] });
      if (isRestart) rt = table();
      rt.setDesired([added, kept, other]);
      const r = await rt.apply();
      expect(r).toMatchObject({ added: 1, deleted: 1, unchanged: 1, didRead: isRestart });
      expect(r.failed).toEqual([
        {
          key: '10.250.1.0/24',
          dst: '10.250.1.0/24',
          table: 254,
          message: expect.stringMatching(/invalid gateway/i),
        },
      ]);
      expect(ours().sort()).toEqual(['10.250.0.0/24 via 198.51.0.2 dev v1', 'blackhole 10.250.2.0/24']);
      rt.setDesired([]);
      await rt.apply();
      expect(ours()).toEqual([]);
    },
  );
});
