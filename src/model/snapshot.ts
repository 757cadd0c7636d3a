// The typed cluster state every datastore produces (file or Kubernetes) and the calculation
// consumes: one readonly map per kind, keyed by resourceKey (`name`, or `namespace/name`).
// `diffSnapshots` gives the per-object changes, so a deleted object is reported exactly once: it
// is in the previous snapshot and not in the next, and the next diff starts from there.
import type { BGPConfiguration, BGPPeer } from './bgp.ts';
import type { IPPool } from './ippool.ts';
import type { Namespace, NetworkPolicy, Pod } from './kube.ts';
import type { Node } from './node.ts';
import type { Resource, ResourceKind } from './resource.ts';
import { resourceKey } from './resource.ts';

export interface Snapshot {
  readonly nodes: ReadonlyMap<string, Node>;
  readonly pods: ReadonlyMap<string, Pod>;
  readonly namespaces: ReadonlyMap<string, Namespace>;
  readonly networkPolicies: ReadonlyMap<string, NetworkPolicy>;
  readonly bgpConfigurations: ReadonlyMap<string, BGPConfiguration>;
  readonly bgpPeers: ReadonlyMap<string, BGPPeer>;
  readonly ipPools: ReadonlyMap<string, IPPool>;
}

export const SNAPSHOT_FIELD = {
  Node: 'nodes',
  Pod: 'pods',
  Namespace: 'namespaces',
  NetworkPolicy: 'networkPolicies',
  BGPConfiguration: 'bgpConfigurations',
  BGPPeer: 'bgpPeers',
  IPPool: 'ipPools',
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
  const maps: { [F in keyof Snapshot]: Map<string, Resource> } = {
    nodes: new Map(),
    pods: new Map(),
    namespaces: new Map(),
    networkPolicies: new Map(),
    bgpConfigurations: new Map(),
    bgpPeers: new Map(),
    ipPools: new Map(),
  };
  for (const r of resources) {
    const map = maps[SNAPSHOT_FIELD[r.kind]];
    const key = resourceKey(r);
    if (map.has(key)) throw new Error(`duplicate ${r.kind} ${key}`);
    map.set(key, r);
  }
  return maps as unknown as Snapshot;
}

/** Every resource of the snapshot, kind by kind in SNAPSHOT_FIELD order. */
export function* snapshotResources(s: Snapshot): Generator<Resource> {
  for (const field of Object.values(SNAPSHOT_FIELD))
    yield* (s[field] as ReadonlyMap<string, Resource>).values();
}

/** Structural equality of two validated resources (plain JSON data). */
export function sameResource(a: Resource, b: Resource): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, value: unknown) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) sorted[k] = (value as Record<string, unknown>)[k];
    return sorted;
  });
}

/** Changes from `prev` to `next`, kind by kind (SNAPSHOT_FIELD order): added and modified in key order, then deleted. */
export function diffSnapshots(prev: Snapshot, next: Snapshot): ResourceChange[] {
  const changes: ResourceChange[] = [];
  for (const [kind, field] of Object.entries(SNAPSHOT_FIELD) as [ResourceKind, keyof Snapshot][]) {
    const a = prev[field] as ReadonlyMap<string, Resource>;
    const b = next[field] as ReadonlyMap<string, Resource>;
    for (const key of [...b.keys()].sort()) {
      const before = a.get(key);
      const after = b.get(key)!;
      if (before === undefined) changes.push({ type: 'added', kind, key, resource: after });
      else if (!sameResource(before, after))
        changes.push({ type: 'modified', kind, key, resource: after, previous: before });
    }
    for (const key of [...a.keys()].sort()) {
      if (!b.has(key)) changes.push({ type: 'deleted', kind, key, resource: a.get(key)! });
    }
  }
  return changes;
}
