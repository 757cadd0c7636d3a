// Long-lived graceful restart (RFC 9494) against FRR 8.4 (`bgp long-lived-graceful-restart
// stale-time`), in network namespaces: one IPv4 session (IPv4 unicast) and one IPv6 session
// (IPv6 unicast). Both sides advertise a 3 s restart time and an 8 s long-lived stale time; each
// announces, per family, one plain route and one with NO_LLGR. A side "crashes" with SIGKILL
// (TCP closes without a NOTIFICATION: a graceful end for both).
// - FRR as helper of Margay: our routes keep for the restart time, then carry LLGR_STALE with the
//   NO_LLGR ones gone; the restarted Margay (R and F bits) replaces what it re-announces and its
//   End-of-RIB removes the rest; without a restart they are gone after our stale time.
// - Margay as helper of FRR: FRR's routes turn LLGR_STALE after FRR's restart time, the NO_LLGR
//   ones go, and all are gone after FRR's stale time.
// The timings measured are printed (`[llgr-frr] …`).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { PeerConfig } from '../../bgp/speaker/types.ts';
import type { DriverHandle, DriverRoute } from './bgp/driver.ts';
import {
  ALL_OURS,
  expectGoneAfterStaleTime,
  expectLongLivedAfterRestartTime,
  expectLongLivedAtPeerThenRefreshed,
  THEIRS as FRRS,
  llgrNamespaces,
  MARGAY,
  OURS,
  RESTART_S,
  STALE_S,
  seconds,
  startMargay,
  timeLongLivedThenGone,
} from './bgp/llgr.ts';
import { type FrrHandle, frrConfig, Lab, startFrr, waitFor } from './lib/index.ts';

const IP = { m4: MARGAY.v4, m6: MARGAY.v6, f4: '192.0.2.2', f6: '2001:db8::2' } as const;
const AS = { m: MARGAY.asn, frr: 65002 } as const;

