// BIRD 2 column of the BGP interop matrix: bgp/matrix.ts against BIRD 2.0.12. BIRD speaks every
// part of it: RFC 8950 (`extended next hop on` in the IPv4 channel of the IPv6 session), extended
// communities, ROUTE-REFRESH both ways (`birdc reload in`), and shows our Cease as
// "Received: Administrative shutdown" in `show protocols all`.

import {
  AS,
  DAEMON_ROUTES,
  type DaemonPath,
  defineDaemonMatrix,
  IP,
  type PeerDaemon,
  type Session,
} from './bgp/matrix.ts';
import {
  type BirdHandle,
  type BirdRoute,
  birdConfig,
  birdProtocol,
  parseRoutesAll,
  startBird,
} from './lib/index.ts';

const PROTOCOL: Record<Session, string> = { a4: 'a4', a6: 'a6', b: 'b' };
const ADDRESS_OF: Record<string, string> = { a4: IP.a4, a6: IP.a6, b: IP.b4 };

function toPath(r: BirdRoute): DaemonPath {
  return {
    prefix: r.prefix,
    from: ADDRESS_OF[r.protocol] ?? r.protocol,
    nextHops: r.bgpNextHop,
    asPath: r.asPath,
    communities: r.communities.map(([x, y]) => `${x}:${y}`),
    largeCommunities: r.largeCommunities.map(([x, y, z]) => `${x}:${y}:${z}`),
    extCommunities: r.extCommunities.map((e) => e.replaceAll(' ', '').replaceAll(',', ':')),
    ...(r.originatorId !== undefined && { originatorId: r.originatorId }),
    clusterList: r.clusterList,
  };
}

defineDaemonMatrix('BIRD 2', async ({ lab, ns }) => {
  const statics = (prefix: string) => ({
    prefix,
    communities: [[64513, 7]] as const,
    largeCommunities: [[AS.daemon, 1, 1]] as const,
    extCommunities: [['rt', 64513, 7]] as const,
  });
  const bird: BirdHandle = await startBird(
    lab,
    ns,
    birdConfig({
      routerId: IP.d4,
      localAs: AS.daemon,
      staticRoutes: [statics(DAEMON_ROUTES.v4), statics(DAEMON_ROUTES.v6)],
      neighbors: [
        {
          name: 'a4',
          address: IP.a4,
          remoteAs: AS.a,
          ipv4: true,
          // IPv6 over the IPv4 session: BIRD needs an IPv6 address to announce as next hop.
          ipv6: { nextHopAddress: IP.d6 },
        },
        {
          name: 'a6',
          address: IP.a6,
          localAs: AS.daemonOnA6,
          remoteAs: AS.a,
          ipv4: { extendedNextHop: true },
          ipv6: true,
        },
        {
          name: 'b',
          address: IP.b4,
          remoteAs: AS.b,
          // No IGP in the lab: the iBGP neighbor is directly connected (next hops too).
          extra: ['direct;'],
          ipv4: true,
          ipv6: { nextHopAddress: IP.d6 },
        },
      ],
      extra: [
        'protocol static wd4 { ipv4; route 10.244.101.0/24 blackhole; }',
        'protocol static wd6 { ipv6; route 2001:db8:101::/48 blackhole; }',
      ].join('\n'),
    }),
  );
  const daemon: PeerDaemon = {
    name: 'BIRD',
    pid: bird.pid,
    supportsExtendedNextHop: true,
    supportsExtCommunities: true,
    async isEstablished(s) {
      return (await birdProtocol(bird, PROTOCOL[s])).bgpState === 'Established';
    },
    async paths(prefix) {
      let out: string;
      try {
        out = await bird.birdc(`show route ${prefix} all`);
      } catch (err) {
        // birdc exits 1 with "Network not found" when the table has no such prefix.
        if (/Network not found/.test(String(err))) return [];
        throw err;
      }
      return parseRoutesAll(out)
        .filter((r) => r.prefix === prefix && r.protocol in ADDRESS_OF)
        .map(toPath);
    },
    async withdraw() {
      await bird.birdc('disable wd4');
      await bird.birdc('disable wd6');
    },
    softIn: (s) => bird.birdc(`reload in ${PROTOCOL[s]}`).then(() => undefined),
    refreshesReceived: async () => undefined,
    async lastReceivedNotification(s) {
      return (await birdProtocol(bird, PROTOCOL[s])).lastError;
    },
  };
  return daemon;
});
