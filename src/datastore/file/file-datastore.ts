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
// neither read overlapped a write (the file's status before and after the read agree). A stable
// text that parses is applied, unless it is a sudden loss (sudden-loss.ts: a whole kind gone,
// most objects gone, or the text in force cut short): that must stay unchanged for `confirmMs`
// before it applies, and a file that goes back to the text in force in the meantime emits nothing.
// The first load waits for a stable file as well.
//
// Failure: an invalid or unreadable file is rejected as a whole; the last good snapshot stays in
// force, `lastError` says why and 'error' is emitted. A missing file is an error too, never an
// empty cluster: a rename window or a typo in the path must not withdraw every route. A path that
// is not a regular file (a FIFO would block every read) is refused the same way.
import type { FSWatcher } from 'node:fs';
import { watch } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { readRegularFileStat } from '../../config/regular-file.ts';
import { MargayError } from '../../errors.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import { diffSnapshots, emptySnapshot, snapshotOf } from '../../model/snapshot.ts';
import type { Datastore, DatastoreEvents } from '../types.ts';
import { parseResourceFile } from './parse.ts';
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
}

type Listeners = { [E in keyof DatastoreEvents]: Set<DatastoreEvents[E]> };

/** One read of the file: its text and its status. */
interface Observation {
  readonly text: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  /** Clock time of the first read that saw exactly this. */
  readonly since: number;
}

const sameFile = (a: Observation, b: Omit<Observation, 'since'>): boolean =>
  a.text === b.text && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;

export class FileDatastore implements Datastore {
  readonly path: string;
  readonly #dir: string;
  readonly #base: string;
  readonly #debounceMs: number;
  readonly #settleMs: number;
  readonly #confirmMs: number;
  readonly #now: () => number;
  readonly #timers: DatastoreTimers;
  readonly #listeners: Listeners = { ready: new Set(), changed: new Set(), error: new Set() };
  #snapshot: Snapshot = emptySnapshot();
  #ready = false;
  #lastError: MargayError | undefined;
  /** The text last decided on (applied, rejected, or unchanged in content); re-reading it is free. */
  #lastText: string | undefined;
  /** The text of the snapshot in force. */
  #appliedText = '';
  /** The last read, and since when the file has looked exactly so. */
  #seen: Observation | undefined;
  /** A sudden loss waiting for confirmMs: its text and when it was first found stable. */
  #held: { readonly text: string; readonly since: number; readonly reason: string } | undefined;
  #watcher: FSWatcher | undefined;
  #timer: unknown;
  /** Clock time the armed timer fires at. */
  #timerDue = 0;
  #loading: Promise<void> = Promise.resolve();
  #state: 'new' | 'started' | 'stopped' = 'new';
  #firstAttempt: { resolve: () => void; reject: (err: unknown) => void } | undefined;
  /** How many times a stable text was parsed (tests check debouncing with it). */
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
      this.#watcher = watch(this.#dir, (_event, filename) => {
        if (filename === null || filename === this.#base || filename.startsWith('..')) this.#schedule();
      });
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

  /** A file-system event: check once the events have been quiet for the debounce interval. */
  #schedule(): void {
    this.#arm(this.#debounceMs);
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

  async #check(): Promise<void> {
    if (this.#state !== 'started') return;
    let text: string;
    let before: { size: number; mtimeMs: number; ino: number };
    let after: { size: number; mtimeMs: number; ino: number };
    try {
      this.reads++;
      const file = await readRegularFileStat(this.path);
      text = file.text;
      before = file.stat;
      after = await stat(this.path);
    } catch (err) {
      if (this.#state !== 'started') return;
      this.#lastText = undefined;
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
    const read = { text, size: before.size, mtimeMs: before.mtimeMs, ino: before.ino };
    if (after.size !== read.size || after.mtimeMs !== read.mtimeMs || after.ino !== read.ino) {
      // Written while being read: the text may be torn. Look again once it has settled.
      this.#seen = undefined;
      this.#recheck(this.#settleMs);
      return;
    }
    if (text === this.#lastText) {
      // Nothing new (an event without a change, or the text in force written again): whatever
      // was held or seen in between is dropped unused.
      this.#seen = { ...read, since: now };
      this.#held = undefined;
      return;
    }
    const seen = this.#seen;
    if (seen === undefined || !sameFile(seen, read)) {
      this.#seen = { ...read, since: now };
      this.#recheck(this.#settleMs);
      return;
    }
    if (now - seen.since < this.#settleMs) {
      this.#recheck(seen.since + this.#settleMs - now);
      return;
    }
    this.#decide(text, now);
  }

  /** A stable text: parse it and apply it, hold it as a sudden loss, or reject it. */
  #decide(text: string, now: number): void {
    this.loads++;
    let next: Snapshot;
    try {
      next = snapshotOf(parseResourceFile(text, this.path));
    } catch (err) {
      this.#lastText = text;
      this.#held = undefined;
      this.#reject(
        err instanceof MargayError
          ? err
          : new MargayError('MARGAY_ERR_DATASTORE_INVALID', `${this.path}: ${(err as Error).message}`, {
              cause: err,
            }),
      );
      this.#attempted();
      return;
    }
    const previous = this.#snapshot;
    if (!this.#ready) {
      this.#apply(text, next);
      this.#ready = true;
      for (const l of this.#listeners.ready) l(next);
      this.#attempted();
      return;
    }
    const changes = diffSnapshots(previous, next);
    if (changes.length > 0) {
      const reason = suddenLoss(previous, next, this.#appliedText, text);
      if (reason !== undefined) {
        const held = this.#held?.text === text ? this.#held : { text, since: now, reason };
        this.#held = held;
        if (now - held.since < this.#confirmMs) {
          this.#recheck(held.since + this.#confirmMs - now);
          return;
        }
      }
    }
    this.#apply(text, changes.length > 0 ? next : previous);
    if (changes.length === 0) return;
    for (const l of this.#listeners.changed) l({ snapshot: next, previous, changes });
  }

  #apply(text: string, snapshot: Snapshot): void {
    this.#snapshot = snapshot;
    this.#lastText = text;
    this.#appliedText = text;
    this.#held = undefined;
    this.#lastError = undefined;
  }

  #reject(error: MargayError): void {
    this.#lastError = error;
    for (const l of this.#listeners.error) l(error);
  }
}
