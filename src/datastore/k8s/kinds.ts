// How each resource kind is read from the API server: one LIST function (client-node's typed APIs
// for the built-in kinds, CustomObjectsApi for the margay.io CRDs) and the WATCH path. Only list and
// watch are used, so the ClusterRole needs nothing but get/list/watch on these seven resources.
//
// The typed APIs hand back class instances (V1Pod, V1ObjectMeta, …) with Date objects and the
// TypeScript property names, while a watch stream and CustomObjectsApi hand back the JSON the server
// sent. `toWire` turns the former back into the latter through each class's attribute map, so the
// model validates one shape whichever path an object came by.
import type { KubeConfig } from '@kubernetes/client-node';
import { CoreV1Api, CustomObjectsApi, NetworkingV1Api } from '@kubernetes/client-node';
import type { ResourceKind } from '../../model/resource.ts';
import { KINDS } from '../../model/resource.ts';

/** One page of a LIST, as wire JSON. */
export interface ListPage {
  readonly items: readonly unknown[];
  readonly resourceVersion: string;
  /** The continue token of the next page; undefined on the last page. */
  readonly continueToken: string | undefined;
}

export interface ListRequest {
  readonly limit: number;
  readonly continueToken?: string;
}

export interface KindSource {
  readonly kind: ResourceKind;
  /** A margay.io CRD: a 404 means the CRD is not installed. */
  readonly isCustom: boolean;
  /** The collection path a watch is opened on (all namespaces). */
  readonly watchPath: string;
  list(request: ListRequest): Promise<ListPage>;
}

interface AttributeType {
  readonly name: string;
  readonly baseName: string;
}

/** A typed client-node object (or anything else) back to its JSON wire form. */
export function toWire(value: unknown): unknown {
  if (value === null || value === undefined) return value;
  if (value instanceof Date) return value.toISOString().replace('.000Z', 'Z');
  if (Array.isArray(value)) return value.map(toWire);
  if (typeof value !== 'object') return value;
  const ctor = (value as { constructor?: { getAttributeTypeMap?: () => readonly AttributeType[] } })
    .constructor;
  const out: Record<string, unknown> = {};
  if (typeof ctor?.getAttributeTypeMap === 'function') {
    for (const attr of ctor.getAttributeTypeMap()) {
      const v = (value as Record<string, unknown>)[attr.name];
      if (v !== undefined) out[attr.baseName] = toWire(v);
    }
    return out;
  }
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toWire(v);
  return out;
}

interface TypedList {
  readonly items: readonly unknown[];
  readonly metadata?: { readonly resourceVersion?: string; readonly _continue?: string };
}

function typedPage(list: TypedList): ListPage {
  return {
    items: list.items.map(toWire),
    resourceVersion: list.metadata?.resourceVersion ?? '',
    continueToken: list.metadata?._continue || undefined,
  };
}

function customPage(list: unknown): ListPage {
  const l = (list ?? {}) as {
    items?: unknown;
    metadata?: { resourceVersion?: unknown; continue?: unknown };
  };
  return {
    items: Array.isArray(l.items) ? l.items : [],
    resourceVersion: typeof l.metadata?.resourceVersion === 'string' ? l.metadata.resourceVersion : '',
    continueToken:
      typeof l.metadata?.continue === 'string' && l.metadata.continue !== ''
        ? l.metadata.continue
        : undefined,
  };
}

const params = (r: ListRequest) => ({
  limit: r.limit,
  ...(r.continueToken !== undefined ? { _continue: r.continueToken } : {}),
});

/** The seven sources, in KINDS order. */
export function kindSources(kc: KubeConfig): KindSource[] {
  const core = kc.makeApiClient(CoreV1Api);
  const networking = kc.makeApiClient(NetworkingV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const crd = (kind: 'BGPConfiguration' | 'BGPPeer' | 'IPPool'): KindSource => {
    const [group, version] = KINDS[kind].apiVersion.split('/') as [string, string];
    const plural = KINDS[kind].plural;
    return {
      kind,
      isCustom: true,
      watchPath: `/apis/${group}/${version}/${plural}`,
      list: async (r) =>
        customPage(await custom.listClusterCustomObject({ group, version, plural, ...params(r) })),
    };
  };
  return [
    {
      kind: 'Node',
      isCustom: false,
      watchPath: '/api/v1/nodes',
      list: async (r) => typedPage(await core.listNode(params(r))),
    },
    {
      kind: 'Pod',
      isCustom: false,
      watchPath: '/api/v1/pods',
      list: async (r) => typedPage(await core.listPodForAllNamespaces(params(r))),
    },
    {
      kind: 'Namespace',
      isCustom: false,
      watchPath: '/api/v1/namespaces',
      list: async (r) => typedPage(await core.listNamespace(params(r))),
    },
    {
      kind: 'NetworkPolicy',
      isCustom: false,
      watchPath: '/apis/networking.k8s.io/v1/networkpolicies',
      list: async (r) => typedPage(await networking.listNetworkPolicyForAllNamespaces(params(r))),
    },
    crd('BGPConfiguration'),
    crd('BGPPeer'),
    crd('IPPool'),
  ];
}
