// FRR column of the BGP interop matrix: bgp/matrix.ts against FRR 8.4 (zebra + bgpd). RFC 8950
// on the IPv6 session is `neighbor … capability extended-nexthop`; the 2-octet AS on FRR's side
// of that session is `local-as 65010 no-prepend replace-as`. FRR asks for a refresh with
// `clear bgp … soft in` (no soft-reconfiguration inbound, so it sends ROUTE-REFRESH), counts the
// ROUTE-REFRESH it receives (messageStats.routeRefreshRecv) and shows our Cease as
// lastNotificationReason in `show bgp neighbors json`.

import {
  AS,
  DAEMON_ROUTES,
  type DaemonPath,
  defineDaemonMatrix,
  IP,
  type PeerDaemon,
  SESSION_ADDRESS,
} from './bgp/matrix.ts';
import { type FrrHandle, frrConfig, frrNeighbor, startFrr } from './lib/index.ts';

const NEIGHBOR = { a4: IP.a4, a6: IP.a6, b: IP.b4 } as const;

interface FrrPathJson {
  aspath?: { string?: string };
  community?: { string?: string };
  largeCommunity?: { string?: string };
  extendedCommunity?: { string?: string };
  nexthops?: { ip?: string }[];
  peer?: { peerId?: string };
  originatorId?: string;
  clusterList?: { list?: string[] };
}

const words = (s: string | undefined): string[] => (s ?? '').split(/\s+/).filter((w) => w !== '');

defineDaemonMatrix('FRR', async ({ lab, ns }) => {
  const frr: FrrHandle = await startFrr(
    lab,
    ns,
    frrConfig({
      routerId: IP.d4,
      localAs: AS.daemon,
      neighbors: [
        { address: IP.a4, remoteAs: AS.a, ipv4: true, ipv6: true },
        {
          address: IP.a6,
          remoteAs: AS.a,
          ipv4: true,
          ipv6: true,
          extendedNextHop: true,
          extra: [`local-as ${AS.daemonOnA6} no-prepend replace-as`],
        },
        { address: IP.b4, remoteAs: AS.b, ipv4: true, ipv6: true },
      ],
      networks: [
        { prefix: DAEMON_ROUTES.v4, routeMap: 'TAG' },
        { prefix: DAEMON_ROUTES.v6, routeMap: 'TAG' },
        DAEMON_ROUTES.v4w,
        DAEMON_ROUTES.v6w,
      ],
      trailer: [
        'route-map TAG permit 10',
        ` set community ${DAEMON_ROUTES.community}`,
        ` set large-community ${DAEMON_ROUTES.large}`,
        ' set extcommunity rt 64513:7',
        'exit',
      ].join('\n'),
    }),
  );
  const daemon: PeerDaemon = {
    name: 'FRR',
    pid: frr.bgpd.pid,
    supportsExtendedNextHop: true,
    supportsExtCommunities: true,
    async isEstablished(s) {
      return (await frrNeighbor(frr, NEIGHBOR[s])).state === 'Established';
    },
    async paths(prefix) {
      const afi = prefix.includes(':') ? 'ipv6' : 'ipv4';
      const j = await frr.vtyshJson<{ paths?: FrrPathJson[] }>(`show bgp ${afi} unicast ${prefix} json`);
      return (j.paths ?? []).map(
        (p): DaemonPath => ({
          prefix,
          from: p.peer?.peerId ?? '',
          nextHops: (p.nexthops ?? []).map((n) => n.ip ?? ''),
          asPath: words(p.aspath?.string)
            .filter((w) => /^\d+$/.test(w))
            .map(Number),
          communities: words(p.community?.string),
          largeCommunities: words(p.largeCommunity?.string),
          extCommunities: words(p.extendedCommunity?.string).map((e) => e.toLowerCase()),
          ...(p.originatorId !== undefined && { originatorId: p.originatorId }),
          clusterList: p.clusterList?.list ?? [],
        }),
      );
    },
    async withdraw() {
      await frr.vtysh(
        'configure terminal',
        `router bgp ${AS.daemon}`,
        'address-family ipv4 unicast',
        `no network ${DAEMON_ROUTES.v4w}`,
        'exit-address-family',
        'address-family ipv6 unicast',
        `no network ${DAEMON_ROUTES.v6w}`,
      );
    },
    softIn: (s) => frr.vtysh(`clear bgp ipv4 unicast ${SESSION_ADDRESS[s]} soft in`).then(() => undefined),
    async refreshesReceived(s) {
      const stats = (await frrNeighbor(frr, NEIGHBOR[s])).raw.messageStats as { routeRefreshRecv?: number };
      return stats.routeRefreshRecv ?? 0;
    },
    async lastReceivedNotification(s) {
      const raw = (await frrNeighbor(frr, NEIGHBOR[s])).raw;
      if (raw.lastNotificationReason === undefined) return undefined;
      return `${String(raw.lastResetDueTo)}: ${String(raw.lastNotificationReason)}`;
    },
  };
  return daemon;
});
