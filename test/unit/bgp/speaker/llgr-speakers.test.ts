// RFC 9494 between two real Speakers over 127.0.0.1: A announces a plain route and one with
// NO_LLGR, then stops gracefully (the way `margay agent` does on SIGTERM); B is the helper.
// With LLGR on both sides B keeps A's routes for A's restart time (1 s), then long-lived stale
// (LLGR_STALE, the NO_LLGR route gone) for A's stale time (2 s); the peer status shows the
// phases, and B sends the long-lived stale route on only to a peer that advertised LLGR. With
// LLGR on one side only, B drops A's routes after the restart time.
import { afterEach, describe, expect, test } from 'vitest';
import type { Speaker } from '../../../../bgp/speaker/speaker.ts';
import type { PeerGracefulRestart } from '../../../../bgp/speaker/types.ts';
import { peerOf, portOf, startSpeaker, stateOf, stopAll, waitFor } from './helpers.ts';

afterEach(stopAll);

const NO_LLGR = 0xffff0007;

async function pair(a: PeerGracefulRestart, b: PeerGracefulRestart): Promise<{ a: Speaker; b: Speaker }> {
  const sb = await startSpeaker({ asn: 64513, routerId: '192.0.2.2' }, [
    { address: '127.0.0.1', asn: 64512, passive: true, gracefulRestart: b },
  ]);
  const sa = await startSpeaker({ asn: 64512, routerId: '192.0.2.1', listen: null }, [
    { address: '127.0.0.1', asn: 64513, port: portOf(sb), gracefulRestart: a },
  ]);
  sa.setLocalRoutes([{ prefix: '10.244.1.0/24' }, { prefix: '10.244.2.0/24', communities: [NO_LLGR] }]);
  await waitFor(() => stateOf(sb) === 'Established' && sb.routes().length === 2, 'A routes at B');
  return { a: sa, b: sb };
}

const view = (b: Speaker) => b.routes().map((r) => [r.prefix, r.stale === true, r.communities.join(' ')]);

describe('RFC 9494 between two speakers', () => {
  test('both with LLGR: restart time, then LLGR_STALE without the NO_LLGR route, then nothing', async () => {
    const { a, b } = await pair({ restartTime: 1, longLivedStaleTime: 2 }, { longLivedStaleTime: 60 });
    expect(peerOf(b)?.llgrNegotiated).toBe(true);
    expect(peerOf(b)?.capabilities.remote).toContain('long-lived-graceful-restart ipv4-unicast 2s');
    const t0 = Date.now();
    await a.stop({ message: 'restarting' });
    await waitFor(() => stateOf(b) !== 'Established', 'B notices');
    expect(view(b)).toEqual([
      ['10.244.1.0/24', true, ''],
      ['10.244.2.0/24', true, 'no-llgr'],
    ]);
    expect(peerOf(b)?.staleRoutes).toEqual({ routes: 2, restarting: ['ipv4-unicast'], longLived: [] });
    await waitFor(() => b.routes().length === 1, 'the long-lived phase');
    const tLong = Date.now() - t0;
    expect(view(b)).toEqual([['10.244.1.0/24', true, 'llgr-stale']]);
    expect(b.routes()[0]?.reason).toBe('only-path');
    expect(peerOf(b)?.staleRoutes).toEqual({ routes: 1, restarting: [], longLived: ['ipv4-unicast'] });
    await waitFor(() => b.routes().length === 0, 'the stale time over');
    const tGone = Date.now() - t0;
    expect(tLong).toBeGreaterThanOrEqual(900);
    expect(tGone - tLong).toBeGreaterThanOrEqual(1800);
    expect(peerOf(b)?.staleRoutes).toBeUndefined();
  });

  test('LLGR on one side only: not negotiated, the routes go after the restart time', async () => {
    const { a, b } = await pair({ restartTime: 1, longLivedStaleTime: 2 }, {});
    expect(peerOf(b)?.llgrNegotiated).toBe(false);
    const t0 = Date.now();
    await a.stop({ message: 'restarting' });
    await waitFor(() => b.routes().length === 0, 'A routes gone after the restart time');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    // Well before restart time + stale time (3 s), which LLGR would have kept them for.
    expect(Date.now() - t0).toBeLessThan(2800);
  });

  test('B passes the long-lived stale route on only to the peer that advertised LLGR (RFC 9494 §4.6)', async () => {
    // B has A (restarting, 127.0.0.1), C without LLGR (127.0.0.2) and D with it (127.0.0.3).
    const gr = { restartTime: 1, longLivedStaleTime: 2 };
    const b = await startSpeaker({ asn: 64513, routerId: '192.0.2.2' }, [
      { address: '127.0.0.1', asn: 64512, passive: true, gracefulRestart: gr },
      { address: '127.0.0.2', asn: 64514, passive: true, gracefulRestart: gr },
      { address: '127.0.0.3', asn: 64515, passive: true, gracefulRestart: gr },
    ]);
    const client = (asn: number, address: string, withLlgr: boolean) =>
      startSpeaker({ asn, routerId: `192.0.2.${asn - 64500}`, listen: null }, [
        {
          address: '127.0.0.1',
          asn: 64513,
          port: portOf(b),
          localAddress: address,
          gracefulRestart: withLlgr ? gr : {},
        },
      ]);
    const a = await client(64512, '127.0.0.1', true);
    const c = await client(64514, '127.0.0.2', false);
    const d = await client(64515, '127.0.0.3', true);
    a.setLocalRoutes([{ prefix: '10.244.1.0/24' }]);
    const at = (s: Speaker) => s.routes({ prefix: '10.244.1.0/24' }).map((r) => r.communities.join(' '));
    await waitFor(() => at(c).length === 1 && at(d).length === 1, 'the route at C and D');

    await a.stop({ message: 'restarting' });
    await waitFor(() => at(d)[0] === 'llgr-stale', 'the long-lived stale route at D, with LLGR_STALE');
    await waitFor(() => at(c).length === 0, 'the route withdrawn from C');
    // Still at B and D: C lost it to the export rule, not to the end of the stale time.
    expect(at(d)).toEqual(['llgr-stale']);
    expect(at(b)).toEqual(['llgr-stale']);
    expect(peerOf(b, '127.0.0.2')?.llgrNegotiated).toBe(false);
    expect(peerOf(b, '127.0.0.3')?.llgrNegotiated).toBe(true);
    await waitFor(() => at(d).length === 0, 'the route withdrawn from D at the end of the stale time');
  });
});
