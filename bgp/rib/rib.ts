// The RIB: Adj-RIBs-In, Loc-RIB and decision process, local routes, Adj-RIBs-Out.
//
// One owner mutates it, synchronously, so no change is ever seen half-applied: the speaker calls
// `applyUpdate` for each decoded UPDATE, `peerUp`/`peerDown` on session transitions, and pulls
// outgoing changes with `takePending` when the socket can take more. It never does I/O, never uses
// timers and never logs; it reports through two callbacks given at construction.
//
// Storage: the Loc-RIB (loc-rib.ts) holds, per family, every path of every prefix — the
// Adj-RIBs-In are the per-peer paths of its entries — so a peer going down walks the tables
// once (BIRD's table flush does the same).
//
// For a full-table peer that walk, done in one go, holds the event loop long enough to delay other
// sessions' keepalives. So `peerDown`/`removePeer` can defer it (`{ isDeferred: true }`): the peer
// is down at once (no more UPDATEs, its Adj-RIBs-Out gone) and its paths leave the table in bounded
// steps, `flush(budget)`, which the owner calls between event-loop turns — BIRD prunes a flushed
// protocol's routes the same way (`rt_prune_table`, a limited number per event). Until the walk
// reaches them the old paths stay eligible, so every intermediate state is one the synchronous
// flush would also pass through, and the end state is the same.
//
// Attribute sets are interned and paths looked up once per UPDATE block, not per prefix; a
// best-path change builds the bestPathChanged event (and the prefix text in it) only when a
// listener is set.

import { BgpError } from '../errors.ts';
import { formatPrefix } from '../wire/prefix-list.ts';
import type { Family, PathAttributes, UpdateMessage } from '../wire/types.ts';
import { Afi, Origin, Safi } from '../wire/types.ts';
import { AdjRibOut, EMPTY_BATCH, type LocRibTable, type PendingBatch, type SentPath } from './adj-rib-out.ts';
import { type AttrSet, AttrStore } from './attrs.ts';
import { type ExportContext, exportPath } from './export.ts';
import { checkImport, type ImportContext } from './import-checks.ts';
import { RouteListing } from './listing.ts';
import { LocRib, type LocRibChange } from './loc-rib.ts';
import type { BestPathChanged, LocalRoute, PeerSession, RibPeer } from './model.ts';
import { type Dest, type Path, PeerState } from './model.ts';
import { canonicalPrefix, isIpv4Address, isIpv6Address } from './prefix.ts';
import type { TableCursor } from './prefix-table.ts';
import type { PeerStats, RouteFilter, RouteView } from './snapshot.ts';

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

/** `peerDown` / `removePeer` options. */
export interface PeerDownOptions {
  /**
   * Remove the peer's paths later, in `flush(budget)` steps, instead of walking the whole table
   * now (see the file header). Default false.
   */
  readonly isDeferred?: boolean;
}

/** A deferred flush: a live cursor over the Loc-RIB tables removing one down peer's paths. */
interface PendingFlush {
  readonly peer: PeerState;
  /** Families whose table the cursor has yet to walk, the current one first. */
  readonly families: Family[];
  cursor: TableCursor | null;
  /** `removePeer`: the peer is forgotten once its paths are gone. */
  isRemoval: boolean;
}

const FAMILIES: readonly Family[] = ['ipv4-unicast', 'ipv6-unicast'];

/** ADD-PATH send: the path identifier of locally originated routes (one per prefix). */
export const LOCAL_PATH_ID = 1;
/** ADD-PATH send: learned paths get identifiers from here on. */
const FIRST_LEARNED_PATH_ID = 2;

/** The default number of prefixes one `takePending` call examines. */
export const DEFAULT_TAKE_BUDGET = 4096;

function familyOf(afi: number, safi: number): Family | undefined {
  if (safi !== Safi.unicast) return undefined;
  return afi === Afi.ipv4 ? 'ipv4-unicast' : afi === Afi.ipv6 ? 'ipv6-unicast' : undefined;
}

const invalid = (message: string): BgpError => new BgpError('BGP_ERR_INVALID_CONFIG', message);

