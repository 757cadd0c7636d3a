// Drives the RIB's deferred flushes (a session lost, a stale graceful-restart set dropped) in
// slices of at most FLUSH_SLICE_MS of work, yielding with setImmediate in between.
//
// Why: removing a full table (1M prefixes) walks the whole Loc-RIB; in one go, the other sessions'
// keepalives and hold timers would wait for it, and the event loop must never stall long enough to
// miss a keepalive. Input is sliced the same way (session/connection.ts INPUT_SLICE_MS), so a flush
// and a full-table ingest from another peer interleave.
import type { Rib } from '../rib/index.ts';

/** Longest run of flush work before yielding to timers and I/O. */
export const FLUSH_SLICE_MS = 5;
/** Loc-RIB entries per `Rib.flush` call between clock reads. */
export const FLUSH_STEP = 1024;

export interface FlusherOptions {
  readonly rib: Rib;
  /** A RIB peer removed with `{ isDeferred: true }` is gone (`rib.hasPeer` is false). */
  readonly onRemoved: (ribId: string) => void;
  /** The clock slices are measured on, ms. Default performance.now. */
  readonly now?: () => number;
}

export class RibFlusher {
  readonly #o: FlusherOptions;
  /** RIB peers whose deferred removal is running. */
  readonly #removing = new Set<string>();
  #immediate: NodeJS.Immediate | null = null;
  readonly #now: () => number;

  constructor(options: FlusherOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Removes a RIB peer; its paths leave the table over the next event-loop turns. */
  removePeer(ribId: string): void {
    this.#o.rib.removePeer(ribId, { isDeferred: true });
    this.#removing.add(ribId);
    this.#settle();
    if (this.#o.rib.hasPendingFlush) this.#schedule();
  }

  /** Completes every pending flush now (speaker stop: no handle may stay behind). */
  finish(): void {
    if (this.#immediate !== null) clearImmediate(this.#immediate);
    this.#immediate = null;
    while (this.#o.rib.flush(Number.MAX_SAFE_INTEGER));
    this.#settle();
  }

  #schedule(): void {
    if (this.#immediate !== null) return;
    this.#immediate = setImmediate(() => {
      this.#immediate = null;
      this.#run();
    });
  }

  #run(): void {
    const rib = this.#o.rib;
    const deadline = this.#now() + FLUSH_SLICE_MS;
    let hasMore = true;
    while (hasMore && this.#now() < deadline) hasMore = rib.flush(FLUSH_STEP);
    this.#settle();
    if (hasMore) this.#schedule();
  }

  #settle(): void {
    for (const ribId of this.#removing) {
      if (this.#o.rib.hasPeer(ribId)) continue;
      this.#removing.delete(ribId);
      this.#o.onRemoved(ribId);
    }
  }
}
