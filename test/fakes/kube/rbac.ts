// Named-resource RBAC, as the real authorizer applies a Role rule with `resourceNames`: the one
// part of RBAC the fake models, because it changes what a client may ask. A request on a restricted
// resource is allowed when a rule has its verb and namespace and names the object:
//
// - get/update/patch/delete name it in the path;
// - list and watch name it only through the field selector `metadata.name=NAME` (the API server's
//   request info takes the name from there); a list or watch of the collection without it, or
//   with any other selector, is forbidden even when the rule names every object there is.
//
// Resources no rule mentions are not restricted (the fake does not model the ClusterRole).
import type { ResourceRoute } from './rest.ts';
import { ApiError, failure } from './status.ts';

export interface NamedResourceRule {
  /** Plural resource of the core group, e.g. `secrets`. */
  readonly resource: string;
  readonly namespace: string;
  readonly verbs: readonly string[];
  readonly resourceNames: readonly string[];
}

/** The RBAC verb of a request. */
function verbOf(method: string, route: ResourceRoute, isWatch: boolean): string {
  if (method === 'GET') return route.name !== undefined ? 'get' : isWatch ? 'watch' : 'list';
  if (method === 'POST') return 'create';
  if (method === 'PUT') return 'update';
  if (method === 'PATCH') return 'patch';
  if (method === 'DELETE') return route.name !== undefined ? 'delete' : 'deletecollection';
  return method.toLowerCase();
}

/** The object a request names: in its path, or for list/watch in `metadata.name=NAME`. */
function nameOf(route: ResourceRoute, query: URLSearchParams): string | undefined {
  if (route.name !== undefined) return route.name;
  const m = /^metadata\.name==?([^,=!]+)$/.exec(query.get('fieldSelector') ?? '');
  return m?.[1];
}

/** Throws the API server's 403 when the rules restrict the resource and none allows the request. */
export function authorize(
  rules: readonly NamedResourceRule[],
  user: string,
  method: string,
  route: ResourceRoute,
  query: URLSearchParams,
  isWatch: boolean,
): void {
  if (route.def.group !== '') return;
  const mine = rules.filter((r) => r.resource === route.def.resource);
  if (mine.length === 0) return;
  const verb = verbOf(method, route, isWatch);
  const name = nameOf(route, query);
  const allowed = mine.some(
    (r) =>
      r.verbs.includes(verb) &&
      r.namespace === route.namespace &&
      name !== undefined &&
      r.resourceNames.includes(name),
  );
  if (allowed) return;
  const what = route.name !== undefined ? `${route.def.resource} "${route.name}"` : route.def.resource;
  const where =
    route.namespace !== undefined ? ` in the namespace "${route.namespace}"` : ' at the cluster scope';
  throw new ApiError(
    failure(
      403,
      `${what} is forbidden: User "${user}" cannot ${verb} resource "${route.def.resource}" in API group ""${where}`,
      'Forbidden',
    ),
  );
}
