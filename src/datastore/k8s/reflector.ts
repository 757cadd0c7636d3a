// Reflector: keeps one kind's objects in step with the API server, the way client-go's reflector
// does — LIST, then WATCH from the list's resourceVersion, and keep going:
//
// - watch stream ended cleanly (server timeout) → watch again from the last resourceVersion seen
//   (events and BOOKMARKs move it on; bookmarks are requested, so a quiet kind does not fall out of
//   the server's watch window);
// - watch stream cut, or a request failed → retry after an exponential backoff with jitter
//   (`Backoff`), from the same resourceVersion;
// - `410 Gone` (the ERROR event with code 410, or a 410 answer) → LIST again. The relisted objects
//   replace the store as a whole; the owner diffs them, so an object deleted while we were not
//   watching is reported once and an unchanged one not at all;
// - a margay.io CRD that is not installed (404 on its LIST) → the kind is empty, reported once,
//   and the LIST is retried every `crdRetryMs`, so installing the CRDs later just works.
//
// LIST and WATCH go through client.ts, which hands back the JSON the server sent; every object goes
// through the model's validation.
//
// Every object is validated (model `validateAs`). An invalid object never blocks the others: a new
// one is left out, an update that breaks a valid one keeps its last good version in the store (the
// last good configuration stays in force); both are reported.
// resourceVersion and uid are the server's bookkeeping, not state the calculation reads: they are
// stripped before validation, so a write that changes nothing Margay reads (a node heartbeat) is
// no change, and an object read from Kubernetes equals the same object read from a file.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { MargayError } from '../../errors.ts';
import { strings } from '../../model/intern.ts';
import type { Resource, ResourceKind } from '../../model/resource.ts';
import { KINDS, resourceKey, validateAs } from '../../model/resource.ts';
import { clientFor, type KubeClient } from './client.ts';
import type { KindSource, ListPage } from './kinds.ts';
import type { KubeConfig } from './kubeconfig.ts';

/** Checking a relist's objects gives the event loop a turn after this many milliseconds of work. */
const SLICE_MS = 5;

export interface ObjectEntry {
  /** What the snapshot holds: the object, or while it is invalid its last good version (if any). */
  readonly resource: Resource | undefined;
  /** Validation problems of the object's current version; undefined when it is valid. */
  readonly problems: readonly string[] | undefined;
}

export interface ReflectorHooks {
  /** These keys' entries may have changed (an event, a relist, a CRD gone missing). */
  changed(kind: ResourceKind, keys: Iterable<string>): void;
  /** The first LIST completed (or the CRD is known to be missing). Called once. */
  synced(kind: ResourceKind): void;
  /** A LIST or a watch request succeeded. */
  connected(kind: ResourceKind): void;
  /** A LIST or a watch request failed; the reflector retries after a backoff. */
  failed(kind: ResourceKind, error: MargayError): void;
  /** The kind's CRD is not installed (404); called when that is first seen. */
  missing(kind: ResourceKind, error: MargayError): void;
  /** An object's validation problems appeared, changed or went away (`problems` undefined). */
  problem(
    kind: ResourceKind,
    key: string,
    problems: readonly string[] | undefined,
    keptLastGood: boolean,
  ): void;
}

export interface BackoffOptions {
  /** First retry delay; default 250 ms. */
  readonly initialMs?: number;
  /** Ceiling of the delay; default 30 s. */
  readonly maxMs?: number;
}

/** Exponential backoff with "equal jitter": a delay in [d/2, d), d doubling up to maxMs. */
export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions = {}, random: () => number = Math.random) {
    this.#initialMs = options.initialMs ?? 250;
    this.#maxMs = options.maxMs ?? 30_000;
    this.#random = random;
  }

  next(): number {
    const ceiling = Math.min(this.#maxMs, this.#initialMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.round(ceiling / 2 + (this.#random() * ceiling) / 2);
  }

  reset(): void {
    this.#attempt = 0;
  }
}

export interface ReflectorOptions {
  readonly source: KindSource;
  readonly kubeConfig: KubeConfig;
  readonly hooks: ReflectorHooks;
  readonly backoff?: BackoffOptions;
  readonly random?: () => number;
  /** How often the LIST of a missing CRD is retried; default 30 s. */
  readonly crdRetryMs?: number;
  /** LIST page size (limit/continue); default 500. */
  readonly pageSize?: number;
}

/** A validation problem that appeared, changed or went (`problems` undefined); see ReflectorHooks.problem. */
type ProblemReport = (key: string, problems: readonly string[] | undefined, keptLastGood: boolean) => void;

/** A LIST being read: the entries checked so far and the problem reports to make when it replaces the store. */
interface Relist {
  readonly next: Map<string, ObjectEntry>;
  readonly reports: [string, readonly string[] | undefined, boolean][];
  resourceVersion: string;
}

