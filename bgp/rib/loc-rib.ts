// The Loc-RIB: per family, one PrefixTable from prefix to its only `Path`, or to a `Dest`
// holding every path when there are 2+ (model.ts), and the decision process that keeps each
// entry's best path. The Adj-RIBs-In are not separate tables but the per-peer paths of each
// entry, the way BIRD keeps all routes of a network in one `net` entry.
//
// Rib (rib.ts) owns peers, sessions, local-route configuration and the Adj-RIBs-Out; it drives
// this class and hears every change of a best path or ECMP set through `onChange`, with the
// prefix as packed key words (text is built only if a listener wants it).
//
// Hot path (`announceBlock` without ADD-PATH, prefixes new to the table): the table adds the
// block in one pass, one hash and one probe per prefix; the shared path's counters move once per
// block; no decision run, no allocation, and no per-prefix change report when nobody would act
// on it (`watchesNew`: no listener, and every Adj-RIB-Out would skip the prefix).

import { BgpError } from '../errors.ts';
import { PrefixList } from '../wire/prefix-list.ts';
import { Afi, type Family } from '../wire/types.ts';
import type { LocRibTable } from './adj-rib-out.ts';
import type { AttrSet, AttrStore } from './attrs.ts';
import { type Decision, type DecisionOptions, decide } from './decision.ts';
import type { BestReason, RejectReason } from './model.ts';
import { bestOfEntry, Dest, detachedDest, Path, type PeerState, singlePathReason } from './model.ts';
import { canonicalPrefix, familyOfPrefix } from './prefix.ts';
import { PrefixTable } from './prefix-table.ts';

/**
 * Whether adding a prefix whose only path is `path` must be reported through `LocRibChange`;
 * false lets a block of new prefixes skip the per-prefix calls.
 */
export type LocRibWatchesNew = (family: Family, path: Path) => boolean;

/**
 * A best path or ECMP set changed: the prefix is `words[at]`/`len`; `entry` is its live table
 * index, or -1 when the change removed it from the table.
 */
export type LocRibChange = (
  family: Family,
  words: Uint32Array,
  at: number,
  len: number,
  entry: number,
  best: Path | null,
  multipath: readonly Path[] | null,
  reason: BestReason | null,
) => void;

/**
 * Paths of a stored Dest changed without changing its best path or ECMP set (what ADD-PATH
 * send advertises changed all the same); the prefix and entry as in `LocRibChange`.
 */
export type LocRibPathsChange = (
  family: Family,
  words: Uint32Array,
  at: number,
  len: number,
  entry: number,
) => void;

export class LocRib {
  readonly tables: Readonly<Record<Family, LocRibTable>> = {
    'ipv4-unicast': new PrefixTable(Afi.ipv4, { isShared: isSharedEntry }),
    'ipv6-unicast': new PrefixTable(Afi.ipv6, { isShared: isSharedEntry }),
  };
  readonly #store: AttrStore;
  readonly #decision: DecisionOptions;
  readonly #changed: LocRibChange;
  readonly #watchesNew: LocRibWatchesNew;
  readonly #pathsChanged: LocRibPathsChange | undefined;
  #found = new Int32Array(1024);

  /**
   * `store` holds the received attribute sets; paths retain and release theirs in it. `onChange`
   * hears every change of a best path, except new prefixes that `watchesNew` declines.
   */
  constructor(
    store: AttrStore,
    decision: DecisionOptions,
    onChange: LocRibChange,
    watchesNew: LocRibWatchesNew = () => true,
    pathsChanged?: LocRibPathsChange,
  ) {
    this.#store = store;
    this.#decision = decision;
    this.#changed = onChange;
    this.#watchesNew = watchesNew;
    this.#pathsChanged = pathsChanged;
  }

  /** Number of prefixes (with at least one path, eligible or not). */
  get prefixCount(): number {
    return this.tables['ipv4-unicast'].size + this.tables['ipv6-unicast'].size;
  }

