// Export rules: what one best path looks like when advertised to one peer, or that it is not
// advertised at all (RFC 4271 §9.1.3 and §5.1, RFC 4456 §6 and §8, RFC 1997).
//
// Pure: (path, family, target peer, our identity) → attributes + next hop, or null. The
// Adj-RIB-Out interns the result, so prefixes whose exported attributes are equal share one
// object and leave in one UPDATE.
//
// Choices where the RFCs leave room (documented in index.ts too):
// - eBGP: NEXT_HOP is always our address on the session (no third-party next hop, §5.1.3).
// - eBGP: MED is sent only for locally originated routes. A learned MED is dropped whether it
//   came over eBGP (§5.1.4 forbids passing it on) or iBGP (we cannot tell whether another
//   router of our AS received it from a neighbouring AS; BIRD drops it the same way).
// - iBGP: `nextHopSelf` applies to every route sent to that peer, reflected ones included
//   (BIRD `next hop self`); without it a learned NEXT_HOP is kept, and a local route gets our
//   address unless it names a fixed next hop.
// - The IPv6 link-local next hop is never passed on: it is only valid on the link it came over.
// - When the session has no local address for the family, a route needing "self" is not sent.
// - Export policy 'local' (RibPeer.exportPolicy): only locally originated best paths go to that
//   peer — a node announces its own pod CIDRs to a ToR, not the ones it learned from the mesh
//   (Calico's export to external peers). A prefix whose best path turns into a learned one is
//   withdrawn from such a peer by the Adj-RIB-Out (the export is null, the prefix was sent).
//   Local routes beat learned ones (decision.ts), so "best path is local" = "we originate it".
// - RFC 9494 §4.6: a best path carrying LLGR_STALE goes only to peers that advertised the LLGR
//   capability (with the community, which is passed on like any other); the others get a
//   withdrawal. The optional exception for iBGP peers (NO_EXPORT, LOCAL_PREF 0) is not used.

import type { AsPathSegment, Family, PathAttributes, UnknownAttribute } from '../wire/types.ts';
import { AsPathSegmentType, AttrFlag } from '../wire/types.ts';
import { WellKnownBit } from './attrs.ts';
import type { Path, PeerState } from './model.ts';
import { effectiveLocalPref } from './model.ts';

export interface ExportContext {
  /** True when at least one configured peer is a route-reflector client (RFC 4456). */
  readonly isRouteReflector: boolean;
  /** Our CLUSTER_ID (RFC 4456 §7). */
  readonly clusterId: string;
}

export interface ExportedRoute {
  readonly attrs: PathAttributes;
  readonly nextHop: string;
}

/** The most AS numbers one AS_SEQUENCE segment can hold (one-octet segment length, §4.3). */
const MAX_SEGMENT_ASNS = 255;

type MutableAttrs = { -readonly [K in keyof PathAttributes]: PathAttributes[K] };

/** Whether an extended community is transitive: bit 0x40 of the type high octet clear (RFC 4360 §2). */
function isTransitiveExtended(value: bigint): boolean {
  return ((value >> 56n) & 0x40n) === 0n;
}

/**
 * RFC 4271 §5.1.2 (b): prepend our AS as the leftmost AS_SEQUENCE entry, opening a new segment
 * when the path starts with an AS_SET or a full segment. Confederation segments are removed
 * before leaving the AS (RFC 5065 §5.3; we run no confederation ourselves).
 */
export function prependAs(path: readonly AsPathSegment[] | undefined, asn: number): AsPathSegment[] {
  const rest = (path ?? []).filter(
    (s) => s.type === AsPathSegmentType.sequence || s.type === AsPathSegmentType.set,
  );
  const first = rest[0];
  if (first && first.type === AsPathSegmentType.sequence && first.asns.length < MAX_SEGMENT_ASNS) {
    return [{ type: AsPathSegmentType.sequence, asns: [asn, ...first.asns] }, ...rest.slice(1)];
  }
  return [{ type: AsPathSegmentType.sequence, asns: [asn] }, ...rest];
}

