// The RIB: Adj-RIBs-In, Loc-RIB and decision process, local routes, Adj-RIBs-Out.
//
// One owner mutates it, synchronously (STYLE rule 7): the speaker calls `applyUpdate` for each
// decoded UPDATE, `peerUp`/`peerDown` on session transitions, and pulls outgoing changes with
// `takePending`. It never does I/O, never uses timers and never logs; it reports through two
// callbacks given at construction.
//
// Storage (see model.ts): one Map from canonical prefix to `Dest`. A `Dest` holds every path to
// the prefix — the Adj-RIBs-In are not separate tables but the per-peer paths of each Dest,
// the way BIRD keeps all routes of a network in one `net` entry. A peer going down therefore
// walks the table once (BIRD's table flush does the same), and a full table from one peer costs
// one Map entry, one Dest and one Path per prefix.
//
// Hot path (`#announce`, the first path of a prefix): no decision run, no array, one event
// when a listener is present. Attribute sets are interned once per UPDATE block.

import { BgpError } from '../errors.ts';
import type { Family, PathAttributes, UpdateMessage } from '../wire/types.ts';
import { Afi, Origin, Safi } from '../wire/types.ts';
import { AdjRibOut, EMPTY_BATCH, type PendingBatch } from './adj-rib-out.ts';
import { type AttrSet, AttrStore } from './attrs.ts';
import { type Decision, type DecisionOptions, decide } from './decision.ts';
import { type ExportContext, exportPath } from './export.ts';
import { checkImport, type ImportContext } from './import-checks.ts';
import type { BestPathChanged, LocalRoute, Path, PeerSession, RejectReason, RibPeer } from './model.ts';
import { Dest, PeerState } from './model.ts';
import { canonicalPrefix, familyOfPrefix, isIpv4Address, isIpv6Address } from './prefix.ts';
import { type PeerStats, type RouteFilter, type RouteView, routeView } from './snapshot.ts';

export interface RibOptions {
  /** Our BGP identifier (dotted quad). */
  readonly routerId: string;
  /** RFC 4456 §7 CLUSTER_ID when we reflect; defaults to `routerId`. */
  readonly clusterId?: string;
  /** Compare MED across neighbour ASes (default false: RFC 4271 §9.1.2.2 (c)). */
  readonly alwaysCompareMed?: boolean;
  /** ECMP: the largest multipath set (best included); default 1 = no multipath. */
  readonly maxPaths?: number;
  /** Called synchronously when the best path or ECMP set of a prefix changed. Must not call back into the RIB. */
  readonly onBestPathChanged?: (event: BestPathChanged) => void;
  /** Called when an Adj-RIB-Out that had been drained (or a new session) has work to pull. */
  readonly onExportPending?: (peerId: string, family: Family) => void;
}

/** The default number of prefixes one `takePending` call examines. */
export const DEFAULT_TAKE_BUDGET = 4096;

function familyOf(afi: number, safi: number): Family | undefined {
  if (safi !== Safi.unicast) return undefined;
  return afi === Afi.ipv4 ? 'ipv4-unicast' : afi === Afi.ipv6 ? 'ipv6-unicast' : undefined;
}

const invalid = (message: string): BgpError => new BgpError('BGP_ERR_INVALID_CONFIG', message);

export class Rib {
  readonly #dests = new Map<string, Dest>();
  readonly #peers = new Map<string, PeerState>();
  /** Established sessions' Adj-RIBs-Out, per family: what a best-path change must mark. */
  readonly #outs: Record<Family, AdjRibOut[]> = { 'ipv4-unicast': [], 'ipv6-unicast': [] };
  readonly #outsByPeer = new Map<PeerState, Map<Family, AdjRibOut>>();
  readonly #local = new Map<string, Path>();
  readonly #store = new AttrStore();
  readonly #exportStore = new AttrStore();
  readonly #decision: DecisionOptions;
  readonly #importContext: ImportContext;
  readonly #clusterId: string;
  readonly #onBestPathChanged: ((event: BestPathChanged) => void) | undefined;
  readonly #onExportPending: ((peerId: string, family: Family) => void) | undefined;
  #clientCount = 0;

