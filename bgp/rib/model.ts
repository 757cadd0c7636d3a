// The RIB's data model: peers as the RIB sees them, paths, and destinations (one per prefix).
//
// Memory shape matters more than anywhere else in the daemon: a full table is a million
// destinations, so every byte per prefix counts a million times. A `Dest` plus a `Path` object per
// prefix would also dominate garbage collection (both objects are young when created and all of
// them survive, so every one is copied twice). Hence:
// - A `Path` carries no prefix and is shared: one object per (peer, attribute set, family, path
//   id), cached on the `PeerState`, so all prefixes an UPDATE announces point at the same object
//   (BIRD shares its `rta` the same way). A full table from one peer allocates one path per distinct
//   attribute set, not one per prefix.
// - The Loc-RIB table's value for a prefix with a single path is that `Path` itself; a `Dest` is
//   created only when a second path arrives (and dropped again when one is left). A bare path is
//   the best path unless it was rejected, with reason 'only-path' ('local-route' for ours).
// Paths are immutable: a changed announcement replaces the `Path` object, so "did the best
// path change" is an identity comparison.

import type { Family, OriginCode } from '../wire/types.ts';
import type { AttrSet } from './attrs.ts';
import { addressSortKey, ipv4ToNumber } from './prefix.ts';

/** Configuration of one BGP neighbour, as the speaker hands it to the RIB. */
export interface RibPeer {
  /** Stable identifier, usually the peer address. */
  readonly id: string;
  readonly address: string;
  /** The peer's AS. */
  readonly asn: number;
  /** Our AS on this session (a per-session local AS, like BIRD's `local as`). */
  readonly localAsn: number;
  /** The peer's BGP identifier; usually known only once Established (`peerUp` sets it). */
  readonly routerId?: string;
  /** RFC 4456: the peer is a client of our route reflector. */
  readonly routeReflectorClient?: boolean;
  /** Advertise ourselves as NEXT_HOP to this peer for every route (BIRD `next hop self`). */
  readonly nextHopSelf?: boolean;
  /** Families configured for the session (before negotiation). */
  readonly families: readonly Family[];
  /** Our address on this session: the NEXT_HOP we advertise for IPv4 / IPv6 routes. */
  readonly localAddressV4?: string;
  readonly localAddressV6?: string;
  /** Accept paths that contain our AS up to this many times (Cisco/BIRD `allowas-in`). */
  readonly allowAsIn?: number;
  /**
   * RFC 7911 ADD-PATH: families in which the peer sends path identifiers (negotiated). The
   * Loc-RIB keys every path by (peer, path identifier) anyway; this is shown, not acted on.
   */
  readonly addPathReceive?: readonly Family[];
  /**
   * RFC 7911 ADD-PATH send (negotiated): in these families the Adj-RIB-Out advertises every
   * exportable path of a prefix, each with its own stable path identifier (adj-rib-out.ts).
   */
  readonly addPathSend?: readonly Family[];
  /**
   * 'all' (default): every best path the export rules allow; 'local': only locally originated
   * routes (a node's own pod CIDRs to an external router, Calico's behaviour). export.ts.
   */
  readonly exportPolicy?: 'all' | 'local';
  /**
   * RFC 9494 §4.6: the peer advertised the Long-Lived Graceful Restart capability in this
   * session; only such peers are sent routes that carry LLGR_STALE.
   */
  readonly llgr?: boolean;
}

/** What `peerUp` learns from the OPEN exchange. */
export interface PeerSession {
  /** The peer's BGP identifier from its OPEN. */
  readonly routerId: string;
  /** The negotiated families; defaults to the configured ones. */
  readonly families?: readonly Family[];
}

