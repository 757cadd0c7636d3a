// The fake API server's storage: what etcd plus the registry strategies do for the objects we serve.
//
// - One global revision counter, like etcd's: every write bumps it and the object's
//   metadata.resourceVersion is the revision of its last write (a deleted object's is the deletion's).
// - A bounded history of events (the watch window). Everything after `compactedRevision` is kept, so
//   a watch can resume from any resourceVersion ≥ compactedRevision and a paged list can be served
//   at its first page's revision by undoing later events; anything older is 410 Expired.
// - Server-set fields: uid, creationTimestamp, generation (bumped when anything but metadata — and
//   status, for resources with a status subresource — changes), resourceVersion.
// - A write that changes nothing is not a write (etcd3 GuaranteedUpdate): no new revision, no event.
// Deletes are immediate: no graceful deletion, finalizers are stored but not waited for. Deleting a
// namespace deletes the namespaced objects in it first, each with its own event.
import { randomUUID } from 'node:crypto';
import { deepEqual } from './patch.ts';
import type { JsonObject, KubeObject, ResourceDef } from './resources.ts';
import { apiVersionOf, resourceKey } from './resources.ts';
import {
  alreadyExists,
  badRequest,
  conflict,
  invalid,
  notFound,
  STALE_OBJECT,
  type StatusCause,
} from './status.ts';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  readonly rv: number;
  readonly type: EventType;
  readonly resource: string;
  /** The object after the write; for DELETED its last content with the deletion's resourceVersion. */
  readonly object: KubeObject;
  /** The object before the write (MODIFIED, DELETED). */
  readonly prev: KubeObject | undefined;
}

export interface WriteOptions {
  readonly dryRun?: boolean;
}

export interface UpdateOptions extends WriteOptions {
  readonly subresource?: 'status';
  /** Custom resources refuse an update without metadata.resourceVersion (no unconditional update). */
  readonly requireResourceVersion?: boolean;
}

export interface DeleteOptions extends WriteOptions {
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string };
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const GENERATE_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

function nowTimestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Everything generation tracks: the object minus metadata (and minus status when it is a subresource). */
function specOf(def: ResourceDef, obj: KubeObject): JsonObject {
  const { metadata: _m, status, ...rest } = obj;
  return (def.hasStatus ? rest : { ...rest, status }) as JsonObject;
}

export class ObjectStore {
  #revision: number;
  #compacted: number;
  readonly #historyLimit: number;
  #history: StoreEvent[] = [];
  readonly #objects = new Map<string, Map<string, KubeObject>>();
  readonly #defs = new Map<string, ResourceDef>();
  readonly #listeners = new Set<(event: StoreEvent) => void>();

  constructor(opts: { readonly historyLimit: number; readonly startRevision: number }) {
    this.#historyLimit = opts.historyLimit;
    this.#revision = opts.startRevision;
    this.#compacted = opts.startRevision;
  }

  get revision(): number {
    return this.#revision;
  }

  /** Watches and consistent list pages can be served from any revision ≥ this one. */
  get compactedRevision(): number {
    return this.#compacted;
  }

