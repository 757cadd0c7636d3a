// What each daemon of each golden capture sent, written by hand from the capture's provenance
// (the daemons' configs and the action script in its JSON), for wire-golden.test.ts to compare
// with what bgp/wire decodes. Nothing here is computed by bgp/ or copied from its output.
//
// Where a value follows from a daemon's default rather than from a config line, the comment
// says which default. Path identifiers (RFC 7911), IPv6 link-local next hops and GoBGP's host
// name are the daemons' own choices that no config determines; those values were read from the
// pcaps with `tcpdump -r FILE.pcap -nn -vvv`, an independent decoder.
//
// The lab's addresses and AS numbers (provenance "peers"):
//   ebgp: BIRD 192.0.2.1 / 2001:db8::1, AS 4200000001; GoBGP 192.0.2.2 / 2001:db8::2, AS 65002;
//         FRR 192.0.2.3, AS 65003; ExaBGP 192.0.2.4, AS 65010 (a 2-octet AS speaker).
//   ibgp: AS 65000; BIRD 192.0.2.1 / 2001:db8::1 is the route reflector (cluster id
//         192.0.2.100) of FRR 192.0.2.2 / 2001:db8::2 and GoBGP 192.0.2.3.

import type { Family } from '../../bgp/wire/index.ts';

// RFC 4271 §4.3 ORIGIN values and the AS_SEQUENCE segment type.
const IGP = 0;
const EGP = 1;
const INCOMPLETE = 2;
const AS_SEQUENCE = 2;
// IANA AFI / SAFI numbers.
const IPV4 = 1;
const IPV6 = 2;
const UNICAST = 1;
/** RFC 1997 well-known community NO_EXPORT (0xFFFFFF01). */
const NO_EXPORT = 0xffffff01;
/** RFC 6793 AS_TRANS: the My AS of a speaker whose AS does not fit in two octets. */
const AS_TRANS = 23456;

type Segment = { readonly type: number; readonly asns: readonly number[] };
const path = (...asns: number[]): Segment[] => [{ type: AS_SEQUENCE, asns }];
/** The empty AS_PATH of a route originated inside the AS (RFC 4271 §5.1.2). */
const EMPTY_PATH: Segment[] = [];
/** RFC 1997 community ASN:VALUE as the 32-bit number on the wire. */
const community = (asn: number, value: number): number => asn * 0x10000 + value;
/** RFC 4360 §3.1 / §4: route target, two-octet-AS specific (type 0x00, sub-type 0x02). */
const routeTarget = (asn: number, value: number): bigint =>
  (0x0002n << 48n) | (BigInt(asn) << 32n) | BigInt(value);
/** RFC 8092 large community. */
const large = (globalAdmin: number, localData1: number, localData2: number) => ({
  globalAdmin,
  localData1,
  localData2,
});

/** The decoded PathAttributes of a route, NEXT_HOP excepted (the route's `nextHop` says it). */
export interface SentAttributes {
  readonly origin: number;
  readonly asPath: readonly Segment[];
  readonly med?: number;
  readonly localPref?: number;
  readonly atomicAggregate?: true;
  readonly aggregator?: { readonly asn: number; readonly address: string };
  readonly communities?: readonly number[];
  readonly originatorId?: string;
  readonly clusterList?: readonly string[];
  readonly extendedCommunities?: readonly bigint[];
  readonly largeCommunities?: readonly ReturnType<typeof large>[];
}

export interface SentRoute {
  readonly prefix: string;
  readonly nextHop: string;
  /** The sender's interface link-local address, RFC 2545's second IPv6 next hop. */
  readonly linkLocalNextHop?: string;
  /** Carried in MP_REACH_NLRI (so no NEXT_HOP attribute); IPv4 otherwise uses the NLRI field. */
  readonly mp?: true;
  /** RFC 7911 path identifier, when ADD-PATH applies from this sender. */
  readonly pathId?: number;
  readonly attributes: SentAttributes;
}

export interface SentWithdrawal {
  readonly prefix: string;
  readonly pathId?: number;
}