describe('RFC 9494 long-lived graceful restart with FRR 8.4', () => {
  const lab = new Lab();
  let nsM: string;
  let frr: FrrHandle;
  let m: DriverHandle;

  const gracefulRestart = { restartTime: RESTART_S, longLivedStaleTime: STALE_S };
  const peers: PeerConfig[] = [
    { address: IP.f4, asn: AS.frr, holdTime: 9, families: ['ipv4-unicast'], gracefulRestart },
    { address: IP.f6, asn: AS.frr, holdTime: 9, families: ['ipv6-unicast'], gracefulRestart },
  ];
  const startOurs = (routes: readonly DriverRoute[], isRestart: boolean) =>
    startMargay(lab, nsM, peers, routes, isRestart);

  /** FRR's paths from us: prefix → communities as FRR prints them ("llgr-stale", "no-llgr"). */
  const frrView = async (): Promise<Map<string, string[]>> => {
    const out = new Map<string, string[]>();
    for (const afi of ['ipv4', 'ipv6'] as const) {
      const table = await frr.vtyshJson<{ routes?: Record<string, unknown[]> }>(
        `show bgp ${afi} unicast json`,
      );
      for (const prefix of Object.keys(table.routes ?? {})) {
        if (!Object.values(OURS).includes(prefix)) continue;
        const detail = await frr.vtyshJson<{ paths?: { community?: { string?: string } }[] }>(
          `show bgp ${afi} unicast ${prefix} json`,
        );
        for (const p of detail.paths ?? [])
          out.set(prefix, (p.community?.string ?? '').split(' ').filter(Boolean));
      }
    }
    return out;
  };
  /** FRR's routes at us (both sessions): prefix → communities. */
  const ourView = async (): Promise<Map<string, string[]>> => {
    const out = new Map<string, string[]>();
    for (const address of [IP.f4, IP.f6]) {
      for (const p of await m.routes({ peer: address })) {
        // FRR also sends our own routes back over the other session; we refuse them (AS loop).
        if (Object.values(FRRS).includes(p.prefix)) out.set(p.prefix, [...p.communities]);
      }
    }
    return out;
  };

  beforeAll(async () => {
    let nsFrr: string;
    ({ nsM, nsPeer: nsFrr } = await llgrNamespaces(lab, 'frr', { v4: IP.f4, v6: IP.f6 }));
    [frr, m] = await Promise.all([
      startFrr(
        lab,
        nsFrr,
        frrConfig({
          routerId: IP.f4,
          localAs: AS.frr,
          gracefulRestart: true,
          extra: [
            `bgp graceful-restart restart-time ${RESTART_S}`,
            `bgp long-lived-graceful-restart stale-time ${STALE_S}`,
          ],
          neighbors: [
            { address: IP.m4, remoteAs: AS.m, ipv4: true },
            { address: IP.m6, remoteAs: AS.m, ipv4: false, ipv6: true },
          ],
          networks: [
            FRRS.v4,
            { prefix: FRRS.v4NoLlgr, routeMap: 'nollgr' },
            FRRS.v6,
            { prefix: FRRS.v6NoLlgr, routeMap: 'nollgr' },
          ],
          trailer: ['route-map nollgr permit 10', ' set community no-llgr', 'exit'].join('\n'),
        }),
      ),
      startOurs(ALL_OURS, false),
    ]);
  }, 60_000);
  afterAll(() => lab.teardown());

  test('both advertise LLGR on both sessions; all routes exchanged', async () => {
    for (const address of [IP.f4, IP.f6]) {
      const p = await waitFor(() => m.peer(address), {
        describe: `session with FRR ${address} Established`,
        until: (x) => x.state === 'Established',
        timeoutMs: 30_000,
      });
      expect(p.llgrNegotiated).toBe(true);
      const family = address === IP.f4 ? 'ipv4-unicast' : 'ipv6-unicast';
      expect(p.capabilities.remote).toContain(`long-lived-graceful-restart ${family} ${STALE_S}s(F)`);
    }
    await waitFor(ourView, { describe: "FRR's four routes at us", until: (v) => v.size === 4 });
    await waitFor(frrView, { describe: 'our four routes at FRR', until: (v) => v.size === 4 });
  }, 60_000);

  test('FRR as helper: LLGR_STALE on our routes after our restart time, NO_LLGR dropped; restart refreshes', async () => {
    // Margay comes back with R and F set.
    await expectLongLivedAtPeerThenRefreshed({
      peer: 'FRR',
      kill: () => process.kill(m.pid, 'SIGKILL'),
      restartWithV4: async () => {
        m = await startOurs([{ prefix: OURS.v4 }], true);
      },
      view: frrView,
      stale: 'llgr-stale',
      isLongLived: (v) =>
        v.get(OURS.v4)?.includes('llgr-stale') === true && v.get(OURS.v6)?.includes('llgr-stale') === true,
      log: (tLong) =>
        console.log(`[llgr-frr] FRR helper: LLGR_STALE on our routes after ${seconds(tLong)} s`),
    });
  }, 90_000);

  test('FRR as helper: our long-lived stale route is gone after our stale time', async () => {
    await waitFor(frrView, { describe: 'our route at FRR', until: (v) => v.size === 1, timeoutMs: 30_000 });
    const { tLong, tGone } = await timeLongLivedThenGone({
      crash: () => process.kill(m.pid, 'SIGKILL'),
      view: frrView,
      isLongLived: (v) => v.get(OURS.v4)?.includes('llgr-stale') === true,
      describe: { long: 'our route long-lived stale at FRR', gone: 'our route gone at FRR' },
    });
    console.log(
      `[llgr-frr] FRR helper: LLGR_STALE after ${seconds(tLong)} s, gone after ${seconds(tGone)} s`,
    );
    expectGoneAfterStaleTime(tLong, tGone);
    m = await startOurs(ALL_OURS, true);
  }, 60_000);

  test("Margay as helper: FRR's routes LLGR_STALE after its restart time, NO_LLGR gone, then all gone", async () => {
    await waitFor(ourView, {
      describe: "FRR's four routes at us",
      until: (v) => v.size === 4,
      timeoutMs: 30_000,
    });
    const { tLong, tGone } = await timeLongLivedThenGone({
      crash: () => process.kill(frr.bgpd.pid, 'SIGKILL'),
      view: ourView,
      isLongLived: (v) =>
        v.get(FRRS.v4)?.includes('llgr-stale') === true && v.get(FRRS.v6)?.includes('llgr-stale') === true,
      describe: { long: "FRR's routes long-lived stale at us", gone: "FRR's routes gone at us" },
      atLongLived: async (long) => {
        expect([...long.keys()].sort()).toEqual([FRRS.v4, FRRS.v6].sort());
        expect((await m.peer(IP.f4)).staleRoutes).toMatchObject({
          restarting: [],
          longLived: ['ipv4-unicast'],
        });
      },
    });
    console.log(
      `[llgr-frr] Margay helper: LLGR_STALE after ${seconds(tLong)} s, gone after ${seconds(tGone)} s`,
    );
    expectLongLivedAfterRestartTime(tLong);
    expectGoneAfterStaleTime(tLong, tGone);
  }, 60_000);
});
