// Long-lived graceful restart (RFC 9494) against BIRD 2.0.12 (`long lived graceful restart on`),
// IPv4 and IPv6 unicast over one session, in network namespaces. Both sides advertise graceful
// restart with a 3 s restart time and LLGR with an 8 s stale time; each side announces, per
// family, one plain route and one with NO_LLGR. A side "crashes" with SIGKILL (its TCP
// connection closes without a NOTIFICATION, which both treat as a graceful end):
// - Margay as helper: BIRD's routes stay (stale) for BIRD's restart time, then carry LLGR_STALE
//   (65535:6, shown as `llgr-stale`) with the NO_LLGR ones gone, and are gone after the stale
//   time; a BIRD that comes back during the long-lived phase refreshes what it re-announces, and
//   its End-of-RIB removes the rest.
// - BIRD as helper of Margay: the same from BIRD's side, and the restarted Margay (R bit)
//   replaces the long-lived stale routes; its End-of-RIB removes those it no longer announces.
// The timings measured are printed (`[llgr] …`).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { PeerConfig } from '../../bgp/speaker/types.ts';
import type { DriverHandle, DriverRoute } from './bgp/driver.ts';
import {
  ALL_OURS,
  THEIRS as BIRDS,
  expectGoneAfterStaleTime,
  expectLongLivedAfterRestartTime,
  expectLongLivedAtPeerThenRefreshed,
  llgrNamespaces,
  MARGAY,
  OURS,
  RESTART_S,
  STALE_S,
  seconds,
  startMargay,
  timeLongLivedThenGone,
} from './bgp/llgr.ts';
import {
  type BirdHandle,
  type BirdStaticRoute,
  birdConfig,
  Lab,
  parseRoutesAll,
  startBird,
  waitFor,
} from './lib/index.ts';

const IP = { m4: MARGAY.v4, m6: MARGAY.v6, b4: '192.0.2.3', b6: '2001:db8::3' } as const;
const AS = { m: MARGAY.asn, bird: 65003 } as const;
const NO_LLGR: readonly [number, number] = [65535, 7];

