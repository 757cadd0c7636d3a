// Adj-RIB-Out of one peer and one family: what we have told the peer, and what changed since.
//
// Nothing is queued per change, so a slow peer never makes a queue grow without bound (GoBGP's
// unbounded channel is the counter-example). The RIB only marks a prefix dirty; when the socket can
// take more, the speaker pulls a batch and only then is the export computed from the *current* best
// path and compared with what was last sent. That gives coalescing for free: a prefix that changed
// ten times is evaluated once; an announce then withdraw of a never-sent prefix yields nothing; a
// withdraw of a sent one yields a withdraw.
//
// The initial table dump (and a route-refresh resend) is a cursor over the family's Loc-RIB
// table instead of a million-entry dirty set: table cursors are live (entries added later are
// visited, deleted ones skipped; prefix-table.ts), so changes racing the dump are either seen by
// the cursor or marked dirty, and each is evaluated against `sent` anyway. When the initial
// cursor is done, the batch carries `endOfRib` once (RFC 4724 §2).
//
// Prefixes are packed keys throughout (`sent` and `dirty` are PrefixTables, batches are
// PrefixLists): a session's full table costs no string per prefix, here or in the packer.
// Two shortcuts keep a full table's worth of changes cheap:
// - A change to a Loc-RIB entry the dump cursor has not reached yet is not marked at all: the
//   cursor will evaluate it (new prefixes are appended, so during an initial dump that is every
//   prefix learned meanwhile). A removed entry is always marked: the cursor skips holes.
// - Evaluated dirty entries are not deleted one by one (a deletion is a random memory access
//   per prefix): the dirty cursor's position says which are done, a done prefix marked again
//   is moved to the end, and the set is cleared at once when nothing is pending.
//
// Announcements in a batch are grouped by the interned exported attribute set, so the packer
// puts every prefix of a group into shared UPDATEs (BIRD's `bgp_bucket`).
//
// ADD-PATH send (RFC 7911, negotiated for the peer and family): the peer is sent every path of a
// prefix that the export rules allow to it — like BIRD's `add paths tx`, not only the ECMP set —
// so a route reflector's client sees every next hop and runs its own decision and ECMP over them.
// The rules apply per path (a client's own path is not sent back to it, iBGP split horizon and
// RFC 4456 §6 reflection per source). Paths whose exported attributes come out equal (e.g. with
// `nextHopSelf`) are sent once, the best path's first. Each path goes out with the identifier the
// RIB gives its (source peer, received path identifier) (Rib.pathIdOf): stable while the source's
// session lasts, so a changed path replaces the one the peer has (§3, implicit replace) and a
// path that goes away is withdrawn by its identifier. `sentPaths` then holds, per prefix, the
// (identifier, exported set) pairs the peer has; the changes are computed the same lazy way.

import { afiOf } from '../wire/family.ts';
import { PrefixList } from '../wire/prefix-list.ts';
import type { Family } from '../wire/types.ts';
import type { AttrSet, AttrStore } from './attrs.ts';
import { bestOfEntry, Dest, type Path, type PeerState } from './model.ts';
import { PrefixTable, type TableCursor } from './prefix-table.ts';

/** Prefixes to announce with the same exported attributes (`attrs.attrs` + `attrs.nextHop`). */
export interface AnnounceGroup {
  readonly attrs: AttrSet;
  readonly prefixes: PrefixList;
  /** ADD-PATH send: the path identifier of each prefix (a prefix may appear once per path). */
  readonly pathIds?: readonly number[];
}

/** ADD-PATH send: one path of a prefix as the peer has it. */
export interface SentPath {
  /** RFC 7911 path identifier. */
  readonly id: number;
  readonly attrs: AttrSet;
}

/** One pull from an Adj-RIB-Out. */
export interface PendingBatch {
  readonly withdrawn: PrefixList;
  /** ADD-PATH send: the path identifier of each withdrawn prefix. */
  readonly withdrawnPathIds?: readonly number[];
  readonly announced: readonly AnnounceGroup[];
  /** RFC 4724: the initial dump is complete; send End-of-RIB after this batch's routes. */
  readonly endOfRib: boolean;
  /** More work is pending: pull again (after yielding to the event loop). */
  readonly hasMore: boolean;
}

/** The withdrawals of a batch without any (shared: never pushed to). */
const NO_PREFIXES = new PrefixList(1, 1);

