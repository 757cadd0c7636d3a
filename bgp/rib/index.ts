// bgp/rib — Adj-RIBs-In, Loc-RIB with the decision process, export rules, route reflection
// and Adj-RIBs-Out. Pure and synchronous: no sockets, timers, files or logging.
//
// How the speaker drives it:
//
//   const rib = new Rib({ routerId, clusterId?, alwaysCompareMed?, maxPaths?,
//                         onBestPathChanged?, onExportPending? });
//   rib.addPeer({ id, address, asn, localAsn, families, localAddressV4, ... });   // config
//   rib.peerUp(id, { routerId, families });     // Established: initial dump starts
//   rib.applyUpdate(id, update);                // every decoded UPDATE (withdraws, reach, RFC 7606)
//   rib.takePending(id, family, budget)         // pulled when the socket can take more:
//     → { withdrawn, withdrawnPathIds?, announced: [{ attrs, prefixes, pathIds? }],
//         endOfRib, hasMore }
//   rib.peerDown(id);                           // session lost: Adj-RIB-In flushed
//   rib.removePeer(id);                         // deconfigured
//   rib.removePeer(id, { isDeferred: true });   // same, the table walk left to:
//   rib.flush(budget)                           //   between event-loop turns, until false
//   rib.setLocalRoutes(routes);                 // declarative: the whole desired set
//   rib.refresh(id, family);                    // RFC 2918 route refresh: resend everything
//
// `onExportPending(peerId, family)` fires when an Adj-RIB-Out that had reported `hasMore:
// false` (or a new session) has work again; the speaker then pulls until `hasMore` is false.
// `announced[i].attrs` is an interned `AttrSet`: `.attrs` are the path attributes to encode
// (no NEXT_HOP inside) and `.nextHop` the next hop for NEXT_HOP / MP_REACH_NLRI. On an ADD-PATH
// send session (RibPeer.addPathSend) every path the export rules allow is advertised, each
// with a stable path identifier in `pathIds` / `withdrawnPathIds` (adj-rib-out.ts).
//
// Decisions taken where the RFCs leave room:
// - Local routes beat learned ones outright (BIRD protocol preference; reason 'local-route').
// - Next-hop reachability and IGP metric steps are skipped (no IGP in the RIB).
// - Missing MED = 0 (RFC 4271 §9.1.2.2 (c)); MED compared only within a neighbour AS unless
//   `alwaysCompareMed`; the neighbour AS of an empty / AS_SET-first path is our own AS.
// - LOCAL_PREF from eBGP is ignored and 100 is used (RFC 4271 §5.1.5); iBGP without it: 100.
// - ECMP (`maxPaths`, a RIB-wide option: the multipath set is a Loc-RIB property, not a
//   session one): paths equal to the best through eBGP-over-iBGP, with the best's MED, and for
//   eBGP the best's neighbour AS (BIRD `merge paths`), ordered by the remaining tie-breakers.
// - Refused paths (AS loop beyond allowAsIn, own ORIGINATOR_ID, own CLUSTER_ID) stay in the
//   Adj-RIB-In marked `rejected`: counted as received, not accepted, shown by the API.
// - A path with the LLGR_STALE community loses to every path without it, before LOCAL_PREF
//   (RFC 9494 §4.5; reason 'llgr-stale'), and is exported only to peers with `llgr` (§4.6).
// - We are a route reflector as soon as one configured peer is a client; CLUSTER_ID defaults to
//   our router id (RFC 4456 §7).
// - eBGP export: always next-hop-self; LOCAL_PREF, ORIGINATOR_ID, CLUSTER_LIST, non-transitive
//   extended communities and learned MEDs removed; MED of local routes kept. iBGP export keeps
//   NEXT_HOP unless `nextHopSelf` (which applies to reflected routes too) or a local route with
//   next hop 'self'. IPv6 link-local next hops are never passed on.
// - Export policy per peer (RibPeer.exportPolicy): 'all' (default) or 'local' — only locally
//   originated best paths, withdrawn again when a learned path becomes best (export.ts).
// - Counters: `received` and `accepted` are current Adj-RIB-In sizes, `advertised` the current
//   Adj-RIB-Out size (like GoBGP's neighbor state), not cumulative message counts.

export type { AnnounceGroup, PendingBatch, SentPath } from './adj-rib-out.ts';
export { AttrSet, AttrStore, attrHash, sameAttrs, WellKnownBit } from './attrs.ts';
export { type Decision, type DecisionOptions, decide } from './decision.ts';
export { type ExportContext, type ExportedRoute, exportPath, prependAs } from './export.ts';
export { checkImport, type ImportContext } from './import-checks.ts';
export {
  type BestPathChanged,
  type BestReason,
  DEFAULT_LOCAL_PREF,
  Dest,
  effectiveLocalPref,
  type LocalRoute,
  type Path,
  type PeerSession,
  PeerState,
  type RejectReason,
  type RibPeer,
} from './model.ts';
export { canonicalPrefix, familyOfPrefix } from './prefix.ts';
export { DEFAULT_TAKE_BUDGET, type PeerDownOptions, Rib, type RibOptions } from './rib.ts';
export type { PathView, PeerStats, RouteFilter, RouteView } from './snapshot.ts';
