// Read-only views of the RIB for the REST API (`GET /v1/bgp/routes`, `/v1/bgp/peers`) and metrics,
// so that every route the speaker holds can be listed with the reason it is there. Plain JSON:
// numbers, strings, arrays; extended communities (64-bit) as decimal strings.

import type { AsPathSegment, Family, LargeCommunity, OriginCode } from '../wire/types.ts';
import type { BestReason, Dest, Path, RejectReason } from './model.ts';
import { effectiveLocalPref } from './model.ts';

export interface RouteFilter {
  /** Exact prefix (canonicalised before lookup). */
  readonly prefix?: string;
  /** Only routes with a path from one of these peer ids (null: our local route); only those paths are listed. */
  readonly fromPeers?: readonly (string | null)[];
  readonly family?: Family;
  /** A page: at most this many routes (prefixes, each with all its listed paths). */
  readonly limit?: number;
  /** Continue a paged listing after this prefix, the last one of the previous page. */
  readonly after?: string;
}

export interface PathView {
  /** Peer id, or null for a locally originated route. */
  readonly fromPeer: string | null;
  readonly pathId: number;
  /** The next hop as received, or 'self' for a local route announced with our address. */
  readonly nextHop: string;
  readonly linkLocalNextHop?: string;
  readonly asPath: readonly AsPathSegment[];
  readonly origin: OriginCode;
  readonly med?: number;
  /** The LOCAL_PREF the decision process used (RFC 4271 §5.1.5 defaults applied). */
  readonly localPref: number;
  readonly communities: readonly number[];
  readonly largeCommunities: readonly LargeCommunity[];
  readonly extendedCommunities: readonly string[];
  readonly originatorId?: string;
  readonly clusterList: readonly string[];
  readonly best: boolean;
  /** Member of the ECMP set (the best path always is). */
  readonly multipath: boolean;
  /** On the best path only: the decision step that made it win. */
  readonly reason?: BestReason;
  /** Set when the import checks refused the path. */
  readonly rejected?: RejectReason;
}

export interface RouteView {
  readonly prefix: string;
  readonly family: Family;
  readonly paths: readonly PathView[];
}

export interface PeerStats {
  readonly id: string;
  readonly isUp: boolean;
  /** Paths in the Adj-RIB-In, refused ones included. */
  readonly received: number;
  /** `received` per family. */
  readonly receivedByFamily: Readonly<Record<Family, number>>;
  /** Paths that passed the import checks. */
  readonly accepted: number;
  /** Prefixes in the Adj-RIB-Out (sent and not withdrawn), all families. */
  readonly advertised: number;
  readonly endOfRibReceived: readonly Family[];
}

export function pathView(path: Path, dest: Dest): PathView {
  const a = path.attrs.attrs;
  const isBest = dest.best === path;
  // Part of an ECMP set of more than one path (a lone best path is not "multipath").
  const isMultipath = (dest.multipath?.length ?? 0) > 1 && (dest.multipath?.includes(path) ?? false);
  return {
    fromPeer: path.peer?.id ?? null,
    pathId: path.pathId,
    nextHop: path.attrs.nextHop,
    ...(path.attrs.linkLocalNextHop !== undefined && { linkLocalNextHop: path.attrs.linkLocalNextHop }),
    asPath: a.asPath ?? [],
    origin: path.attrs.origin,
    ...(a.med !== undefined && { med: a.med }),
    localPref: effectiveLocalPref(path),
    communities: a.communities ?? [],
    largeCommunities: a.largeCommunities ?? [],
    extendedCommunities: (a.extendedCommunities ?? []).map((c) => c.toString()),
    ...(a.originatorId !== undefined && { originatorId: a.originatorId }),
    clusterList: a.clusterList ?? [],
    best: isBest,
    multipath: isMultipath,
    ...(isBest && dest.reason !== null && { reason: dest.reason }),
    ...(path.rejected !== undefined && { rejected: path.rejected }),
  };
}

/** The view of one destination, best path first; null when `fromPeers` is given and none contributed. */
export function routeView(dest: Dest, fromPeers?: ReadonlySet<string | null>): RouteView | null {
  const all: readonly Path[] =
    dest.paths === null ? [] : Array.isArray(dest.paths) ? dest.paths : [dest.paths];
  const paths = fromPeers === undefined ? all : all.filter((p) => fromPeers.has(p.peer?.id ?? null));
  if (paths.length === 0) return null;
  const sorted = [...paths].sort((x, y) => rank(dest, x) - rank(dest, y));
  return { prefix: dest.prefix, family: dest.family, paths: sorted.map((p) => pathView(p, dest)) };
}

function rank(dest: Dest, p: Path): number {
  if (dest.best === p) return 0;
  if (dest.multipath?.includes(p)) return 1;
  return p.rejected === undefined ? 2 : 3;
}
