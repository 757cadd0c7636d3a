// Dataplane.adoptCarried / releaseCarried on the real kernel, in a namespace of its own
// (`mgyc-<pid>-node`, an underlay veth with 192.0.2.1/24, nothing connected to the host): a first
// Dataplane programs a blackhole and two remote routes and stops (the kernel keeps them, as a
// restart does); a second one adopts the remote routes, is handed a desired state that changes one
// of them and lacks the other, keeps the missing one until released, and then deletes it. A route
// of another protocol is never adopted. The namespace is deleted in afterAll, also on failure.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dataplane, type DataplaneDesired } from '../../felix/index.ts';

const isRoot = process.getuid?.() === 0;
const NS = `mgyc-${process.pid}-node`;

function sh(...argv: string[]): string {
  return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
}

/** Our IPv4 routes in the kernel as `dst via` / `blackhole dst` lines, sorted. */
function kernelRoutes(proto = '109'): string[] {
  const json = JSON.parse(sh('ip', '-n', NS, '-4', '-json', 'route', 'show', 'proto', proto)) as {
    dst: string;
    type?: string;
    gateway?: string;
  }[];
  return json
    .map((r) => (r.type === 'blackhole' ? `blackhole ${r.dst}` : `${r.dst} via ${r.gateway}`))
    .sort();
}

function dataplane(): Dataplane {
  return new Dataplane({
    netns: NS,
    families: [4],
    resyncIntervalMs: 0,
    retry: { maxAttempts: 2, initialDelayMs: 20, maxDelayMs: 50 },
  });
}

function desired(routes: DataplaneDesired['routes']): DataplaneDesired {
  return { routes, endpoints: [], iptables: { inet: [], inet6: [] }, ipsets: [] };
}

const BLACKHOLE = { dst: '10.244.1.0/24', type: 'blackhole' as const, reason: 'own pod CIDR' };
const via = (dst: string, gateway: string) => ({ dst, nextHops: [{ gateway }], reason: 'remote pod CIDR' });

const skip = !isRoot;

beforeAll(() => {
  if (skip) return;
  sh('ip', 'netns', 'add', NS);
  sh('ip', '-n', NS, 'link', 'set', 'lo', 'up');
  sh('ip', '-n', NS, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p');
  sh('ip', '-n', NS, 'addr', 'add', '192.0.2.1/24', 'dev', 'eth0');
  sh('ip', '-n', NS, 'link', 'set', 'eth0p', 'up');
  sh('ip', '-n', NS, 'link', 'set', 'eth0', 'up');
  // Another protocol's route through a gateway: never ours to adopt or delete.
  sh('ip', '-n', NS, 'route', 'add', '10.9.0.0/16', 'via', '192.0.2.9', 'proto', 'static');
});

afterAll(() => {
  if (skip) return;
  execFileSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
});

describe.skipIf(skip)('Dataplane: routes carried over a restart', () => {
  it('a fresh namespace has nothing to carry over', async () => {
    const dp = dataplane();
    expect(await dp.adoptCarried()).toBe(0);
    expect(dp.carriedCount).toBe(0);
    await dp.stop();
  });

  it('adopts the remote routes a previous instance left, until released', async () => {
    const first = dataplane();
    first.setDesired(
      desired([BLACKHOLE, via('10.244.2.0/24', '192.0.2.2'), via('10.244.3.0/24', '192.0.2.3')]),
    );
    expect((await first.idle()).ready).toBe(true);
    await first.stop();
    expect(kernelRoutes()).toEqual([
      '10.244.2.0/24 via 192.0.2.2',
      '10.244.3.0/24 via 192.0.2.3',
      'blackhole 10.244.1.0/24',
    ]);

    const second = dataplane();
    // The blackhole is no remote route; the static route is not ours.
    expect(await second.adoptCarried()).toBe(2);
    // What the calculation has so far: 10.244.3.0/24 moved to another node, 10.244.2.0/24 not known yet.
    second.setDesired(desired([BLACKHOLE, via('10.244.3.0/24', '192.0.2.4')]));
    expect((await second.idle()).ready).toBe(true);
    expect(kernelRoutes()).toEqual([
      '10.244.2.0/24 via 192.0.2.2',
      '10.244.3.0/24 via 192.0.2.4',
      'blackhole 10.244.1.0/24',
    ]);
    const kept = second.listRoutes().find((r) => r.dst === '10.244.2.0/24');
    expect(kept).toMatchObject({ state: 'programmed', nextHops: [{ gateway: '192.0.2.2' }] });
    expect(kept?.reason).toMatch(/graceful restart/);
    expect(second.listRoutes().find((r) => r.dst === '10.244.3.0/24')?.reason).toBe('remote pod CIDR');

    expect(second.releaseCarried()).toBe(2);
    expect(second.carriedCount).toBe(0);
    await second.idle();
    expect(kernelRoutes()).toEqual(['10.244.3.0/24 via 192.0.2.4', 'blackhole 10.244.1.0/24']);
    expect(second.listRoutes().map((r) => r.dst)).not.toContain('10.244.2.0/24');
    expect(kernelRoutes('static')).toEqual(['10.9.0.0/16 via 192.0.2.9']);
    // Nothing more to release.
    expect(second.releaseCarried()).toBe(0);
    await second.stop();
  });
});
