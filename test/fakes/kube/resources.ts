// The resource types the fake API server serves, as data: one descriptor per group/version/resource
// with everything the generic handlers need — scope, kind, which field selectors the real server
// supports for it (pkg/registry/*/strategy.go GetAttrs/ToSelectableFields), whether it has a `status`
// subresource, and the strategic-merge-patch list keys from the Go struct tags. Tests register more.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: JsonValue | undefined;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [key: string]: JsonValue | ObjectMeta | undefined;
}

/** Reads one selectable field of an object as the string the field selector compares against. */
export type FieldGetter = (obj: KubeObject) => string;

export interface ResourceDef {
  readonly group: string; // '' for the core group
  readonly version: string;
  readonly resource: string; // plural, as in the URL
  readonly singular: string;
  readonly kind: string;
  readonly listKind: string;
  readonly namespaced: boolean;
  readonly hasStatus: boolean;
  /** Custom resources: list items carry apiVersion/kind, PUT needs a resourceVersion, no strategic merge. */
  readonly isCustom: boolean;
  readonly shortNames: readonly string[];
  /** Field selectors beyond metadata.name (and metadata.namespace when namespaced). */
  readonly fields: Readonly<Record<string, FieldGetter>>;
  /** Strategic merge patch: list path → merge key; '' marks a list of primitives merged as a set. */
  readonly mergeKeys: Readonly<Record<string, string>>;
  /** Fills defaults on create the way the real registry strategy does (e.g. a Pod's phase). */
  readonly defaults?: (obj: KubeObject) => void;
}

export const VERBS = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
] as const;

export function apiVersionOf(def: ResourceDef): string {
  return def.group === '' ? def.version : `${def.group}/${def.version}`;
}

/** Identity used for maps and errors: `pods`, `ippools.margay.io`. */
export function resourceKey(def: ResourceDef): string {
  return def.group === '' ? def.resource : `${def.resource}.${def.group}`;
}

function path(obj: KubeObject, dotted: string): string {
  let cur: unknown = obj;
  for (const part of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return '';
    cur = (cur as Record<string, unknown>)[part];
  }
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'string' ? cur : String(cur);
}

function fieldsAt(...dotted: string[]): Record<string, FieldGetter> {
  const out: Record<string, FieldGetter> = {};
  for (const d of dotted) out[d] = (obj) => path(obj, d);
  return out;
}

function ensureStatusPhase(obj: KubeObject, phase: string): void {
  const status = obj.status;
  if (status === undefined || status === null) {
    obj.status = { phase };
  } else if (typeof status === 'object' && !Array.isArray(status) && status.phase === undefined) {
    (status as JsonObject).phase = phase;
  }
}

// Keys every object shares (ObjectMeta): ownerReferences merge by uid, finalizers merge as a set.
const META_MERGE_KEYS = { 'metadata.ownerReferences': 'uid', 'metadata.finalizers': '' } as const;

const CONTAINER_KEYS = (prefix: string): Record<string, string> => ({
  [prefix]: 'name',
  [`${prefix}[].ports`]: 'containerPort',
  [`${prefix}[].env`]: 'name',
  [`${prefix}[].volumeMounts`]: 'mountPath',
});

export function coreV1(
  resource: string,
  kind: string,
  opts: Partial<Omit<ResourceDef, 'resource' | 'kind'>>,
): ResourceDef {
  return {
    group: '',
    version: 'v1',
    resource,
    singular: kind.toLowerCase(),
    kind,
    listKind: `${kind}List`,
    namespaced: true,
    hasStatus: false,
    isCustom: false,
    shortNames: [],
    fields: {},
    mergeKeys: META_MERGE_KEYS,
    ...opts,
  };
}

/** A CRD-backed resource (cluster-scoped unless said otherwise). */
export function customResource(
  group: string,
  version: string,
  resource: string,
  kind: string,
  opts: Partial<Pick<ResourceDef, 'namespaced' | 'hasStatus' | 'shortNames' | 'fields'>> = {},
): ResourceDef {
  return {
    group,
    version,
    resource,
    singular: kind.toLowerCase(),
    kind,
    listKind: `${kind}List`,
    namespaced: false,
    hasStatus: false,
    isCustom: true,
    shortNames: [],
    fields: {},
    mergeKeys: {},
    ...opts,
  };
}

export const DEFAULT_RESOURCES: readonly ResourceDef[] = [
  coreV1('namespaces', 'Namespace', {
    namespaced: false,
    hasStatus: true,
    shortNames: ['ns'],
    fields: fieldsAt('status.phase'),
    mergeKeys: { ...META_MERGE_KEYS, 'status.conditions': 'type' },
    defaults: (obj) => ensureStatusPhase(obj, 'Active'),
  }),
  coreV1('nodes', 'Node', {
    namespaced: false,
    hasStatus: true,
    shortNames: ['no'],
    fields: fieldsAt('spec.unschedulable'),
    mergeKeys: {
      ...META_MERGE_KEYS,
      'status.conditions': 'type',
      'status.addresses': 'type',
    },
  }),
  coreV1('pods', 'Pod', {
    hasStatus: true,
    shortNames: ['po'],
    fields: fieldsAt(
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'spec.hostNetwork',
      'status.phase',
      'status.podIP',
      'status.nominatedNodeName',
    ),
    mergeKeys: {
      ...META_MERGE_KEYS,
      ...CONTAINER_KEYS('spec.containers'),
      ...CONTAINER_KEYS('spec.initContainers'),
      'spec.volumes': 'name',
      'status.conditions': 'type',
      'status.podIPs': 'ip',
    },
    defaults: (obj) => ensureStatusPhase(obj, 'Pending'),
  }),
  {
    ...coreV1('networkpolicies', 'NetworkPolicy', { shortNames: ['netpol'] }),
    group: 'networking.k8s.io',
  },
  customResource('margay.io', 'v1', 'bgpconfigurations', 'BGPConfiguration'),
  customResource('margay.io', 'v1', 'bgppeers', 'BGPPeer'),
  customResource('margay.io', 'v1', 'ippools', 'IPPool'),
];
