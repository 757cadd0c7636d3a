// SecretReflectors: the Secrets the BGP passwords name, and no others. The agent's Role grants
// get/list/watch on `secrets` with resourceNames (the chart lists exactly the named Secrets), and
// RBAC lets a LIST or WATCH through such a rule only when it names one object with the field
// selector `metadata.name=NAME`. So there is one Reflector per named Secret, in the agent's
// namespace, each on its own field selector (kinds.ts secretSource); never a cluster-wide or
// namespace-wide read.
//
// - The names come from the BGPPeer `password` and BGPConfiguration `nodeMeshPassword` objects
//   the other reflectors hold (`setNames`); a name no longer referenced has its reflector stopped
//   and its Secret leaves the snapshot.
// - To the datastore this is the Secret kind's reflector: it is synced once the names are known
//   (both BGP kinds synced) and every named Secret's first LIST is answered.
// - A Secret the Role does not grant (403) is a problem of that Secret ("forbidden: add it to the
//   chart's bgp.passwordSecrets"), not an outage of the datastore; its reflector keeps retrying
//   with backoff, so granting it later just works. A Secret that does not exist is an empty list.
import type { MargayError } from '../../errors.ts';
import type { BGPConfiguration, BGPPeer } from '../../model/bgp.ts';
import type { ResourceKind } from '../../model/resource.ts';
import { secretSource } from './kinds.ts';
import type { KubeConfig } from './kubeconfig.ts';
import {
  type BackoffOptions,
  type ObjectEntry,
  Reflector,
  type ReflectorHooks,
  statusOf,
} from './reflector.ts';

/** What the datastore reads of a kind's reflector. */
export interface KindReader {
  readonly kind: ResourceKind;
  readonly isMissing: boolean;
  get(key: string): ObjectEntry | undefined;
  entries(): IterableIterator<[string, ObjectEntry]>;
  start(): void;
  stop(): Promise<void>;
}

export interface SecretReflectorsOptions {
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  readonly hooks: ReflectorHooks;
  readonly backoff?: BackoffOptions;
  readonly random?: () => number;
}

/** The Secret names the BGP passwords of these objects refer to. */
export function passwordSecretNames(
  peers: Iterable<BGPPeer>,
  configs: Iterable<BGPConfiguration>,
): Set<string> {
  const names = new Set<string>();
  for (const p of peers) if (p.spec.password !== undefined) names.add(p.spec.password.secretKeyRef.name);
  for (const c of configs)
    if (c.spec.nodeMeshPassword !== undefined) names.add(c.spec.nodeMeshPassword.secretKeyRef.name);
  return names;
}

export class SecretReflectors implements KindReader {
  readonly kind = 'Secret' as const;
  readonly isMissing = false;
  readonly #options: SecretReflectorsOptions;
  readonly #reflectors = new Map<string, Reflector>();
  /** Names whose first LIST was answered (or refused with 403). */
  readonly #answered = new Set<string>();
  readonly #forbidden = new Set<string>();
  #namesKnown = false;
  #isSynced = false;
  #isStarted = false;
  #isStopped = false;

  constructor(options: SecretReflectorsOptions) {
    this.#options = options;
  }

  /** The namespace/name key of a Secret name. */
  #key(name: string): string {
    return `${this.#options.namespace}/${name}`;
  }

  get(key: string): ObjectEntry | undefined {
    const prefix = `${this.#options.namespace}/`;
    if (!key.startsWith(prefix)) return undefined;
    return this.#reflectors.get(key.slice(prefix.length))?.get(key);
  }

  *entries(): IterableIterator<[string, ObjectEntry]> {
    for (const r of this.#reflectors.values()) yield* r.entries();
  }

  /** The names being read, sorted. */
  names(): string[] {
    return [...this.#reflectors.keys()].sort();
  }

  start(): void {
    this.#isStarted = true;
    for (const r of this.#reflectors.values()) r.start();
  }

  async stop(): Promise<void> {
    this.#isStopped = true;
    await Promise.all([...this.#reflectors.values()].map((r) => r.stop()));
  }

  /**
   * The Secrets to read now. `final` says the BGP kinds have been listed, so the set is the
   * cluster's (before that, the kind is not synced however few names are answered).
   */
  setNames(names: ReadonlySet<string>, final: boolean): void {
    if (this.#isStopped) return;
    const { hooks } = this.#options;
    for (const [name, r] of this.#reflectors) {
      if (names.has(name)) continue;
      this.#reflectors.delete(name);
      this.#answered.delete(name);
      const key = this.#key(name);
      this.#forbidden.delete(name);
      hooks.problem('Secret', key, undefined, false);
      void r.stop();
      hooks.changed('Secret', [key]);
    }
    for (const name of names) {
      if (this.#reflectors.has(name)) continue;
      const r = this.#reflector(name);
      this.#reflectors.set(name, r);
      if (this.#isStarted) r.start();
    }
    if (final) this.#namesKnown = true;
    this.#checkSynced();
  }

  #checkSynced(): void {
    if (this.#isSynced || !this.#namesKnown) return;
    for (const name of this.#reflectors.keys()) if (!this.#answered.has(name)) return;
    this.#isSynced = true;
    this.#options.hooks.synced('Secret');
  }

  #reflector(name: string): Reflector {
    const outer = this.#options.hooks;
    const key = this.#key(name);
    const answered = (): void => {
      this.#answered.add(name);
      this.#checkSynced();
    };
    const clearForbidden = (): void => {
      if (this.#forbidden.delete(name)) outer.problem('Secret', key, undefined, false);
    };
    const hooks: ReflectorHooks = {
      changed: (kind, keys) => outer.changed(kind, keys),
      synced: () => {
        clearForbidden();
        answered();
      },
      connected: (kind) => {
        clearForbidden();
        outer.connected(kind);
      },
      failed: (kind, error: MargayError) => {
        if (statusOf(error.cause) !== 403) {
          outer.failed(kind, error);
          return;
        }
        if (!this.#forbidden.has(name)) {
          this.#forbidden.add(name);
          outer.problem(
            'Secret',
            key,
            [
              `Secret ${key}: forbidden: the agent's Role does not grant reading it ` +
                "(name it in the chart's bgp.passwordSecrets)",
            ],
            false,
          );
        }
        outer.connected(kind); // the API server answered: only this Secret is refused
        answered();
      },
      missing: (kind, error) => outer.missing(kind, error),
      problem: (kind, k, problems, keptLastGood) => outer.problem(kind, k, problems, keptLastGood),
    };
    return new Reflector({
      source: secretSource(this.#options.kubeConfig, this.#options.namespace, name),
      kubeConfig: this.#options.kubeConfig,
      hooks,
      ...(this.#options.backoff !== undefined ? { backoff: this.#options.backoff } : {}),
      ...(this.#options.random !== undefined ? { random: this.#options.random } : {}),
    });
  }
}