type WatchOutcome =
  | { readonly type: 'ended'; readonly livedMs: number }
  | { readonly type: 'expired' }
  /** `opened`: the stream had been established (a cut), else the request itself failed. */
  | { readonly type: 'error'; readonly error: unknown; readonly opened: boolean };

/** A stream that ends cleanly sooner than this is retried with backoff, not at once. */
const MIN_CLEAN_WATCH_MS = 1_000;
/** A LIST whose continue token expired (410) is restarted at most this many times in a row. */
const MAX_LIST_RESTARTS = 3;

export class Reflector {
  readonly kind: ResourceKind;
  readonly #source: KindSource;
  readonly #hooks: ReflectorHooks;
  readonly #client: KubeClient;
  readonly #backoff: Backoff;
  readonly #random: () => number;
  readonly #crdRetryMs: number;
  readonly #pageSize: number;
  #store = new Map<string, ObjectEntry>();
  #resourceVersion = '';
  #isSynced = false;
  #isMissing = false;
  #isStopped = false;
  #running: Promise<void> | undefined;
  #abort: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;

  constructor(options: ReflectorOptions) {
    this.kind = options.source.kind;
    this.#source = options.source;
    this.#hooks = options.hooks;
    this.#client = clientFor(options.kubeConfig);
    this.#random = options.random ?? Math.random;
    this.#backoff = new Backoff(options.backoff, this.#random);
    this.#crdRetryMs = options.crdRetryMs ?? 30_000;
    this.#pageSize = options.pageSize ?? 500;
  }

  get(key: string): ObjectEntry | undefined {
    return this.#store.get(key);
  }

  entries(): IterableIterator<[string, ObjectEntry]> {
    return this.#store.entries();
  }

  /** The resourceVersion the next watch resumes from ('' before the first LIST). */
  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  get isMissing(): boolean {
    return this.#isMissing;
  }