export const EMPTY_BATCH: PendingBatch = Object.freeze({
  withdrawn: NO_PREFIXES,
  announced: [],
  endOfRib: false,
  hasMore: false,
});

/** What a take needs from the RIB. */
export interface TakeContext {
  readonly store: AttrStore;
  /** The interned exported set for a best path, or null when it is not advertised to this peer. */
  readonly exportOf: (path: Path) => AttrSet | null;
  /** ADD-PATH send: the path identifier a path is advertised with (stable per source path). */
  readonly pathIdOf: (path: Path) => number;
}

const NO_SENT_PATHS: readonly SentPath[] = Object.freeze([]);

/** The Loc-RIB table of one family: a prefix's Dest, or its only path (model.ts). */
export type LocRibTable = PrefixTable<Path | Dest>;

export class AdjRibOut {
  readonly peer: PeerState;
  readonly family: Family;
  /** What the peer has been sent (and not withdrawn): prefix → exported attribute set. */
  readonly sent: PrefixTable<AttrSet>;
  /** ADD-PATH send is in force: `sentPaths` is used instead of `sent` (see the file header). */
  readonly isAddPath: boolean;
  /** ADD-PATH send: prefix → the paths the peer has; empty without ADD-PATH. */
  readonly sentPaths: PrefixTable<readonly SentPath[]>;
  /** Prefixes whose best path changed, in mark order; those before the cursor are done. */
  readonly #dirty: PrefixTable<true>;
  /** Where the next take resumes in `#dirty`: everything before it has been evaluated. */
  readonly #dirtyCursor: TableCursor;
  /** Dirty prefixes not evaluated yet (at or after the cursor). */
  #pending = 0;
  readonly #table: LocRibTable;
  /** A walk over the whole Loc-RIB table: the initial dump or a route-refresh resend. */
  #cursor: TableCursor | null;
  /** Route refresh (RFC 2918): the cursor re-announces entries even when unchanged. */
  #isResend = false;
  #hasSentEndOfRib = false;
  /** The last take reported nothing more; the next mark must notify the speaker. */
  #isIdle = false;

  /** `table` is the Loc-RIB table of `family`. */
  constructor(peer: PeerState, family: Family, table: LocRibTable) {
    this.peer = peer;
    this.family = family;
    const afi = afiOf(family);
    this.sent = new PrefixTable(afi);
    this.isAddPath = peer.addPathSend.has(family);
    // Each prefix has its own array: kept per entry, not interned as a shared value.
    this.sentPaths = new PrefixTable(afi, { isShared: () => false });
    this.#dirty = new PrefixTable(afi);
    this.#dirtyCursor = this.#dirty.cursor();
    this.#table = table;
    this.#cursor = table.cursor();
  }

  /** Prefixes the peer has been sent (with ADD-PATH: prefixes with at least one path). */
  get sentCount(): number {
    return this.isAddPath ? this.sentPaths.size : this.sent.size;
  }

  get isInitialDumpDone(): boolean {
    return this.#hasSentEndOfRib;
  }

  get hasPending(): boolean {
    return this.#cursor !== null || this.#pending > 0 || !this.#hasSentEndOfRib;
  }

  /** Restarts the full walk and re-sends every route (RFC 2918 ROUTE-REFRESH). */
  resend(): boolean {
    this.#cursor?.close();
    this.#cursor = this.#table.cursor();
    this.#isResend = true;
    return this.#wake();
  }

