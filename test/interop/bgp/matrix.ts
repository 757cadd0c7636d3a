// The per-daemon BGP interop matrix, written once and run against BIRD 2, FRR and GoBGP
// (bgp-bird/frr/gobgp.test.ts each pass an adapter). One lab per daemon, one L2 segment:
//
//   d  the daemon, AS 4200000002 (4-octet, theirs)   192.0.2.10  2001:db8::10
//   a  `margay speaker` (the CLI), AS 64512 (2-octet) 192.0.2.1   2001:db8::1
//   b  the Speaker library (driver-child.ts),         192.0.2.2   2001:db8::2
//      AS 4200000002 (4-octet, ours): iBGP with d
//
// Sessions (each carries IPv4 and IPv6 unicast):
//   a4  a ↔ d over IPv4, eBGP 64512 ↔ 4200000002. IPv6 routes over IPv4 transport: the next hop
//       is an IPv6 address in MP_REACH_NLRI (RFC 4760), no extra capability needed.
//   a6  a ↔ d over IPv6, eBGP 64512 ↔ 65010 (the daemon's per-session local AS: a 2-octet AS on
//       their side). IPv4 routes over IPv6 transport with IPv6 next hops (RFC 8950 extended
//       next hop) where the daemon supports it.
//   b   b ↔ d over IPv4, iBGP 4200000002.
//
// `b` is the library rather than the CLI because the CLI cannot change its announcements while
// running (our withdrawals) nor be told to send ROUTE-REFRESH; everything else is the CLI.
// Hold time 6 s on our side, so a SIGSTOPped daemon is torn down within about 6 s.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { PeerStatus } from '../../../bgp/speaker/types.ts';
import { Lab } from '../lib/lab.ts';
import { waitFor } from '../lib/wait.ts';
import { type DriverHandle, startDriver } from './driver.ts';
import {
  freeze,
  type MargayHandle,
  startMargay,
  thaw,
  waitMargayEstablished,
  waitMargayNoRoute,
  waitMargayRoute,
} from './margay.ts';

export const AS = { daemon: 4_200_000_002, daemonOnA6: 65010, a: 64512, b: 4_200_000_002 } as const;
export const IP = {
  d4: '192.0.2.10',
  d6: '2001:db8::10',
  a4: '192.0.2.1',
  a6: '2001:db8::1',
  b4: '192.0.2.2',
  b6: '2001:db8::2',
} as const;
export const HOLD = 6;

/** Routes the daemon originates; `withdrawable` ones are withdrawn by `withdraw()`. */
export const DAEMON_ROUTES = {
  v4: '10.244.100.0/24',
  v6: '2001:db8:100::/48',
  v4w: '10.244.101.0/24',
  v6w: '2001:db8:101::/48',
  community: '64513:7',
  large: '4200000002:1:1',
  ext: 'rt:64513:7',
} as const;

/** Routes we originate. */
export const OUR_ROUTES = {
  a4: '10.244.1.0/24',
  a6: '2001:db8:1::/48',
  b4: '10.244.2.0/24',
  b6: '2001:db8:2::/48',
  b4w: '10.244.3.0/24',
  b6w: '2001:db8:3::/48',
} as const;

export type Session = 'a4' | 'a6' | 'b';
export const SESSION_ADDRESS: Record<Session, string> = { a4: IP.a4, a6: IP.a6, b: IP.b4 };

/** A path as a daemon shows it, normalised. */
export interface DaemonPath {
  readonly prefix: string;
  /** The neighbor address it came from. */
  readonly from: string;
  readonly nextHops: readonly string[];
  readonly asPath: readonly number[];
  readonly communities: readonly string[];
  readonly largeCommunities: readonly string[];
  /** "rt:ASN:VALUE" */
  readonly extCommunities: readonly string[];
  readonly originatorId?: string;
  readonly clusterList: readonly string[];
}

export interface PeerDaemon {
  readonly name: string;
  /** The process SIGSTOP freezes. */
  readonly pid: number;
  readonly supportsExtendedNextHop: boolean;
  readonly supportsExtCommunities: boolean;
  isEstablished(s: Session): Promise<boolean>;
  /** Every path for `prefix` in the daemon's table. */
  paths(prefix: string): Promise<DaemonPath[]>;
  /** Withdraws DAEMON_ROUTES.v4w / v6w. */
  withdraw(): Promise<void>;
  /** Asks us to resend (sends ROUTE-REFRESH), or null with the reason when it cannot. */
  softIn(s: Session): Promise<void> | string;
  /** ROUTE-REFRESH messages received from us on `s`, when the daemon counts them. */
  refreshesReceived(s: Session): Promise<number | undefined>;
  /** What the daemon shows about the last NOTIFICATION it received on `s`. */
  lastReceivedNotification(s: Session): Promise<string | undefined>;
}