export class Rib {
  readonly #loc: LocRib;
  /** The Loc-RIB's tables, per family (loc-rib.ts). */
  readonly #tables: Readonly<Record<Family, LocRibTable>>;
  readonly #peers = new Map<string, PeerState>();
  /** Established sessions' Adj-RIBs-Out, per family: what a best-path change must mark. */
  readonly #outs: Record<Family, AdjRibOut[]> = { 'ipv4-unicast': [], 'ipv6-unicast': [] };
  readonly #outsByPeer = new Map<PeerState, Map<Family, AdjRibOut>>();
  readonly #local = new Map<string, Path>();
  readonly #store = new AttrStore();
  readonly #exportStore = new AttrStore();
  readonly #importContext: ImportContext;
  readonly #clusterId: string;
  readonly #listing: RouteListing;
  /** Deferred flushes, oldest first (`flush`). */
  readonly #flushes: PendingFlush[] = [];
  #onBestPathChanged: ((event: BestPathChanged) => void) | undefined;
  readonly #onExportPending: ((peerId: string, family: Family) => void) | undefined;
  #clientCount = 0;
  /** ADD-PATH send identifiers: the next never used one, and freed ones (`pathIdOf`). */
  #nextPathId = FIRST_LEARNED_PATH_ID;
  readonly #freePathIds: number[] = [];

