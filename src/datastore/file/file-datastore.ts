// FileDatastore: the cluster state from one multi-document YAML file (parse.ts), reloaded when the
// file changes. Used outside Kubernetes, by `margay lab` and by most tests.
//
// Watching: fs.watch on the DIRECTORY, not the file. Editors and `mv` replace the file by a rename
// (a watch on the old inode would go silent), and a Kubernetes ConfigMap volume swaps a `..data`
// symlink; both show up as directory events. Events are debounced (an editor's save is several
// events) and a reload whose text is unchanged does nothing, so spurious events are free.
//
// Failure: an invalid or unreadable file is rejected as a whole; the last good snapshot stays in
// force, `lastError` says why and 'error' is emitted. A missing file is an error too, never an
// empty cluster: a rename window or a typo in the path must not withdraw every route.
import type { FSWatcher } from 'node:fs';
import { watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { MargayError } from '../../errors.ts';
import type { Snapshot } from '../../model/snapshot.ts';
import { diffSnapshots, emptySnapshot, snapshotOf } from '../../model/snapshot.ts';
import type { Datastore, DatastoreEvents } from '../types.ts';
import { parseResourceFile } from './parse.ts';

export interface FileDatastoreOptions {
  readonly path: string;
  /** Quiet time after the last file-system event before the file is read again; default 50 ms. */
  readonly debounceMs?: number;
}

type Listeners = { [E in keyof DatastoreEvents]: Set<DatastoreEvents[E]> };

export class FileDatastore implements Datastore {
  readonly path: string;
  readonly #dir: string;
  readonly #base: string;
  readonly #debounceMs: number;
  readonly #listeners: Listeners = { ready: new Set(), changed: new Set(), error: new Set() };
  #snapshot: Snapshot = emptySnapshot();
  #ready = false;
  #lastError: MargayError | undefined;
  #lastText: string | undefined;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #loading: Promise<void> = Promise.resolve();
  #state: 'new' | 'started' | 'stopped' = 'new';
  /** How many times the file was read and parsed (tests check debouncing with it). */
  loads = 0;

  constructor(options: FileDatastoreOptions) {
    this.path = resolve(options.path);
    this.#dir = dirname(this.path);
    this.#base = basename(this.path);
    this.#debounceMs = options.debounceMs ?? 50;
  }

  get lastError(): MargayError | undefined {
    return this.#lastError;
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
   * Watches the file's directory, then loads the file. Resolves after the first load attempt;
   * check `ready()` / `lastError` to see whether it succeeded (a later good save makes it ready).
   */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error('FileDatastore.start() called twice');
    this.#state = 'started';
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
    await this.reload();
  }

  async stop(): Promise<void> {
    this.#state = 'stopped';
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#watcher?.close();
    this.#watcher = undefined;
    await this.#loading;
  }

  /** Reads the file now (also when its text looks unchanged). Loads never overlap. */
  reload(): Promise<void> {
    return this.#enqueue(true);
  }

  #enqueue(force: boolean): Promise<void> {
    const run = this.#loading.then(() => this.#load(force));
    this.#loading = run.catch(() => undefined);
    return run;
  }

  #schedule(): void {
    if (this.#state !== 'started') return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      // A throwing listener is a bug in the caller: let it surface as an unhandled rejection.
      void this.#enqueue(false);
    }, this.#debounceMs);
  }

  async #load(force: boolean): Promise<void> {
    if (this.#state === 'stopped') return;
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      this.#lastText = undefined;
      this.#reject(
        new MargayError('MARGAY_ERR_DATASTORE_READ', `${this.path}: cannot read: ${(err as Error).message}`, {
          cause: err,
        }),
      );
      return;
    }
    if (this.#stopped()) return;
    if (!force && text === this.#lastText) return;
    this.#lastText = text;
    this.loads++;
    let next: Snapshot;
    try {
      next = snapshotOf(parseResourceFile(text, this.path));
    } catch (err) {
      this.#reject(
        err instanceof MargayError
          ? err
          : new MargayError('MARGAY_ERR_DATASTORE_INVALID', `${this.path}: ${(err as Error).message}`, {
              cause: err,
            }),
      );
      return;
    }
    const previous = this.#snapshot;
    this.#snapshot = next;
    this.#lastError = undefined;
    if (!this.#ready) {
      this.#ready = true;
      for (const l of this.#listeners.ready) l(next);
      return;
    }
    const changes = diffSnapshots(previous, next);
    if (changes.length === 0) return;
    for (const l of this.#listeners.changed) l({ snapshot: next, previous, changes });
  }

  #stopped(): boolean {
    return this.#state === 'stopped';
  }

  #reject(error: MargayError): void {
    this.#lastError = error;
    for (const l of this.#listeners.error) l(error);
  }
}