describe('RFC 9494 long-lived graceful restart with BIRD 2', () => {
  const lab = new Lab();
  let nsM: string;
  let nsBird: string;
  let bird: BirdHandle;
  let m: DriverHandle;

  const birdConf = (statics: readonly BirdStaticRoute[]) =>
    birdConfig({
      routerId: IP.b4,
      localAs: AS.bird,
      staticRoutes: statics,
      neighbors: [
        {
          name: 'm',
          address: IP.m4,
          remoteAs: AS.m,
          gracefulRestart: true,
          holdTime: 9,
          extra: [
            `graceful restart time ${RESTART_S};`,
            'long lived graceful restart on;',
            `long lived stale time ${STALE_S};`,
          ],
          ipv4: true,
          ipv6: { nextHopAddress: IP.b6 },
        },
      ],
    });
  const allBirdStatics: BirdStaticRoute[] = [
    { prefix: BIRDS.v4 },
    { prefix: BIRDS.v4NoLlgr, communities: [NO_LLGR] },
    { prefix: BIRDS.v6 },
    { prefix: BIRDS.v6NoLlgr, communities: [NO_LLGR] },
  ];

  const peer: PeerConfig = {
    address: IP.b4,
    asn: AS.bird,
    holdTime: 9,
    families: ['ipv4-unicast', 'ipv6-unicast'],
    nextHop: { ipv6: IP.m6 },
    gracefulRestart: { restartTime: RESTART_S, longLivedStaleTime: STALE_S },
  };
  const startOurs = (routes: readonly DriverRoute[], isRestart: boolean) =>
    startMargay(lab, nsM, [peer], routes, isRestart);

  /** BIRD's routes from us: prefix → communities ("a:b"). */
  const birdView = async (): Promise<Map<string, string[]>> => {
    const out = new Map<string, string[]>();
    for (const table of ['master4', 'master6']) {
      for (const r of parseRoutesAll(await bird.birdc(`show route table ${table} protocol m all`))) {
        out.set(
          r.prefix,
          r.communities.map(([a, b]) => `${a}:${b}`),
        );
      }
    }
    return out;
  };
  /** Our routes from BIRD: prefix → communities. */
  const ourView = async (): Promise<Map<string, string[]>> => {
    const out = new Map<string, string[]>();
    for (const p of await m.routes({ peer: IP.b4 })) out.set(p.prefix, [...p.communities]);
    return out;
  };
  const killSigkill = (pid: number) => process.kill(pid, 'SIGKILL');

  beforeAll(async () => {
    ({ nsM, nsPeer: nsBird } = await llgrNamespaces(lab, 'bird', { v4: IP.b4, v6: IP.b6 }));
    [bird, m] = await Promise.all([
      startBird(lab, nsBird, birdConf(allBirdStatics)),
      startOurs(ALL_OURS, false),
    ]);
  }, 60_000);
  afterAll(() => lab.teardown());

  test('both advertise LLGR; the peer status says it is negotiated; all routes exchanged', async () => {
    const p = await waitFor(() => m.peer(IP.b4), {
      describe: 'session with BIRD Established',
      until: (x) => x.state === 'Established',
      timeoutMs: 30_000,
    });
    expect(p.llgrNegotiated).toBe(true);
    expect(p.capabilities.local).toContain(
      `long-lived-graceful-restart ipv4-unicast ${STALE_S}s(F) ipv6-unicast ${STALE_S}s(F)`,
    );
    const remote = p.capabilities.remote.find((c) => c.startsWith('long-lived-graceful-restart'));
    expect(remote).toMatch(new RegExp(`ipv4-unicast ${STALE_S}s.* ipv6-unicast ${STALE_S}s`));
    await waitFor(ourView, { describe: "BIRD's four routes at us", until: (v) => v.size === 4 });
    await waitFor(birdView, { describe: 'our four routes at BIRD', until: (v) => v.size === 4 });
  }, 60_000);

  test('Margay as helper: stale for the restart time, then LLGR_STALE without NO_LLGR, then gone', async () => {
    const { tLong, tGone } = await timeLongLivedThenGone({
      crash: async () => {
        killSigkill(bird.pid);
        const down = await waitFor(() => m.peer(IP.b4), {
          describe: 'our session with BIRD down',
          until: (x) => x.state !== 'Established',
        });
        expect(down.staleRoutes).toMatchObject({ routes: 4, restarting: ['ipv4-unicast', 'ipv6-unicast'] });
        const stale = await m.routes({ peer: IP.b4 });
        expect(stale.every((r) => r.stale === true && !r.communities.includes('llgr-stale'))).toBe(true);
      },
      view: ourView,
      isLongLived: (v) => v.get(BIRDS.v4)?.includes('llgr-stale') === true,
      describe: { long: 'BIRD routes long-lived stale at us', gone: 'BIRD routes gone at us' },
      atLongLived: async (long) => {
        expect([...long.keys()].sort()).toEqual([BIRDS.v4, BIRDS.v6].sort());
        expect(long.get(BIRDS.v6)).toContain('llgr-stale');
        expect((await m.peer(IP.b4)).staleRoutes).toMatchObject({
          routes: 2,
          restarting: [],
          longLived: ['ipv4-unicast', 'ipv6-unicast'],
        });
      },
    });
    console.log(`[llgr] Margay helper: LLGR_STALE after ${seconds(tLong)} s, gone after ${seconds(tGone)} s`);
    expectLongLivedAfterRestartTime(tLong);
    expectGoneAfterStaleTime(tLong, tGone);
    expect((await m.peer(IP.b4)).staleRoutes).toBeUndefined();
  }, 60_000);

  /** BIRD restarted with all four routes and, once they are here, killed: LLGR_STALE at us. */
  const birdLongLivedAtUs = async () => {
    await bird.stop();
    bird = await startBird(lab, nsBird, birdConf(allBirdStatics));
    await waitFor(ourView, {
      describe: "BIRD's routes at us",
      until: (v) => v.size === 4,
      timeoutMs: 30_000,
    });
    killSigkill(bird.pid);
    await waitFor(ourView, {
      describe: 'BIRD routes long-lived stale at us',
      until: (v) => v.get(BIRDS.v4)?.includes('llgr-stale') === true,
      timeoutMs: 15_000,
    });
  };

  /** Waits for BIRD's re-announced IPv4 route alone at us, without LLGR_STALE; answers the peer status. */
  const onlyReannouncedAtUs = async () => {
    const after = await waitFor(ourView, {
      describe: 'only the re-announced route, without LLGR_STALE',
      until: (v) => v.size === 1 && v.get(BIRDS.v4)?.length === 0,
      timeoutMs: 30_000,
    });
    expect([...after.keys()]).toEqual([BIRDS.v4]);
    return m.peer(IP.b4);
  };

  test('BIRD back without the F bit during the long-lived phase: its stale routes go at once', async () => {
    await birdLongLivedAtUs();
    // A plain restart: BIRD's LLGR capability has no F bit (it kept no forwarding state).
    bird = await startBird(lab, nsBird, birdConf([{ prefix: BIRDS.v4 }]));
    const p = await onlyReannouncedAtUs();
    expect(p.capabilities.remote).toContain(
      `long-lived-graceful-restart ipv4-unicast ${STALE_S}s ipv6-unicast ${STALE_S}s`,
    );
    expect(p.staleRoutes).toBeUndefined();
  }, 90_000);

  test('BIRD back with the F bit (bird -R): re-announced routes refreshed, the rest go at End-of-RIB', async () => {
    await birdLongLivedAtUs();
    bird = await startBird(lab, nsBird, birdConf([{ prefix: BIRDS.v4 }]), { args: ['-R'] });
    const up = await waitFor(() => m.peer(IP.b4), {
      describe: 'BIRD back',
      until: (x) => x.state === 'Established',
      timeoutMs: 30_000,
    });
    expect(up.capabilities.remote).toContain(
      `long-lived-graceful-restart ipv4-unicast ${STALE_S}s(F) ipv6-unicast ${STALE_S}s(F)`,
    );
    const p = await onlyReannouncedAtUs();
    expect(p.endOfRibReceived).toEqual(expect.arrayContaining(['ipv4-unicast', 'ipv6-unicast']));
    expect(p.staleRoutes).toBeUndefined();
  }, 90_000);

  test('BIRD as helper of Margay: LLGR_STALE on our routes after our restart time, NO_LLGR dropped', async () => {
    await waitFor(birdView, {
      describe: 'our four routes at BIRD',
      until: (v) => v.size === 4,
      timeoutMs: 30_000,
    });
    // Margay comes back with the R bit set.
    await expectLongLivedAtPeerThenRefreshed({
      peer: 'BIRD',
      kill: () => killSigkill(m.pid),
      restartWithV4: async () => {
        m = await startOurs([{ prefix: OURS.v4 }], true);
      },
      view: birdView,
      stale: '65535:6',
      isLongLived: (v) => v.get(OURS.v4)?.includes('65535:6') === true && v.size === 2,
      log: (tLong) => console.log(`[llgr] BIRD helper: LLGR_STALE on our routes after ${seconds(tLong)} s`),
    });
  }, 90_000);

  test('BIRD as helper: our long-lived stale routes are gone after our stale time', async () => {
    const { tLong, tGone } = await timeLongLivedThenGone({
      crash: () => killSigkill(m.pid),
      view: birdView,
      isLongLived: (v) => v.get(OURS.v4)?.includes('65535:6') === true,
      describe: { long: 'our route long-lived stale at BIRD', gone: 'our routes gone at BIRD' },
    });
    console.log(`[llgr] BIRD helper: LLGR_STALE after ${seconds(tLong)} s, gone after ${seconds(tGone)} s`);
    expectGoneAfterStaleTime(tLong, tGone);
  }, 60_000);
});