export interface DaemonSetup {
  lab: Lab;
  ns: string;
}

/**
 * Registers the whole matrix as vitest tests. `start` launches the daemon in `ns` (already
 * addressed) with the sessions above and the DAEMON_ROUTES.
 */
export function defineDaemonMatrix(name: string, start: (setup: DaemonSetup) => Promise<PeerDaemon>): void {
  describe(`${name} ↔ Margay: eBGP/iBGP, 2- and 4-octet ASNs, IPv4/IPv6, RFC 8950`, () => {
    const lab = new Lab();
    let d: PeerDaemon;
    let a: MargayHandle;
    let b: DriverHandle;

    beforeAll(async () => {
      const seg = await lab.addSegment('u');
      const [nd, na, nb] = await Promise.all(['d', 'a', 'b'].map((n) => lab.addNamespace(n)));
      if (nd === undefined || na === undefined || nb === undefined) throw new Error('namespaces');
      await seg.attach({ ns: nd, ifname: 'eth0', ipv4: `${IP.d4}/24`, ipv6: `${IP.d6}/64` });
      await seg.attach({ ns: na, ifname: 'eth0', ipv4: `${IP.a4}/24`, ipv6: `${IP.a6}/64` });
      await seg.attach({ ns: nb, ifname: 'eth0', ipv4: `${IP.b4}/24`, ipv6: `${IP.b6}/64` });
      if (process.env.MARGAY_BGP_PCAP === '1') {
        // Debugging aid: capture a's BGP traffic (kept with MARGAY_LAB_KEEP=1).
        lab.spawn(nd, ['tcpdump', '-i', 'eth0', '-U', '-w', `${lab.dir}/d.pcap`, 'tcp port 179'], {
          name: 'tcpdump-d',
        });
      }
      const families = ['ipv4-unicast', 'ipv6-unicast'] as const;
      [d, a, b] = await Promise.all([
        start({ lab, ns: nd }),
        startMargay(lab, na, {
          asn: AS.a,
          routerId: IP.a4,
          peers: [
            { address: IP.d4, asn: AS.daemon, families, holdTime: HOLD, nextHop: { ipv6: IP.a6 } },
            { address: IP.d6, asn: AS.daemonOnA6, families, holdTime: HOLD },
          ],
          announce: [
            {
              prefix: OUR_ROUTES.a4,
              communities: ['64512:100'],
              largeCommunities: ['64512:1:2'],
              extendedCommunities: ['rt:64512:5'],
            },
            {
              prefix: OUR_ROUTES.a6,
              communities: ['64512:600'],
              largeCommunities: ['64512:6:6'],
              extendedCommunities: ['rt:64512:6'],
            },
          ],
        }),
        startDriver(lab, nb, {
          // Graceful restart on (our default): FRR ignores a ROUTE-REFRESH received "before EoR",
          // and it sends End-of-RIB only to peers that advertise the GR capability.
          options: {
            asn: AS.b,
            routerId: IP.b4,
            listen: { address: '::', port: 179 },
            gracefulRestartTime: 120,
          },
          peers: [{ address: IP.d4, asn: AS.daemon, families, holdTime: HOLD, nextHop: { ipv6: IP.b6 } }],
          routes: B_ROUTES,
        }),
      ]);
    });

    afterAll(async () => {
      await lab.teardown();
    });

    test('every session reaches Established on both sides, ASNs as configured', async () => {
      for (const s of ['a4', 'a6', 'b'] as const) {
        await waitFor(() => d.isEstablished(s), {
          describe: `${name} session ${s} Established`,
          timeoutMs: 30_000,
        });
      }
      const p4 = await waitMargayEstablished(a, IP.d4);
      const p6 = await waitMargayEstablished(a, IP.d6);
      const pb = await waitFor(() => b.peer(IP.d4), {
        describe: 'driver peer Established',
        until: (p) => p.state === 'Established',
      });
      expect(p4).toMatchObject({ type: 'ebgp', asn: AS.daemon, holdTime: HOLD });
      expect(p4.capabilities.remote).toContain(`4-octet-as ${AS.daemon}`);
      expect(p6).toMatchObject({ type: 'ebgp', asn: AS.daemonOnA6 });
      expect(p6.capabilities.remote).toContain(`4-octet-as ${AS.daemonOnA6}`);
      expect(pb).toMatchObject({ type: 'ibgp', asn: AS.b });
      for (const p of [p4, p6, pb]) expect([...p.families].sort()).toEqual(['ipv4-unicast', 'ipv6-unicast']);
    });

    test(`${name} routes reach us over every session with their attributes`, async () => {
      const r = DAEMON_ROUTES;
      // a4: IPv4 natively, IPv6 over IPv4 transport.
      const v4 = await waitMargayRoute(a, r.v4, { peer: IP.d4 });
      expect(v4).toMatchObject({ nextHop: IP.d4, asPath: String(AS.daemon) });
      expect(v4.communities).toContain(r.community);
      expect(v4.largeCommunities).toContain(r.large);
      if (d.supportsExtCommunities) expect(v4.extendedCommunities).toContain(r.ext);
      const v6 = await waitMargayRoute(a, r.v6, { peer: IP.d4 });
      expect(v6.nextHop).toBe(IP.d6);
      expect(v6.asPath).toBe(String(AS.daemon));
      expect(v6.communities).toContain(r.community);
      expect(v6.largeCommunities).toContain(r.large);
      // a6: IPv6 natively, IPv4 with an IPv6 next hop (RFC 8950).
      const v6on6 = await waitMargayRoute(a, r.v6, { peer: IP.d6 });
      expect(v6on6).toMatchObject({ nextHop: IP.d6, asPath: String(AS.daemonOnA6) });
      if (d.supportsExtendedNextHop) {
        const v4on6 = await waitMargayRoute(a, r.v4, { peer: IP.d6 });
        expect(v4on6).toMatchObject({ nextHop: IP.d6, asPath: String(AS.daemonOnA6) });
        expect(v4on6.communities).toContain(r.community);
      }
      // b: iBGP, empty AS_PATH, LOCAL_PREF.
      for (const prefix of [r.v4, r.v6]) {
        const p = await waitFor(async () => (await b.routes({ prefix, peer: IP.d4 }))[0], {
          describe: `driver has ${prefix} from ${name}`,
        });
        expect(p).toMatchObject({ asPath: '', localPref: 100 });
        expect(p?.largeCommunities).toContain(r.large);
      }
    });

    test(`our routes reach ${name} over every session with communities and large communities`, async () => {
      const get = (prefix: string, from: string) =>
        waitFor(async () => (await d.paths(prefix)).find((p) => p.from === from), {
          describe: `${name} has ${prefix} from ${from}`,
        }) as Promise<DaemonPath>;
      const v4 = await get(OUR_ROUTES.a4, IP.a4);
      expect(v4.asPath).toEqual([AS.a]);
      expect(v4.nextHops).toContain(IP.a4);
      expect(v4.communities).toEqual(['64512:100']);
      expect(v4.largeCommunities).toEqual(['64512:1:2']);
      if (d.supportsExtCommunities) expect(v4.extCommunities).toEqual(['rt:64512:5']);
      const v6 = await get(OUR_ROUTES.a6, IP.a4);
      expect(v6.nextHops).toContain(IP.a6);
      expect(v6.communities).toEqual(['64512:600']);
      expect(v6.largeCommunities).toEqual(['64512:6:6']);
      const v6on6 = await get(OUR_ROUTES.a6, IP.a6);
      expect(v6on6.asPath).toEqual([AS.a]);
      expect(v6on6.nextHops).toContain(IP.a6);
      if (d.supportsExtendedNextHop) {
        const v4on6 = await get(OUR_ROUTES.a4, IP.a6);
        expect(v4on6.nextHops).toContain(IP.a6);
        expect(v4on6.largeCommunities).toEqual(['64512:1:2']);
      }
      const b4 = await get(OUR_ROUTES.b4, IP.b4);
      expect(b4.asPath).toEqual([]);
      expect(b4.communities).toEqual(['65000:2']);
      expect(b4.largeCommunities).toEqual(['4200000002:2:2']);
      const b6 = await get(OUR_ROUTES.b6, IP.b4);
      expect(b6.nextHops).toContain(IP.b6);
    });

    test('withdrawals propagate both ways', async () => {
      // Ours first seen everywhere, then withdrawn by an UPDATE from b.
      for (const prefix of [OUR_ROUTES.b4w, OUR_ROUTES.b6w]) {
        await waitFor(async () => (await d.paths(prefix)).length, { describe: `${name} has ${prefix}` });
        await waitMargayRoute(a, prefix, { peer: IP.d4 });
      }
      for (const prefix of [DAEMON_ROUTES.v4w, DAEMON_ROUTES.v6w]) {
        await waitMargayRoute(a, prefix, { peer: IP.d4 });
        await waitFor(async () => (await b.routes({ prefix })).length, { describe: `driver has ${prefix}` });
      }
      await b.setRoutes(B_ROUTES.filter((r) => r.prefix !== OUR_ROUTES.b4w && r.prefix !== OUR_ROUTES.b6w));
      await d.withdraw();
      for (const prefix of [OUR_ROUTES.b4w, OUR_ROUTES.b6w]) {
        await waitFor(() => d.paths(prefix), {
          describe: `${name} without ${prefix}`,
          until: (ps) => ps.length === 0,
        });
        // … and the daemon passes our withdrawal on to a.
        await waitMargayNoRoute(a, prefix);
      }
      for (const prefix of [DAEMON_ROUTES.v4w, DAEMON_ROUTES.v6w]) {
        await waitMargayNoRoute(a, prefix);
        await waitFor(() => b.routes({ prefix }), {
          describe: `driver without ${prefix}`,
          until: (ps) => ps.length === 0,
        });
      }
      // Nothing else was lost.
      await waitMargayRoute(a, DAEMON_ROUTES.v4, { peer: IP.d4 });
      expect((await d.paths(OUR_ROUTES.b4)).length).toBeGreaterThan(0);
    });

    test(`route refresh: ${name} asks (ROUTE-REFRESH to us), we resend`, async (ctx) => {
      const before = await a.peer(IP.d4);
      const asked = d.softIn('a4');
      if (typeof asked === 'string') {
        ctx.skip(`${name}: ${asked}`);
        return;
      }
      await asked;
      const after = await waitFor(() => a.peer(IP.d4), {
        describe: `margay resends its routes to ${name} after its ROUTE-REFRESH`,
        until: (p) => p.messages.updatesOut > before.messages.updatesOut,
      });
      expect(after.state).toBe('Established');
      expect((await d.paths(OUR_ROUTES.a4)).some((p) => p.from === IP.a4)).toBe(true);
    });

    test(`route refresh: we ask ${name} (Speaker.refresh), it resends`, async () => {
      const before = await b.peer(IP.d4);
      const countBefore = await d.refreshesReceived('b');
      expect(await b.refresh(IP.d4, 'ipv4-unicast')).toBe(true);
      expect(await b.refresh(IP.d4, 'ipv6-unicast')).toBe(true);
      await waitFor(() => b.peer(IP.d4), {
        describe: `${name} resends to the driver after our ROUTE-REFRESH`,
        until: (p) => p.messages.updatesIn > before.messages.updatesIn,
      });
      if (countBefore !== undefined) {
        await waitFor(() => d.refreshesReceived('b'), {
          describe: `${name} counts our ROUTE-REFRESH`,
          until: (n) => (n ?? 0) >= countBefore + 2,
        });
      }
      expect((await b.routes({ prefix: DAEMON_ROUTES.v4 })).length).toBe(1);
    });

    test(`${name} frozen with SIGSTOP: hold timer expiry tears the sessions down; SIGCONT brings them back`, async () => {
      freeze(d.pid);
      let peers: PeerStatus[];
      try {
        peers = await waitFor(() => a.peers(), {
          describe: `margay drops ${name} at hold-timer expiry`,
          until: (ps) => ps.every((p) => p.state !== 'Established'),
          timeoutMs: (HOLD + 6) * 1000,
        });
      } finally {
        thaw(d.pid);
      }
      for (const p of peers) expect(p.lastError).toMatch(/hold timer/i);
      expect(await a.isUp()).toBe(true);
      await waitMargayEstablished(a, IP.d4, 30_000);
      await waitMargayEstablished(a, IP.d6, 30_000);
      await waitFor(() => b.peer(IP.d4), {
        describe: 'driver back to Established',
        until: (p) => p.state === 'Established',
        timeoutMs: 30_000,
      });
      await waitMargayRoute(a, DAEMON_ROUTES.v4, { peer: IP.d4 });
      await waitFor(async () => (await d.paths(OUR_ROUTES.a4)).some((p) => p.from === IP.a4), {
        describe: `${name} has our route again`,
      });
    }, 60_000);

    test(`SIGTERM to margay speaker: ${name} shows our Cease (Administrative Shutdown)`, async () => {
      await a.stop();
      expect(a.process.exitStatus()).toEqual({ code: 0, signal: null });
      for (const s of ['a4', 'a6'] as const) {
        const shown = await waitFor(() => d.lastReceivedNotification(s), {
          describe: `${name} shows our Cease on ${s}`,
          until: (t) => t !== undefined && /administrative shutdown|cease/i.test(t),
        });
        expect(shown).toMatch(/administrative shutdown/i);
      }
      // Its routes are gone from the daemon, b's stay.
      await waitFor(() => d.paths(OUR_ROUTES.a4), {
        describe: `${name} without a's routes`,
        until: (ps) => ps.length === 0,
      });
      expect((await d.paths(OUR_ROUTES.b4)).length).toBe(1);
    });
  });
}

const B_ROUTES = [
  {
    prefix: OUR_ROUTES.b4,
    communities: [65000 * 65536 + 2],
    largeCommunities: [{ globalAdmin: AS.b, localData1: 2, localData2: 2 }],
  },
  { prefix: OUR_ROUTES.b6 },
  { prefix: OUR_ROUTES.b4w },
  { prefix: OUR_ROUTES.b6w },
];
