// FileDatastore: the cluster state from one multi-document YAML file (parse.ts), reloaded when the
// file changes. Used outside Kubernetes, by `margay lab` and by most tests.
//
// Watching: fs.watch on the DIRECTORY, not the file. Editors and `mv` replace the file by a rename
// (a watch on the old inode would go silent), and a Kubernetes ConfigMap volume swaps a `..data`
// symlink; both show up as directory events. Events are debounced (an editor's save is several
// events) and start a check of the file; a check whose text is unchanged does nothing, so
// spurious events are free.
//
// Writes in progress: editors and configuration tools also write in place — truncate, then write
// in pieces — so a read can see an empty or cut-short file. A new text is used only once it is
// stable: two reads at least `settleMs` apart saw the same size, mtime, inode and text, and
// neither read overlapped a write (the file's status before and after the read agree).
//
// Replacements: a file renamed into place (an editor's or a tool's write to a temporary file and
// rename, `mv`, a ConfigMap's `..data` swap) is complete the moment it appears, and is used at
// once, without the settle. Two signs say a read saw such a file; either suffices.
//  - The directory's events. fs.watch reports a file created or renamed into the directory as a
//    'rename' for its name, and a write to a file in it (data, size or attributes) as a 'change'
//    for its name. A move into place is a 'rename' for the file's name (or `..data`) straight
//    after a 'rename' for another name (the temporary name leaving); a file written under its
//    own name is followed by 'change' events for that name. A read is trusted when such a move
//    arrived before it began, no 'change' for the file's names (nor a 'rename' of the name that
//    is not a move: a removal, a create) arrived after that move until the read has ended and
//    the loop has delivered the events waiting with its completion, the text is not empty (a
//    file created under its name and read before its first write), and no earlier read was
//    trusted on the same move. An in-place writer never makes a move, so a torn write in place
//    is never trusted; a file created under its own name and written in pieces reads empty
//    first, then has a 'change' for each piece, so it waits for the settle. The kernel queues a
//    write's event as the write call returns, after its data can be read: a read that falls
//    inside the first write call of such a file, when its creation came straight after another
//    name's 'rename', can be trusted. The next piece's 'change' starts a check as any write
//    does, and a text that lacks most objects or is the one in force cut short is held as a
//    sudden loss (below) either way.
//  - The timestamps, for a rename from another directory (no 'rename' of another name before it
//    here): the inode differs from the one the last read saw AND the data was last modified
//    before the inode last changed (mtime < ctime, to the nanosecond). Every write of data sets
//    mtime and ctime to the same time, and a rename sets ctime alone, so mtime < ctime says no
//    write came after the rename. A rename in the same clock tick as the last write leaves
//    mtime == ctime; that file is recognised by the events or waits for the settle.
// Both rules trust a writer to finish the file before it renames it, which is what renaming into
// place is for. The first read begins with the watch, so it has neither sign and waits for the
// settle. A move event starts a check at once instead of after the debounce, and so does a
// 'rename' whose file already passes the timestamp test (one stat): the rename of the file into
// place is the last event of a save.
//
// Stable texts: a stable text that parses is applied, unless it is a sudden loss
// (sudden-loss.ts: a whole kind gone, most objects gone, or the text in force cut short): that
// must stay unchanged for `confirmMs` before it applies, replaced or not, and a file that goes
// back to the text in force in the meantime emits nothing. The first load waits for a stable file
// as well.
//
// Cost: a new text is compared with the text in force piece by piece (documents.ts): unchanged
// documents keep their parse and their Resource objects, only new ones are parsed, and the
// changes and the next snapshot come from the documents that went and came. The work on a large
// text (comparing, splitting, parsing, checking) runs in steps, and the check gives the event
// loop a turn whenever a step has run for SLICE_MS, so a big file delays BGP keepalives and the
// API by a slice at a time, not by the whole read.
//
// Failure: an invalid or unreadable file is rejected as a whole; the last good snapshot stays in
// force, `lastError` says why and 'error' is emitted. A missing file is an error too, never an
// empty cluster: a rename window or a typo in the path must not withdraw every route. A path that
// is not a regular file (a FIFO would block every read) is refused the same way.
import type { BigIntStats, FSWatcher } from 'node:fs';
import { watch } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { readRegularFileBytes } from '../../config/regular-file.ts';
import { MargayError } from '../../errors.ts';
import { log } from '../../log.ts';
import type { ResourceChange, Snapshot } from '../../model/snapshot.ts';
import { applyChanges, diffSnapshots, emptySnapshot, snapshotOf } from '../../model/snapshot.ts';
import type { Datastore, DatastoreEvents } from '../types.ts';
import { changesOf, type FileDocuments, NO_DOCUMENTS, reread } from './documents.ts';
import { assemble, DatastoreFileError, type Piece, parsePiece, type Step, sharedValues } from './parse.ts';
import { defaultWorkers, parseInWorkers } from './parse-pool.ts';
import { suddenLoss } from './sudden-loss.ts';

