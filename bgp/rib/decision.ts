// The decision process: best path and ECMP set of one prefix (RFC 4271 §9.1.2.2, RFC 4456 §9).
//
// It is written as a sequence of elimination steps over the candidate set, never as a pairwise
// comparator. The MED rule (§9.1.2.2 (c)) compares only paths from the same neighbour AS, so a
// pairwise "a beats b" is not transitive: A(AS1, MED 20) loses to C(AS1, MED 10), C loses to
// B(AS2) on router id, B loses to A on router id — a sorting or "fold over paths" implementation
// picks a different winner depending on arrival order (GoBGP's insertion sort and older Cisco
// "deterministic-med" discussions describe exactly that bug). Eliminating per step over the
// whole set gives the same answer for every order.
//
// The reason recorded is the step at which the candidate set shrank to one path, i.e. the step
// that separated the best path from the runner-up.
//
// Choices where the RFCs leave room:
// - A locally originated route beats every learned route outright (BIRD: static/direct routes
//   have a higher protocol preference than BGP). A Calico node must keep announcing its own pod
//   CIDR even if some peer announces the same prefix. Reason: 'local-route'.
// - NEXT_HOP resolvability (§9.1.2.1) and the IGP metric step (§9.1.2.2 (e)) are skipped: the
//   RIB has no IGP; next hops are assumed reachable.
// - RFC 9494 §4.5: a path carrying LLGR_STALE is less preferred than any path without it; this
//   runs as the first step, before LOCAL_PREF. Reason: 'llgr-stale'.
// - A final tie-breaker on the ADD-PATH path identifier makes the order total when one peer
//   sends several paths for a prefix.

import { WellKnownBit } from './attrs.ts';
import type { Path } from './model.ts';
import { type BestReason, effectiveLocalPref } from './model.ts';

export interface DecisionOptions {
  /** Compare MED across neighbour ASes too (Cisco `always-compare-med`, BIRD `med metric`). */
  readonly alwaysCompareMed: boolean;
  /** Maximum size of the ECMP set, best path included; 1 disables multipath. */
  readonly maxPaths: number;
}

export interface Decision {
  readonly best: Path | null;
  readonly reason: BestReason | null;
  /** The ECMP set (best first) when it holds more than the best path, else null. */
  readonly multipath: readonly Path[] | null;
}

const NONE: Decision = { best: null, reason: null, multipath: null };

/** Neighbour AS per §9.1.2.2: the leftmost AS, or our own AS for routes originated in it. */
function neighborAsOf(p: Path): number {
  const n = p.attrs.neighborAs;
  return n >= 0 ? n : (p.peer?.localAsn ?? -1);
}

const isEbgp = (p: Path): boolean => p.peer !== null && !p.peer.isIbgp;

/** RFC 4456 §9: ORIGINATOR_ID takes the place of the BGP identifier when present. */
const routerIdOf = (p: Path): number =>
  p.attrs.originatorId >= 0 ? p.attrs.originatorId : (p.peer?.routerIdNumber ?? 2 ** 32);

/** Keeps the candidates with the highest (or lowest) value of `key`. */
function keep(cands: Path[], key: (p: Path) => number, highest: boolean): Path[] {
  let bestValue = key(cands[0] as Path);
  for (let i = 1; i < cands.length; i++) {
    const v = key(cands[i] as Path);
    if (highest ? v > bestValue : v < bestValue) bestValue = v;
  }
  let allEqual = true;
  for (const p of cands) {
    if (key(p) !== bestValue) {
      allEqual = false;
      break;
    }
  }
  return allEqual ? cands : cands.filter((p) => key(p) === bestValue);
}

/** RFC 4271 §9.1.2.2 (c): within each neighbour-AS group, drop paths above the group's lowest MED. */
function keepLowestMed(cands: Path[], alwaysCompare: boolean): Path[] {
  if (alwaysCompare) return keep(cands, (p) => p.attrs.med, false);
  const lowest = new Map<number, number>();
  for (const p of cands) {
    const as = neighborAsOf(p);
    const m = lowest.get(as);
    if (m === undefined || p.attrs.med < m) lowest.set(as, p.attrs.med);
  }
  const out = cands.filter((p) => p.attrs.med === lowest.get(neighborAsOf(p)));
  return out.length === cands.length ? cands : out;
}

/**
 * Order of the steps after the ECMP cut (§9.1.2.2 (f)/(g), RFC 4456 §9): shorter CLUSTER_LIST,
 * lower router id, lower peer address, lower path id. Total for paths of distinct
 * (peer, path id), so it also orders the ECMP set deterministically.
 */