export type SentCapability =
  | { readonly kind: 'multiprotocol'; readonly afi: number; readonly safi: number }
  | { readonly kind: 'routeRefresh' }
  | { readonly kind: 'enhancedRouteRefresh' }
  | { readonly kind: 'extendedMessage' }
  | { readonly kind: 'fourOctetAs'; readonly asn: number }
  | {
      readonly kind: 'gracefulRestart';
      readonly restartState: boolean;
      readonly notification: boolean;
      readonly restartTime: number;
      readonly families: readonly { afi: number; safi: number; forwardingPreserved: boolean }[];
    }
  | {
      readonly kind: 'extendedNextHop';
      readonly entries: readonly { afi: number; safi: number; nextHopAfi: number }[];
    }
  | {
      readonly kind: 'addPath';
      readonly entries: readonly { afi: number; safi: number; mode: 'receive' | 'send' | 'both' }[];
    }
  | { readonly kind: 'fqdn'; readonly hostname: string; readonly domain: string }
  | {
      readonly kind: 'longLivedGracefulRestart';
      readonly families: readonly {
        afi: number;
        safi: number;
        forwardingPreserved: boolean;
        staleTime: number;
      }[];
    }
  /** A capability bgp/wire does not model; `value` is its bytes in hex. */
  | { readonly kind: 'unknown'; readonly code: number; readonly value: string };

export interface SentOpen {
  readonly myAsn: number;
  readonly holdTime: number;
  readonly bgpId: string;
  /** Every capability, in any order. */
  readonly capabilities: readonly SentCapability[];
}

export interface SentNotification {
  readonly code: number;
  readonly subcode: number;
  readonly shutdownMessage?: string;
  /** The Data field after any shutdown communication, as text. */
  readonly dataText: string;
}

/** What one daemon sent on the captured session. */
export interface Sender {
  readonly open: SentOpen;
  /** Every prefix it announced; each announcement of it carries exactly these values. */
  readonly announced: readonly SentRoute[];
  readonly withdrawn: readonly SentWithdrawal[];
  readonly endOfRib: readonly Family[];
  /** Its ROUTE-REFRESH messages in order; subtype 0 request, 1 BoRR, 2 EoRR (RFC 7313). */
  readonly routeRefresh: readonly { afi: number; safi: number; subtype: number }[];
  readonly notifications: readonly SentNotification[];
}

export interface SentCapture {
  /**
   * What the two OPENs agree on, from the configs: whether both sent the 4-octet AS, extended
   * message and (IPv4 unicast) extended next hop capabilities, whether the two daemons are in
   * different ASes (eBGP), and the families in which each side sends ADD-PATH identifiers (it
   * advertised send, the other receive).
   */
  readonly negotiated: {
    readonly fourOctetAs: boolean;
    readonly ebgp: boolean;
    readonly extendedMessages: boolean;
    readonly extendedNextHopIpv4: boolean;
    readonly addPathSentBy: Readonly<Record<string, readonly Family[]>>;
  };
  readonly senders: Readonly<Record<string, Sender>>;
}

// Defaults the OPENs below rely on:
// - BIRD 2: hold time 240; route refresh, enhanced route refresh and an empty long-lived
//   graceful restart capability (code 71) always; graceful restart "aware" by default (the
//   capability with restart time 120 and no family), with its channels' families under
//   `graceful restart on`; `add paths on` is send and receive, `rx` receive only.
// - GoBGP 3: route refresh, FQDN (the host's name: the capture host was "vm", the bytes
//   02 76 6d 00), extended next hop for IPv4 unicast on IPv4 sessions; `send-max` with
//   `receive` is ADD-PATH send and receive.
// - FRR 8.4 (`frr defaults traditional`): hold time 180; route refresh both as code 128 (the
//   pre-standard one, which bgp/wire reads as route refresh too) and code 2; enhanced route
//   refresh; extended message; ADD-PATH receive (send too with addpath-tx-all-paths); FQDN
//   with the configured hostname; graceful restart with the R bit while it is starting and the
//   RFC 8538 N bit, restart time 120; long-lived graceful restart for its family with the F bit
//   and stale time 0. FRR sends the extended next hop capability only on IPv6 sessions.
// - ExaBGP 4.2: extended message unless disabled.