  /** The entry of one prefix (text, canonicalised): a stored Dest, or a detached one around its only path. */
  getDest(prefix: string): Dest | undefined {
    const canonical = canonicalPrefix(prefix);
    if (canonical === null) return undefined;
    const table = this.tables[familyOfPrefix(canonical)];
    const key = PrefixList.parse(table.afi, [canonical]);
    const entry = table.get(key.words, 0, key.lenAt(0));
    return entry === undefined || entry instanceof Dest ? entry : detachedDest(canonical, entry);
  }

  /**
   * Announces every prefix of `list` with attribute set `set` from `peer` (ADD-PATH path ids in
   * `ids`); `rejected` is the import checks' verdict on the set.
   */
  announceBlock(
    peer: PeerState,
    family: Family,
    list: PrefixList,
    ids: readonly number[] | undefined,
    set: AttrSet,
    rejected: RejectReason | undefined,
  ): void {
    const table = this.tableFor(family, list);
    const words = list.words;
    const lens = list.lens;
    const w = list.width;
    if (ids === undefined) {
      // Without ADD-PATH every prefix of the block gets the same shared path. New prefixes are
      // added in one pass (one hash and probe each); those already present go through `announce`.
      const path = this.pathOf(peer, set, family, 0, rejected);
      table.warm(list);
      const found = this.#scratch(list.length);
      const added = table.addAbsent(list, path, found);
      if (added > 0) {
        this.hold(path, added);
        if (path.rejected === undefined && this.#watchesNew(family, path)) {
          const reason = singlePathReason(path);
          for (let i = 0; i < list.length; i++) {
            const f = found[i] as number;
            if (f < 0) this.#changed(family, words, i * w, lens[i] as number, -f - 1, path, null, reason);
          }
        }
      }
      if (added < list.length) {
        for (let i = 0; i < list.length; i++) {
          const f = found[i] as number;
          if (f >= 0) this.announceAt(table, f, words, i * w, lens[i] as number, path);
        }
      }
      this.forgetIfUnused(path);
    } else {
      table.warm(list);
      for (let i = 0; i < list.length; i++) {
        const path = this.pathOf(peer, set, family, ids[i] ?? 0, rejected);
        this.announce(table, words, i * w, lens[i] as number, path);
        this.forgetIfUnused(path);
      }
    }
  }

  /** A scratch array of at least `n` entries for `addAbsent`. */
  #scratch(n: number): Int32Array {
    if (this.#found.length < n) this.#found = new Int32Array(Math.max(n, this.#found.length * 2));
    return this.#found;
  }

  withdrawBlock(peer: PeerState, family: Family, list: PrefixList, ids: readonly number[] | undefined): void {
    const table = this.tableFor(family, list);
    table.warm(list);
    const words = list.words;
    const lens = list.lens;
    const w = list.width;
    for (let i = 0; i < list.length; i++) {
      this.withdraw(table, family, peer, words, i * w, lens[i] as number, ids?.[i] ?? 0);
    }
  }

  /** The Loc-RIB table of `family`, checking that `list` holds prefixes of that family. */
  tableFor(family: Family, list: PrefixList): LocRibTable {
    const table = this.tables[family];
    if (list.afi !== table.afi) {
      throw new BgpError('BGP_ERR_INVALID_CONFIG', `${family} block carries AFI ${list.afi} prefixes`);
    }
    return table;
  }

  /** The peer's shared path for (set, family, path id), created on first use (model.ts). */
  pathOf(
    peer: PeerState,
    set: AttrSet,
    family: Family,
    pathId: number,
    rejected: RejectReason | undefined,
  ): Path {
    let list = peer.paths.get(set);
    if (list === undefined) {
      list = [];
      peer.paths.set(set, list);
    }
    for (let i = 0; i < list.length; i++) {
      const p = list[i] as Path;
      if (p.pathId === pathId && p.family === family) return p;
    }
    const path = new Path(peer, set, family, pathId, rejected);
    list.push(path);
    return path;
  }