function compareTail(a: Path, b: Path): number {
  return (
    a.attrs.clusterListLength - b.attrs.clusterListLength ||
    routerIdOf(a) - routerIdOf(b) ||
    compareStrings(a.peer?.addressKey ?? '', b.peer?.addressKey ?? '') ||
    a.pathId - b.pathId
  );
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

type Step = readonly [BestReason, (cands: Path[], opts: DecisionOptions) => Path[]];

/** The steps up to and including eBGP-over-iBGP: survivors are the ECMP candidates. */
const HEAD_STEPS: readonly Step[] = [
  // RFC 9494 §4.5: "treated as the least-preferred": any path without LLGR_STALE wins.
  ['llgr-stale', (c) => keep(c, (p) => ((p.attrs.wellKnown & WellKnownBit.llgrStale) === 0 ? 1 : 0), true)],
  // §9.1.2.2 / §9.1.1: highest degree of preference = LOCAL_PREF.
  ['local-pref', (c) => keep(c, effectiveLocalPref, true)],
  // §9.1.2.2 (a): shortest AS_PATH.
  ['as-path-length', (c) => keep(c, (p) => p.attrs.asPathLength, false)],
  // §9.1.2.2 (b): lowest ORIGIN.
  ['origin', (c) => keep(c, (p) => p.attrs.origin, false)],
  // §9.1.2.2 (c): lowest MED among paths from the same neighbour AS.
  ['med', (c, o) => keepLowestMed(c, o.alwaysCompareMed)],
  // §9.1.2.2 (d): eBGP-learned over iBGP-learned.
  ['ebgp-over-ibgp', (c) => keep(c, (p) => (isEbgp(p) ? 1 : 0), true)],
];

const TAIL_STEPS: readonly Step[] = [
  // RFC 4456 §9: shorter CLUSTER_LIST.
  ['cluster-list-length', (c) => keep(c, (p) => p.attrs.clusterListLength, false)],
  // §9.1.2.2 (f) with RFC 4456 §9: lowest ORIGINATOR_ID / BGP identifier.
  ['router-id', (c) => keep(c, routerIdOf, false)],
  // §9.1.2.2 (g): lowest peer address.
  ['peer-address', (c) => keepLowestAddress(c)],
  // Several ADD-PATH paths from one peer: lowest path identifier.
  ['path-id', (c) => keep(c, (p) => p.pathId, false)],
];

function keepLowestAddress(cands: Path[]): Path[] {
  let lowest = (cands[0] as Path).peer?.addressKey ?? '';
  for (const p of cands) {
    const k = p.peer?.addressKey ?? '';
    if (k < lowest) lowest = k;
  }
  return cands.filter((p) => (p.peer?.addressKey ?? '') === lowest);
}

/** Runs the decision process over all paths of one prefix (rejected ones are skipped). */
export function decide(paths: Path | readonly Path[] | null, opts: DecisionOptions): Decision {
  if (paths === null) return NONE;
  if (!Array.isArray(paths)) {
    const p = paths as Path;
    if (p.rejected !== undefined) return NONE;
    return { best: p, reason: p.peer === null ? 'local-route' : 'only-path', multipath: null };
  }
  let cands: Path[] = [];
  for (const p of paths as readonly Path[]) {
    // BIRD-style preference: a local route wins before any BGP comparison.
    if (p.peer === null) return { best: p, reason: 'local-route', multipath: null };
    if (p.rejected === undefined) cands.push(p);
  }
  if (cands.length === 0) return NONE;
  if (cands.length === 1) return { best: cands[0] as Path, reason: 'only-path', multipath: null };
  for (const [reason, step] of HEAD_STEPS) {
    cands = step(cands, opts);
    if (cands.length === 1) return { best: cands[0] as Path, reason, multipath: null };
  }
  const ecmp = cands;
  for (const [reason, step] of TAIL_STEPS) {
    cands = step(cands, opts);
    if (cands.length === 1) return { best: cands[0] as Path, reason, multipath: multipathOf(ecmp, opts) };
  }
  // Unreachable while (peer, path id) is unique per prefix, which the RIB guarantees.
  return { best: cands[0] as Path, reason: 'path-id', multipath: multipathOf(ecmp, opts) };
}

/**
 * The ECMP set (BIRD `merge paths`): survivors of the steps through eBGP-over-iBGP that also
 * have the best path's MED, and for eBGP the best path's neighbour AS. `ecmp` has 2+ paths.
 */
function multipathOf(ecmp: Path[], opts: DecisionOptions): readonly Path[] | null {
  if (opts.maxPaths <= 1) return null;
  const sorted = [...ecmp].sort(compareTail);
  const best = sorted[0] as Path;
  const bestAs = neighborAsOf(best);
  const set = sorted.filter(
    (p) => p.attrs.med === best.attrs.med && (!isEbgp(best) || neighborAsOf(p) === bestAs),
  );
  if (set.length > opts.maxPaths) set.length = opts.maxPaths;
  return set.length > 1 ? set : null;
}