/** Quiet time after the last file-system event before the file is checked. */
export const DEBOUNCE_MS = 50;

/**
 * How long a text must stay the same before it is used. Longer than the pauses of a writer that
 * fills a file in pieces (buffered writes of an editor or a configuration tool, a template
 * rendered as it goes); short beside how soon an operator expects an edit to act.
 */
export const SETTLE_MS = 200;

/**
 * How long a sudden loss (sudden-loss.ts) must stay in the file before it applies. A writer that
 * stalls for longer than SETTLE_MS leaves a cut-short file that is stable and parses; losing a
 * whole kind or most of the cluster to that would send Cease to every peer and withdraw routes
 * that are still wanted. A stall this long is taken as the file as it was left, not a write in
 * progress; a deliberate mass deletion waits these few seconds, well inside a BGP hold time, the
 * time a router already allows for a peer that goes quiet.
 */
export const CONFIRM_MS = 5000;

/**
 * The longest a check works on a text (comparing, splitting, parsing, checking) before it lets
 * the event loop run: well inside what BGP timers and the API can wait, and long enough that the
 * turns themselves cost little.
 */
export const SLICE_MS = 5;

/**
 * From how many pieces to parse at once on the parse goes to worker threads (parse-pool.ts): a
 * first load or a rewrite of a big file, not an ordinary save, whose few pieces parse here sooner
 * than a worker starts.
 */
export const POOL_MIN_PIECES = 256;

/** The timers the datastore waits on; a test passes its own to move time by hand. */
export interface DatastoreTimers {
  readonly setTimeout: (callback: () => void, ms: number) => unknown;
  readonly clearTimeout: (handle: unknown) => void;
}

const HOST_TIMERS: DatastoreTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface FileDatastoreOptions {
  readonly path: string;
  /** Quiet time after the last file-system event before the file is checked; default DEBOUNCE_MS. */
  readonly debounceMs?: number;
  /** How long a new text must stay unchanged before it is used; default SETTLE_MS. */
  readonly settleMs?: number;
  /** How long a sudden loss must stay in the file before it applies; default CONFIRM_MS. */
  readonly confirmMs?: number;
  /** Milliseconds on the clock `timers` run on; default performance.now. */
  readonly clock?: () => number;
  readonly timers?: DatastoreTimers;
  /**
   * Parses one piece of the file on the main thread; default parse.ts parsePiece (tests count the
   * calls). Pieces parsed in worker threads do not go through it.
   */
  readonly parsePiece?: (text: string) => Piece;
  /**
   * Worker threads for a parse of POOL_MIN_PIECES pieces or more; 0 parses everything on the main
   * thread. Default parse-pool.ts defaultWorkers (one per core, at most four).
   */
  readonly workers?: number;
}

type Listeners = { [E in keyof DatastoreEvents]: Set<DatastoreEvents[E]> };

/** One read of the file: its bytes and its status. */
interface Observation {
  readonly data: Buffer;
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ino: bigint;
  /** Clock time of the first read that saw exactly this. */
  readonly since: number;
}

const sameFile = (a: Observation, b: Omit<Observation, 'since'>): boolean =>
  a.size === b.size && a.mtimeNs === b.mtimeNs && a.ino === b.ino && a.data.equals(b.data);