const birdGr = (...families: number[]): SentCapability => ({
  kind: 'gracefulRestart',
  restartState: false,
  notification: false,
  restartTime: 120,
  families: families.map((afi) => ({ afi, safi: UNICAST, forwardingPreserved: false })),
});
const birdLlgr: SentCapability = { kind: 'longLivedGracefulRestart', families: [] };
const gobgpGr = (afi: number): SentCapability => ({
  kind: 'gracefulRestart',
  restartState: false,
  notification: false,
  restartTime: 120,
  families: [{ afi, safi: UNICAST, forwardingPreserved: false }],
});
const gobgpFqdn: SentCapability = { kind: 'fqdn', hostname: 'vm', domain: '' };
const frrCaps = (
  afi: number,
  hostname: string,
  asn: number,
  addPath: 'receive' | 'both',
): SentCapability[] => [
  { kind: 'multiprotocol', afi, safi: UNICAST },
  { kind: 'routeRefresh' },
  { kind: 'routeRefresh' },
  { kind: 'enhancedRouteRefresh' },
  { kind: 'fourOctetAs', asn },
  { kind: 'extendedMessage' },
  { kind: 'addPath', entries: [{ afi, safi: UNICAST, mode: addPath }] },
  { kind: 'fqdn', hostname, domain: '' },
  {
    kind: 'gracefulRestart',
    restartState: true,
    notification: true,
    restartTime: 120,
    families: [{ afi, safi: UNICAST, forwardingPreserved: false }],
  },
  // RFC 9494: AFI (2 octets), SAFI, flags 0x80 (F), long-lived stale time 0 (3 octets).
  {
    kind: 'longLivedGracefulRestart',
    families: [{ afi, safi: UNICAST, forwardingPreserved: true, staleTime: 0 }],
  },
];
const cease = (shutdownMessage: string): SentNotification => ({
  code: 6, // Cease
  subcode: 2, // Administrative Shutdown, with an RFC 9003 shutdown communication
  shutdownMessage,
  dataText: '',
});

// BIRD's static routes in the ebgp scenario. BIRD sends a MED to an eBGP neighbour only when
// its export filter sets one, so the statics' bgp_med never leaves BIRD here.
const birdStatic1 = (asPath: Segment[]): SentAttributes => ({
  origin: IGP,
  asPath,
  communities: [community(65000, 1)],
  extendedCommunities: [routeTarget(65000, 100)],
  largeCommunities: [large(4200000001, 1, 2)],
});
// GoBGP's 10.244.2.0/24 (`origin egp med 20 community 65002:1,65002:2 large-community 65002:1:1`).
// A MED is not passed on to a further AS (RFC 4271 §5.1.4), so only GoBGP's own UPDATE has it.
const gobgpRoute2 = (asPath: Segment[], med?: number): SentAttributes => ({
  origin: EGP,
  asPath,
  ...(med === undefined ? {} : { med }),
  communities: [community(65002, 1), community(65002, 2)],
  largeCommunities: [large(65002, 1, 1)],
});
// ExaBGP's 10.244.4.0/24: `as-path [ 65010 ] atomic-aggregate aggregator ( 65010:192.0.2.4 )
// community [ 65010:4 ]`, origin IGP by default. ExaBGP sends the configured path as it is.
const exabgpRoute4 = (asPath: Segment[]): SentAttributes => ({
  origin: IGP,
  asPath,
  atomicAggregate: true,
  aggregator: { asn: 65010, address: '192.0.2.4' },
  communities: [community(65010, 4)],
});
// FRR's `network 10.244.3.0/24 route-map SET3` (origin IGP; SET3 sets rt 65003:3, large
// 65003:3:3, metric 30).
const frrRoute3 = (asPath: Segment[], med?: number): SentAttributes => ({
  origin: IGP,
  asPath,
  ...(med === undefined ? {} : { med }),
  extendedCommunities: [routeTarget(65003, 3)],
  largeCommunities: [large(65003, 3, 3)],
});

// The ibgp scenario's routes. BIRD's static 10.244.10.0/24 (local pref 150, 65000:10); GoBGP's
// 10.244.30.0/24 (`nexthop 192.0.2.3 local-pref 120 community 65000:30`; GoBGP's CLI gives
// ORIGIN INCOMPLETE unless told otherwise); FRR's 10.244.20.0/24 through SET4 (65000:20
// no-export, large 65000:20:1, rt 65000:20, local pref 200, metric 20, origin incomplete) and
// its aggregate 10.244.16.0/20 (ATOMIC_AGGREGATE, AGGREGATOR 65000 192.0.2.2, ORIGIN INCOMPLETE
// because its one contributing route has it, RFC 4271 §9.2.2.2). FRR gives its `network` and
// aggregate routes MED 0 unless a route-map sets one, and LOCAL_PREF 100 by default.
const bird10: SentAttributes = {
  origin: IGP,
  asPath: EMPTY_PATH,
  localPref: 150,
  communities: [community(65000, 10)],
};
const gobgp30: SentAttributes = {
  origin: INCOMPLETE,
  asPath: EMPTY_PATH,
  localPref: 120,
  communities: [community(65000, 30)],
};
const frr20: SentAttributes = {
  origin: INCOMPLETE,
  asPath: EMPTY_PATH,
  med: 20,
  localPref: 200,
  communities: [community(65000, 20), NO_EXPORT],
  extendedCommunities: [routeTarget(65000, 20)],
  largeCommunities: [large(65000, 20, 1)],
};
const frrAggregate: SentAttributes = {
  origin: INCOMPLETE,
  asPath: EMPTY_PATH,
  med: 0,
  localPref: 100,
  atomicAggregate: true,
  aggregator: { asn: 65000, address: '192.0.2.2' },
};
/** What BIRD as route reflector adds to a client's route (RFC 4456 §8). */
const reflectedFrom = (originatorId: string, attrs: SentAttributes): SentAttributes => ({
  ...attrs,
  originatorId,
  clusterList: ['192.0.2.100'],
});

