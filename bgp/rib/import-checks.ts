// Import checks: which received paths are ineligible for the decision process.
//
// The checks depend only on the attribute set and the session, so `applyUpdate` runs them once
// per UPDATE block, not per prefix. A refused path is still stored (marked `rejected`): it
// counts as received, the API can show why it was refused, and a later announcement of the same
// prefix replaces it like any other path (an UPDATE is an implicit withdraw of the previous
// path, RFC 4271 §3.1, whether or not the new one is accepted).

import type { AttrSet } from './attrs.ts';
import type { PeerState, RejectReason } from './model.ts';

export interface ImportContext {
  /** Our BGP identifier. */
  readonly routerId: string;
  /** Our CLUSTER_ID (RFC 4456 §7; defaults to the router id). */
  readonly clusterId: string;
}

/** How often `asn` appears in the AS_PATH, counting every segment type. */
export function asPathCount(set: AttrSet, asn: number): number {
  let n = 0;
  for (const seg of set.attrs.asPath ?? []) {
    for (const a of seg.asns) if (a === asn) n++;
  }
  return n;
}

export function checkImport(set: AttrSet, peer: PeerState, ctx: ImportContext): RejectReason | undefined {
  // RFC 4271 §9.1.2: a route whose AS_PATH contains our own AS is a loop and is excluded from
  // the Phase 2 decision; allowas-in tolerates up to N occurrences (hub-and-spoke designs).
  if (asPathCount(set, peer.localAsn) > peer.allowAsIn) return 'as-path-loop';
  // RFC 4456 §8: a route carrying our own BGP identifier as ORIGINATOR_ID is ignored.
  if (set.attrs.originatorId !== undefined && set.attrs.originatorId === ctx.routerId) {
    return 'originator-id-loop';
  }
  // RFC 4456 §8: a route whose CLUSTER_LIST contains our CLUSTER_ID is ignored.
  if (set.attrs.clusterList?.includes(ctx.clusterId)) return 'cluster-list-loop';
  return undefined;
}