/** A peer as the RIB tracks it; paths point at this object. Read-only outside the RIB. */
export class PeerState {
  readonly id: string;
  readonly address: string;
  /** Fixed-width hex of the address: string order = numeric order (RFC 4271 §9.1.2.2 (g)). */
  readonly addressKey: string;
  readonly asn: number;
  readonly localAsn: number;
  readonly isIbgp: boolean;
  readonly isRouteReflectorClient: boolean;
  readonly hasNextHopSelf: boolean;
  /** exportPolicy 'local': only locally originated routes are advertised to this peer. */
  readonly isLocalExportOnly: boolean;
  /** RibPeer.llgr: may be sent LLGR_STALE routes. */
  readonly isLlgrCapable: boolean;
  readonly configuredFamilies: ReadonlySet<Family>;
  readonly localAddressV4: string | undefined;
  readonly localAddressV6: string | undefined;
  readonly allowAsIn: number;
  readonly addPathSend: ReadonlySet<Family>;
  routerId: string | undefined;
  /** `routerId` as a number; 2^32 (worse than any real identifier) while unknown. */
  routerIdNumber: number;
  isUp = false;
  /** Families of the current session. */
  families: ReadonlySet<Family> = new Set();
  /** Paths in the Adj-RIB-In, including those rejected by the import checks. */
  received = 0;
  /** The IPv6 unicast part of `received` (the rest is IPv4 unicast): per-family prefix limits. */
  receivedV6 = 0;
  /** Paths in the Adj-RIB-In that passed the import checks (eligible for the decision). */
  accepted = 0;
  /** RFC 4724 End-of-RIB markers received in this session. */
  readonly endOfRibReceived = new Set<Family>();
  /**
   * The shared `Path` objects of this peer by attribute set (several when families or ADD-PATH
   * path ids differ). A path leaves the cache when no prefix holds it any more. RIB-internal.
   */
  readonly paths = new Map<AttrSet, Path[]>();
  /**
   * ADD-PATH send: the path identifier we advertise this peer's paths with, by the path
   * identifier they arrived with (Rib.pathIdOf). Allocated on first export, freed with the
   * peer's paths.
   */
  readonly sendPathIds = new Map<number, number>();

  constructor(peer: RibPeer, addressKey: string) {
    this.id = peer.id;
    this.address = peer.address;
    this.addressKey = addressKey;
    this.asn = peer.asn;
    this.localAsn = peer.localAsn;
    this.isIbgp = peer.asn === peer.localAsn;
    this.isRouteReflectorClient = peer.routeReflectorClient === true;
    this.hasNextHopSelf = peer.nextHopSelf === true;
    this.isLocalExportOnly = peer.exportPolicy === 'local';
    this.isLlgrCapable = peer.llgr === true;
    this.configuredFamilies = new Set(peer.families);
    this.localAddressV4 = peer.localAddressV4;
    this.localAddressV6 = peer.localAddressV6;
    this.allowAsIn = peer.allowAsIn ?? 0;
    this.addPathSend = new Set(peer.addPathSend ?? []);
    this.routerId = undefined;
    this.routerIdNumber = 2 ** 32;
    if (peer.routerId !== undefined) this.setRouterId(peer.routerId);
  }

  setRouterId(routerId: string): void {
    const n = ipv4ToNumber(routerId);
    this.routerId = routerId;
    this.routerIdNumber = n < 0 ? 2 ** 32 : n;
  }

  static create(peer: RibPeer): PeerState | null {
    const key = addressSortKey(peer.address);
    return key === null ? null : new PeerState(peer, key);
  }
}

/** Why a received path is in the Adj-RIB-In but not eligible for the decision process. */
export type RejectReason =
  /** RFC 4271 §9.1.2: our AS appears in AS_PATH more often than allowAsIn permits. */
  | 'as-path-loop'
  /** RFC 4456 §8: ORIGINATOR_ID is our own BGP identifier. */
  | 'originator-id-loop'
  /** RFC 4456 §8: our CLUSTER_ID is in CLUSTER_LIST. */
  | 'cluster-list-loop';

/**
 * One path to a prefix: learned from a peer (`peer` set) or locally originated (`peer` null).
 * Shared by every prefix announced with the same attributes by the same peer (see the file
 * header), so it does not know its prefix.
 */