export const SENT: Readonly<Record<string, SentCapture>> = {
  // GoBGP <-> BIRD over IPv4. BIRD has `add paths on` and `extended next hop on`, GoBGP
  // `add-paths receive, send-max 4`: path identifiers both ways, and BIRD carries IPv4 in
  // MP_REACH_NLRI. Only BIRD enables extended messages.
  'bird-gobgp-ebgp-ipv4': {
    negotiated: {
      fourOctetAs: true,
      ebgp: true,
      extendedMessages: false,
      extendedNextHopIpv4: true,
      addPathSentBy: { bird: ['ipv4-unicast'], gobgp: ['ipv4-unicast'] },
    },
    senders: {
      bird: {
        open: {
          myAsn: AS_TRANS,
          holdTime: 240,
          bgpId: '192.0.2.1',
          capabilities: [
            { kind: 'multiprotocol', afi: IPV4, safi: UNICAST },
            { kind: 'routeRefresh' },
            { kind: 'extendedNextHop', entries: [{ afi: IPV4, safi: UNICAST, nextHopAfi: IPV6 }] },
            { kind: 'extendedMessage' },
            birdGr(IPV4),
            { kind: 'fourOctetAs', asn: 4200000001 },
            { kind: 'addPath', entries: [{ afi: IPV4, safi: UNICAST, mode: 'both' }] },
            { kind: 'enhancedRouteRefresh' },
            birdLlgr,
          ],
        },
        // Its statics, and ExaBGP's route with ExaBGP's next hop kept: GoBGP shares its subnet.
        // Nothing learned from GoBGP goes back to GoBGP.
        announced: [
          {
            prefix: '10.244.1.0/24',
            nextHop: '192.0.2.1',
            mp: true,
            pathId: 2,
            attributes: birdStatic1(path(4200000001)),
          },
          {
            prefix: '10.244.11.0/24',
            nextHop: '192.0.2.1',
            mp: true,
            pathId: 2,
            attributes: { origin: INCOMPLETE, asPath: path(4200000001) },
          },
          {
            prefix: '10.244.4.0/24',
            nextHop: '192.0.2.4',
            mp: true,
            pathId: 6,
            attributes: exabgpRoute4(path(4200000001, 65010)),
          },
        ],
        withdrawn: [
          { prefix: '10.244.1.0/24', pathId: 2 },
          { prefix: '10.244.11.0/24', pathId: 2 },
        ],
        endOfRib: ['ipv4-unicast'],
        routeRefresh: [{ afi: IPV4, safi: UNICAST, subtype: 0 }],
        notifications: [cease('maintenance: bird to gobgp v4')],
      },
      gobgp: {
        open: {
          myAsn: 65002,
          holdTime: 90,
          bgpId: '192.0.2.2',
          capabilities: [
            { kind: 'routeRefresh' },
            gobgpFqdn,
            { kind: 'multiprotocol', afi: IPV4, safi: UNICAST },
            { kind: 'fourOctetAs', asn: 65002 },
            gobgpGr(IPV4),
            { kind: 'extendedNextHop', entries: [{ afi: IPV4, safi: UNICAST, nextHopAfi: IPV6 }] },
            { kind: 'addPath', entries: [{ afi: IPV4, safi: UNICAST, mode: 'both' }] },
          ],
        },
        // Its own route (sent again after BIRD's route refresh) and FRR's, both with GoBGP as
        // next hop. The capture ends before GoBGP withdraws FRR's route.
        announced: [
          {
            prefix: '10.244.2.0/24',
            nextHop: '192.0.2.2',
            pathId: 1,
            attributes: gobgpRoute2(path(65002), 20),
          },
          {
            prefix: '10.244.3.0/24',
            nextHop: '192.0.2.2',
            pathId: 1,
            attributes: frrRoute3(path(65002, 65003)),
          },
        ],
        withdrawn: [{ prefix: '10.244.2.0/24', pathId: 1 }],
        endOfRib: ['ipv4-unicast'],
        routeRefresh: [],
        notifications: [],
      },
    },
  },

  // The same two daemons over IPv6: GoBGP's IPv6 neighbour has no ADD-PATH, neither side
  // offers extended next hop, and BIRD sends its link-local address as a second next hop.
  'bird-gobgp-ebgp-ipv6': {
    negotiated: {
      fourOctetAs: true,
      ebgp: true,
      extendedMessages: false,
      extendedNextHopIpv4: false,
      addPathSentBy: {},
    },
    senders: {
      bird: {
        open: {
          myAsn: AS_TRANS,
          holdTime: 240,
          bgpId: '192.0.2.1',
          capabilities: [
            { kind: 'multiprotocol', afi: IPV6, safi: UNICAST },
            { kind: 'routeRefresh' },
            { kind: 'extendedMessage' },
            birdGr(IPV6),
            { kind: 'fourOctetAs', asn: 4200000001 },
            { kind: 'addPath', entries: [{ afi: IPV6, safi: UNICAST, mode: 'both' }] },
            { kind: 'enhancedRouteRefresh' },
            birdLlgr,
          ],
        },
        announced: [
          {
            prefix: '2001:db8:101::/48',
            nextHop: '2001:db8::1',
            linkLocalNextHop: 'fe80::ecbe:96ff:fe11:7d1e',
            mp: true,
            attributes: {
              origin: IGP,
              asPath: path(4200000001),
              communities: [community(65000, 6)],
              largeCommunities: [large(4200000001, 6, 6)],
            },
          },
        ],
        withdrawn: [{ prefix: '2001:db8:101::/48' }],
        endOfRib: ['ipv6-unicast'],
        routeRefresh: [{ afi: IPV6, safi: UNICAST, subtype: 0 }],
        notifications: [cease('maintenance: bird to gobgp v6')],
      },
      gobgp: {
        open: {
          myAsn: 65002,
          holdTime: 90,
          bgpId: '192.0.2.2',
          capabilities: [
            { kind: 'routeRefresh' },
            gobgpFqdn,
            { kind: 'multiprotocol', afi: IPV6, safi: UNICAST },
            { kind: 'fourOctetAs', asn: 65002 },
            gobgpGr(IPV6),
          ],
        },
        announced: [
          {
            prefix: '2001:db8:102::/48',
            nextHop: '2001:db8::2',
            mp: true,
            attributes: { origin: INCOMPLETE, asPath: path(65002), communities: [community(65002, 6)] },
          },
        ],
        withdrawn: [{ prefix: '2001:db8:102::/48' }],
        endOfRib: ['ipv6-unicast'],
        routeRefresh: [],
        notifications: [],
      },
    },
  },

  // FRR <-> GoBGP. GoBGP's neighbour for FRR has no ADD-PATH; FRR offers no extended next hop
  // on IPv4 and GoBGP no extended message.
  'gobgp-frr-ebgp-ipv4': {
    negotiated: {
      fourOctetAs: true,
      ebgp: true,
      extendedMessages: false,
      extendedNextHopIpv4: false,
      addPathSentBy: {},
    },
    senders: {
      gobgp: {
        open: {
          myAsn: 65002,
          holdTime: 90,
          bgpId: '192.0.2.2',
          capabilities: [
            { kind: 'routeRefresh' },
            gobgpFqdn,
            { kind: 'multiprotocol', afi: IPV4, safi: UNICAST },
            { kind: 'fourOctetAs', asn: 65002 },
            gobgpGr(IPV4),
            { kind: 'extendedNextHop', entries: [{ afi: IPV4, safi: UNICAST, nextHopAfi: IPV6 }] },
          ],
        },
        // Everything GoBGP has from BIRD (BIRD's statics, ExaBGP's route) and its own route, with
        // GoBGP as next hop; nothing learned from FRR. BIRD's withdrawals and its shutdown of
        // the GoBGP session withdraw all of BIRD's.
        announced: [
          { prefix: '10.244.1.0/24', nextHop: '192.0.2.2', attributes: birdStatic1(path(65002, 4200000001)) },
          {
            prefix: '10.244.11.0/24',
            nextHop: '192.0.2.2',
            attributes: { origin: INCOMPLETE, asPath: path(65002, 4200000001) },
          },
          {
            prefix: '10.244.4.0/24',
            nextHop: '192.0.2.2',
            attributes: exabgpRoute4(path(65002, 4200000001, 65010)),
          },
          { prefix: '10.244.2.0/24', nextHop: '192.0.2.2', attributes: gobgpRoute2(path(65002), 20) },
        ],
        withdrawn: [
          { prefix: '10.244.1.0/24' },
          { prefix: '10.244.11.0/24' },
          { prefix: '10.244.2.0/24' },
          { prefix: '10.244.4.0/24' },
        ],
        endOfRib: ['ipv4-unicast'],
        routeRefresh: [],
        notifications: [cease('maintenance: gobgp to frr')],
      },
      frr: {
        open: {
          myAsn: 65003,
          holdTime: 180,
          bgpId: '192.0.2.3',
          capabilities: frrCaps(IPV4, 'frr-ebgp', 65003, 'receive'),
        },
        // FRR sends its best routes to every peer, GoBGP's own included (GoBGP drops those: its
        // AS is in the path). FRR's own 10.244.3.0/24 goes out only near the end, after the
        // `no network` step, and is never withdrawn in the capture.
        announced: [
          {
            prefix: '10.244.1.0/24',
            nextHop: '192.0.2.3',
            attributes: birdStatic1(path(65003, 65002, 4200000001)),
          },
          { prefix: '10.244.2.0/24', nextHop: '192.0.2.3', attributes: gobgpRoute2(path(65003, 65002)) },
          {
            prefix: '10.244.4.0/24',
            nextHop: '192.0.2.3',
            attributes: exabgpRoute4(path(65003, 65002, 4200000001, 65010)),
          },
          {
            prefix: '10.244.11.0/24',
            nextHop: '192.0.2.3',
            attributes: { origin: INCOMPLETE, asPath: path(65003, 65002, 4200000001) },
          },
          { prefix: '10.244.3.0/24', nextHop: '192.0.2.3', attributes: frrRoute3(path(65003), 30) },
        ],
        withdrawn: [{ prefix: '10.244.1.0/24' }, { prefix: '10.244.11.0/24' }, { prefix: '10.244.2.0/24' }],
        endOfRib: ['ipv4-unicast'],
        routeRefresh: [{ afi: IPV4, safi: UNICAST, subtype: 0 }],
        notifications: [],
      },
    },
  },

  // ExaBGP as a 2-octet AS speaker (`asn4 disable`, peer-as 23456) and BIRD: BIRD's AS_PATH
  // carries AS_TRANS and the real path goes in AS4_PATH, which bgp/wire merges back
  // (RFC 6793 §4.2.3), so the decoded paths are the real ones.
  'bird-exabgp-2octet-as': {
    negotiated: {
      fourOctetAs: false,
      ebgp: true,
      extendedMessages: false,
      extendedNextHopIpv4: false,
      addPathSentBy: {},
    },
    senders: {
      bird: {
        open: {
          myAsn: AS_TRANS,
          holdTime: 240,
          bgpId: '192.0.2.1',
          capabilities: [
            { kind: 'multiprotocol', afi: IPV4, safi: UNICAST },
            { kind: 'routeRefresh' },
            birdGr(),
            { kind: 'fourOctetAs', asn: 4200000001 },
            { kind: 'enhancedRouteRefresh' },
            birdLlgr,
          ],
        },
        // BIRD's statics, then GoBGP's and FRR's routes through GoBGP with GoBGP's next hop kept
        // (ExaBGP shares its subnet); all withdrawn again by the static4 and gobgp4 disables.
        announced: [
          { prefix: '10.244.1.0/24', nextHop: '192.0.2.1', attributes: birdStatic1(path(4200000001)) },
          {
            prefix: '10.244.11.0/24',
            nextHop: '192.0.2.1',
            attributes: { origin: INCOMPLETE, asPath: path(4200000001) },
          },
          { prefix: '10.244.2.0/24', nextHop: '192.0.2.2', attributes: gobgpRoute2(path(4200000001, 65002)) },
          {
            prefix: '10.244.3.0/24',
            nextHop: '192.0.2.2',
            attributes: frrRoute3(path(4200000001, 65002, 65003)),
          },
        ],
        withdrawn: [
          { prefix: '10.244.1.0/24' },
          { prefix: '10.244.11.0/24' },
          { prefix: '10.244.2.0/24' },
          { prefix: '10.244.3.0/24' },
        ],
        endOfRib: ['ipv4-unicast'],
        routeRefresh: [],
        notifications: [cease('maintenance: bird to 2-octet exabgp')],
      },
      exabgp: {
        open: {
          myAsn: 65010,
          holdTime: 90,
          bgpId: '192.0.2.4',
          capabilities: [{ kind: 'multiprotocol', afi: IPV4, safi: UNICAST }, { kind: 'extendedMessage' }],
        },
        announced: [{ prefix: '10.244.4.0/24', nextHop: '192.0.2.4', attributes: exabgpRoute4(path(65010)) }],
        withdrawn: [],
        endOfRib: ['ipv4-unicast'],
        routeRefresh: [],
        // ExaBGP 4.2 answers BIRD's Cease with a Message Header Error of its own, its error
        // text as the data.
        notifications: [{ code: 1, subcode: 0, dataText: 'can not decode update message of type "3"' }],
      },
    },
  },

  // FRR as route-reflector client of BIRD over IPv4: FRR `addpath-tx-all-paths`, BIRD `add paths
  // rx`, so only FRR sends path identifiers. FRR's `capability extended-nexthop` has no effect on
  // an IPv4 session; BIRD has no extended messages here.
  'frr-bird-ibgp-rr-ipv4': {
    negotiated: {
      fourOctetAs: true,
      ebgp: false,
      extendedMessages: false,
      extendedNextHopIpv4: false,
      addPathSentBy: { frr: ['ipv4-unicast'] },
    },
    senders: {
      frr: {
        open: {
          myAsn: 65000,
          holdTime: 180,
          bgpId: '192.0.2.2',
          capabilities: frrCaps(IPV4, 'frr-rr-client', 65000, 'both'),
        },
        // iBGP-learned routes are not sent to another iBGP peer, so only FRR's own two; the
        // capture ends (FRR's shutdown) before FRR withdraws the aggregate.
        announced: [
          { prefix: '10.244.16.0/20', nextHop: '192.0.2.2', pathId: 4, attributes: frrAggregate },
          { prefix: '10.244.20.0/24', nextHop: '192.0.2.2', pathId: 5, attributes: frr20 },
        ],
        withdrawn: [{ prefix: '10.244.20.0/24', pathId: 5 }],
        endOfRib: ['ipv4-unicast'],
        routeRefresh: [{ afi: IPV4, safi: UNICAST, subtype: 0 }],
        notifications: [cease('maintenance: frr to bird v4')],
      },
      bird: {
        open: {
          myAsn: 65000,
          holdTime: 240,
          bgpId: '192.0.2.1',
          capabilities: [
            { kind: 'multiprotocol', afi: IPV4, safi: UNICAST },
            { kind: 'routeRefresh' },
            birdGr(),
            { kind: 'fourOctetAs', asn: 65000 },
            { kind: 'addPath', entries: [{ afi: IPV4, safi: UNICAST, mode: 'receive' }] },
            { kind: 'enhancedRouteRefresh' },
            birdLlgr,
          ],
        },
        // Its static and GoBGP's route reflected; FRR's refresh request is answered inside a
        // BoRR/EoRR pair since FRR offered enhanced route refresh.
        announced: [
          { prefix: '10.244.10.0/24', nextHop: '192.0.2.1', attributes: bird10 },
          { prefix: '10.244.30.0/24', nextHop: '192.0.2.3', attributes: reflectedFrom('192.0.2.3', gobgp30) },
        ],
        withdrawn: [],
        endOfRib: ['ipv4-unicast'],
        routeRefresh: [
          { afi: IPV4, safi: UNICAST, subtype: 1 },
          { afi: IPV4, safi: UNICAST, subtype: 2 },
        ],
        notifications: [],
      },
    },
  },

  // FRR and BIRD over IPv6: FRR offers ADD-PATH receive only and BIRD's IPv6 channel none.
  // BIRD has no IPv6 route in this scenario.
  'frr-bird-ibgp-rr-ipv6': {
    negotiated: {
      fourOctetAs: true,
      ebgp: false,
      extendedMessages: false,
      extendedNextHopIpv4: false,
      addPathSentBy: {},
    },
    senders: {
      frr: {
        open: {
          myAsn: 65000,
          holdTime: 180,
          bgpId: '192.0.2.2',
          capabilities: frrCaps(IPV6, 'frr-rr-client', 65000, 'receive'),
        },
        // `network 2001:db8:120::/48 route-map SET6` (65000:21, large 65000:21:1).
        announced: [
          {
            prefix: '2001:db8:120::/48',
            nextHop: '2001:db8::2',
            linkLocalNextHop: 'fe80::2462:6fff:fe59:580c',
            mp: true,
            attributes: {
              origin: IGP,
              asPath: EMPTY_PATH,
              med: 0,
              localPref: 100,
              communities: [community(65000, 21)],
              largeCommunities: [large(65000, 21, 1)],
            },
          },
        ],
        withdrawn: [{ prefix: '2001:db8:120::/48' }],
        endOfRib: ['ipv6-unicast'],
        routeRefresh: [{ afi: IPV6, safi: UNICAST, subtype: 0 }],
        notifications: [cease('maintenance: frr to bird v6')],
      },
      bird: {
        open: {
          myAsn: 65000,
          holdTime: 240,
          bgpId: '192.0.2.1',
          capabilities: [
            { kind: 'multiprotocol', afi: IPV6, safi: UNICAST },
            { kind: 'routeRefresh' },
            birdGr(),
            { kind: 'fourOctetAs', asn: 65000 },
            { kind: 'enhancedRouteRefresh' },
            birdLlgr,
          ],
        },
        announced: [],
        withdrawn: [],
        endOfRib: ['ipv6-unicast'],
        routeRefresh: [
          { afi: IPV6, safi: UNICAST, subtype: 1 },
          { afi: IPV6, safi: UNICAST, subtype: 2 },
        ],
        notifications: [],
      },
    },
  },

  // GoBGP as route-reflector client of BIRD: no ADD-PATH, and BIRD offers no extended next hop.
  'gobgp-bird-ibgp-rr': {
    negotiated: {
      fourOctetAs: true,
      ebgp: false,
      extendedMessages: false,
      extendedNextHopIpv4: false,
      addPathSentBy: {},
    },
    senders: {
      gobgp: {
        open: {
          myAsn: 65000,
          holdTime: 90,
          bgpId: '192.0.2.3',
          capabilities: [
            { kind: 'routeRefresh' },
            gobgpFqdn,
            { kind: 'multiprotocol', afi: IPV4, safi: UNICAST },
            { kind: 'fourOctetAs', asn: 65000 },
            gobgpGr(IPV4),
            { kind: 'extendedNextHop', entries: [{ afi: IPV4, safi: UNICAST, nextHopAfi: IPV6 }] },
          ],
        },
        announced: [{ prefix: '10.244.30.0/24', nextHop: '192.0.2.3', attributes: gobgp30 }],
        withdrawn: [],
        endOfRib: ['ipv4-unicast'],
        routeRefresh: [],
        notifications: [cease('maintenance: gobgp to bird')],
      },
      bird: {
        open: {
          myAsn: 65000,
          holdTime: 240,
          bgpId: '192.0.2.1',
          capabilities: [
            { kind: 'multiprotocol', afi: IPV4, safi: UNICAST },
            { kind: 'routeRefresh' },
            birdGr(),
            { kind: 'fourOctetAs', asn: 65000 },
            { kind: 'enhancedRouteRefresh' },
            birdLlgr,
          ],
        },
        // Its static and FRR's two routes reflected with FRR's next hop (NO_EXPORT does not stop
        // iBGP); FRR's `no network` withdraws 10.244.20.0/24, FRR's shutdown the aggregate.
        announced: [
          { prefix: '10.244.10.0/24', nextHop: '192.0.2.1', attributes: bird10 },
          {
            prefix: '10.244.16.0/20',
            nextHop: '192.0.2.2',
            attributes: reflectedFrom('192.0.2.2', frrAggregate),
          },
          { prefix: '10.244.20.0/24', nextHop: '192.0.2.2', attributes: reflectedFrom('192.0.2.2', frr20) },
        ],
        withdrawn: [{ prefix: '10.244.20.0/24' }, { prefix: '10.244.16.0/20' }],
        endOfRib: ['ipv4-unicast'],
        routeRefresh: [{ afi: IPV4, safi: UNICAST, subtype: 0 }],
        notifications: [],
      },
    },
  },
};
