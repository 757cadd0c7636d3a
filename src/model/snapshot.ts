// The typed cluster state every datastore produces (file or Kubernetes) and the calculation
// consumes: one readonly map per kind, keyed by resourceKey (`name`, or `namespace/name`).
// `diffSnapshots` gives the per-object changes, so a deleted object is reported exactly once: it
// is in the previous snapshot and not in the next, and the next diff starts from there.
//
// A snapshot is a value: nothing changes it once it is handed out. The datastores build one with
// `snapshotOf` and the next from it with `applyChanges`, whose maps (persistent-map.ts) share
// what did not change, so the next snapshot costs the changes, not the cluster. An object that did
// not change is the same object in both snapshots, and `sameResource` answers for it at once.
import type { BGPConfiguration, BGPPeer } from './bgp.ts';
import type { IPPool } from './ippool.ts';
import type { Namespace, NetworkPolicy, Pod } from './kube.ts';
import type { Node } from './node.ts';
import { PersistentMap } from './persistent-map.ts';
import type { Resource, ResourceKind } from './resource.ts';
import { resourceKey } from './resource.ts';
import type { Secret } from './secret.ts';

export interface Snapshot {
  readonly nodes: ReadonlyMap<string, Node>;
  readonly pods: ReadonlyMap<string, Pod>;
  readonly namespaces: ReadonlyMap<string, Namespace>;
  readonly networkPolicies: ReadonlyMap<string, NetworkPolicy>;
  readonly bgpConfigurations: ReadonlyMap<string, BGPConfiguration>;
  readonly bgpPeers: ReadonlyMap<string, BGPPeer>;
  readonly ipPools: ReadonlyMap<string, IPPool>;
  readonly secrets: ReadonlyMap<string, Secret>;
}

export const SNAPSHOT_FIELD = {
  Node: 'nodes',
  Pod: 'pods',
  Namespace: 'namespaces',
  NetworkPolicy: 'networkPolicies',
  BGPConfiguration: 'bgpConfigurations',
  BGPPeer: 'bgpPeers',
  IPPool: 'ipPools',
  Secret: 'secrets',
} as const satisfies Record<ResourceKind, keyof Snapshot>;

export interface ResourceChange {
  readonly type: 'added' | 'modified' | 'deleted';
  readonly kind: ResourceKind;
  readonly key: string;
  /** The new object; for `deleted`, the object as it was. */
  readonly resource: Resource;
  /** For `modified`: the object before the change. */
  readonly previous?: Resource;
}

export function emptySnapshot(): Snapshot {
  return snapshotOf([]);
}

/** Builds a snapshot; throws on a duplicate kind/key (callers report duplicates first). */
export function snapshotOf(resources: Iterable<Resource>): Snapshot {
  const entries: { [F in keyof Snapshot]: [string, Resource][] } = {
    nodes: [],
    pods: [],
    namespaces: [],
    networkPolicies: [],
    bgpConfigurations: [],
    bgpPeers: [],
    ipPools: [],
    secrets: [],
  };
  const seen = new Set<string>();
  for (const r of resources) {
    const key = resourceKey(r);
    const id = `${r.kind}\u0000${key}`;
    if (seen.has(id)) throw new Error(`duplicate ${r.kind} ${key}`);
    seen.add(id);
    entries[SNAPSHOT_FIELD[r.kind]].push([key, r]);
  }
  const maps: Record<string, PersistentMap<Resource>> = {};
  for (const [field, list] of Object.entries(entries)) maps[field] = PersistentMap.of(list);
  return maps as unknown as Snapshot;
}

/**
 * The snapshot `changes` lead to from `s`: an added or modified object is set under its kind and
 * key, a deleted one removed. `s` stays as it is; the kinds without changes are shared, and the
 * others cost in proportion to their changes.
 */
export function applyChanges(s: Snapshot, changes: Iterable<ResourceChange>): Snapshot {
  const updates = new Map<keyof Snapshot, [string, Resource | undefined][]>();
  for (const c of changes) {
    const field = SNAPSHOT_FIELD[c.kind];
    let list = updates.get(field);
    if (list === undefined) {
      list = [];
      updates.set(field, list);
    }
    list.push([c.key, c.type === 'deleted' ? undefined : c.resource]);
  }
  if (updates.size === 0) return s;
  const next: Record<string, unknown> = { ...s };
  for (const [field, list] of updates) {
    const map = s[field] as ReadonlyMap<string, Resource>;
    next[field] = (map instanceof PersistentMap ? map : PersistentMap.of([...map])).with(list);
  }
  return next as unknown as Snapshot;
}

/** Every resource of the snapshot, kind by kind in SNAPSHOT_FIELD order. */
export function* snapshotResources(s: Snapshot): Generator<Resource> {
  for (const field of Object.values(SNAPSHOT_FIELD))
    yield* (s[field] as ReadonlyMap<string, Resource>).values();
}

/** Structural equality of two validated resources (plain JSON data); the same object at once. */
export function sameResource(a: Resource, b: Resource): boolean {
  return a === b || canonicalJson(a) === canonicalJson(b);
}

function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, value: unknown) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) sorted[k] = (value as Record<string, unknown>)[k];
    return sorted;
  });
}

/**
 * Changes from `prev` to `next`, kind by kind (SNAPSHOT_FIELD order): added and modified in key
 * order, then deleted. Maps that one was made from the other by applyChanges are compared on
 * what they do not share, and the same map not at all.
 */
export function diffSnapshots(prev: Snapshot, next: Snapshot): ResourceChange[] {
  const changes: ResourceChange[] = [];
  for (const [kind, field] of Object.entries(SNAPSHOT_FIELD) as [ResourceKind, keyof Snapshot][]) {
    const a = prev[field] as ReadonlyMap<string, Resource>;
    const b = next[field] as ReadonlyMap<string, Resource>;
    if (a === b) continue;
    const keys =
      a instanceof PersistentMap && b instanceof PersistentMap
        ? [...a.keysNotSharedWith(b)].sort()
        : [...new Set([...a.keys(), ...b.keys()])].sort();
    for (const key of keys) {
      const before = a.get(key);
      const after = b.get(key);
      if (after === undefined) continue;
      if (before === undefined) changes.push({ type: 'added', kind, key, resource: after });
      else if (!sameResource(before, after))
        changes.push({ type: 'modified', kind, key, resource: after, previous: before });
    }
    for (const key of keys) {
      const before = a.get(key);
      if (before !== undefined && !b.has(key)) changes.push({ type: 'deleted', kind, key, resource: before });
    }
  }
  return changes;
}
