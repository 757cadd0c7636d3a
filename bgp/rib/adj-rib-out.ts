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

import { afiOf } from '../wire/family.ts';
import { PrefixList } from '../wire/prefix-list.ts';
import type { Family } from '../wire/types.ts';
import type { AttrSet, AttrStore } from './attrs.ts';
import { bestOfEntry, type Dest, type Path, type PeerState } from './model.ts';
import { PrefixTable, type TableCursor } from './prefix-table.ts';

/** Prefixes to announce with the same exported attributes (`attrs.attrs` + `attrs.nextHop`). */
export interface AnnounceGroup {
  readonly attrs: AttrSet;
  readonly prefixes: PrefixList;
}

/** One pull from an Adj-RIB-Out. */
export interface PendingBatch {
  readonly withdrawn: PrefixList;
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
}

/** The Loc-RIB table of one family: a prefix's Dest, or its only path (model.ts). */
export type LocRibTable = PrefixTable<Path | Dest>;

export class AdjRibOut {
  readonly peer: PeerState;
  readonly family: Family;
  /** What the peer has been sent (and not withdrawn): prefix → exported attribute set. */
  readonly sent: PrefixTable<AttrSet>;
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
    this.#dirty = new PrefixTable(afi);
    this.#dirtyCursor = this.#dirty.cursor();
    this.#table = table;
    this.#cursor = table.cursor();
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
    if (
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
    const groups = new Map<AttrSet, PrefixList>();
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
      let group = groups.get(next);
      if (group === undefined) {
        group = new PrefixList(afi);
        groups.set(next, group);
      }
      group.push(words, at, len);
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
        evaluate(words, i * w, len, bestOfEntry(table.valueAt(i)), this.#isResend);
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
        evaluate(words, d * w, len, t < 0 ? null : bestOfEntry(table.valueAt(t)), false);
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
    for (const [attrs, prefixes] of groups) announced.push({ attrs, prefixes });
    return { withdrawn: withdrawn ?? NO_PREFIXES, announced, endOfRib, hasMore };
  }
}