  start(): void {
    if (this.#running !== undefined) throw new Error(`Reflector(${this.kind}).start() called twice`);
    this.#running = this.#run();
  }

  async stop(): Promise<void> {
    this.#isStopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#wake?.();
    this.#abort?.();
    await this.#running;
  }

  async #run(): Promise<void> {
    let mustList = true;
    while (!this.#isStopped) {
      if (mustList) {
        let listed: Relist | undefined;
        try {
          listed = await this.#list();
        } catch (err) {
          if (this.#isStopped) return;
          if (this.#source.isCustom && statusOf(err) === 404) {
            this.#setMissing(err);
            await this.#sleep(this.#crdRetryMs);
          } else {
            this.#hooks.failed(this.kind, requestError(this.kind, 'list', err));
            await this.#sleep(this.#backoff.next());
          }
          continue;
        }
        if (listed === undefined || this.#isStopped) return;
        this.#replace(listed);
        this.#resourceVersion = listed.resourceVersion;
        this.#isMissing = false;
        this.#backoff.reset();
        mustList = false;
        this.#hooks.connected(this.kind);
        this.#markSynced();
      }
      const outcome = await this.#watchOnce();
      if (this.#isStopped) return;
      if (outcome.type === 'expired') {
        mustList = true; // 410 Gone: our resourceVersion left the watch window
      } else if (outcome.type === 'ended') {
        if (outcome.livedMs < MIN_CLEAN_WATCH_MS) await this.#sleep(this.#backoff.next());
      } else if (this.#source.isCustom && statusOf(outcome.error) === 404) {
        mustList = true; // the CRD went away: the LIST says so and empties the kind
      } else {
        if (!outcome.opened) this.#hooks.failed(this.kind, requestError(this.kind, 'watch', outcome.error));
        await this.#sleep(this.#backoff.next());
      }
    }
  }

  /**
   * LISTs the kind page by page, checking each page's objects as it comes (the next page is
   * already asked for meanwhile), so at most two pages of raw objects are held at a time.
   * Undefined when the reflector was stopped meanwhile.
   */
  async #list(): Promise<Relist | undefined> {
    const page = (continueToken: string | undefined): Promise<ListPage> => {
      const request = this.#source.list({
        limit: this.#pageSize,
        ...(continueToken !== undefined ? { continueToken } : {}),
      });
      request.catch(() => {}); // awaited below, unless the reflector stops first
      return request;
    };
    for (let restarts = 0; ; restarts++) {
      const relist: Relist = { next: new Map(), reports: [], resourceVersion: '' };
      /** The continue token of the page being read; undefined while reading the first. */
      let continueToken: string | undefined;
      try {
        let pending: Promise<ListPage> | undefined = page(undefined);
        while (pending !== undefined) {
          const current: ListPage = await pending;
          continueToken = current.continueToken;
          pending = continueToken !== undefined && !this.#isStopped ? page(continueToken) : undefined;
          if (this.#isStopped || !(await this.#checkPage(current.items, relist))) return undefined;
          relist.resourceVersion = current.resourceVersion;
        }
        return relist;
      } catch (err) {
        // A continue token expires with the watch window (410): start the LIST over.
        if (continueToken === undefined || statusOf(err) !== 410 || restarts >= MAX_LIST_RESTARTS) throw err;
      }
    }
  }

  /**
   * Checks a page's objects into the relist, giving the event loop a turn every SLICE_MS (a list of
   * tens of thousands of pods takes about a second to check). False when stopped meanwhile.
   */
  async #checkPage(items: readonly unknown[], relist: Relist): Promise<boolean> {
    const report: ProblemReport = (key, problems, keptLastGood) =>
      relist.reports.push([key, problems, keptLastGood]);
    let since = performance.now();
    for (const item of items) {
      const checked = this.#check(item, this.#store, report);
      if (checked !== undefined) relist.next.set(checked[0], checked[1]);
      if (performance.now() - since < SLICE_MS) continue;
      await nextTurn();
      if (this.#isStopped) return false;
      since = performance.now();
    }
    return true;
  }

  async #watchOnce(): Promise<WatchOutcome> {
    let isExpired = false;
    let streamError: unknown;
    const onEvent = (type: string, obj: unknown): void => {
      if (this.#isStopped || isExpired || streamError !== undefined) return;
      if (type === 'ERROR') {
        if (statusOf(obj) === 410) isExpired = true;
        else streamError = watchStatusError(obj);
        stream.abort();
        return;
      }
      if (type === 'ADDED' || type === 'MODIFIED') this.#upsert(obj);
      else if (type === 'DELETED') this.#delete(obj);
      const rv = (obj as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion;
      if (typeof rv === 'string' && rv !== '') this.#resourceVersion = rv;
    };
    const stream = this.#client.watch(
      this.#source.watchPath,
      {
        resourceVersion: this.#resourceVersion,
        allowWatchBookmarks: true,
        // Like client-go: the server ends the stream after 5–10 minutes and we resume, so a
        // connection that died without a FIN or RST is noticed.
        timeoutSeconds: 300 + Math.floor(this.#random() * 300),
        ...(this.#source.fieldSelector !== undefined ? { fieldSelector: this.#source.fieldSelector } : {}),
      },
      onEvent,
    );
    this.#abort = () => stream.abort();
    try {
      try {
        await stream.opened;
      } catch (err) {
        return statusOf(err) === 410 ? { type: 'expired' } : { type: 'error', error: err, opened: false };
      }
      const openedAt = Date.now();
      if (!this.#isStopped) {
        this.#backoff.reset();
        this.#hooks.connected(this.kind);
      }
      const cut = await stream.ended;
      if (isExpired) return { type: 'expired' };
      if (streamError !== undefined) return { type: 'error', error: streamError, opened: true };
      if (cut !== undefined) return { type: 'error', error: cut, opened: true };
      return { type: 'ended', livedMs: Date.now() - openedAt };
    } finally {
      this.#abort = undefined;
    }
  }

  #sleep(ms: number): Promise<void> {
    if (this.#isStopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.#wake = () => {
        this.#wake = undefined;
        resolve();
      };
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#wake?.();
      }, ms);
    });
  }

  #markSynced(): void {
    if (this.#isSynced) return;
    this.#isSynced = true;
    this.#hooks.synced(this.kind);
  }

  #setMissing(err: unknown): void {
    const keys = [...this.#store.keys()];
    for (const [key, entry] of this.#store)
      if (entry.problems !== undefined) this.#hooks.problem(this.kind, key, undefined, false);
    this.#store = new Map();
    this.#resourceVersion = '';
    if (keys.length > 0) this.#hooks.changed(this.kind, keys);
    this.#hooks.connected(this.kind); // the server answered: it just does not know the kind
    if (!this.#isMissing) {
      this.#isMissing = true;
      const { apiVersion, plural } = KINDS[this.kind];
      this.#hooks.missing(
        this.kind,
        new MargayError(
          'MARGAY_ERR_DATASTORE_CRD_MISSING',
          `${this.kind}: the CustomResourceDefinition ${plural}.${apiVersion.split('/')[0]} is not installed ` +
            `(404 on ${apiVersion} ${plural}); treating ${this.kind} as empty and retrying every ` +
            `${Math.round(this.#crdRetryMs / 1000)} s`,
          { cause: err },
        ),
      );
    }
    this.#markSynced();
  }

  /**
   * A relist: the checked objects replace the store all at once, so a snapshot taken while the
   * LIST was read never sees half a list; then the problems found while checking are reported.
   */
  #replace(relist: Relist): void {
    const previous = this.#store;
    this.#store = relist.next;
    for (const [key, problems, keptLastGood] of relist.reports)
      this.#hooks.problem(this.kind, key, problems, keptLastGood);
    const keys = new Set(previous.keys());
    for (const key of this.#store.keys()) keys.add(key);
    for (const key of previous.keys()) {
      if (!this.#store.has(key) && previous.get(key)?.problems !== undefined)
        this.#hooks.problem(this.kind, key, undefined, false);
    }
    if (keys.size > 0) this.#hooks.changed(this.kind, keys);
  }

  #upsert(raw: unknown): void {
    const checked = this.#check(raw, this.#store, (key, problems, keptLastGood) =>
      this.#hooks.problem(this.kind, key, problems, keptLastGood),
    );
    if (checked === undefined) return;
    this.#store.set(checked[0], checked[1]);
    this.#hooks.changed(this.kind, [checked[0]]);
  }

  /**
   * The store entry of a raw object: the validated object, or its problems with the last good
   * version from `previousStore` kept; `report`s a problem that appears, changes or goes.
   */
  #check(
    raw: unknown,
    previousStore: ReadonlyMap<string, ObjectEntry>,
    report: ProblemReport,
  ): [string, ObjectEntry] | undefined {
    // The API server never sends an object without a name; there is nothing to key it by.
    const key = this.#keyOf(raw);
    if (key === undefined) return undefined;
    const previous = previousStore.get(key);
    const result = validateAs(this.kind, stripServerFields(raw));
    let entry: ObjectEntry;
    if (result.ok) {
      // Its repeated values ("v1", "TCP", label values, …) shared with the objects kept before it.
      entry = { resource: strings.internValues(result.resource), problems: undefined };
      if (previous?.problems !== undefined) report(key, undefined, false);
    } else {
      entry = { resource: previous?.resource, problems: result.problems };
      if (previous?.problems === undefined || previous.problems.join('\n') !== result.problems.join('\n'))
        report(key, result.problems, entry.resource !== undefined);
    }
    return [key, entry];
  }

  #delete(raw: unknown): void {
    const key = this.#keyOf(raw);
    if (key === undefined) return;
    const previous = this.#store.get(key);
    if (previous === undefined) return;
    this.#store.delete(key);
    if (previous.problems !== undefined) this.#hooks.problem(this.kind, key, undefined, false);
    this.#hooks.changed(this.kind, [key]);
  }

  /** The snapshot key of a raw object (also of an invalid one), or undefined without a name. */
  #keyOf(raw: unknown): string | undefined {
    const meta = (raw as { metadata?: { name?: unknown; namespace?: unknown } } | null)?.metadata;
    if (typeof meta?.name !== 'string' || meta.name === '') return undefined;
    if (!KINDS[this.kind].namespaced) return resourceKey({ metadata: { name: meta.name } });
    const namespace =
      typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default';
    return resourceKey({ metadata: { name: meta.name, namespace } });
  }
}