  constructor(options: RibOptions) {
    if (!isIpv4Address(options.routerId)) throw invalid(`routerId ${options.routerId} is not a dotted quad`);
    this.#clusterId = options.clusterId ?? options.routerId;
    if (!isIpv4Address(this.#clusterId)) throw invalid(`clusterId ${this.#clusterId} is not a dotted quad`);
    const maxPaths = options.maxPaths ?? 1;
    if (!Number.isInteger(maxPaths) || maxPaths < 1) throw invalid(`maxPaths must be a positive integer`);
    this.#decision = { alwaysCompareMed: options.alwaysCompareMed ?? false, maxPaths };
    this.#importContext = { routerId: options.routerId, clusterId: this.#clusterId };
    this.#onBestPathChanged = options.onBestPathChanged;
    this.#onExportPending = options.onExportPending;
  }

  // ---- peers ------------------------------------------------------------------------------

  /** Registers a neighbour (session down). Throws BGP_ERR_INVALID_CONFIG on a bad or duplicate peer. */
  addPeer(peer: RibPeer): void {
    if (this.#peers.has(peer.id)) throw invalid(`peer ${peer.id} is already configured`);
    for (const [name, asn] of [
      ['asn', peer.asn],
      ['localAsn', peer.localAsn],
    ] as const) {
      if (!Number.isInteger(asn) || asn < 1 || asn > 0xffffffff)
        throw invalid(`peer ${peer.id}: bad ${name}`);
    }
    if (peer.localAddressV4 !== undefined && !isIpv4Address(peer.localAddressV4)) {
      throw invalid(`peer ${peer.id}: localAddressV4 ${peer.localAddressV4} is not an IPv4 address`);
    }
    if (peer.localAddressV6 !== undefined && !isIpv6Address(peer.localAddressV6)) {
      throw invalid(`peer ${peer.id}: localAddressV6 ${peer.localAddressV6} is not an IPv6 address`);
    }
    const state = PeerState.create(peer);
    if (state === null) throw invalid(`peer ${peer.id}: address ${peer.address} is not an IP address`);
    this.#peers.set(peer.id, state);
    if (state.isRouteReflectorClient) this.#clientCount++;
  }

  /** Removes a neighbour; its paths are withdrawn first (as by `peerDown`). */
  removePeer(id: string): void {
    const peer = this.#peer(id);
    if (peer.isUp || peer.received > 0) this.peerDown(id);
    this.#peers.delete(id);
    if (peer.isRouteReflectorClient) this.#clientCount--;
  }

  /** The session reached Established: records the peer's identity and starts the initial dump. */
  peerUp(id: string, session: PeerSession): void {
    const peer = this.#peer(id);
    if (peer.isUp) this.peerDown(id);
    peer.setRouterId(session.routerId);
    const negotiated = session.families ?? [...peer.configuredFamilies];
    peer.families = new Set(negotiated.filter((f) => peer.configuredFamilies.has(f)));
    peer.isUp = true;
    const outs = new Map<Family, AdjRibOut>();
    for (const family of peer.families) {
      const out = new AdjRibOut(peer, family, this.#dests);
      outs.set(family, out);
      this.#outs[family].push(out);
    }
    this.#outsByPeer.set(peer, outs);
    for (const family of peer.families) this.#onExportPending?.(peer.id, family);
  }

  /** The session went down: its Adj-RIB-In is flushed and its Adj-RIB-Out forgotten. */
  peerDown(id: string): void {
    const peer = this.#peer(id);
    peer.isUp = false;
    const outs = this.#outsByPeer.get(peer);
    if (outs !== undefined) {
      for (const out of outs.values()) {
        out.clear(this.#exportStore);
        const list = this.#outs[out.family];
        list.splice(list.indexOf(out), 1);
      }
      this.#outsByPeer.delete(peer);
    }
    if (peer.received > 0) {
      for (const dest of this.#dests.values()) this.#removePeerPaths(dest, peer);
    }
    peer.received = 0;
    peer.accepted = 0;
    peer.endOfRibReceived.clear();
  }

  // ---- import -----------------------------------------------------------------------------

  /**
   * Applies one decoded UPDATE from an Established peer: withdrawals, then announcements
   * (keyed by prefix and ADD-PATH path id). Blocks of families not negotiated are ignored.
   */
  applyUpdate(peerId: string, update: UpdateMessage): void {
    const peer = this.#peer(peerId);
    if (!peer.isUp) throw new BgpError('BGP_ERR_FSM', `UPDATE from ${peerId}, which is not Established`);
    for (const block of update.withdrawn) {
      const family = familyOf(block.afi, block.safi);
      if (family === undefined || !peer.families.has(family)) continue;
      const ids = block.pathIds;
      const prefixes = block.prefixes;
      for (let i = 0; i < prefixes.length; i++) this.#withdraw(peer, prefixes[i] as string, ids?.[i] ?? 0);
    }
    if (update.endOfRib !== undefined) peer.endOfRibReceived.add(update.endOfRib);
    for (const block of update.reach) {
      const family = familyOf(block.afi, block.safi);
      if (family === undefined || !peer.families.has(family)) continue;
      const ids = block.pathIds;
      const prefixes = block.prefixes;
      if (update.treatAsWithdraw !== undefined) {
        // RFC 7606 §2: every prefix of the UPDATE is handled as withdrawn.
        for (let i = 0; i < prefixes.length; i++) this.#withdraw(peer, prefixes[i] as string, ids?.[i] ?? 0);
        continue;
      }
      const set = this.#store.intern(update.attributes, block.nextHop, block.linkLocalNextHop);
      const rejected = checkImport(set, peer, this.#importContext);
      for (let i = 0; i < prefixes.length; i++) {
        this.#announce(peer, family, prefixes[i] as string, ids?.[i] ?? 0, set, rejected);
      }
      this.#store.releaseIfUnused(set);
    }
  }

  #announce(
    peer: PeerState,
    family: Family,
    prefix: string,
    pathId: number,
    set: AttrSet,
    rejected: RejectReason | undefined,
  ): void {
    const dest = this.#dests.get(prefix);
    if (dest === undefined) {
      // Fast path: a new prefix with one path needs no decision process.
      const fresh = new Dest(prefix, family);
      const path: Path = { prefix, pathId, peer, attrs: set, rejected };
      fresh.paths = path;
      this.#dests.set(prefix, fresh);
      this.#store.retain(set);
      peer.received++;
      if (rejected === undefined) {
        peer.accepted++;
        fresh.best = path;
        fresh.reason = 'only-path';
        this.#bestChanged(fresh);
      }
      return;
    }
    const paths = dest.paths;
    // An UPDATE replaces the sender's previous path for the prefix (RFC 4271 §3.1); an
    // identical re-announcement changes nothing.
    let old: Path | undefined;
    let index = -1;
    if (paths !== null && !Array.isArray(paths)) {
      const only = paths as Path;
      if (only.peer === peer && only.pathId === pathId) old = only;
    } else if (paths !== null) {
      index = paths.findIndex((p) => p.peer === peer && p.pathId === pathId);
      old = paths[index];
    }
    if (old !== undefined && old.attrs === set && old.rejected === rejected) return;
    const path: Path = { prefix, pathId, peer, attrs: set, rejected };
    this.#store.retain(set);
    peer.received++;
    if (rejected === undefined) peer.accepted++;
    if (old !== undefined) this.#drop(old);
    if (paths === null || (old !== undefined && index < 0)) dest.paths = path;
    else if (!Array.isArray(paths)) dest.paths = [paths as Path, path];
    else if (index < 0) paths.push(path);
    else paths[index] = path;
    this.#recompute(dest);
  }

  #withdraw(peer: PeerState, prefix: string, pathId: number): void {
    const dest = this.#dests.get(prefix);
    if (dest === undefined || dest.paths === null) return;
    const paths = dest.paths;
    if (!Array.isArray(paths)) {
      const only = paths as Path;
      if (only.peer !== peer || only.pathId !== pathId) return;
      dest.paths = null;
      this.#drop(only);
    } else {
      const i = paths.findIndex((p) => p.peer === peer && p.pathId === pathId);
      if (i < 0) return;
      this.#drop(paths[i] as Path);
      paths.splice(i, 1);
      if (paths.length === 1) dest.paths = paths[0] as Path;
    }
    this.#recompute(dest);
  }

  #removePeerPaths(dest: Dest, peer: PeerState): void {
    const paths = dest.paths;
    if (paths === null) return;
    if (!Array.isArray(paths)) {
      if ((paths as Path).peer !== peer) return;
      this.#drop(paths as Path);
      dest.paths = null;
    } else {
      const kept = paths.filter((p) => p.peer !== peer);
      if (kept.length === paths.length) return;
      for (const p of paths) if (p.peer === peer) this.#drop(p);
      dest.paths = kept.length === 0 ? null : kept.length === 1 ? (kept[0] as Path) : kept;
    }
    this.#recompute(dest);
  }

  /** Releases a path's attribute set and its counters. */
  #drop(path: Path): void {
    this.#store.release(path.attrs);
    if (path.peer === null) return;
    path.peer.received--;
    if (path.rejected === undefined) path.peer.accepted--;
  }

  #recompute(dest: Dest): void {
    if (dest.paths === null) this.#dests.delete(dest.prefix);
    const d: Decision = decide(dest.paths, this.#decision);
    const isSame = d.best === dest.best && sameMultipath(d.multipath, dest.multipath);
    dest.reason = d.reason;
    if (isSame) return;
    dest.best = d.best;
    dest.multipath = d.multipath;
    this.#bestChanged(dest);
  }

  #bestChanged(dest: Dest): void {
    const best = dest.best;
    if (this.#onBestPathChanged !== undefined) {
      this.#onBestPathChanged({
        type: 'bestPathChanged',
        prefix: dest.prefix,
        family: dest.family,
        best,
        multipath: best === null ? [] : (dest.multipath ?? [best]),
        reason: dest.reason,
      });
    }
    const outs = this.#outs[dest.family];
    for (let i = 0; i < outs.length; i++) {
      const out = outs[i] as AdjRibOut;
      if (out.mark(dest.prefix, best)) this.#onExportPending?.(out.peer.id, out.family);
    }
  }