export class Path {
  /** RFC 7911 path identifier; 0 without ADD-PATH and for local routes. */
  readonly pathId: number;
  readonly peer: PeerState | null;
  readonly attrs: AttrSet;
  readonly family: Family;
  /** Set when the import checks refused the path; it is kept only for counters and the API. */
  readonly rejected: RejectReason | undefined;
  /** How many prefixes hold this path (RIB-internal bookkeeping). */
  refs = 0;

  constructor(
    peer: PeerState | null,
    attrs: AttrSet,
    family: Family,
    pathId: number,
    rejected: RejectReason | undefined,
  ) {
    this.pathId = pathId;
    this.peer = peer;
    this.attrs = attrs;
    this.family = family;
    this.rejected = rejected;
  }
}

/**
 * The step of the decision process that removed the last competitor of the best path
 * (RFC 4271 §9.1.2.2, RFC 4456 §9), shown by the REST API.
 */
export type BestReason =
  | 'only-path'
  | 'local-route'
  | 'llgr-stale'
  | 'local-pref'
  | 'as-path-length'
  | 'origin'
  | 'med'
  | 'ebgp-over-ibgp'
  | 'cluster-list-length'
  | 'router-id'
  | 'peer-address'
  | 'path-id';

/**
 * One prefix in the Loc-RIB with all its paths (the Adj-RIBs-In are stored here, per prefix).
 * The RIB stores one only for a prefix with 2+ paths (see the file header); `Rib.getDest` and
 * the API build a detached one around a single path.
 */
export class Dest {
  readonly prefix: string;
  readonly family: Family;
  /** An array of 2+ paths in the RIB; a single path (or null) in a detached Dest. */
  paths: Path | Path[] | null = null;
  best: Path | null = null;
  reason: BestReason | null = null;
  /** The ECMP set when it holds more than the best path (best first); null otherwise. */
  multipath: readonly Path[] | null = null;

  constructor(prefix: string, family: Family) {
    this.prefix = prefix;
    this.family = family;
  }
}

/** The reason a prefix's only path is its best path. */
export function singlePathReason(path: Path): BestReason {
  return path.peer === null ? 'local-route' : 'only-path';
}

/** A Dest around one path, for readers (`getDest`, the REST API): not stored in the RIB. */
export function detachedDest(prefix: string, path: Path): Dest {
  const dest = new Dest(prefix, path.family);
  dest.paths = path;
  if (path.rejected === undefined) {
    dest.best = path;
    dest.reason = singlePathReason(path);
  }
  return dest;
}

/** The best path of a Loc-RIB entry (a Dest, or a prefix's only path). */
export function bestOfEntry(entry: Path | Dest): Path | null {
  if (entry instanceof Dest) return entry.best;
  return entry.rejected === undefined ? entry : null;
}

/** A route this node originates (Calico: the node's pod CIDRs). */
export interface LocalRoute {
  readonly prefix: string;
  /** 'self' (default): our session address towards each peer; or a fixed address for iBGP. */
  readonly nextHop?: 'self' | string;
  readonly origin?: OriginCode;
  readonly med?: number;
  /** LOCAL_PREF sent to iBGP peers; 100 when absent. */
  readonly localPref?: number;
  readonly communities?: readonly number[];
  readonly largeCommunities?: readonly {
    readonly globalAdmin: number;
    readonly localData1: number;
    readonly localData2: number;
  }[];
  readonly extendedCommunities?: readonly bigint[];
}

/** Emitted when the best path or the ECMP set of a prefix changed. */
export interface BestPathChanged {
  readonly type: 'bestPathChanged';
  readonly prefix: string;
  readonly family: Family;
  readonly best: Path | null;
  /** The ECMP set, best first; empty when there is no best path. */
  readonly multipath: readonly Path[];
  readonly reason: BestReason | null;
}

/** RFC 4271 §5.1.5: LOCAL_PREF received from an external peer is ignored; default 100. */
export const DEFAULT_LOCAL_PREF = 100;

/** The LOCAL_PREF the decision process uses for a learned path. */
export function effectiveLocalPref(path: Path): number {
  if (path.peer !== null && !path.peer.isIbgp) return DEFAULT_LOCAL_PREF;
  return path.attrs.attrs.localPref ?? DEFAULT_LOCAL_PREF;
}
