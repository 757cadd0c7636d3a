// The public contract of the speaker: what `margay speaker`, the node daemon and the REST API rely
// on. The speaker is declarative: callers hand over the whole desired set of peers and local
// routes; the speaker diffs it against what it runs.

import type { BfdConfig, BfdPeerStatus } from '../bfd/peers.ts';
import type { HostTimers } from '../session/session-types.ts';
import type { AddPathMode, Family, LargeCommunity, OriginCode } from '../wire/types.ts';

export type PeerState = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

export interface SpeakerOptions {
  /** Local AS, 1..4294967295. */
  readonly asn: number;
  /** BGP identifier (dotted quad). */
  readonly routerId: string;
  /** RFC 4456 cluster id when acting as route reflector; defaults to routerId. */
  readonly clusterId?: string;
  /**
   * Where to accept connections (default `[::]:179`, dual stack); `null` means outgoing
   * connections only. Several addresses: one listener each. Port 0 picks a free port
   * (`Speaker.listenPorts` tells which).
   */
  readonly listen?: ListenAddress | readonly ListenAddress[] | null;
  /** ECMP: how many equal paths form a multipath set (1 = no ECMP). */
  readonly maxPaths?: number;
  readonly alwaysCompareMed?: boolean;
  /** RFC 4724 graceful restart: the restart time we advertise, in seconds (0 disables). */
  readonly gracefulRestartTime?: number;
  /** Hostname for the RFC-draft FQDN capability (FRR shows it). */
  readonly hostname?: string;
  /**
   * RFC 4724 §3 F bit we advertise for every family: our forwarding state (kernel routes)
   * survives a restart of this speaker. Default false.
   */
  readonly gracefulRestartForwardingPreserved?: boolean;
  /**
   * RFC 4724 §4.2: after a restarting peer is back, how long its stale routes may wait for its
   * End-of-RIB, s. Default 360 (FRR's stalepath-time).
   */
  readonly gracefulRestartStalePathTime?: number;
  /**
   * RFC 8538 N bit in our Graceful Restart capability (default true): with a peer that sets it
   * too, a NOTIFICATION other than Hard Reset keeps routes as stale on both sides, and
   * `stop()` without `hardReset` keeps ours at the peer while we restart.
   */
  readonly gracefulNotification?: boolean;
  /**
   * RFC 4724 §4.1 R bit: this speaker comes up after a restart that kept its forwarding state
   * (the caller knows, e.g. it found its own kernel routes). Set in each peer's OPEN until that
   * peer's first session is Established. Default false.
   */
  readonly gracefulRestartRestarting?: boolean;
  /** Monotonic clock in ms for the FSM timers (tests inject one). Default performance.now. */
  readonly clock?: () => number;
  /**
   * The timers that fire the FSM deadlines and the graceful-restart timers; they must run on
   * `clock`. Default the host's setTimeout/clearTimeout. A test that injects a clock injects
   * timers on it, so that moving its clock fires them.
   */
  readonly timers?: HostTimers;
  /** Wall clock in ms since the epoch for `PeerStatus.since`. Default Date.now. */
  readonly wallClock?: () => number;
  /** Uniform [0, 1) for timer jitter (tests inject a deterministic one). Default Math.random. */
  readonly random?: () => number;
}

export interface ListenAddress {
  readonly address: string;
  readonly port: number;
}