  // ---- local routes -----------------------------------------------------------------------

  /**
   * Replaces the whole set of locally originated routes (declarative, like MetalLB
   * `Session.Set`): routes not in `routes` are withdrawn, changed ones replaced, unchanged ones
   * left alone. Validates everything first; on error nothing changes.
   */
  setLocalRoutes(routes: readonly LocalRoute[]): void {
    const desired = new Map<string, { attrs: PathAttributes; nextHop: string }>();
    for (const r of routes) {
      const prefix = canonicalPrefix(r.prefix);
      if (prefix === null) throw invalid(`local route ${r.prefix}: not a prefix`);
      if (desired.has(prefix)) throw invalid(`local route ${prefix} is listed twice`);
      const nextHop = r.nextHop ?? 'self';
      if (nextHop !== 'self' && !isIpv4Address(nextHop) && !isIpv6Address(nextHop)) {
        throw invalid(`local route ${prefix}: next hop ${nextHop} is neither 'self' nor an address`);
      }
      const attrs: PathAttributes = {
        origin: r.origin ?? Origin.igp,
        asPath: [],
        ...(r.med !== undefined && { med: r.med }),
        ...(r.localPref !== undefined && { localPref: r.localPref }),
        ...(r.communities !== undefined && { communities: r.communities }),
        ...(r.extendedCommunities !== undefined && { extendedCommunities: r.extendedCommunities }),
        ...(r.largeCommunities !== undefined && { largeCommunities: r.largeCommunities }),
      };
      desired.set(prefix, { attrs, nextHop });
    }
    for (const [prefix, path] of this.#local) {
      if (!desired.has(prefix)) this.#setLocal(prefix, path, null);
    }
    for (const [prefix, { attrs, nextHop }] of desired) {
      const set = this.#store.intern(attrs, nextHop);
      const current = this.#local.get(prefix);
      if (current?.attrs !== set) this.#setLocal(prefix, current, set);
      this.#store.releaseIfUnused(set);
    }
  }