/** The file's data was last modified before its inode last changed: no write since a rename. */
const untouchedSinceChange = (s: BigIntStats): boolean => s.mtimeNs < s.ctimeNs;

/** What a stable text comes to against the state in force. */
type Outcome =
  | { readonly type: 'rejected'; readonly documents: FileDocuments; readonly error: MargayError }
  /** The first good state: the whole snapshot. */
  | { readonly type: 'loaded'; readonly documents: FileDocuments; readonly snapshot: Snapshot }
  | {
      readonly type: 'changed';
      readonly documents: FileDocuments;
      readonly next: Snapshot;
      readonly changes: readonly ResourceChange[];
    };

export class FileDatastore implements Datastore {
  readonly path: string;
  readonly #dir: string;
  readonly #base: string;
  readonly #debounceMs: number;
  readonly #settleMs: number;
  readonly #confirmMs: number;
  readonly #now: () => number;
  readonly #timers: DatastoreTimers;
  readonly #parsePiece: (text: string) => Piece;
  readonly #workers: number;
  /** The kinds of objects this thread has parsed a piece of to warm up (#warm). */
  readonly #warmKinds = new Set<string>();
  /** Ends the worker threads of a parse under way (stop()). */
  #parsing: AbortController | undefined;
  readonly #listeners: Listeners = { ready: new Set(), changed: new Set(), error: new Set() };
  #snapshot: Snapshot = emptySnapshot();
  #ready = false;
  #lastError: MargayError | undefined;
  /** The text last decided on (applied, rejected, or unchanged in content); re-reading it is free. */
  #lastData: Buffer | undefined;
  /** The text of the snapshot in force, and its pieces. */
  #applied: FileDocuments = NO_DOCUMENTS;
  /** Before the first good state: the pieces of the last text rejected, for the next to reuse. */
  #attempt: FileDocuments = NO_DOCUMENTS;
  /** The last read, and since when the file has looked exactly so. */
  #seen: Observation | undefined;
  /** The inode the last read saw (a file that has another was replaced). */
  #lastIno: bigint | undefined;
  /** The inode of a replacement a directory event has already started a check for. */
  #peekedIno: bigint | undefined;
  /** Directory events for the file's names, numbered as they arrive. */
  #events = 0;
  /** The number of the last move into place (see the header); 0 for none. */
  #moved = 0;
  /** The number of the last event that may have written the file or changed what the path names. */
  #touched = 0;
  /** The move the last trusted read relied on: each move lets one read skip the settle. */
  #usedMove = 0;
  /** The directory's previous event, whatever its name. */
  #previousEvent: { readonly event: string; readonly filename: string | null } | undefined;
  /** A sudden loss waiting for confirmMs: its text, when it was first found stable, and what it comes to. */
  #held:
    | {
        readonly data: Buffer;
        readonly since: number;
        readonly reason: string;
        readonly outcome: Outcome & { type: 'changed' };
      }
    | undefined;
  /**
   * A buffer of an earlier read that nothing refers to any more, for the next read: reading a big
   * file again allocates nothing, and buffers the size of the file do not pile up between
   * garbage collections.
   */
  #spare: Buffer | undefined;
  /** The buffers #bufferFor made: only those are ever reused (a small read may share Node's pool). */
  readonly #ours = new WeakSet<ArrayBufferLike>();
  #watcher: FSWatcher | undefined;
  #timer: unknown;
  /** Clock time the armed timer fires at. */
  #timerDue = 0;
  #loading: Promise<void> = Promise.resolve();
  #state: 'new' | 'started' | 'stopped' = 'new';
  #firstAttempt: { resolve: () => void; reject: (err: unknown) => void } | undefined;
  /** How many times a stable text was decided on (tests check debouncing with it). */
  loads = 0;
  /** How many times the file was read. */
  reads = 0;

  constructor(options: FileDatastoreOptions) {
    this.path = resolve(options.path);
    this.#dir = dirname(this.path);
    this.#base = basename(this.path);
    this.#debounceMs = options.debounceMs ?? DEBOUNCE_MS;
    this.#settleMs = options.settleMs ?? SETTLE_MS;
    this.#confirmMs = options.confirmMs ?? CONFIRM_MS;
    this.#now = options.clock ?? (() => performance.now());
    this.#timers = options.timers ?? HOST_TIMERS;
    this.#parsePiece = options.parsePiece ?? parsePiece;
    this.#workers = options.workers ?? defaultWorkers();
  }