  constructor(options: RibOptions) {
    if (!isIpv4Address(options.routerId)) throw invalid(`routerId ${options.routerId} is not a dotted quad`);
    this.#clusterId = options.clusterId ?? options.routerId;
    if (!isIpv4Address(this.#clusterId)) throw invalid(`clusterId ${this.#clusterId} is not a dotted quad`);
    const maxPaths = options.maxPaths ?? 1;
    if (!Number.isInteger(maxPaths) || maxPaths < 1) throw invalid(`maxPaths must be a positive integer`);
    const decision = { alwaysCompareMed: options.alwaysCompareMed ?? false, maxPaths };
    this.#loc = new LocRib(this.#store, decision, this.#bestChanged, this.#watchesNew, this.#pathsChanged);
    this.#tables = this.#loc.tables;
    this.#listing = new RouteListing(this.#tables);
    this.#importContext = { routerId: options.routerId, clusterId: this.#clusterId };
    this.#onBestPathChanged = options.onBestPathChanged;
    this.#onExportPending = options.onExportPending;
  }

  /**
   * Sets or (undefined) removes the bestPathChanged callback after construction. Without one a
   * best-path change allocates nothing: the speaker sets it only while somebody listens.
   */
  setBestPathListener(listener: ((event: BestPathChanged) => void) | undefined): void {
    this.#onBestPathChanged = listener;
  }

  // ---- peers ------------------------------------------------------------------------------

  /** Registers a neighbour (session down). Throws BGP_ERR_INVALID_CONFIG on a bad or duplicate peer. */
  addPeer(peer: RibPeer): void {
    // A peer whose deferred removal is still running is gone as far as callers know.
    const removing = this.#flushes.find((f) => f.isRemoval && f.peer.id === peer.id);
    if (removing !== undefined) this.#completeFlush(removing);
    if (this.#peers.has(peer.id)) throw invalid(`peer ${peer.id} is already configured`);
    for (const [name, asn] of [
      ['asn', peer.asn],
      ['localAsn', peer.localAsn],
    ] as const) {
      if (!Number.isInteger(asn) || asn < 1 || asn > 0xffffffff)
        throw invalid(`peer ${peer.id}: bad ${name}`);
    }
    // localAddressV4 is our next hop for IPv4 routes: IPv6 on an RFC 8950 session (§4).
    if (
      peer.localAddressV4 !== undefined &&
      !isIpv4Address(peer.localAddressV4) &&
      !isIpv6Address(peer.localAddressV4)
    ) {
      throw invalid(`peer ${peer.id}: localAddressV4 ${peer.localAddressV4} is not an IP address`);
    }
    if (peer.localAddressV6 !== undefined && !isIpv6Address(peer.localAddressV6)) {
      throw invalid(`peer ${peer.id}: localAddressV6 ${peer.localAddressV6} is not an IPv6 address`);
    }
    const state = PeerState.create(peer);
    if (state === null) throw invalid(`peer ${peer.id}: address ${peer.address} is not an IP address`);
    this.#peers.set(peer.id, state);
    if (state.isRouteReflectorClient) this.#clientCount++;
  }

  /**
   * Removes a neighbour; its paths are withdrawn first (as by `peerDown`). Deferred: the peer is
   * down at once and forgotten when `flush` has removed its paths (`hasPeer` turns false).
   */
  removePeer(id: string, options: PeerDownOptions = {}): void {
    const peer = this.#peer(id);
    if (peer.isUp || peer.received > 0) this.peerDown(id, options);
    const pending = this.#flushes.find((f) => f.peer === peer);
    if (pending !== undefined) {
      pending.isRemoval = true;
      return;
    }
    this.#forgetPeer(peer);
  }

  #forgetPeer(peer: PeerState): void {
    for (const id of peer.sendPathIds.values()) this.#freePathIds.push(id);
    peer.sendPathIds.clear();
    this.#peers.delete(peer.id);
    if (peer.isRouteReflectorClient) this.#clientCount--;
  }

  /** The session reached Established: records the peer's identity and starts the initial dump. */
  peerUp(id: string, session: PeerSession): void {
    const peer = this.#peer(id);
    if (peer.isUp) this.peerDown(id);
    // The new session's paths must not meet the old session's cursor.
    const pending = this.#flushes.find((f) => f.peer === peer);
    if (pending !== undefined) this.#completeFlush(pending);
    peer.setRouterId(session.routerId);
    const negotiated = session.families ?? [...peer.configuredFamilies];
    peer.families = new Set(negotiated.filter((f) => peer.configuredFamilies.has(f)));
    peer.isUp = true;
    const outs = new Map<Family, AdjRibOut>();
    for (const family of peer.families) {
      const out = new AdjRibOut(peer, family, this.#tables[family]);
      outs.set(family, out);
      this.#outs[family].push(out);
    }
    this.#outsByPeer.set(peer, outs);
    for (const family of peer.families) this.#onExportPending?.(peer.id, family);
  }

  /**
   * The session went down: its Adj-RIB-In is flushed (now, or deferred to `flush`) and its
   * Adj-RIB-Out forgotten.
   */
  peerDown(id: string, options: PeerDownOptions = {}): void {
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
    peer.endOfRibReceived.clear();
    let pending = this.#flushes.find((f) => f.peer === peer);
    if (pending === undefined) {
      if (peer.received === 0) return;
      // Table cursors are live: prefixes added meanwhile are visited (they cannot hold this
      // peer's paths: it sends nothing while down), deleted ones skipped, and deleting or
      // replacing the current entry is safe.
      pending = { peer, families: [...FAMILIES], cursor: null, isRemoval: false };
      this.#flushes.push(pending);
    }
    if (options.isDeferred !== true) this.#completeFlush(pending);
  }

  /**
   * Advances the deferred flushes by at most `budget` Loc-RIB entries; true while work is left.
   * Best-path changes and withdrawals come out as the paths go, exactly as from a synchronous
   * `peerDown`.
   */
  flush(budget: number): boolean {
    let left = Math.max(1, budget);
    while (left > 0 && this.#flushes.length > 0) {
      const pending = this.#flushes[0] as PendingFlush;
      left -= this.#stepFlush(pending, left);
    }
    return this.#flushes.length > 0;
  }

  /** True while deferred flushes are left (`flush`). */
  get hasPendingFlush(): boolean {
    return this.#flushes.length > 0;
  }

  #completeFlush(pending: PendingFlush): void {
    while (this.#flushes.includes(pending)) this.#stepFlush(pending, Number.POSITIVE_INFINITY);
  }

  /** Walks up to `budget` entries of one flush; returns how many it examined. */
  #stepFlush(pending: PendingFlush, budget: number): number {
    const peer = pending.peer;
    let examined = 0;
    // The counter says when the last path is gone: the rest of the table need not be walked.
    while (examined < budget && peer.received > 0) {
      const family = pending.families[0];
      if (family === undefined) break;
      const table = this.#tables[family];
      pending.cursor ??= table.cursor();
      const i = pending.cursor.next();
      if (i < 0) {
        pending.cursor.close();
        pending.cursor = null;
        pending.families.shift();
        continue;
      }
      examined++;
      this.#loc.removePeerPaths(table, family, i, peer);
    }
    if (peer.received > 0 && examined === budget) return examined;
    pending.cursor?.close();
    this.#flushes.splice(this.#flushes.indexOf(pending), 1);
    peer.paths.clear();
    // The identifiers may serve other paths now: a prefix still advertised with one of them
    // is re-evaluated from its dirty mark, and the same identifier with other attributes is
    // an implicit replace (RFC 7911 §3), which is what the peer must see.
    for (const id of peer.sendPathIds.values()) this.#freePathIds.push(id);
    peer.sendPathIds.clear();
    peer.received = 0;
    peer.receivedV6 = 0;
    peer.accepted = 0;
    if (pending.isRemoval) this.#forgetPeer(peer);
    // A safe point to give back the room of the removed entries (nobody holds an index).
    for (const f of FAMILIES) this.#tables[f].compact();
    return Math.max(1, examined);
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
      this.#loc.withdrawBlock(peer, family, block.prefixes, block.pathIds);
    }
    if (update.endOfRib !== undefined) peer.endOfRibReceived.add(update.endOfRib);
    for (const block of update.reach) {
      const family = familyOf(block.afi, block.safi);
      if (family === undefined || !peer.families.has(family)) continue;
      const ids = block.pathIds;
      const list = block.prefixes;
      if (update.treatAsWithdraw !== undefined) {
        // RFC 7606 §2: every prefix of the UPDATE is handled as withdrawn.
        this.#loc.withdrawBlock(peer, family, list, ids);
        continue;
      }
      const set = this.#store.intern(update.attributes, block.nextHop, block.linkLocalNextHop);
      this.#loc.announceBlock(peer, family, list, ids, set, checkImport(set, peer, this.#importContext));
      this.#store.releaseIfUnused(set);
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
    const path = this.#loc.setLocal(prefix, current, set);
    if (path === undefined) this.#local.delete(prefix);
    else this.#local.set(prefix, path);
  }

  /**
   * Reports a changed best path of the prefix at `words[at]`/`len` to the listener and the
   * Adj-RIBs-Out; `entry` is its live Loc-RIB entry index, -1 when the change removed it.
   */
  readonly #bestChanged: LocRibChange = (family, words, at, len, entry, best, multipath, reason) => {
    const listener = this.#onBestPathChanged;
    if (listener !== undefined) {
      listener({
        type: 'bestPathChanged',
        prefix: formatPrefix(family === 'ipv4-unicast' ? 1 : 4, words, at, len),
        family,
        best,
        multipath: best === null ? [] : (multipath ?? [best]),
        reason,
      });
    }
    const outs = this.#outs[family];
    for (let k = 0; k < outs.length; k++) {
      const out = outs[k] as AdjRibOut;
      if (out.mark(words, at, len, entry, best)) this.#onExportPending?.(out.peer.id, out.family);
    }
  };

  /** Paths of a prefix changed, its best path and ECMP set did not: only ADD-PATH sessions care. */
  readonly #pathsChanged = (family: Family, words: Uint32Array, at: number, len: number, entry: number) => {
    const outs = this.#outs[family];
    for (let k = 0; k < outs.length; k++) {
      const out = outs[k] as AdjRibOut;
      if (out.isAddPath && out.mark(words, at, len, entry, null))
        this.#onExportPending?.(out.peer.id, family);
    }
  };