  #setLocal(prefix: string, current: Path | undefined, set: AttrSet | null): void {
    let dest = this.#dests.get(prefix);
    if (dest === undefined) {
      dest = new Dest(prefix, familyOfPrefix(prefix));
      this.#dests.set(prefix, dest);
    }
    let paths: Path[] =
      dest.paths === null ? [] : Array.isArray(dest.paths) ? dest.paths : [dest.paths as Path];
    if (current !== undefined) {
      paths = paths.filter((p) => p !== current);
      this.#store.release(current.attrs);
      this.#local.delete(prefix);
    }
    if (set !== null) {
      const path: Path = { prefix, pathId: 0, peer: null, attrs: set, rejected: undefined };
      this.#store.retain(set);
      this.#local.set(prefix, path);
      paths.push(path);
    }
    dest.paths = paths.length === 0 ? null : paths.length === 1 ? (paths[0] as Path) : paths;
    this.#recompute(dest);
  }

  // ---- export -----------------------------------------------------------------------------

  /**
   * Pulls the next changes to send to a peer in one family: at most `budget` prefixes are
   * examined; withdrawals and announcements grouped by exported attributes. What is returned
   * counts as sent. `hasMore` says to pull again; `endOfRib` (once per session and family) says
   * the initial dump is complete (RFC 4724).
   */
  takePending(peerId: string, family: Family, budget = DEFAULT_TAKE_BUDGET): PendingBatch {
    const peer = this.#peer(peerId);
    const out = this.#outsByPeer.get(peer)?.get(family);
    if (out === undefined) return EMPTY_BATCH;
    const ctx: ExportContext = { isRouteReflector: this.#clientCount > 0, clusterId: this.#clusterId };
    // Per-take cache: the export depends only on (source peer, attribute set).
    const cache = new Map<PeerState | null, Map<AttrSet, AttrSet | null>>();
    const exportStore = this.#exportStore;
    const exportOf = (path: Path): AttrSet | null => {
      let bySet = cache.get(path.peer);
      if (bySet === undefined) {
        bySet = new Map();
        cache.set(path.peer, bySet);
      }
      let result = bySet.get(path.attrs);
      if (result === undefined) {
        const e = exportPath(path, family, peer, ctx);
        result = e === null ? null : exportStore.intern(e.attrs, e.nextHop);
        bySet.set(path.attrs, result);
      }
      return result;
    };
    const batch = out.take(Math.max(1, budget), { dests: this.#dests, store: exportStore, exportOf });
    for (const bySet of cache.values()) {
      for (const set of bySet.values()) if (set !== null) exportStore.releaseIfUnused(set);
    }
    return batch;
  }

  /** RFC 2918 ROUTE-REFRESH: re-advertise the whole Adj-RIB-Out of one family. */
  refresh(peerId: string, family: Family): void {
    const peer = this.#peer(peerId);
    const out = this.#outsByPeer.get(peer)?.get(family);
    if (out?.resend(this.#dests)) this.#onExportPending?.(peer.id, family);
  }

  hasPending(peerId: string, family: Family): boolean {
    return this.#outsByPeer.get(this.#peer(peerId))?.get(family)?.hasPending ?? false;
  }

  /** True once the initial dump of this session and family was taken (End-of-RIB handed out). */
  isInitialDumpDone(peerId: string, family: Family): boolean {
    return this.#outsByPeer.get(this.#peer(peerId))?.get(family)?.isInitialDumpDone ?? false;
  }

  // ---- snapshots for the REST API and metrics ---------------------------------------------

  /** Routes with all their paths, optionally filtered by exact prefix, contributing peer and family. */
  listRoutes(filter: RouteFilter = {}): RouteView[] {
    const views: RouteView[] = [];
    const push = (dest: Dest | undefined) => {
      if (dest === undefined || (filter.family !== undefined && dest.family !== filter.family)) return;
      const view = routeView(dest, filter.peer);
      if (view !== null) views.push(view);
    };
    if (filter.prefix !== undefined) {
      const prefix = canonicalPrefix(filter.prefix);
      if (prefix !== null) push(this.#dests.get(prefix));
    } else {
      for (const dest of this.#dests.values()) push(dest);
    }
    return views;
  }

  /** The Loc-RIB entry of one prefix (live object: read only). */
  getDest(prefix: string): Dest | undefined {
    return this.#dests.get(prefix);
  }

  peerStats(id: string): PeerStats {
    const peer = this.#peer(id);
    let advertised = 0;
    for (const out of this.#outsByPeer.get(peer)?.values() ?? []) advertised += out.sent.size;
    return {
      id: peer.id,
      isUp: peer.isUp,
      received: peer.received,
      accepted: peer.accepted,
      advertised,
      endOfRibReceived: [...peer.endOfRibReceived],
    };
  }

  /** The Adj-RIB-Out of one peer: prefix → exported attribute set, as the peer has been sent. */
  advertised(peerId: string, family: Family): ReadonlyMap<string, AttrSet> {
    return this.#outsByPeer.get(this.#peer(peerId))?.get(family)?.sent ?? new Map();
  }

  get peerIds(): string[] {
    return [...this.#peers.keys()];
  }

  /** Number of prefixes in the Loc-RIB (with at least one path, eligible or not). */
  get prefixCount(): number {
    return this.#dests.size;
  }

  /** Number of interned received/local attribute sets (metric; the benchmark checks it). */
  get attrSetCount(): number {
    return this.#store.size;
  }

  /** Number of interned exported attribute sets held by Adj-RIBs-Out. */
  get exportAttrSetCount(): number {
    return this.#exportStore.size;
  }

  #peer(id: string): PeerState {
    const peer = this.#peers.get(id);
    if (peer === undefined) throw invalid(`peer ${id} is not configured`);
    return peer;
  }
}

function sameMultipath(a: readonly Path[] | null, b: readonly Path[] | null): boolean {
  if (a === b) return true;
  if (a === null || b === null || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