  /** Drops a shared path from its peer's cache once no prefix holds it. */
  forgetIfUnused(path: Path): void {
    const peer = path.peer;
    if (path.refs > 0 || peer === null) return;
    const list = peer.paths.get(path.attrs);
    if (list === undefined) return;
    const i = list.indexOf(path);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) peer.paths.delete(path.attrs);
  }

  announce(table: LocRibTable, words: Uint32Array, at: number, len: number, path: Path): void {
    const i = table.find(words, at, len);
    if (i < 0) {
      // Fast path: a new prefix with one path needs no decision process and no object.
      const added = table.add(words, at, len, path);
      this.hold(path);
      if (path.rejected === undefined)
        this.#changed(path.family, words, at, len, added, path, null, singlePathReason(path));
      return;
    }
    this.announceAt(table, i, words, at, len, path);
  }

  /** `announce` for a prefix present at entry i. */
  announceAt(table: LocRibTable, i: number, words: Uint32Array, at: number, len: number, path: Path): void {
    const entry = table.valueAt(i);
    // An UPDATE replaces the sender's previous path for the prefix (RFC 4271 §3.1); an
    // identical re-announcement (the same shared path) changes nothing.
    if (entry instanceof Dest) {
      const paths = entry.paths as Path[];
      const index = indexOfPath(paths, path.peer, path.pathId);
      const old = index < 0 ? undefined : (paths[index] as Path);
      if (old === path) return;
      this.hold(path);
      if (old === undefined) {
        paths.push(path);
      } else {
        paths[index] = path;
        this.drop(old);
      }
      this.#recompute(table, i, entry);
      return;
    }
    const only = entry;
    if (only === path) return;
    this.hold(path);
    if (only.peer === path.peer && only.pathId === path.pathId) {
      table.setAt(i, path);
      this.drop(only);
      const before = bestOfEntry(only);
      const after = bestOfEntry(path);
      if (before !== after) {
        const reason = after === null ? null : singlePathReason(after);
        this.#changed(path.family, words, at, len, i, after, null, reason);
      }
      return;
    }
    // A second path: the prefix gets a Dest, which starts out as the single path's state.
    const dest = new Dest(table.prefixAt(i), only.family);
    dest.paths = [only, path];
    dest.best = bestOfEntry(only);
    dest.reason = dest.best === null ? null : singlePathReason(only);
    table.setAt(i, dest);
    this.#recompute(table, i, dest);
  }

  withdraw(
    table: LocRibTable,
    family: Family,
    peer: PeerState,
    words: Uint32Array,
    at: number,
    len: number,
    pathId: number,
  ): void {
    const i = table.find(words, at, len);
    if (i < 0) return;
    const entry = table.valueAt(i);
    if (!(entry instanceof Dest)) {
      if (entry.peer !== peer || entry.pathId !== pathId) return;
      table.deleteAt(i);
      this.drop(entry);
      if (entry.rejected === undefined) this.#changed(family, words, at, len, -1, null, null, null);
      return;
    }
    const paths = entry.paths as Path[];
    const k = indexOfPath(paths, peer, pathId);
    if (k < 0) return;
    this.drop(paths[k] as Path);
    paths.splice(k, 1);
    this.#recompute(table, i, entry);
  }

  removePeerPaths(table: LocRibTable, family: Family, i: number, peer: PeerState): void {
    const entry = table.valueAt(i);
    if (!(entry instanceof Dest)) {
      if (entry.peer !== peer) return;
      // The key words stay readable after deleteAt (only a rebuild moves them).
      const words = table.keys;
      const len = table.lenAt(i);
      table.deleteAt(i);
      this.drop(entry);
      if (entry.rejected === undefined)
        this.#changed(family, words, i * table.width, len, -1, null, null, null);
      return;
    }
    const paths = entry.paths as Path[];
    const kept = paths.filter((p) => p.peer !== peer);
    if (kept.length === paths.length) return;
    for (const p of paths) if (p.peer === peer) this.drop(p);
    entry.paths = kept;
    this.#recompute(table, i, entry);
  }

  /** A prefix now holds `path`: reference counts and the peer's counters. */
  hold(path: Path, count = 1): void {
    path.refs += count;
    this.#store.retain(path.attrs, count);
    const peer = path.peer;
    if (peer === null) return;
    peer.received += count;
    if (path.family === 'ipv6-unicast') peer.receivedV6 += count;
    if (path.rejected === undefined) peer.accepted += count;
  }

  /** A prefix no longer holds `path`. */
  drop(path: Path): void {
    path.refs--;
    this.#store.release(path.attrs);
    const peer = path.peer;
    if (peer === null) return;
    peer.received--;
    if (path.family === 'ipv6-unicast') peer.receivedV6--;
    if (path.rejected === undefined) peer.accepted--;
    if (path.refs === 0) this.forgetIfUnused(path);
  }

  /**
   * Runs the decision process for a stored Dest whose paths changed, and reports a change of
   * best path or ECMP set. With fewer than two paths left the prefix goes back to the compact
   * form (its only path, or nothing).
   */
  #recompute(table: LocRibTable, i: number, dest: Dest): void {
    const paths = dest.paths as Path[];
    const before = dest.best;
    const beforeMultipath = dest.multipath;
    const words = table.keys;
    const at = i * table.width;
    const len = table.lenAt(i);
    if (paths.length < 2) {
      const only = paths[0];
      if (only === undefined) table.deleteAt(i);
      else table.setAt(i, only);
      const after = only === undefined ? null : bestOfEntry(only);
      if (after !== before || beforeMultipath !== null) {
        const reason = after === null ? null : singlePathReason(after);
        this.#changed(dest.family, words, at, len, only === undefined ? -1 : i, after, null, reason);
      } else {
        this.#pathsChanged?.(dest.family, words, at, len, only === undefined ? -1 : i);
      }
      return;
    }
    const d: Decision = decide(paths, this.#decision);
    dest.reason = d.reason;
    if (d.best === before && sameMultipath(d.multipath, beforeMultipath)) {
      this.#pathsChanged?.(dest.family, words, at, len, i);
      return;
    }
    dest.best = d.best;
    dest.multipath = d.multipath;
    this.#changed(dest.family, words, at, len, i, d.best, d.multipath, d.reason);
  }

  setLocal(prefix: string, current: Path | undefined, set: AttrSet | null): Path | undefined {
    const family = familyOfPrefix(prefix);
    const table = this.tables[family];
    const key = PrefixList.parse(table.afi, [prefix]);
    const len = key.lenAt(0);
    let i = table.find(key.words, 0, len);
    const entry = i < 0 ? undefined : table.valueAt(i);
    let paths: Path[] =
      entry === undefined ? [] : entry instanceof Dest ? [...(entry.paths as Path[])] : [entry];
    if (current !== undefined) {
      paths = paths.filter((p) => p !== current);
      this.drop(current);
    }
    let local: Path | undefined;
    if (set !== null) {
      local = new Path(null, set, family, 0, undefined);
      this.hold(local);
      paths.push(local);
    }
    // Through a Dest (reusing the stored one): `#recompute` compares with the state before
    // and stores the compact form again when one path is left.
    let dest: Dest;
    if (entry instanceof Dest) {
      dest = entry;
    } else {
      dest = new Dest(prefix, family);
      if (entry !== undefined) {
        dest.best = bestOfEntry(entry);
        dest.reason = dest.best === null ? null : singlePathReason(entry);
      }
      if (i < 0) i = table.add(key.words, 0, len, dest);
      else table.setAt(i, dest);
    }
    dest.paths = paths;
    this.#recompute(table, i, dest);
    return local;
  }
}

/** A table value held by many prefixes: a peer's shared path, not a prefix's own Dest. */
function isSharedEntry(value: Path | Dest): boolean {
  return !(value instanceof Dest);
}

function sameMultipath(a: readonly Path[] | null, b: readonly Path[] | null): boolean {
  if (a === b) return true;
  if (a === null || b === null || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function indexOfPath(paths: readonly Path[], peer: PeerState | null, pathId: number): number {
  for (let i = 0; i < paths.length; i++) {
    const p = paths[i] as Path;
    if (p.peer === peer && p.pathId === pathId) return i;
  }
  return -1;
}