/** The attributes to send `path` with to peer `to`, or null when it must not be sent. */
export function exportPath(
  path: Path,
  family: Family,
  to: PeerState,
  ctx: ExportContext,
): ExportedRoute | null {
  const from = path.peer;
  // Never advertise a path back to the peer it was learned from.
  if (from === to) return null;
  // Export policy 'local': learned paths stay with us (see the file header).
  if (to.isLocalExportOnly && from !== null) return null;
  const set = path.attrs;
  const a = set.attrs;
  // RFC 1997: NO_ADVERTISE goes to no peer; NO_EXPORT and NO_EXPORT_SUBCONFED stay inside
  // the AS (without confederations, "outside the confederation" is every eBGP peer).
  if ((set.wellKnown & WellKnownBit.noAdvertise) !== 0) return null;
  if (!to.isIbgp && (set.wellKnown & (WellKnownBit.noExport | WellKnownBit.noExportSubconfed)) !== 0) {
    return null;
  }
  // RFC 9494 §4.6: "MUST NOT" to a peer that did not advertise the LLGR capability.
  if ((set.wellKnown & WellKnownBit.llgrStale) !== 0 && !to.isLlgrCapable) return null;
  let isReflected = false;
  if (from?.isIbgp && to.isIbgp) {
    // RFC 4271 §9.1.3: iBGP-learned routes are not sent to iBGP peers (split horizon), unless
    // we reflect (RFC 4456 §6): from a client to clients and non-clients, from a non-client to
    // clients only. (From eBGP or local: to everyone, handled by falling through.)
    if (!ctx.isRouteReflector) return null;
    if (!from.isRouteReflectorClient && !to.isRouteReflectorClient) return null;
    isReflected = true;
  }
  const self = family === 'ipv6-unicast' ? to.localAddressV6 : to.localAddressV4;

  const out: MutableAttrs = {};
  if (a.origin !== undefined) out.origin = a.origin;
  if (a.atomicAggregate) out.atomicAggregate = true;
  if (a.aggregator !== undefined) out.aggregator = a.aggregator;
  if (a.communities !== undefined) out.communities = a.communities;
  if (a.largeCommunities !== undefined) out.largeCommunities = a.largeCommunities;
  if (a.unknown !== undefined) {
    // RFC 4271 §9: unrecognised optional transitive attributes are passed on with Partial set;
    // non-transitive ones are not.
    const kept: UnknownAttribute[] = [];
    for (const u of a.unknown) {
      if ((u.flags & AttrFlag.transitive) !== 0) kept.push({ ...u, flags: u.flags | AttrFlag.partial });
    }
    if (kept.length > 0) out.unknown = kept;
  }

  if (!to.isIbgp) {
    if (self === undefined) return null;
    out.asPath = prependAs(a.asPath, to.localAsn);
    // §5.1.4: MED is sent to another AS only when we set it (local route).
    if (from === null && a.med !== undefined) out.med = a.med;
    // RFC 4360 §2: non-transitive extended communities do not leave the AS.
    if (a.extendedCommunities !== undefined) {
      const ext = a.extendedCommunities.filter(isTransitiveExtended);
      if (ext.length > 0) out.extendedCommunities = ext;
    }
    // §5.1.5: no LOCAL_PREF to external peers; RFC 4456: ORIGINATOR_ID/CLUSTER_LIST stay inside.
    return { attrs: out, nextHop: self };
  }

  out.asPath = a.asPath ?? [];
  if (a.med !== undefined) out.med = a.med;
  if (a.extendedCommunities !== undefined) out.extendedCommunities = a.extendedCommunities;
  // §5.1.5: LOCAL_PREF is included in every UPDATE to an internal peer (default 100).
  out.localPref = effectiveLocalPref(path);
  let nextHop: string | undefined;
  if (to.hasNextHopSelf || (from === null && set.nextHop === 'self')) nextHop = self;
  else nextHop = set.nextHop;
  if (nextHop === undefined) return null;
  if (isReflected && from !== null) {
    // RFC 4456 §8: ORIGINATOR_ID is the BGP identifier of the route's originator in this AS
    // (set once, by the first reflector); our CLUSTER_ID is prepended to CLUSTER_LIST.
    const originatorId = a.originatorId ?? from.routerId;
    if (originatorId !== undefined) out.originatorId = originatorId;
    out.clusterList = [ctx.clusterId, ...(a.clusterList ?? [])];
  }
  return { attrs: out, nextHop };
}