export interface PeerConfig {
  readonly address: string;
  readonly asn: number;
  /** TCP port of the peer (default 179). */
  readonly port?: number;
  readonly passive?: boolean;
  /** Seconds; 0 or ≥ 3. Default 90. */
  readonly holdTime?: number;
  /** Seconds; default holdTime / 3. */
  readonly keepaliveTime?: number;
  /** Source address of the outgoing connection and our next hop on this session. */
  readonly localAddress?: string;
  readonly families?: readonly Family[];
  readonly routeReflectorClient?: boolean;
  readonly nextHopSelf?: boolean;
  readonly description?: string;
  /** Accept paths that contain our own AS up to this many times. */
  readonly allowAsIn?: number;
  /**
   * Prefix limits per family (max-prefix.ts): more prefixes of a family than its `limit` either
   * tear the session down with Cease / Maximum Number of Prefixes Reached (RFC 4486) and keep
   * the peer Idle for `restartAfterSeconds`, doubling on repeats, or only warn. A number is that
   * limit for each family of the session, action teardown.
   */
  readonly maxPrefix?: MaxPrefixConfig;
  /** ConnectRetry base in seconds (default 5, grows with backoff). */
  readonly connectRetryTime?: number;
  /**
   * Our next hop per family on this session when it is not the session's local address, e.g.
   * an IPv6 address for IPv6 routes over an IPv4 session. Default: the session's local address.
   */
  readonly nextHop?: { readonly ipv4?: string; readonly ipv6?: string };
  /**
   * What this peer is sent: 'all' (default) every best path the BGP rules allow, like any BGP
   * speaker; 'local' only the routes this speaker originates (`setLocalRoutes`), e.g. a node's
   * own pod CIDRs to a ToR (Calico's export to external peers). Applied in the RIB's export
   * step (bgp/rib/export.ts).
   */
  readonly exportPolicy?: ExportPolicy;
  /**
   * RFC 2385 TCP-MD5 key shared with the peer, 1..80 octets (UTF-8): every segment of the
   * session is signed, and unsigned or wrongly signed ones are dropped by the kernel. Set on the
   * outgoing sockets and, per peer address, on the listening sockets.
   */
  readonly password?: string;
  /**
   * RFC 5082 TTL security (GTSM), 1..254: we send TTL 255 and the kernel drops the peer's
   * segments that arrive with a TTL below 256 - ttlSecurity (the peer is at most that many hops
   * away). Not together with `multihop`.
   */
  readonly ttlSecurity?: number;
  /**
   * The TTL our segments leave with, 1..255 (eBGP multihop: the peer is that many hops away at
   * most). Absent (and without `ttlSecurity`): the system's default TTL.
   */
  readonly multihop?: number;
  /**
   * BFD with the peer (RFC 5880 asynchronous mode, RFC 5881 single hop), enabled by its presence:
   * when a BFD session that was Up goes Down, the BGP session goes down at once (Cease / BFD
   * Down) instead of at the end of the hold time.
   */
  readonly bfd?: BfdConfig;
  /**
   * Graceful restart with this peer. `restartTime` (s, 0..4095): the restart time advertised in
   * our Graceful Restart capability (RFC 4724) on this session, default
   * `SpeakerOptions.gracefulRestartTime`. `longLivedStaleTime` (s, 0..16777215, default 0 = no
   * long-lived graceful restart): the stale time advertised in our Long-Lived Graceful Restart
   * capability (RFC 9494).
   */
  readonly gracefulRestart?: PeerGracefulRestart;
  /**
   * RFC 7911 ADD-PATH on every family of the session: 'send' (we may advertise several paths
   * per prefix, each with its own path identifier), 'receive' (the peer may), or 'both'. Each
   * direction is used only when the peer's capability allows it (§4). Sending advertises every
   * path of a prefix that the export rules allow to this peer, one per distinct exported
   * attribute set (bgp/rib/adj-rib-out.ts). Absent: no ADD-PATH capability.
   */
  readonly addPaths?: AddPathMode;
}

export interface PeerGracefulRestart {
  readonly restartTime?: number;
  readonly longLivedStaleTime?: number;
}

export type ExportPolicy = 'all' | 'local';

/** teardown: Cease and hold the peer Idle (BIRD `action restart`); warn: count and log only. */
export type MaxPrefixAction = 'teardown' | 'warn';

export interface PrefixLimit {
  /** More received prefixes of the family than this trigger `action`. */
  readonly limit: number;
  /** Default teardown. */
  readonly action?: MaxPrefixAction;
  /** The first idle hold after a teardown, s (default 60); doubles on repeats up to 15 min. */
  readonly restartAfterSeconds?: number;
}

export type MaxPrefixConfig = number | { readonly [F in Family]?: PrefixLimit };

export interface LocalRoute {
  readonly prefix: string;
  /** 'self' (default) or an explicit next hop address. */
  readonly nextHop?: 'self' | string;
  readonly communities?: readonly number[];
  readonly largeCommunities?: readonly LargeCommunity[];
  readonly extendedCommunities?: readonly bigint[];
  readonly med?: number;
  readonly localPref?: number;
  readonly origin?: OriginCode;
}

