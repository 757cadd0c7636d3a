// How each resource kind is read from the API server: its collection path (all namespaces), LISTed
// in pages and WATCHed by client.ts. Only list and watch are used, so the ClusterRole needs nothing
// but get/list/watch on these seven resources. Objects stay the JSON the server sent, whichever path
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
  /** The collection path a watch is opened on (all namespaces). */
  readonly watchPath: string;
  list(request: ListRequest): Promise<ListPage>;
}

/** The collection path of a kind: /api/v1/nodes, /apis/networking.k8s.io/v1/networkpolicies, … */
function collectionPath(kind: ResourceKind): string {
  const { apiVersion, plural } = KINDS[kind];
  return `${apiVersion === 'v1' ? '/api' : '/apis'}/${apiVersion}/${plural}`;
}

/** The seven sources, in KINDS order. */
export function kindSources(kc: KubeConfig): KindSource[] {
  const client = clientFor(kc);
  return (Object.keys(KINDS) as ResourceKind[]).map((kind) => {
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
