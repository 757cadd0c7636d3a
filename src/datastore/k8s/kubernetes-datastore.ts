// KubernetesDatastore: the cluster state from the API server — core/v1 Nodes, Pods, Namespaces,
// networking.k8s.io/v1 NetworkPolicies and the margay.io BGPConfigurations, BGPPeers and IPPools —
// through one Reflector per kind (reflector.ts: list+watch, resume, backoff, 410 relist, missing
// CRDs). It behaves as the FileDatastore does (types.ts contract): same events, same snapshots.
//
// - Ready once the initial LIST of every kind has completed (a missing CRD counts as an empty
//   list); 'ready' is emitted once, with the first snapshot.
// - Changes are batched, leading edge first: a change that comes after a quiet time (no 'changed'
//   in the last `debounceMs`) goes out on the next turn of the event loop, together with whatever
//   else that turn read (the rest of its watch chunk, the other kinds' streams), so a lone change
//   is not held back. A change within `debounceMs` of a 'changed' starts a trailing batch: it arms a
//   `debounceMs` timer that every further change pushes back, but never beyond `maxDelayMs` after
//   its first change, so a burst of pod events is a few 'changed' and a steady stream still gets
//   through. A batch that changes nothing (a node heartbeat) emits nothing, so it does not end a
//   quiet time.
// - The per-object changes are computed for the touched keys only, in diffSnapshots' order, and
//   the next snapshot shares everything else with the previous one, so a batch costs the keys it
//   touches; a relist touches every key of its kind, and the comparison with the emitted snapshot
//   makes a vanished object one 'deleted' and an unchanged one nothing.
// - An API-server outage (refused connections, 5xx, 401/403) withdraws nothing: the stores keep
//   their objects, the snapshot stays, `health().connected` turns false, `lastError` names the
//   failure and 'error' is emitted once per outage (not per retry). When every kind has listed or
//   watched again the datastore is connected; the resumed watches or relists bring exactly the
//   differences. A watch stream that is cut is not an outage by itself (the API server does that on
//   restart or rollout); failing to open the next one is.
// - An invalid object is reported ('error', MARGAY_ERR_DATASTORE_OBJECT_INVALID, naming kind, name
//   and field) and listed by `problems()`; it never blocks the others. A missing CRD is reported
//   once per disappearance (MARGAY_ERR_DATASTORE_CRD_MISSING) and listed by `health().missingKinds`.
// - `lastError`: the outage error while disconnected, else the newest error of an object that is
//   still invalid, else undefined. A missing CRD does not hold it: the kind is legitimately empty.
// - Least privilege: only LIST and WATCH requests are made, and Secrets only by name: the ones
//   that BGP passwords name, in `secretNamespace` (secrets.ts); without `secretNamespace` none.
//   The Secret kind is synced once the BGP kinds are and each named Secret has been listed.
import { HOST_TIMERS, type HostTimers } from '../../../bgp/index.ts';
import { MargayError } from '../../errors.ts';
import type { Resource, ResourceKind, ResourceOfKind } from '../../model/resource.ts';
import type { ResourceChange, Snapshot } from '../../model/snapshot.ts';
import {
  applyChanges,
  emptySnapshot,
  SNAPSHOT_FIELD,
  sameResource,
  snapshotOf,
} from '../../model/snapshot.ts';
import type { Datastore, DatastoreEvents, SnapshotChanged } from '../types.ts';
import { type KindSource, kindSources } from './kinds.ts';
import { type KubeConfig, loadKubeConfig } from './kubeconfig.ts';
import { type BackoffOptions, Reflector, type ReflectorHooks } from './reflector.ts';
import { type KindReader, passwordSecretNames, SecretReflectors } from './secrets.ts';

export interface KubernetesDatastoreOptions {
  /** A KubeConfig, a kubeconfig file path, or undefined: in-cluster service account, then $KUBECONFIG. */
  readonly kubeConfig?: KubeConfig | string;
  /**
   * The quiet time, default 50 ms. A change that comes `debounceMs` or more after the last
   * 'changed' (or before the first) is emitted on the next turn of the event loop. A change that
   * comes sooner waits until no change has come for `debounceMs` (bounded by `maxDelayMs`).
   */
  readonly debounceMs?: number;
  /**
   * Longest time from the first change of a waiting batch (one that began within `debounceMs` of
   * a 'changed') to its 'changed', however steady the stream; default 500 ms, and never less than
   * `debounceMs`.
   */
  readonly maxDelayMs?: number;
  /**
   * Monotonic clock in ms that `debounceMs` and `maxDelayMs` run on (tests inject one); default
   * performance.now.
   */
  readonly clock?: () => number;
  /**
   * The timer that emits a batch; it must run on `clock`, and a 0 ms timeout is the next turn of
   * the event loop. Default the host's setTimeout and clearTimeout, with setImmediate for 0 ms. A
   * test that injects a clock injects timers on it, so that moving its clock emits the batch.
   */
  readonly timers?: HostTimers;
  /** Retry delays after a failed or cut request; default 250 ms doubling to 30 s, with jitter. */
  readonly backoff?: BackoffOptions;
  /** Retry period of the LIST of a margay.io kind whose CRD is not installed; default 30 s. */
  readonly crdRetryMs?: number;
  /** LIST page size; default 500. */
  readonly pageSize?: number;
  /** Random source of the jitter (tests pin it). */
  readonly random?: () => number;
  /** Replaces the API sources (tests). */
  readonly sources?: readonly KindSource[];
  /**
   * The namespace the agent runs in: the Secrets BGP passwords name are read there, each by name.
   * Without it no Secret is read (margayctl).
   */
  readonly secretNamespace?: string;
}