  get lastError(): MargayError | undefined {
    return this.#lastError;
  }

  /** The sudden loss waiting to be confirmed, if any: why it is held and since when (clock ms). */
  get held(): { readonly reason: string; readonly since: number } | undefined {
    return this.#held && { reason: this.#held.reason, since: this.#held.since };
  }

  snapshot(): Snapshot {
    return this.#snapshot;
  }

  ready(): boolean {
    return this.#ready;
  }

  on<E extends keyof DatastoreEvents>(event: E, listener: DatastoreEvents[E]): this {
    (this.#listeners[event] as Set<DatastoreEvents[E]>).add(listener);
    return this;
  }

  off<E extends keyof DatastoreEvents>(event: E, listener: DatastoreEvents[E]): this {
    (this.#listeners[event] as Set<DatastoreEvents[E]>).delete(listener);
    return this;
  }

  /**
   * Watches the file's directory, then loads the file. Resolves after the first load attempt: once
   * the file was found stable and applied or rejected, or could not be read. Check `ready()` /
   * `lastError` to see whether it succeeded (a later good save makes it ready).
   */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error('FileDatastore.start() called twice');
    this.#state = 'started';
    const attempted = new Promise<void>((resolve, reject) => {
      this.#firstAttempt = { resolve, reject };
    });
    try {
      // Watch before the first read, so a save during the initial load is not lost.
      this.#watcher = watch(this.#dir, (event, filename) => this.#event(event, filename));
      this.#watcher.on('error', (err) =>
        this.#reject(
          new MargayError(
            'MARGAY_ERR_DATASTORE_READ',
            `${this.path}: watching ${this.#dir} failed: ${err.message}`,
            {
              cause: err,
            },
          ),
        ),
      );
    } catch (err) {
      this.#reject(
        new MargayError(
          'MARGAY_ERR_DATASTORE_READ',
          `${this.path}: cannot watch ${this.#dir}: ${(err as Error).message}`,
          {
            cause: err,
          },
        ),
      );
    }
    this.#run();
    await attempted;
  }

  async stop(): Promise<void> {
    this.#state = 'stopped';
    this.#parsing?.abort();
    this.#disarm();
    this.#watcher?.close();
    this.#watcher = undefined;
    this.#attempted();
    await this.#loading;
  }

  /**
   * Checks the file now instead of after the debounce; resolves when that check is done. The
   * settle and confirmation rules apply as to any change, so the check may only start waiting.
   */
  reload(): Promise<void> {
    return this.#enqueue();
  }

  /** Resolves when no check is running (one may still be due on a timer). */
  async idle(): Promise<void> {
    let current: Promise<void>;
    do {
      current = this.#loading;
      await current;
    } while (current !== this.#loading);
  }

  /** Checks never overlap: each runs after the one before it. */
  #enqueue(): Promise<void> {
    const run = this.#loading.then(() => this.#check());
    this.#loading = run.catch(() => undefined);
    return run;
  }

  /**
   * A check on its own: an error (a throwing listener, a bug in the caller) fails a start() still
   * waiting for its first attempt, or else surfaces as an unhandled rejection.
   */
  #run(): void {
    this.#enqueue().catch((err: unknown) => {
      const first = this.#firstAttempt;
      this.#firstAttempt = undefined;
      if (first === undefined) throw err;
      first.reject(err);
    });
  }

  /**
   * An event in the directory: a move into place is checked at once, a 'rename' of the file's
   * names is peeked at, any other event of them is debounced; other names are only remembered,
   * for the next event to tell a move (see the header).
   */
  #event(event: string, filename: string | null): void {
    const previous = this.#previousEvent;
    this.#previousEvent = { event, filename };
    if (filename !== null && filename !== this.#base && !filename.startsWith('..')) return;
    const n = ++this.#events;
    const names = filename === null || filename === this.#base || filename === '..data';
    if (event !== 'rename') {
      this.#touched = n;
      this.#schedule();
      return;
    }
    if (
      names &&
      filename !== null &&
      previous?.event === 'rename' &&
      previous.filename !== null &&
      previous.filename !== filename
    ) {
      this.#moved = n;
      this.#disarm();
      this.#run();
      return;
    }
    if (names) this.#touched = n;
    void this.#peek();
  }

  /** A file-system event: check once the events have been quiet for the debounce interval. */
  #schedule(): void {
    this.#arm(this.#debounceMs);
  }

  /**
   * A rename in the directory: debounced as any event, unless the file at the path is already a
   * complete replacement (see the header); then it is checked at once.
   */
  async #peek(): Promise<void> {
    this.#schedule();
    let s: BigIntStats;
    try {
      s = await stat(this.path, { bigint: true });
    } catch {
      return; // gone, or not there yet: the debounced check says so
    }
    if (this.#state !== 'started' || !s.isFile()) return;
    if (this.#lastIno === undefined || s.ino === this.#lastIno || s.ino === this.#peekedIno) return;
    if (!untouchedSinceChange(s)) return;
    this.#peekedIno = s.ino;
    this.#disarm();
    this.#run();
  }

  /**
   * A check wants another one `ms` from now. A timer due sooner stays: it was armed by an event
   * that arrived while this check was reading, and that write must not wait longer.
   */
  #recheck(ms: number): void {
    if (this.#timer !== undefined && this.#timerDue <= this.#now() + ms) return;
    this.#arm(ms);
  }

  #arm(ms: number): void {
    if (this.#state !== 'started') return;
    this.#disarm();
    const delay = Math.max(0, ms);
    this.#timerDue = this.#now() + delay;
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined;
      this.#run();
    }, delay);
  }

  #disarm(): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #attempted(): void {
    this.#firstAttempt?.resolve();
    this.#firstAttempt = undefined;
  }

  /** A buffer of at least `size` bytes for a read: the spare one if it is big enough. */
  #bufferFor(size: number): Buffer {
    const spare = this.#spare;
    if (spare !== undefined && spare.length >= size) {
      this.#spare = undefined;
      return spare;
    }
    // A little room to grow, so that a file that gains a few objects still fits.
    const buffer = Buffer.allocUnsafeSlow(size + (size >> 4));
    this.#ours.add(buffer.buffer);
    return buffer;
  }

  /** Keeps as the spare the biggest of `buffers` that no text kept by the datastore is a view of. */
  #recycle(buffers: readonly (Buffer | undefined)[]): void {
    const kept = new Set<ArrayBufferLike>(
      [this.#seen?.data, this.#lastData, this.#applied.data, this.#held?.data, this.#attempt.data]
        .filter((b) => b !== undefined)
        .map((b) => b.buffer),
    );
    for (const b of buffers) {
      if (
        b === undefined ||
        !this.#ours.has(b.buffer) ||
        kept.has(b.buffer) ||
        b.buffer === this.#spare?.buffer
      )
        continue;
      const whole = Buffer.from(b.buffer);
      if (this.#spare === undefined || whole.length > this.#spare.length) this.#spare = whole;
    }
  }

  /** One check, and then the buffers it let go of are recycled. */
  async #check(): Promise<void> {
    const held = [this.#seen?.data, this.#lastData, this.#applied.data, this.#held?.data, this.#attempt.data];
    const read: { data?: Buffer } = {};
    try {
      await this.#checkOnce(read);
    } finally {
      this.#recycle([...held, read.data]);
    }
  }

  async #checkOnce(out: { data?: Buffer }): Promise<void> {
    if (this.#state !== 'started') return;
    let data: Buffer;
    let before: BigIntStats;
    let after: BigIntStats;
    // The last move into place before this read began (see the header).
    const move = this.#moved;
    try {
      this.reads++;
      const file = await readRegularFileBytes(this.path, (size) => this.#bufferFor(size));
      data = file.data;
      out.data = data;
      before = file.stat;
      after = await stat(this.path, { bigint: true });
      // The read's completion and directory events may come in the same turn of the loop, in
      // either order: let the rest of that turn's events arrive before deciding on them.
      await nextTurn();
    } catch (err) {
      if (this.#state !== 'started') return;
      this.#lastData = undefined;
      this.#seen = undefined;
      this.#held = undefined;
      this.#reject(
        new MargayError('MARGAY_ERR_DATASTORE_READ', `${this.path}: cannot read: ${(err as Error).message}`, {
          cause: err,
        }),
      );
      this.#attempted();
      return;
    }
    if (this.#state !== 'started') return;
    const now = this.#now();
    const read = { data, size: before.size, mtimeNs: before.mtimeNs, ino: before.ino };
    if (after.size !== read.size || after.mtimeNs !== read.mtimeNs || after.ino !== read.ino) {
      // Written while being read: the text may be torn. Look again once it has settled.
      this.#seen = undefined;
      this.#recheck(this.#settleMs);
      return;
    }
    const movedIn = move > this.#usedMove && this.#touched < move && data.length > 0;
    if (movedIn) this.#usedMove = move;
    const replaced =
      movedIn || (this.#lastIno !== undefined && read.ino !== this.#lastIno && untouchedSinceChange(before));
    this.#lastIno = read.ino;
    if (this.#lastData !== undefined && data.equals(this.#lastData)) {
      // Nothing new (an event without a change, or the text in force written again): whatever
      // was held or seen in between is dropped unused.
      this.#seen = { ...read, since: now };
      this.#held = undefined;
      return;
    }
    const seen = this.#seen;
    if (replaced) {
      this.#seen = { ...read, since: now };
    } else if (seen === undefined || !sameFile(seen, read)) {
      this.#seen = { ...read, since: now };
      this.#recheck(this.#settleMs);
      return;
    } else if (now - seen.since < this.#settleMs) {
      this.#recheck(seen.since + this.#settleMs - now);
      return;
    }
    await this.#decide(data, now);
  }

  /** A stable text: parse it and apply it, hold it as a sudden loss, or reject it. */
  async #decide(data: Buffer, now: number): Promise<void> {
    this.loads++;
    let outcome: Outcome;
    const held = this.#held;
    if (held?.data.equals(data)) outcome = held.outcome;
    else {
      try {
        const result = await this.#steps(this.#outcome(data));
        if (result === undefined) return; // stopped meanwhile
        outcome = result;
      } catch (err) {
        outcome = {
          type: 'rejected',
          documents: NO_DOCUMENTS,
          error:
            err instanceof MargayError
              ? err
              : new MargayError('MARGAY_ERR_DATASTORE_INVALID', `${this.path}: ${(err as Error).message}`, {
                  cause: err,
                }),
        };
      }
    }
    if (outcome.type === 'rejected') {
      this.#lastData = data;
      this.#held = undefined;
      if (!this.#ready) this.#attempt = outcome.documents;
      this.#reject(outcome.error);
      this.#attempted();
      return;
    }
    if (outcome.type === 'loaded') {
      this.#apply(data, outcome.documents, outcome.snapshot);
      this.#ready = true;
      for (const l of this.#listeners.ready) l(outcome.snapshot);
      this.#attempted();
      return;
    }
    const previous = this.#snapshot;
    const { next, changes } = outcome;
    if (changes.length > 0) {
      const reason = suddenLoss(previous, next, changes, this.#applied.data, data);
      if (reason !== undefined) {
        const hold = held?.data.equals(data) ? held : { data, since: now, reason, outcome };
        this.#held = hold;
        if (now - hold.since < this.#confirmMs) {
          this.#recheck(hold.since + this.#confirmMs - now);
          return;
        }
      }
    }
    this.#apply(data, outcome.documents, changes.length > 0 ? next : previous);
    if (changes.length === 0) return;
    for (const l of this.#listeners.changed) l({ snapshot: next, previous, changes });
  }

  /**
   * What `data` comes to: its pieces against those in force (or, before the first good state,
   * those of the last text tried), then the changes from the pieces that went and came, or the
   * whole file assembled when there is no state in force yet or a problem to name.
   */
  *#outcome(data: Buffer): Generator<Step, Outcome, readonly Piece[] | undefined> {
    const ready = this.#ready;
    const { documents, added, removed } = yield* reread(ready ? this.#applied : this.#attempt, data);
    const previous = this.#snapshot;
    if (ready && documents.troubled === 0) {
      const changes = changesOf(previous, added, removed);
      if (changes !== undefined)
        return { type: 'changed', documents, next: applyChanges(previous, changes), changes };
    }
    const whole = yield* assemble(documents.list.pieces(), this.path);
    if (whole.problems !== undefined)
      return { type: 'rejected', documents, error: new DatastoreFileError(this.path, whole.problems) };
    const snapshot = snapshotOf(whole.resources);
    if (!ready) return { type: 'loaded', documents, snapshot };
    // The pieces said a duplicate and the whole file says none: trust the whole file.
    return { type: 'changed', documents, next: snapshot, changes: diffSnapshots(previous, snapshot) };
  }

  /**
   * Runs `work` to its end, letting the event loop run every SLICE_MS and parsing what it asks
   * for (#parse); undefined if the datastore was stopped meanwhile.
   */
  async #steps<T>(work: Generator<Step, T, readonly Piece[] | undefined>): Promise<T | undefined> {
    let since = performance.now();
    let answer: readonly Piece[] | undefined;
    for (;;) {
      const step = work.next(answer);
      answer = undefined;
      if (step.done) return step.value;
      if (step.value !== undefined) {
        answer = await this.#parse(step.value.parse);
        if (answer === undefined) return undefined;
      } else if (performance.now() - since < SLICE_MS) continue;
      else await nextTurn();
      if (this.#state !== 'started') return undefined;
      since = performance.now();
    }
  }

  /**
   * Parses pieces: many at once in worker threads, else (or if the workers fail) here, letting
   * the event loop run every SLICE_MS; undefined if the datastore was stopped meanwhile.
   */
  async #parse(texts: readonly string[]): Promise<readonly Piece[] | undefined> {
    if (texts.length >= POOL_MIN_PIECES && this.#workers > 0) {
      const parsing = new AbortController();
      this.#parsing = parsing;
      try {
        const pieces = await parseInWorkers(texts, this.#workers, parsing.signal);
        void this.#warm(texts, pieces);
        return pieces;
      } catch (err) {
        if (this.#state !== 'started') return undefined;
        log('warn', 'datastore_parse_workers_failed', {
          path: this.path,
          pieces: texts.length,
          error: (err as Error).message,
        });
      } finally {
        this.#parsing = undefined;
      }
    }
    const pieces: Piece[] = [];
    let since = performance.now();
    for (const text of texts) {
      pieces.push(sharedValues(this.#parsePiece(text)));
      if (performance.now() - since < SLICE_MS) continue;
      await nextTurn();
      if (this.#state !== 'started') return undefined;
      since = performance.now();
    }
    return pieces;
  }

  /**
   * After a parse in worker threads: parses here, one a turn, a piece with an object of each kind
   * this thread has not parsed yet. The parser and the validators compile their code on first
   * use, per thread, so without this the first save of each kind after a load by the workers
   * pays that compilation here, on the way of the change.
   */
  async #warm(texts: readonly string[], pieces: readonly Piece[]): Promise<void> {
    const first = new Map<string, string>();
    pieces.forEach((piece, i) => {
      for (const o of piece.objects) {
        const kind = o.resource?.kind;
        if (kind !== undefined && !this.#warmKinds.has(kind) && !first.has(kind)) first.set(kind, texts[i]!);
      }
    });
    for (const [kind, text] of first) {
      await nextTurn();
      if (this.#state !== 'started') return;
      this.#warmKinds.add(kind);
      parsePiece(text);
    }
  }

  #apply(data: Buffer, documents: FileDocuments, snapshot: Snapshot): void {
    this.#snapshot = snapshot;
    this.#lastData = data;
    this.#applied = documents;
    this.#attempt = NO_DOCUMENTS;
    this.#held = undefined;
    this.#lastError = undefined;
  }

  #reject(error: MargayError): void {
    this.#lastError = error;
    for (const l of this.#listeners.error) l(error);
  }
}