export interface PeerStatus {
  readonly address: string;
  readonly asn: number;
  readonly description?: string;
  readonly type: 'ibgp' | 'ebgp';
  readonly routeReflectorClient: boolean;
  readonly state: PeerState;
  /** When the current state was entered (ms since epoch). */
  readonly since: number;
  /** Why the session last went down, BIRD-style ("Received: Administrative shutdown"). */
  readonly lastError?: string;
  readonly holdTime: number;
  readonly keepalive: number;
  readonly localAddress?: string;
  readonly remoteRouterId?: string;
  readonly capabilities: { readonly local: readonly string[]; readonly remote: readonly string[] };
  readonly families: readonly Family[];
  readonly prefixes: { readonly received: number; readonly accepted: number; readonly advertised: number };
  /**
   * RFC 9494: both OPENs of the current (or, while down, the last) session carried the
   * Long-Lived Graceful Restart capability. Absent before the first session.
   */
  readonly llgrNegotiated?: boolean;
  /**
   * Present while routes of a session that ended are kept (graceful-restart.ts): how many, and
   * the families in the RFC 4724 phase and in the RFC 9494 long-lived phase (LLGR_STALE).
   */
  readonly staleRoutes?: {
    readonly routes: number;
    readonly restarting: readonly Family[];
    readonly longLived: readonly Family[];
  };
  /**
   * Families whose End-of-RIB the current session has received (RFC 4724 §2): the peer has sent
   * its whole table. Empty while not Established.
   */
  readonly endOfRibReceived?: readonly Family[];
  readonly messages: {
    readonly in: number;
    readonly out: number;
    readonly updatesIn: number;
    readonly updatesOut: number;
  };
  /** Present when the peer has prefix limits (PeerConfig.maxPrefix). */
  readonly prefixLimit?: PrefixLimitStatus;
  /**
   * 'TCP-MD5 mismatch suspected' while the peer is not Established and the kernel counted
   * TCP-MD5 drops that fit its configuration since it was configured or last Established
   * (bgp/session/md5-counters.ts).
   */
  readonly tcpMd5?: string;
  /** Present when the peer has BFD (PeerConfig.bfd). */
  readonly bfd?: BfdPeerStatus;
}

export interface PrefixLimitStatus {
  /** Teardowns and warnings since the limits were configured, per family. */
  readonly exceeded: readonly {
    readonly family: Family;
    readonly limit: number;
    readonly action: MaxPrefixAction;
    readonly count: number;
  }[];
  /** Set while the peer is held Idle after a teardown: no connection either way until `until`. */
  readonly heldIdle?: {
    readonly family: Family;
    readonly limit: number;
    readonly received: number;
    /** ms since the epoch. */
    readonly until: number;
    readonly seconds: number;
    readonly reason: string;
  };
}

export interface PathView {
  readonly prefix: string;
  readonly family: Family;
  readonly nextHop: string;
  readonly asPath: string;
  readonly origin: 'igp' | 'egp' | 'incomplete';
  readonly med?: number;
  readonly localPref?: number;
  readonly communities: readonly string[];
  readonly largeCommunities: readonly string[];
  readonly extendedCommunities: readonly string[];
  readonly originatorId?: string;
  readonly clusterList: readonly string[];
  /** Peer address, or 'local' for a route this speaker originates. */
  readonly fromPeer: string;
  readonly best: boolean;
  readonly multipath: boolean;
  /** Why this path is best, or why it lost (decision step). */
  readonly reason: string;
  /** RFC 4724: kept from a session that went down, waiting for the peer's End-of-RIB. */
  readonly stale?: boolean;
}

export interface RouteFilter {
  readonly prefix?: string;
  /** A peer address, or 'local'. */
  readonly peer?: string;
  readonly family?: Family;
  /** A page: at most this many prefixes (each with all its paths); everything when absent. */
  readonly limit?: number;
  /** Continue a paged listing after this prefix (the last one of the previous page). */
  readonly after?: string;
}

export interface BestPathChange {
  readonly prefix: string;
  readonly family: Family;
  /** Next hops of the best path and its multipath set; empty when the prefix is gone. */
  readonly nextHops: readonly string[];
  readonly best: PathView | null;
}

export interface SpeakerEvents {
  peerStateChanged: {
    readonly address: string;
    readonly from: PeerState;
    readonly to: PeerState;
    readonly reason?: string;
  };
  bestPathChanged: BestPathChange;
}