export interface DatastoreHealth {
  /** Every kind's last request succeeded (its LIST, or the opening of its watch). */
  readonly connected: boolean;
  /** When `connected` last changed (the construction time until then). */
  readonly since: Date;
  readonly lastError: MargayError | undefined;
  /** margay.io kinds whose CRD is not installed (treated as empty, retried). */
  readonly missingKinds: readonly ResourceKind[];
}

export interface ObjectProblem {
  readonly kind: ResourceKind;
  /** `name` or `namespace/name`. */
  readonly key: string;
  /** "BGPPeer tor-1: spec.asNumber: must be …", one per field. */
  readonly problems: readonly string[];
  /** The object's last good version is still in the snapshot (it broke in an update). */
  readonly keptLastGood: boolean;
  readonly error: MargayError;
}

type Listeners = { [E in keyof DatastoreEvents]: Set<DatastoreEvents[E]> };

/** A 0 ms timeout of NEXT_TURN_TIMERS: a setImmediate, which clearTimeout cannot cancel. */
class NextTurn {
  readonly immediate: NodeJS.Immediate;
  constructor(immediate: NodeJS.Immediate) {
    this.immediate = immediate;
  }
}

/**
 * The host's timers, with a 0 ms timeout on setImmediate: it runs once the I/O callbacks of this
 * turn of the event loop are done, where the host's setTimeout waits for the next timers phase and
 * at least 1 ms.
 */
const NEXT_TURN_TIMERS: HostTimers = {
  setTimeout: (callback, ms) =>
    ms > 0 ? HOST_TIMERS.setTimeout(callback, ms) : new NextTurn(setImmediate(callback)),
  clearTimeout: (handle) => {
    if (handle instanceof NextTurn) clearImmediate(handle.immediate);
    else HOST_TIMERS.clearTimeout(handle);
  },
};

export class KubernetesDatastore implements Datastore {
  readonly #kubeConfig: KubeConfig;
  readonly #debounceMs: number;
  readonly #maxDelayMs: number;
  readonly #clock: () => number;
  readonly #timers: HostTimers;
  readonly #reflectors = new Map<ResourceKind, KindReader>();
  readonly #secrets: SecretReflectors | undefined;
  readonly #listeners: Listeners = { ready: new Set(), changed: new Set(), error: new Set() };
  readonly #dirty = new Map<ResourceKind, Set<string>>();
  readonly #synced = new Set<ResourceKind>();
  readonly #attempted = new Set<ResourceKind>();
  readonly #healthy = new Map<ResourceKind, boolean>();
  readonly #problems = new Map<string, ObjectProblem>();
  #snapshot: Snapshot = emptySnapshot();
  #ready = false;
  #connected = false;
  #since = new Date();
  #outageError: MargayError | undefined;
  #timer: unknown;
  /** The pending batch: out on the next turn (leading edge), or waiting for the quiet time. */
  #pending: 'next-turn' | 'quiet' | undefined;
  /** When the first change of a batch that waits for the quiet time came. */
  #firstDirtyAt = 0;
  /** When the last 'changed' was emitted. */
  #emittedAt: number | undefined;
  #state: 'new' | 'started' | 'stopped' = 'new';
  #firstAttempts: (() => void) | undefined;