  register(def: ResourceDef): void {
    this.#defs.set(resourceKey(def), def);
    if (!this.#objects.has(resourceKey(def))) this.#objects.set(resourceKey(def), new Map());
  }

  /** A registered resource by its key (`pods`, `ippools.margay.io`). */
  definition(key: string): ResourceDef | undefined {
    return this.#defs.get(key);
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Forgets every event so far and moves the revision on by one (as an unrelated write would in a
   * real cluster, where the revision is global and never still): a watch resuming from any
   * resourceVersion handed out before this call gets 410 Expired.
   */
  compact(): void {
    this.#revision++;
    this.#compacted = this.#revision;
    this.#history = [];
  }

  #bucket(def: ResourceDef): Map<string, KubeObject> {
    const bucket = this.#objects.get(resourceKey(def));
    if (bucket === undefined) throw new Error(`resource ${resourceKey(def)} is not registered`);
    return bucket;
  }

  get(def: ResourceDef, namespace: string | undefined, name: string): KubeObject | undefined {
    const obj = this.#bucket(def).get(objectKey(def.namespaced ? namespace : undefined, name));
    return obj === undefined ? undefined : structuredClone(obj);
  }

  /** Current objects in key order (namespace, then name — etcd's key order), optionally one namespace. */
  list(def: ResourceDef, namespace?: string): KubeObject[] {
    return sortedObjects(this.#bucket(def), def, namespace);
  }

  /**
   * One page of a list, as the API server serves it from its cache: the objects (current, or at
   * revision `rv`) whose key comes after `after` and that `pass`, in key order, at most `limit`
   * (0: all), and how many more there are. Only the page's objects are copied. Undefined when
   * revision `rv` has been compacted.
   */
  page(
    def: ResourceDef,
    query: {
      readonly rv?: number;
      readonly namespace?: string;
      readonly after: string;
      readonly limit: number;
      readonly pass: (o: KubeObject) => boolean;
    },
  ): { readonly items: KubeObject[]; readonly remaining: number } | undefined {
    const state = query.rv === undefined ? this.#bucket(def) : this.#stateMap(def, query.rv);
    if (state === undefined) return undefined;
    const items: KubeObject[] = [];
    let remaining = 0;
    for (const k of [...state.keys()].sort(byKey)) {
      if (k <= query.after) continue;
      const obj = state.get(k) as KubeObject;
      if (def.namespaced && query.namespace !== undefined && obj.metadata.namespace !== query.namespace)
        continue;
      if (!query.pass(obj)) continue;
      if (query.limit === 0 || items.length < query.limit) items.push(structuredClone(obj));
      else remaining++;
    }
    return { items, remaining };
  }

  /** The objects as they were at revision `rv`, or undefined when that revision has been compacted. */
  stateAt(def: ResourceDef, rv: number, namespace?: string): KubeObject[] | undefined {
    const state = this.#stateMap(def, rv);
    return state === undefined ? undefined : sortedObjects(state, def, namespace);
  }

  /** The objects by key as they were at revision `rv` (not copied); undefined when compacted. */
  #stateMap(def: ResourceDef, rv: number): Map<string, KubeObject> | undefined {
    if (rv < this.#compacted) return undefined;
    const state = new Map(this.#bucket(def));
    const key = resourceKey(def);
    for (let i = this.#history.length - 1; i >= 0; i--) {
      const e = this.#history[i] as StoreEvent;
      if (e.rv <= rv) break;
      if (e.resource !== key) continue;
      const k = objectKey(e.object.metadata.namespace, e.object.metadata.name as string);
      if (e.type === 'ADDED') state.delete(k);
      else state.set(k, e.prev as KubeObject);
    }
    return state;
  }

  /** Events of one resource after `rv`, or undefined when some of them have been compacted. */
  eventsAfter(def: ResourceDef, rv: number): StoreEvent[] | undefined {
    if (rv < this.#compacted) return undefined;
    const key = resourceKey(def);
    return this.#history.filter((e) => e.rv > rv && e.resource === key);
  }

  create(def: ResourceDef, input: KubeObject, opts: WriteOptions = {}): KubeObject {
    const obj = this.#typed(def, structuredClone(input));
    const meta = obj.metadata;
    if (meta.resourceVersion) throw badRequest('resourceVersion should not be set on objects to be created');
    if (!meta.name && meta.generateName) {
      let suffix = '';
      for (let i = 0; i < 5; i++) suffix += GENERATE_CHARS[Math.floor(Math.random() * GENERATE_CHARS.length)];
      meta.name = `${meta.generateName}${suffix}`;
    }
    this.#validateName(def, meta.name);
    const name = meta.name as string;
    const bucket = this.#bucket(def);
    const key = objectKey(def.namespaced ? meta.namespace : undefined, name);
    if (bucket.has(key)) throw alreadyExists(def, name);
    meta.uid = randomUUID();
    meta.creationTimestamp = nowTimestamp();
    meta.generation = 1;
    def.defaults?.(obj);
    if (opts.dryRun) return { ...obj, metadata: { ...meta, resourceVersion: String(this.#revision) } };
    return this.#write(def, key, 'ADDED', obj, undefined);
  }

  update(def: ResourceDef, input: KubeObject, opts: UpdateOptions = {}): KubeObject {
    const body = this.#typed(def, structuredClone(input));
    const name = body.metadata.name as string;
    const key = objectKey(def.namespaced ? body.metadata.namespace : undefined, name);
    const old = this.#bucket(def).get(key);
    if (old === undefined) throw notFound(def, name);
    const wanted = body.metadata.resourceVersion;
    if (!wanted && opts.requireResourceVersion) {
      throw invalid(def, name, [
        {
          reason: 'FieldValueInvalid',
          message: 'Invalid value: 0: must be specified for an update',
          field: 'metadata.resourceVersion',
        },
      ]);
    }
    if (wanted && wanted !== old.metadata.resourceVersion) throw conflict(def, name, STALE_OBJECT);
    let next: KubeObject;
    if (opts.subresource === 'status') {
      next = structuredClone(old);
      if (body.status === undefined) delete next.status;
      else next.status = body.status;
    } else {
      next = body;
      if (def.hasStatus) {
        if (old.status === undefined) delete next.status;
        else next.status = structuredClone(old.status);
      }
      next.metadata = {
        ...next.metadata,
        uid: old.metadata.uid,
        creationTimestamp: old.metadata.creationTimestamp,
        generation: old.metadata.generation,
      };
      if (!deepEqual(specOf(def, next), specOf(def, old))) {
        next.metadata.generation = (old.metadata.generation ?? 0) + 1;
      }
    }
    next.metadata.resourceVersion = old.metadata.resourceVersion;
    if (deepEqual(next as JsonObject, old as JsonObject) || opts.dryRun) return structuredClone(next);
    return this.#write(def, key, 'MODIFIED', next, old);
  }

  delete(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    opts: DeleteOptions = {},
  ): KubeObject {
    const key = objectKey(def.namespaced ? namespace : undefined, name);
    const old = this.#bucket(def).get(key);
    if (old === undefined) throw notFound(def, name);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== old.metadata.uid) {
      throw conflict(
        def,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`,
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion) {
      throw conflict(
        def,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`,
      );
    }
    if (opts.dryRun) return structuredClone(old);
    if (def.group === '' && def.resource === 'namespaces') {
      for (const nsDef of this.#defs.values()) {
        if (!nsDef.namespaced) continue;
        for (const child of this.list(nsDef, name)) {
          this.delete(nsDef, name, child.metadata.name as string);
        }
      }
    }
    return this.#write(def, key, 'DELETED', undefined, old);
  }

  /** Test control: create, or replace wholesale (status included), keeping uid and creation time. */
  put(def: ResourceDef, input: KubeObject): KubeObject {
    const obj = this.#typed(def, structuredClone(input));
    this.#validateName(def, obj.metadata.name);
    const key = objectKey(def.namespaced ? obj.metadata.namespace : undefined, obj.metadata.name as string);
    const old = this.#bucket(def).get(key);
    if (old === undefined) {
      const { resourceVersion: _rv, ...meta } = obj.metadata;
      return this.create(def, { ...obj, metadata: meta });
    }
    obj.metadata.uid = old.metadata.uid;
    obj.metadata.creationTimestamp = old.metadata.creationTimestamp;
    obj.metadata.generation =
      (old.metadata.generation ?? 0) + (deepEqual(specOf(def, obj), specOf(def, old)) ? 0 : 1);
    obj.metadata.resourceVersion = old.metadata.resourceVersion;
    if (deepEqual(obj as JsonObject, old as JsonObject)) return structuredClone(old);
    return this.#write(def, key, 'MODIFIED', obj, old);
  }

  #typed(def: ResourceDef, obj: KubeObject): KubeObject {
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
      throw badRequest('the body must be an object');
    if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
    if (typeof obj.metadata !== 'object' || Array.isArray(obj.metadata)) {
      throw badRequest('metadata must be an object');
    }
    const apiVersion = apiVersionOf(def);
    if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersion) {
      throw badRequest(
        `the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersion})`,
      );
    }
    if (obj.kind !== undefined && obj.kind !== def.kind) {
      throw badRequest(`the kind in the data (${obj.kind}) does not match the expected kind (${def.kind})`);
    }
    if (!def.namespaced) delete obj.metadata.namespace;
    return { apiVersion, kind: def.kind, ...obj };
  }

  #validateName(def: ResourceDef, name: string | undefined): void {
    const causes: StatusCause[] = [];
    const isLabel = def.group === '' && def.resource === 'namespaces';
    if (!name) {
      causes.push({
        reason: 'FieldValueRequired',
        message: 'Required value: name or generateName is required',
        field: 'metadata.name',
      });
    } else if (!(isLabel ? DNS_LABEL : DNS_SUBDOMAIN).test(name) || name.length > (isLabel ? 63 : 253)) {
      const what = isLabel ? 'a lowercase RFC 1123 label' : 'a lowercase RFC 1123 subdomain';
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: "${name}": ${what} must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
        field: 'metadata.name',
      });
    }
    if (causes.length > 0) throw invalid(def, name ?? '', causes);
  }

  #write(
    def: ResourceDef,
    key: string,
    type: EventType,
    next: KubeObject | undefined,
    prev: KubeObject | undefined,
  ): KubeObject {
    const rv = ++this.#revision;
    const bucket = this.#bucket(def);
    let object: KubeObject;
    if (next === undefined) {
      bucket.delete(key);
      const last = prev as KubeObject;
      object = { ...last, metadata: { ...last.metadata, resourceVersion: String(rv) } };
    } else {
      object = { ...next, metadata: { ...next.metadata, resourceVersion: String(rv) } };
      bucket.set(key, object);
    }
    const event: StoreEvent = { rv, type, resource: resourceKey(def), object, prev };
    this.#history.push(event);
    while (this.#history.length > this.#historyLimit) {
      this.#compacted = (this.#history.shift() as StoreEvent).rv;
    }
    for (const listener of [...this.#listeners]) listener(event);
    return structuredClone(object);
  }
}

const byKey = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function sortedObjects(
  bucket: ReadonlyMap<string, KubeObject>,
  def: ResourceDef,
  namespace?: string,
): KubeObject[] {
  const keys = [...bucket.keys()].sort(byKey);
  const out: KubeObject[] = [];
  for (const k of keys) {
    const obj = bucket.get(k) as KubeObject;
    if (def.namespaced && namespace !== undefined && obj.metadata.namespace !== namespace) continue;
    out.push(structuredClone(obj));
  }
  return out;
}
