// Shared parts of the LLGR tests (bgp-llgr*.test.ts): timers, routes, Margay's driver, lab, timing checks.
import { expect } from 'vitest';
import type { PeerConfig } from '../../../bgp/speaker/types.ts';
import type { Lab } from '../lib/lab.ts';
import { waitFor } from '../lib/wait.ts';
import { type DriverHandle, type DriverRoute, startDriver } from './driver.ts';

/** The restart time and the long-lived stale time both sides advertise, in seconds. */
export const RESTART_S = 3;
export const STALE_S = 8;

/** Margay's addresses and AS. */
export const MARGAY = { v4: '192.0.2.1', v6: '2001:db8::1', asn: 64512 } as const;

/** Margay's routes, per family one plain and one with NO_LLGR. */
export const OURS = {
  v4: '10.244.1.0/24',
  v4NoLlgr: '10.244.2.0/24',
  v6: '2001:db8:1::/48',
  v6NoLlgr: '2001:db8:2::/48',
};
/** The peer's routes, the same way. */
export const THEIRS = {
  v4: '10.244.201.0/24',
  v4NoLlgr: '10.244.202.0/24',
  v6: '2001:db8:201::/48',
  v6NoLlgr: '2001:db8:202::/48',
};

const noLlgr = [0xffff0007];
export const ALL_OURS: readonly DriverRoute[] = [
  { prefix: OURS.v4 },
  { prefix: OURS.v4NoLlgr, communities: noLlgr },
  { prefix: OURS.v6 },
  { prefix: OURS.v6NoLlgr, communities: noLlgr },
];

/** Milliseconds as seconds with one decimal, for the printed timings. */
export const seconds = (ms: number) => Math.round(ms / 100) / 10;

/** Margay in `ns` with `peers` announcing `routes`, flagged as restarting (R bit) or not. */
export const startMargay = (
  lab: Lab,
  ns: string,
  peers: readonly PeerConfig[],
  routes: readonly DriverRoute[],
  isRestart: boolean,
): Promise<DriverHandle> =>
  startDriver(lab, ns, {
    options: {
      asn: MARGAY.asn,
      routerId: MARGAY.v4,
      listen: { address: '::', port: 179 },
      gracefulRestartForwardingPreserved: true,
      gracefulRestartRestarting: isRestart,
    },
    peers,
    routes,
  });

/** Namespaces m (Margay) and `name` (the peer at `peer`) on one segment, dual stack. */
export async function llgrNamespaces(
  lab: Lab,
  name: string,
  peer: { v4: string; v6: string },
): Promise<{ nsM: string; nsPeer: string }> {
  const seg = await lab.addSegment('u');
  const nsM = await lab.addNamespace('m');
  const nsPeer = await lab.addNamespace(name);
  await seg.attach({ ns: nsM, ifname: 'eth0', ipv4: `${MARGAY.v4}/24`, ipv6: `${MARGAY.v6}/64` });
  await seg.attach({ ns: nsPeer, ifname: 'eth0', ipv4: `${peer.v4}/24`, ipv6: `${peer.v6}/64` });
  return { nsM, nsPeer };
}

/** LLGR_STALE came about the restart time after the crash (`tLong` ms). */
export function expectLongLivedAfterRestartTime(tLong: number): void {
  expect(tLong).toBeGreaterThanOrEqual(RESTART_S * 1000 - 500);
  expect(tLong).toBeLessThan(RESTART_S * 1000 + 3000);
}

/** The routes went about the stale time after they turned LLGR_STALE (ms after the crash). */
export function expectGoneAfterStaleTime(tLong: number, tGone: number): void {
  expect(tGone - tLong).toBeGreaterThanOrEqual(STALE_S * 1000 - 1500);
  expect(tGone - tLong).toBeLessThan(STALE_S * 1000 + 3000);
}

/**
 * Crashes a side (`crash`), then waits for `view` (one side's routes from the other) to show them
 * long-lived stale (`isLongLived`, checked further by `atLongLived`) and then empty. Answers the
 * milliseconds from the crash to each.
 */
export async function timeLongLivedThenGone<V extends { readonly size: number }>(o: {
  crash: () => unknown;
  view: () => Promise<V>;
  isLongLived: (v: V) => boolean;
  describe: { long: string; gone: string };
  atLongLived?: (v: V) => unknown;
}): Promise<{ tLong: number; tGone: number }> {
  const t0 = Date.now();
  await o.crash();
  const long = await waitFor(o.view, { describe: o.describe.long, until: o.isLongLived, timeoutMs: 15_000 });
  const tLong = Date.now() - t0;
  await o.atLongLived?.(long);
  await waitFor(o.view, { describe: o.describe.gone, until: (v) => v.size === 0, timeoutMs: 20_000 });
  return { tLong, tGone: Date.now() - t0 };
}

/**
 * The peer as Margay's helper: Margay is killed, and the peer's table (`view`, `stale` marking
 * LLGR_STALE) has our plain routes long-lived stale after our restart time, the NO_LLGR ones gone;
 * `log` prints the time. Margay then comes back (`restartWithV4`: restarting, OURS.v4 only) and
 * the peer keeps just that route, not stale (the IPv6 one goes at our End-of-RIB).
 */
export async function expectLongLivedAtPeerThenRefreshed(o: {
  peer: string;
  kill: () => unknown;
  restartWithV4: () => Promise<unknown>;
  view: () => Promise<ReadonlyMap<string, readonly string[]>>;
  stale: string;
  isLongLived: (v: ReadonlyMap<string, readonly string[]>) => boolean;
  log: (tLong: number) => void;
}): Promise<void> {
  const t0 = Date.now();
  o.kill();
  const long = await waitFor(o.view, {
    describe: `our routes long-lived stale at ${o.peer}`,
    until: o.isLongLived,
    timeoutMs: 15_000,
  });
  const tLong = Date.now() - t0;
  expect([...long.keys()].sort()).toEqual([OURS.v4, OURS.v6].sort());
  expect(long.get(OURS.v6)).toContain(o.stale);
  o.log(tLong);
  expectLongLivedAfterRestartTime(tLong);

  await o.restartWithV4();
  const after = await waitFor(o.view, {
    describe: `only our re-announced route at ${o.peer}, without LLGR_STALE`,
    until: (v) => v.size === 1 && v.get(OURS.v4)?.includes(o.stale) === false,
    timeoutMs: 30_000,
  });
  expect([...after.keys()]).toEqual([OURS.v4]);
}