  constructor(options: KubernetesDatastoreOptions = {}) {
    this.#kubeConfig = loadKubeConfig(options.kubeConfig);
    this.#debounceMs = options.debounceMs ?? 50;
    this.#maxDelayMs = Math.max(options.maxDelayMs ?? 500, this.#debounceMs);
    this.#clock = options.clock ?? (() => performance.now());
    this.#timers = options.timers ?? NEXT_TURN_TIMERS;
    const hooks = this.#hooks();
    for (const source of options.sources ?? kindSources(this.#kubeConfig)) {
      this.#reflectors.set(
        source.kind,
        new Reflector({
          source,
          kubeConfig: this.#kubeConfig,
          hooks,
          ...(options.backoff !== undefined ? { backoff: options.backoff } : {}),
          ...(options.random !== undefined ? { random: options.random } : {}),
          ...(options.crdRetryMs !== undefined ? { crdRetryMs: options.crdRetryMs } : {}),
          ...(options.pageSize !== undefined ? { pageSize: options.pageSize } : {}),
        }),
      );
    }
    this.#secrets =
      options.secretNamespace !== undefined
        ? new SecretReflectors({
            kubeConfig: this.#kubeConfig,
            namespace: options.secretNamespace,
            hooks,
            ...(options.backoff !== undefined ? { backoff: options.backoff } : {}),
            ...(options.random !== undefined ? { random: options.random } : {}),
          })
        : undefined;
    if (this.#secrets !== undefined) this.#reflectors.set('Secret', this.#secrets);
  }

  /**
   * From the agent configuration's `datastore: {type: kubernetes, kubeconfig?}` and the namespace
   * BGP password Secrets are read in.
   */
  static fromConfig(config: {
    readonly kubeconfig?: string | undefined;
    readonly secretNamespace?: string | undefined;
  }): KubernetesDatastore {
    return new KubernetesDatastore({
      ...(config.kubeconfig !== undefined ? { kubeConfig: config.kubeconfig } : {}),
      ...(config.secretNamespace !== undefined ? { secretNamespace: config.secretNamespace } : {}),
    });
  }

  /** The Secrets being read (by name, in the secret namespace). */
  secretNames(): string[] {
    return this.#secrets?.names() ?? [];
  }

  /** Hands the Secret names the BGP objects now refer to to the Secret reflectors. */
  #updateSecretNames(): void {
    if (this.#secrets === undefined) return;
    const values = <K extends ResourceKind>(kind: K): ResourceOfKind<K>[] => {
      const r = this.#reflectors.get(kind);
      if (r === undefined) return [];
      return [...r.entries()].flatMap(([, e]) =>
        e.resource !== undefined ? [e.resource as ResourceOfKind<K>] : [],
      );
    };
    const final = this.#synced.has('BGPPeer') && this.#synced.has('BGPConfiguration');
    this.#secrets.setNames(passwordSecretNames(values('BGPPeer'), values('BGPConfiguration')), final);
  }

  get lastError(): MargayError | undefined {
    if (!this.#connected && this.#outageError !== undefined) return this.#outageError;
    let newest: MargayError | undefined;
    for (const p of this.#problems.values()) newest = p.error;
    return newest;
  }

  snapshot(): Snapshot {
    return this.#snapshot;
  }

  ready(): boolean {
    return this.#ready;
  }

  health(): DatastoreHealth {
    return {
      connected: this.#connected,
      since: this.#since,
      lastError: this.lastError,
      missingKinds: [...this.#reflectors.values()].filter((r) => r.isMissing).map((r) => r.kind),
    };
  }

  /** The objects that are invalid now. */
  problems(): readonly ObjectProblem[] {
    return [...this.#problems.values()];
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
   * Starts listing and watching every kind. Resolves once each kind's first LIST has been
   * answered or has failed; check `ready()` / `lastError` (a later success makes it ready).
   */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error('KubernetesDatastore.start() called twice');
    this.#state = 'started';
    const attempted = new Promise<void>((resolve) => {
      this.#firstAttempts = resolve;
    });
    for (const r of this.#reflectors.values()) r.start();
    await attempted;
  }

  async stop(): Promise<void> {
    this.#state = 'stopped';
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending = undefined;
    this.#firstAttempts?.();
    await Promise.all([...this.#reflectors.values()].map((r) => r.stop()));
  }

  #hooks(): ReflectorHooks {
    return {
      changed: (kind, keys) => {
        let set = this.#dirty.get(kind);
        if (set === undefined) {
          set = new Set();
          this.#dirty.set(kind, set);
        }
        for (const key of keys) set.add(key);
        if (kind === 'BGPPeer' || kind === 'BGPConfiguration') this.#updateSecretNames();
        if (this.#ready) this.#schedule();
      },
      synced: (kind) => {
        this.#synced.add(kind);
        if (kind === 'BGPPeer' || kind === 'BGPConfiguration') this.#updateSecretNames();
        this.#attempt(kind);
        if (!this.#ready && this.#synced.size === this.#reflectors.size) this.#becomeReady();
      },
      connected: (kind) => {
        this.#healthy.set(kind, true);
        this.#updateConnected();
      },
      failed: (kind, error) => {
        this.#healthy.set(kind, false);
        this.#attempt(kind);
        const wasReported = !this.#connected && this.#outageError !== undefined;
        this.#outageError = error;
        this.#updateConnected();
        if (!wasReported) this.#emit('error', error);
      },
      missing: (_kind, error) => this.#emit('error', error),
      problem: (kind, key, problems, keptLastGood) => {
        const id = `${kind}\u0000${key}`;
        this.#problems.delete(id); // re-inserted last: lastError is the newest
        if (problems === undefined) return;
        const error = new MargayError(
          'MARGAY_ERR_DATASTORE_OBJECT_INVALID',
          `${problems.join('; ')} (${keptLastGood ? 'its last good version stays in force' : 'left out'})`,
        );
        this.#problems.set(id, { kind, key, problems, keptLastGood, error });
        this.#emit('error', error);
      },
    };
  }

  #attempt(kind: ResourceKind): void {
    this.#attempted.add(kind);
    if (this.#attempted.size === this.#reflectors.size) {
      this.#firstAttempts?.();
      this.#firstAttempts = undefined;
    }
  }

  #updateConnected(): void {
    const connected =
      this.#healthy.size === this.#reflectors.size && [...this.#healthy.values()].every((h) => h);
    if (connected === this.#connected) return;
    this.#connected = connected;
    this.#since = new Date();
    if (connected) this.#outageError = undefined;
  }

  #becomeReady(): void {
    const resources: Resource[] = [];
    for (const r of this.#reflectors.values())
      for (const [, entry] of r.entries()) if (entry.resource !== undefined) resources.push(entry.resource);
    this.#snapshot = snapshotOf(resources);
    this.#dirty.clear();
    this.#ready = true;
    this.#emit('ready', this.#snapshot);
  }

  /**
   * Takes a change into the pending batch, or starts one (see the header): after a quiet time a
   * batch that goes out on the next turn, which the changes of this turn join; within `debounceMs`
   * of the last 'changed' a batch that each change pushes back by `debounceMs`, up to `maxDelayMs`
   * after its first. The clock is read once per change taken in, whichever batch it joins (the
   * tests count the reads to know what has been taken in).
   */
  #schedule(): void {
    if (this.#state !== 'started') return;
    const now = this.#clock();
    if (this.#pending === 'next-turn') return;
    if (this.#pending === undefined) {
      if (this.#emittedAt === undefined || now - this.#emittedAt >= this.#debounceMs) {
        this.#pending = 'next-turn';
        this.#timer = this.#timers.setTimeout(() => this.#flush(), 0);
        return;
      }
      this.#pending = 'quiet';
      this.#firstDirtyAt = now;
    }
    const due = Math.min(now + this.#debounceMs, this.#firstDirtyAt + this.#maxDelayMs);
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = this.#timers.setTimeout(() => this.#flush(), Math.max(0, due - now));
  }

  /**
   * Emits the real differences at the touched keys and the snapshot they lead to. The untouched
   * kinds and keys are shared with the previous snapshot (applyChanges), so a batch costs the keys
   * it touched, not the cluster.
   */
  #flush(): void {
    this.#timer = undefined;
    this.#pending = undefined;
    if (this.#state !== 'started') return;
    const previous = this.#snapshot;
    const changes: ResourceChange[] = [];
    for (const [kind, field] of Object.entries(SNAPSHOT_FIELD) as [ResourceKind, keyof Snapshot][]) {
      const keys = this.#dirty.get(kind);
      const reflector = this.#reflectors.get(kind);
      if (keys === undefined || keys.size === 0 || reflector === undefined) continue;
      const before = previous[field] as ReadonlyMap<string, Resource>;
      const deleted: ResourceChange[] = [];
      for (const key of [...keys].sort()) {
        const was = before.get(key);
        const now = reflector.get(key)?.resource;
        if (now === undefined) {
          if (was !== undefined) deleted.push({ type: 'deleted', kind, key, resource: was });
        } else if (was === undefined) changes.push({ type: 'added', kind, key, resource: now });
        else if (!sameResource(was, now))
          changes.push({ type: 'modified', kind, key, resource: now, previous: was });
      }
      changes.push(...deleted);
    }
    this.#dirty.clear();
    if (changes.length === 0) return;
    const next = applyChanges(previous, changes);
    this.#snapshot = next;
    const event: SnapshotChanged = { snapshot: next, previous, changes };
    this.#emittedAt = this.#clock();
    this.#emit('changed', event);
  }

  #emit<E extends keyof DatastoreEvents>(event: E, payload: Parameters<DatastoreEvents[E]>[0]): void {
    for (const listener of this.#listeners[event]) {
      try {
        (listener as (p: typeof payload) => void)(payload);
      } catch (err) {
        // A throwing listener is the caller's bug: surface it, but not inside a reflector's loop.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