  /**
   * ADD-PATH send: the path identifier of `path` towards every peer, stable while its source
   * session lasts — LOCAL_PATH_ID for a local route, otherwise one allocated per (source
   * peer, received path identifier) and freed when that peer's paths are flushed.
   */
  readonly #pathIdOf = (path: Path): number => {
    const peer = path.peer;
    if (peer === null) return LOCAL_PATH_ID;
    let id = peer.sendPathIds.get(path.pathId);
    if (id === undefined) {
      id = this.#freePathIds.pop() ?? this.#nextPathId++;
      peer.sendPathIds.set(path.pathId, id);
    }
    return id;
  };

  /** Whether a prefix new to the Loc-RIB, with only `path`, must be reported (LocRib.announceBlock). */
  readonly #watchesNew = (family: Family, path: Path): boolean => {
    if (this.#onBestPathChanged !== undefined) return true;
    const outs = this.#outs[family];
    for (let k = 0; k < outs.length; k++) if ((outs[k] as AdjRibOut).marksNew(path)) return true;
    return false;
  };

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
    const batch = out.take(Math.max(1, budget), { store: exportStore, exportOf, pathIdOf: this.#pathIdOf });
    for (const bySet of cache.values()) {
      for (const set of bySet.values()) if (set !== null) exportStore.releaseIfUnused(set);
    }
    return batch;
  }

  /** RFC 2918 ROUTE-REFRESH: re-advertise the whole Adj-RIB-Out of one family. */
  refresh(peerId: string, family: Family): void {
    const peer = this.#peer(peerId);
    const out = this.#outsByPeer.get(peer)?.get(family);
    if (out?.resend()) this.#onExportPending?.(peer.id, family);
  }

  hasPending(peerId: string, family: Family): boolean {
    return this.#outsByPeer.get(this.#peer(peerId))?.get(family)?.hasPending ?? false;
  }

  /** True once the initial dump of this session and family was taken (End-of-RIB handed out). */
  isInitialDumpDone(peerId: string, family: Family): boolean {
    return this.#outsByPeer.get(this.#peer(peerId))?.get(family)?.isInitialDumpDone ?? false;
  }

  // ---- snapshots for the REST API and metrics ---------------------------------------------

  /**
   * Routes with all their paths, optionally filtered by exact prefix, contributing peers and
   * family, in Loc-RIB order; with `limit`/`after`, one page of a listing (listing.ts).
   * Throws BGP_ERR_INVALID_CONFIG for a bad `limit` or an `after` it cannot continue from.
   */
  listRoutes(filter: RouteFilter = {}): RouteView[] {
    return this.#listing.list(filter);
  }

  /**
   * The Loc-RIB entry of one prefix, read only: the stored Dest when the prefix has 2+ paths,
   * otherwise a detached Dest around its only path (a snapshot: it does not follow later changes).
   */
  getDest(prefix: string): Dest | undefined {
    return this.#loc.getDest(prefix);
  }

  peerStats(id: string): PeerStats {
    const peer = this.#peer(id);
    let advertised = 0;
    for (const out of this.#outsByPeer.get(peer)?.values() ?? []) advertised += out.sentCount;
    return {
      id: peer.id,
      isUp: peer.isUp,
      received: peer.received,
      receivedByFamily: { 'ipv4-unicast': peer.received - peer.receivedV6, 'ipv6-unicast': peer.receivedV6 },
      accepted: peer.accepted,
      advertised,
      endOfRibReceived: [...peer.endOfRibReceived],
    };
  }

  /**
   * The Adj-RIB-Out of one peer: prefix → exported attribute set, as the peer has been sent
   * (a copy, built on each call: O(prefixes)).
   */
  advertised(peerId: string, family: Family): ReadonlyMap<string, AttrSet> {
    const out = this.#outsByPeer.get(this.#peer(peerId))?.get(family);
    if (out?.isAddPath === true) {
      const first = new Map<string, AttrSet>();
      for (const [prefix, paths] of out.sentPaths.entries()) first.set(prefix, (paths[0] as SentPath).attrs);
      return first;
    }
    return new Map(out?.sent.entries() ?? []);
  }

  /**
   * The Adj-RIB-Out of one peer with every path: prefix → (path identifier, exported set) per
   * path. Without ADD-PATH send each prefix has one path, identifier 0. A copy: O(paths).
   */
  advertisedPaths(peerId: string, family: Family): ReadonlyMap<string, readonly SentPath[]> {
    const out = this.#outsByPeer.get(this.#peer(peerId))?.get(family);
    if (out === undefined) return new Map();
    if (out.isAddPath) return new Map(out.sentPaths.entries());
    const all = new Map<string, readonly SentPath[]>();
    for (const [prefix, attrs] of out.sent.entries()) all.set(prefix, [{ id: 0, attrs }]);
    return all;
  }

  /** False once a peer was removed (after its deferred flush, if any). */
  hasPeer(id: string): boolean {
    return this.#peers.has(id);
  }

  get peerIds(): string[] {
    return [...this.#peers.keys()];
  }

  /** Number of prefixes in the Loc-RIB (with at least one path, eligible or not). */
  get prefixCount(): number {
    return this.#loc.prefixCount;
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
