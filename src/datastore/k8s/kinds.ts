// How each resource kind is read from the API server: its collection path (all namespaces), LISTed
// in pages and WATCHed by client.ts. Only list and watch are used, so the ClusterRole needs nothing
// but get/list/watch on these resources. Objects stay the JSON the server sent, whichever path
// they came by, and the model validates that one shape.
import type { ResourceKind } from '../../model/resource.ts';
import { KINDS } from '../../model/resource.ts';
import { clientFor, type ListPage } from './client.ts';
import type { KubeConfig } from './kubeconfig.ts';

export type { ListPage } from './client.ts';

export interface ListRequest {
  readonly limit: number;
  readonly continueToken?: string;
}

export interface KindSource {
  readonly kind: ResourceKind;
  /** A margay.io CRD: a 404 means the CRD is not installed. */
  readonly isCustom: boolean;
  /** The collection path a watch is opened on (all namespaces, or one for Secrets). */
  readonly watchPath: string;
  /** Narrows the watch (and the LIST) to one object: `metadata.name=NAME`. */
  readonly fieldSelector?: string;
  list(request: ListRequest): Promise<ListPage>;
}

/** The collection path of a kind: /api/v1/nodes, /apis/networking.k8s.io/v1/networkpolicies, … */
function collectionPath(kind: ResourceKind): string {
  const { apiVersion, plural } = KINDS[kind];
  return `${apiVersion === 'v1' ? '/api' : '/apis'}/${apiVersion}/${plural}`;
}

/**
 * The sources of every kind but Secret, in KINDS order. Secrets are never listed cluster-wide:
 * secrets.ts reads each one a BGP password names through `secretSource`.
 */
export function kindSources(kc: KubeConfig): KindSource[] {
  const client = clientFor(kc);
  return (Object.keys(KINDS) as ResourceKind[])
    .filter((kind) => kind !== 'Secret')
    .map((kind) => {
      const path = collectionPath(kind);
      return {
        kind,
        isCustom: KINDS[kind].isCustom,
        watchPath: path,
        list: (r: ListRequest) =>
          client.list(path, {
            limit: r.limit,
            ...(r.continueToken !== undefined ? { continueToken: r.continueToken } : {}),
          }),
      };
    });
}

/**
 * One Secret, by name: LIST and WATCH on its namespace's collection with the field selector
 * `metadata.name=NAME`, the only way a Role that names the Secret (resourceNames) lets a client
 * list and watch it.
 */
export function secretSource(kc: KubeConfig, namespace: string, name: string): KindSource {
  const client = clientFor(kc);
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`;
  const fieldSelector = `metadata.name=${name}`;
  return {
    kind: 'Secret',
    isCustom: false,
    watchPath: path,
    fieldSelector,
    list: (r: ListRequest) =>
      client.list(path, {
        limit: r.limit,
        fieldSelector,
        ...(r.continueToken !== undefined ? { continueToken: r.continueToken } : {}),
      }),
  };
}