  /**
   * Records that the best path of the prefix at `words[at]`/`len` changed; `entry` is its live
   * Loc-RIB entry index, or -1 when the change removed it from the table. Returns true when the
   * speaker must be told that this Adj-RIB-Out has work again (it had reported itself drained).
   */
  mark(words: ArrayLike<number>, at: number, len: number, entry: number, best: Path | null): boolean {
    // The dump cursor has yet to reach the entry: it will evaluate it (see the file header).
    if (entry >= 0 && this.#cursor !== null && entry >= this.#cursor.pos) return false;
    // Nothing was sent and the new best is not exportable to this peer anyway (its own path, or
    // none): skip. An earlier dirty mark, if any, stays and is evaluated at take time.
    // (The peer test first: on a session's own full table it decides without a lookup.)
    // With ADD-PATH the other paths count too: only a removed prefix never sent is skipped.
    if (this.isAddPath) {
      if (entry < 0 && (this.sentPaths.size === 0 || this.sentPaths.find(words, at, len) < 0)) return false;
    } else if (
      (best === null || best.peer === this.peer) &&
      (this.sent.size === 0 || this.sent.find(words, at, len) < 0)
    )
      return false;
    const dirty = this.#dirty;
    const d = dirty.find(words, at, len);
    if (d >= 0) {
      if (d >= this.#dirtyCursor.pos) return this.#wake();
      dirty.deleteAt(d);
    }
    dirty.add(words, at, len, true);
    this.#pending++;
    return this.#wake();
  }

  /**
   * Whether a prefix just added to the Loc-RIB with `best` as its only path must be marked.
   * False lets the Loc-RIB skip reporting a block of new prefixes one by one:
   * - the dump cursor has yet to reach them (new entries are appended after it), or
   * - the path is the peer's own, so it is not exported to the peer, and there is nothing to
   *   withdraw: a prefix absent from the Loc-RIB but still in `sent` is already pending in
   *   `#dirty`, because its removal marked it (`mark` with entry −1 always marks a sent prefix)
   *   and only evaluating it takes it out of `sent`.
   */
  marksNew(best: Path): boolean {
    return this.#cursor === null && best.peer !== this.peer;
  }

  /** The dump cursor evaluates a prefix: a pending dirty mark of it is done. */
  #unmark(words: Uint32Array, at: number, len: number): void {
    const d = this.#dirty.find(words, at, len);
    if (d < 0 || d < this.#dirtyCursor.pos) return;
    this.#dirty.deleteAt(d);
    this.#pending--;
  }

  #wake(): boolean {
    if (!this.#isIdle) return false;
    this.#isIdle = false;
    return true;
  }

  /** Releases every sent entry and stops (session down). */
  clear(store: AttrStore): void {
    const sent = this.sent;
    for (let i = sent.nextLive(0); i >= 0; i = sent.nextLive(i + 1)) store.release(sent.valueAt(i));
    sent.clear();
    const paths = this.sentPaths;
    for (let i = paths.nextLive(0); i >= 0; i = paths.nextLive(i + 1)) {
      for (const p of paths.valueAt(i)) store.release(p.attrs);
    }
    paths.clear();
    this.#dirty.clear();
    this.#pending = 0;
    this.#dirtyCursor.close();
    this.#cursor?.close();
    this.#cursor = null;
  }

  /**
   * Evaluates up to `budget` prefixes (cursor first, then dirty ones) and returns what must be
   * sent, withdrawals first and announcements grouped by exported attributes. The returned
   * changes count as sent.
   */
  take(budget: number, ctx: TakeContext): PendingBatch {
    const afi = this.sent.afi;
    let withdrawn: PrefixList | null = null;
    const isAddPath = this.isAddPath;
    const withdrawnIds: number[] | undefined = isAddPath ? [] : undefined;
    const groups = new Map<AttrSet, { prefixes: PrefixList; ids: number[] | undefined }>();
    const groupOf = (attrs: AttrSet) => {
      let group = groups.get(attrs);
      if (group === undefined) {
        group = { prefixes: new PrefixList(afi), ids: isAddPath ? [] : undefined };
        groups.set(attrs, group);
      }
      return group;
    };
    const sent = this.sent;
    const dirty = this.#dirty;
    const table = this.#table;
    let examined = 0;
    const evaluate = (
      words: Uint32Array,
      at: number,
      len: number,
      best: Path | null,
      isResend: boolean,
    ): void => {
      // Nothing sent and nothing to send (the peer's own route, or none): no export, no lookup.
      if (sent.size === 0 && (best === null || best.peer === this.peer)) return;
      const next = best === null ? null : ctx.exportOf(best);
      const i = sent.size === 0 ? -1 : sent.find(words, at, len);
      const prev = i < 0 ? undefined : sent.valueAt(i);
      if (next === null) {
        if (prev === undefined) return;
        sent.deleteAt(i);
        ctx.store.release(prev);
        withdrawn ??= new PrefixList(afi);
        withdrawn.push(words, at, len);
        return;
      }
      if (next === prev && !isResend) return;
      ctx.store.retain(next);
      if (prev === undefined) {
        sent.add(words, at, len, next);
      } else {
        ctx.store.release(prev);
        sent.setAt(i, next);
      }
      groupOf(next).prefixes.push(words, at, len);
    };

    const sentPaths = this.sentPaths;
    const ids = withdrawnIds as number[];
    // ADD-PATH send: every exportable path of the entry (see the file header).
    const evaluatePaths = (
      words: Uint32Array,
      at: number,
      len: number,
      entry: Path | Dest | undefined,
      isResend: boolean,
    ): void => {
      const i = sentPaths.size === 0 ? -1 : sentPaths.find(words, at, len);
      const prev = i < 0 ? NO_SENT_PATHS : sentPaths.valueAt(i);
      const next: SentPath[] = [];
      if (entry !== undefined) {
        const best = bestOfEntry(entry);
        const add = (p: Path): void => {
          if (p.rejected !== undefined || p.peer === this.peer) return;
          const attrs = ctx.exportOf(p);
          if (attrs === null) return;
          for (const n of next) if (n.attrs === attrs) return;
          next.push({ id: ctx.pathIdOf(p), attrs });
        };
        if (best !== null) add(best);
        if (entry instanceof Dest) {
          for (const p of entry.paths as Path[]) if (p !== best) add(p);
        }
      }
      if (next.length === 0 && prev.length === 0) return;
      for (const p of prev) {
        if (next.some((n) => n.id === p.id)) continue;
        withdrawn ??= new PrefixList(afi);
        withdrawn.push(words, at, len);
        ids.push(p.id);
      }
      let isSame = next.length === prev.length;
      for (const n of next) {
        const old = prev.find((p) => p.id === n.id);
        if (old?.attrs === n.attrs && !isResend) continue;
        isSame = false;
        const group = groupOf(n.attrs);
        group.prefixes.push(words, at, len);
        (group.ids as number[]).push(n.id);
      }
      if (isSame) return;
      for (const n of next) ctx.store.retain(n.attrs);
      for (const p of prev) ctx.store.release(p.attrs);
      if (next.length === 0) sentPaths.deleteAt(i);
      else if (i < 0) sentPaths.add(words, at, len, next);
      else sentPaths.setAt(i, next);
    };

    let endOfRib = false;
    const w = table.width;
    if (this.#cursor !== null) {
      while (examined < budget) {
        const i = this.#cursor.next();
        if (i < 0) {
          this.#cursor.close();
          this.#cursor = null;
          this.#isResend = false;
          break;
        }
        examined++;
        const words = table.keys;
        const len = table.lenAt(i);
        if (this.#pending > 0) this.#unmark(words, i * w, len);
        if (isAddPath) evaluatePaths(words, i * w, len, table.valueAt(i), this.#isResend);
        else evaluate(words, i * w, len, bestOfEntry(table.valueAt(i)), this.#isResend);
      }
    }
    if (this.#cursor === null) {
      const cursor = this.#dirtyCursor;
      while (examined < budget) {
        const d = cursor.next();
        if (d < 0) break;
        examined++;
        const words = dirty.keys;
        const len = dirty.lenAt(d);
        const t = table.find(words, d * w, len);
        if (isAddPath) evaluatePaths(words, d * w, len, t < 0 ? undefined : table.valueAt(t), false);
        else evaluate(words, d * w, len, t < 0 ? null : bestOfEntry(table.valueAt(t)), false);
        this.#pending--;
      }
      if (this.#pending === 0) dirty.clear();
      if (!this.#hasSentEndOfRib) {
        this.#hasSentEndOfRib = true;
        endOfRib = true;
      }
    }
    const hasMore = this.#cursor !== null || this.#pending > 0;
    if (!hasMore) this.#isIdle = true;
    if (!endOfRib && withdrawn === null && groups.size === 0) {
      return hasMore ? { ...EMPTY_BATCH, hasMore } : EMPTY_BATCH;
    }
    const announced: AnnounceGroup[] = [];
    for (const [attrs, { prefixes, ids }] of groups) {
      announced.push(ids === undefined ? { attrs, prefixes } : { attrs, prefixes, pathIds: ids });
    }
    return {
      withdrawn: withdrawn ?? NO_PREFIXES,
      ...(withdrawnIds !== undefined && { withdrawnPathIds: withdrawnIds }),
      announced,
      endOfRib,
      hasMore,
    };
  }
}
