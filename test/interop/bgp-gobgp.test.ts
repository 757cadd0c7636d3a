// GoBGP column of the BGP interop matrix: bgp/matrix.ts against GoBGP 3.10 (gobgpd).
// - GoBGP offers RFC 8950 by itself on an IPv6 session with ipv4-unicast (no knob).
// - GoBGP never sends ROUTE-REFRESH: `gobgp neighbor X softresetin` re-applies its own
//   Adj-RIB-In. The "peer asks" half is therefore not applicable; the "we ask" half is checked
//   (GoBGP counts the ROUTE-REFRESH it receives and resends).
// - GoBGP keeps no "last notification" in its API; our Cease is read from its log
//   ("Peer Down" … "notification-received code 6(cease) subcode 2(administrative shutdown)").
import { readFileSync } from 'node:fs';
import { gobgpPaths } from './bgp/gobgp-paths.ts';
import { AS, DAEMON_ROUTES, type DaemonPath, defineDaemonMatrix, IP, type PeerDaemon } from './bgp/matrix.ts';
import {
  type GobgpHandle,
  gobgpAddRoute,
  gobgpConfig,
  gobgpDeleteRoute,
  gobgpNeighbors,
  startGobgp,
} from './lib/index.ts';

const NEIGHBOR = { a4: IP.a4, a6: IP.a6, b: IP.b4 } as const;

defineDaemonMatrix('GoBGP', async ({ lab, ns }) => {
  const families = ['ipv4-unicast', 'ipv6-unicast'] as const;
  const g: GobgpHandle = await startGobgp(
    lab,
    ns,
    gobgpConfig({
      routerId: IP.d4,
      localAs: AS.daemon,
      neighbors: [
        { address: IP.a4, remoteAs: AS.a, families },
        { address: IP.a6, remoteAs: AS.a, localAs: AS.daemonOnA6, families },
        { address: IP.b4, remoteAs: AS.b, families },
      ],
    }),
  );
  const tagged = {
    communities: [DAEMON_ROUTES.community],
    largeCommunities: [DAEMON_ROUTES.large],
    extra: ['rt', '64513:7'],
  };
  await gobgpAddRoute(g, { prefix: DAEMON_ROUTES.v4, ...tagged });
  await gobgpAddRoute(g, { prefix: DAEMON_ROUTES.v6, nextHop: IP.d6, ...tagged });
  await gobgpAddRoute(g, { prefix: DAEMON_ROUTES.v4w, nextHop: IP.d4 });
  await gobgpAddRoute(g, { prefix: DAEMON_ROUTES.v6w, nextHop: IP.d6 });
  const neighbor = async (address: string) => {
    const n = (await gobgpNeighbors(g)).find((x) => x.address === address);
    if (n === undefined) throw new Error(`GoBGP has no neighbor ${address}`);
    return n;
  };
  const daemon: PeerDaemon = {
    name: 'GoBGP',
    pid: g.pid,
    supportsExtendedNextHop: true,
    supportsExtCommunities: true,
    async isEstablished(s) {
      return (await neighbor(NEIGHBOR[s])).state === 'established';
    },
    paths: (prefix): Promise<DaemonPath[]> => gobgpPaths(g, prefix),
    async withdraw() {
      await gobgpDeleteRoute(g, DAEMON_ROUTES.v4w);
      await gobgpDeleteRoute(g, DAEMON_ROUTES.v6w);
    },
    softIn: () =>
      'GoBGP never sends ROUTE-REFRESH (softresetin re-applies its own Adj-RIB-In): not applicable',
    async refreshesReceived(s) {
      const st = (await neighbor(NEIGHBOR[s])).raw.state as {
        messages?: { received?: { refresh?: number | string } };
      };
      return Number(st.messages?.received?.refresh ?? 0);
    },
    async lastReceivedNotification(s) {
      const log = readFileSync(g.logFile, 'utf8')
        .split('\n')
        .filter((l) => l.includes('Peer Down') && l.includes(NEIGHBOR[s]));
      return log.at(-1);
    },
  };
  return daemon;
});
