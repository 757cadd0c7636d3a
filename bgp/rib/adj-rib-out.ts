// Adj-RIB-Out of one peer and one family: what we have told the peer, and what changed since.
//
// Nothing is queued per change (STYLE rule 7; GoBGP's unbounded channel is the counter-example).
// The RIB only marks a prefix dirty; when the socket can take more, the speaker pulls a batch
// and only then is the export computed from the *current* best path and compared with what was
// last sent. That gives coalescing for free: a prefix that changed ten times is evaluated once;
// an announce then withdraw of a never-sent prefix yields nothing; a withdraw of a sent one
// yields a withdraw.
//
// The initial table dump (and a route-refresh resend) is a cursor over the Loc-RIB map instead
// of a million-entry dirty set: JavaScript Map iterators are live (entries added later are
// visited, deleted ones skipped), so changes racing the dump are either seen by the cursor or
// marked dirty, and each is evaluated against `sent` anyway. When the initial cursor is done,
// the batch carries `endOfRib` once (RFC 4724 §2).
//
// Announcements in a batch are grouped by the interned exported attribute set, so the packer
// puts every prefix of a group into shared UPDATEs (BIRD's `bgp_bucket`).

import type { Family } from '../wire/types.ts';
import type { AttrSet, AttrStore } from './attrs.ts';
import { bestOfEntry, type Dest, type Path, type PeerState } from './model.ts';

/** Prefixes to announce with the same exported attributes (`attrs.attrs` + `attrs.nextHop`). */
export interface AnnounceGroup {
  readonly attrs: AttrSet;
  readonly prefixes: readonly string[];
}

/** One pull from an Adj-RIB-Out. */
export interface PendingBatch {
  readonly withdrawn: readonly string[];
  readonly announced: readonly AnnounceGroup[];
  /** RFC 4724: the initial dump is complete; send End-of-RIB after this batch's routes. */
  readonly endOfRib: boolean;
  /** More work is pending: pull again (after yielding to the event loop). */
  readonly hasMore: boolean;
}

export const EMPTY_BATCH: PendingBatch = Object.freeze({
  withdrawn: [],
  announced: [],
  endOfRib: false,
  hasMore: false,
});

/** What a take needs from the RIB. */
export interface TakeContext {
  /** The Loc-RIB: a prefix's Dest, or its only path (model.ts). */
  readonly dests: ReadonlyMap<string, Path | Dest>;
  readonly store: AttrStore;
  /** The interned exported set for a best path, or null when it is not advertised to this peer. */
  readonly exportOf: (path: Path) => AttrSet | null;
}

export class AdjRibOut {
  readonly peer: PeerState;
  readonly family: Family;
  /** What the peer has been sent (and not withdrawn): prefix → exported attribute set. */
  readonly sent = new Map<string, AttrSet>();
  /** Prefixes whose best path changed since they were last evaluated. */
  readonly dirty = new Set<string>();
  /** A walk over the whole Loc-RIB: the initial dump or a route-refresh resend. */
  #cursor: Iterator<[string, Path | Dest]> | null = null;
  /** Route refresh (RFC 2918): the cursor re-announces entries even when unchanged. */
  #isResend = false;
  #hasSentEndOfRib = false;
  /** The last take reported nothing more; the next mark must notify the speaker. */
  #isIdle = false;

  constructor(peer: PeerState, family: Family, dests: ReadonlyMap<string, Path | Dest>) {
    this.peer = peer;
    this.family = family;
    this.#cursor = dests.entries();
  }

  get isInitialDumpDone(): boolean {
    return this.#hasSentEndOfRib;
  }

  get hasPending(): boolean {
    return this.#cursor !== null || this.dirty.size > 0 || !this.#hasSentEndOfRib;
  }

  /** Restarts the full walk and re-sends every route (RFC 2918 ROUTE-REFRESH). */
  resend(dests: ReadonlyMap<string, Path | Dest>): boolean {
    this.#cursor = dests.entries();
    this.#isResend = true;
    return this.#wake();
  }

  /**
   * Records that the best path of `prefix` changed. Returns true when the speaker must be told
   * that this Adj-RIB-Out has work again (it had reported itself drained).
   */
  mark(prefix: string, best: Path | null): boolean {
    // Nothing was sent and the new best is not exportable to this peer anyway (its own path, or
    // none): skip. An earlier dirty mark, if any, stays and is evaluated at take time.
    // (The peer test first: on a session's own full table it decides without a lookup.)
    if ((best === null || best.peer === this.peer) && !this.sent.has(prefix)) return false;
    this.dirty.add(prefix);
    return this.#wake();
  }

  #wake(): boolean {
    if (!this.#isIdle) return false;
    this.#isIdle = false;
    return true;
  }

  /** Releases every sent entry (session down). */
  clear(store: AttrStore): void {
    for (const set of this.sent.values()) store.release(set);
    this.sent.clear();
    this.dirty.clear();
    this.#cursor = null;
  }

  /**
   * Evaluates up to `budget` prefixes (cursor first, then dirty ones) and returns what must be
   * sent, withdrawals first and announcements grouped by exported attributes. The returned
   * changes count as sent.
   */
  take(budget: number, ctx: TakeContext): PendingBatch {
    const withdrawn: string[] = [];
    const groups = new Map<AttrSet, string[]>();
    let examined = 0;
    const evaluate = (prefix: string, best: Path | null, isResend: boolean): void => {
      const next = best === null ? null : ctx.exportOf(best);
      const prev = this.sent.get(prefix);
      if (next === null) {
        if (prev === undefined) return;
        this.sent.delete(prefix);
        ctx.store.release(prev);
        withdrawn.push(prefix);
        return;
      }
      if (next === prev && !isResend) return;
      ctx.store.retain(next);
      if (prev !== undefined) ctx.store.release(prev);
      this.sent.set(prefix, next);
      const group = groups.get(next);
      if (group === undefined) groups.set(next, [prefix]);
      else group.push(prefix);
    };

    let endOfRib = false;
    if (this.#cursor !== null) {
      while (examined < budget) {
        const step = this.#cursor.next();
        if (step.done) {
          this.#cursor = null;
          this.#isResend = false;
          break;
        }
        const [prefix, entry] = step.value;
        // Destinations of the other family count too, so one take is bounded by `budget`.
        examined++;
        if (entry.family !== this.family) continue;
        this.dirty.delete(prefix);
        evaluate(prefix, bestOfEntry(entry), this.#isResend);
      }
    }
    if (this.#cursor === null) {
      for (const prefix of this.dirty) {
        if (examined >= budget) break;
        examined++;
        this.dirty.delete(prefix);
        const entry = ctx.dests.get(prefix);
        evaluate(prefix, entry === undefined ? null : bestOfEntry(entry), false);
      }
      if (!this.#hasSentEndOfRib) {
        this.#hasSentEndOfRib = true;
        endOfRib = true;
      }
    }
    const hasMore = this.#cursor !== null || this.dirty.size > 0;
    if (!hasMore) this.#isIdle = true;
    if (!endOfRib && withdrawn.length === 0 && groups.size === 0) {
      return hasMore ? { ...EMPTY_BATCH, hasMore } : EMPTY_BATCH;
    }
    const announced: AnnounceGroup[] = [];
    for (const [attrs, prefixes] of groups) announced.push({ attrs, prefixes });
    return { withdrawn, announced, endOfRib, hasMore };
  }
}