/** The object without metadata.resourceVersion and metadata.uid (see the header). */
function stripServerFields(raw: unknown): unknown {
  if (raw === null || typeof raw !== 'object') return raw;
  const obj = raw as { metadata?: unknown };
  if (obj.metadata === null || typeof obj.metadata !== 'object') return raw;
  const { resourceVersion: _rv, uid: _uid, ...metadata } = obj.metadata as Record<string, unknown>;
  return { ...obj, metadata };
}

/** The HTTP status of a failed request (KubeApiError.statusCode) or of a Status object (code). */
export function statusOf(err: unknown): number | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e.statusCode === 'number') return e.statusCode;
  if (typeof e.code === 'number') return e.code;
  return undefined;
}

function watchStatusError(status: unknown): Error & { statusCode?: number } {
  const s = (status ?? {}) as { code?: unknown; message?: unknown };
  const error: Error & { statusCode?: number } = new Error(
    typeof s.message === 'string' ? s.message : 'watch ERROR event',
  );
  if (typeof s.code === 'number') error.statusCode = s.code;
  return error;
}

/** "Pod watch failed: HTTP 503: the server is currently unable to handle the request". */
export function requestError(kind: ResourceKind, verb: 'list' | 'watch', err: unknown): MargayError {
  const status = statusOf(err);
  const detail = err instanceof Error ? err.message : String(err);
  const prefix = status !== undefined ? `HTTP ${status}: ` : '';
  return new MargayError(
    'MARGAY_ERR_DATASTORE_UNAVAILABLE',
    `${kind} ${verb} failed: ${prefix}${detail.split('\n')[0]}`,
    { cause: err },
  );
}
