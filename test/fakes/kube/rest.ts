// The generic REST verbs for every registered resource, on the URL layout of the real API server:
//   /api/v1/<resource>[/<name>[/status]]                         cluster-scoped, or all namespaces
//   /api/v1/namespaces/<ns>/<resource>[/<name>[/status]]         namespaced
//   /apis/<group>/<version>/…                                    the same for named groups
//   /api/v1/watch/…                                              deprecated watch paths
// LIST semantics (API Concepts, "Resource versions" and "Retrieving large results sets in chunks"):
// resourceVersion unset or "0" → the current state; N → not older than N (504 Too large when the
// server has not reached N); resourceVersionMatch=Exact → the state at N, 410 when compacted.
// limit/continue pages are served at the first page's revision; a continue token whose revision has
// been compacted is 410 Expired with an "inconsistent" continue token (rv -1) in metadata.continue.
// Items of built-in lists carry no apiVersion/kind (typed Go lists omit them); custom resource
// list items do.
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Registry } from './discovery.ts';
import { jsonPatch, mergePatch, PatchError, strategicMergePatch } from './patch.ts';
import type { JsonObject, JsonValue, KubeObject, ResourceDef } from './resources.ts';
import { apiVersionOf } from './resources.ts';
import { parseFieldSelector, parseLabelSelector } from './selectors.ts';
import {
  ApiError,
  badRequest,
  conflict,
  expired,
  failure,
  notFound,
  tooLargeResourceVersion,
} from './status.ts';
import { type ObjectStore, objectKey } from './store.ts';
import { type ObjectFilter, passes, type WatchParams } from './watch.ts';

export interface ResourceRoute {
  readonly def: ResourceDef;
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly subresource: 'status' | undefined;
  readonly isWatchPath: boolean;
}

export function route(registry: Registry, pathname: string): ResourceRoute | undefined {
  const parts = pathname.split('/').filter((p) => p !== '');
  let apiVersion: string;
  let rest: string[];
  if (parts[0] === 'api' && parts[1] === 'v1') {
    apiVersion = 'v1';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    apiVersion = `${parts[1]}/${parts[2]}`;
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  let isWatchPath = false;
  if (rest[0] === 'watch') {
    isWatchPath = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && rest[2] !== 'status' && rest[2] !== 'finalize') {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name, sub, ...extra] = rest;
  if (resource === undefined || extra.length > 0) return undefined;
  const def = registry.lookup(apiVersion, resource);
  if (def === undefined) return undefined;
  if (namespace !== undefined && !def.namespaced) return undefined;
  if (namespace === undefined && def.namespaced && name !== undefined) return undefined;
  if (sub !== undefined && !(sub === 'status' && def.hasStatus)) return undefined;
  return { def, namespace, name, subresource: sub === 'status' ? 'status' : undefined, isWatchPath };
}

export interface RestContext {
  readonly store: ObjectStore;
  readonly bookmarkIntervalMs: number;
  openWatch(res: ServerResponse, params: WatchParams): void;
}

export interface RestRequest {
  readonly method: string;
  readonly route: ResourceRoute;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readBody(): Promise<string>;
}

export type RestResult = { readonly code: number; readonly body: unknown } | 'streaming';

const CONTINUE_VERSION = 'meta.k8s.io/v1';

interface ContinueToken {
  readonly rv: number; // -1: continue from the current state (after an expired token)
  readonly start: string; // exclusive lower bound on the object key
}

function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: CONTINUE_VERSION, rv: token.rv, start: token.start })).toString(
    'base64url',
  );
}

function decodeContinue(raw: string): ContinueToken {
  try {
    const parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (parsed.v === CONTINUE_VERSION && typeof parsed.rv === 'number' && typeof parsed.start === 'string') {
      return { rv: parsed.rv, start: parsed.start };
    }
  } catch {
    // fall through to the error below
  }
  throw badRequest(`The provided continue parameter is not valid: continue key is not valid: "${raw}"`);
}

function parseResourceVersion(raw: string): number {
  if (!/^\d+$/.test(raw))
    throw badRequest(`resourceVersion: Invalid value: "${raw}": must be a valid resourceVersion`);
  return Number(raw);
}

function isTrue(v: string | null): boolean {
  return v === 'true' || v === '1';
}

function selectorFields(def: ResourceDef): string[] {
  return ['metadata.name', ...(def.namespaced ? ['metadata.namespace'] : []), ...Object.keys(def.fields)];
}

function filterOf(r: RestRequest): ObjectFilter {
  const { def, namespace, name } = r.route;
  const fieldSelector = [
    r.query.get('fieldSelector') ?? '',
    name !== undefined ? `metadata.name=${name}` : '',
  ]
    .filter((s) => s !== '')
    .join(',');
  return {
    namespace,
    labels: parseLabelSelector(r.query.get('labelSelector') ?? ''),
    fields: parseFieldSelector(fieldSelector, selectorFields(def)),
  };
}

function listItem(def: ResourceDef, obj: KubeObject): KubeObject {
  if (def.isCustom) return obj;
  const { apiVersion: _a, kind: _k, ...rest } = obj;
  return rest as KubeObject;
}

function list(ctx: RestContext, r: RestRequest): RestResult {
  const { def } = r.route;
  const filter = filterOf(r);
  const rvParam = r.query.get('resourceVersion') ?? '';
  const continueParam = r.query.get('continue') ?? '';
  const limitParam = r.query.get('limit');
  const limit = limitParam === null || limitParam === '' ? 0 : Number(limitParam);
  if (!Number.isInteger(limit) || limit < 0) throw badRequest(`limit: Invalid value: "${limitParam}"`);
  const current = ctx.store.revision;
  let listRv: number;
  let start = '';
  let at: number | undefined; // undefined: the current state
  if (continueParam !== '') {
    if (rvParam !== '' && rvParam !== '0') {
      throw badRequest('specifying resource version is not allowed when using continue');
    }
    const token = decodeContinue(continueParam);
    start = token.start;
    listRv = token.rv === -1 ? current : token.rv;
    at = token.rv === -1 ? undefined : token.rv;
  } else if (r.query.get('resourceVersionMatch') === 'Exact') {
    listRv = parseResourceVersion(rvParam);
    if (listRv > current) throw tooLargeResourceVersion(listRv, current);
    at = listRv;
  } else {
    if (rvParam !== '' && rvParam !== '0') {
      const wanted = parseResourceVersion(rvParam);
      if (wanted > current) throw tooLargeResourceVersion(wanted, current);
    }
    listRv = current;
  }
  const result = ctx.store.page(def, {
    rv: at,
    namespace: filter.namespace,
    after: start,
    limit,
    pass: (o) => passes(def, filter, o),
  });
  if (result === undefined) {
    if (continueParam !== '') {
      const status = expired(
        'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
      );
      return { code: 410, body: { ...status, metadata: { continue: encodeContinue({ rv: -1, start }) } } };
    }
    return { code: 410, body: expired(`The resourceVersion for the provided list is too old.`) };
  }
  const page = result.items;
  const metadata: JsonObject = { resourceVersion: String(listRv) };
  if (result.remaining > 0) {
    const last = page[page.length - 1] as KubeObject;
    metadata.continue = encodeContinue({
      rv: listRv,
      start: `${objectKey(last.metadata.namespace, last.metadata.name as string)}\u0000`,
    });
    if (filter.labels.length === 0 && filter.fields.length === 0) {
      metadata.remainingItemCount = result.remaining;
    }
  }
  return {
    code: 200,
    body: {
      kind: def.listKind,
      apiVersion: apiVersionOf(def),
      metadata,
      items: page.map((o) => listItem(def, o)),
    },
  };
}

function watch(ctx: RestContext, r: RestRequest, res: ServerResponse): RestResult {
  const filter = filterOf(r);
  const rvParam = r.query.get('resourceVersion') ?? '';
  const sendInitialEvents = isTrue(r.query.get('sendInitialEvents'));
  let from: number | 'initial' = 'initial';
  if (rvParam !== '' && rvParam !== '0' && !sendInitialEvents) {
    from = parseResourceVersion(rvParam);
    if (from > ctx.store.revision) throw tooLargeResourceVersion(from, ctx.store.revision);
  }
  const timeoutParam = r.query.get('timeoutSeconds');
  const timeoutMs = timeoutParam === null || timeoutParam === '' ? undefined : Number(timeoutParam) * 1000;
  if (timeoutMs !== undefined && !(timeoutMs >= 0))
    throw badRequest(`timeoutSeconds: Invalid value: "${timeoutParam}"`);
  ctx.openWatch(res, {
    def: r.route.def,
    filter,
    from,
    allowBookmarks: isTrue(r.query.get('allowWatchBookmarks')),
    sendInitialEvents,
    timeoutMs,
    bookmarkIntervalMs: ctx.bookmarkIntervalMs,
  });
  return 'streaming';
}

async function jsonBody(r: RestRequest): Promise<JsonValue> {
  const text = await r.readBody();
  try {
    return JSON.parse(text) as JsonValue;
  } catch (err) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(err as Error).message}`);
  }
}

async function objectBody(r: RestRequest): Promise<KubeObject> {
  const type = (r.headers['content-type'] ?? 'application/json').split(';')[0]?.trim();
  if (type !== 'application/json') {
    throw new ApiError(
      failure(
        415,
        `the body of the request was in an unknown format - accepted media types include: application/json`,
      ),
    );
  }
  const body = await jsonBody(r);
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw badRequest('the body must be an object');
  return body as unknown as KubeObject;
}

function checkNamespace(route: ResourceRoute, obj: KubeObject): void {
  if (!route.def.namespaced) return;
  const ns = obj.metadata?.namespace;
  if (ns !== undefined && ns !== '' && ns !== route.namespace) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  obj.metadata = { ...(obj.metadata ?? {}), namespace: route.namespace };
}

function checkName(route: ResourceRoute, obj: KubeObject): void {
  const name = obj.metadata?.name;
  if (name !== route.name) {
    throw badRequest(
      `the name of the object (${name ?? ''}) does not match the name on the URL (${route.name})`,
    );
  }
}

async function create(ctx: RestContext, r: RestRequest, dryRun: boolean): Promise<RestResult> {
  const obj = await objectBody(r);
  checkNamespace(r.route, obj);
  const ns = r.route.namespace;
  if (ns !== undefined) {
    const nsDef = ctx.store.definition('namespaces');
    if (nsDef !== undefined && ctx.store.get(nsDef, undefined, ns) === undefined) {
      throw notFound(nsDef, ns);
    }
  }
  return { code: 201, body: ctx.store.create(r.route.def, obj, { dryRun }) };
}

async function patched(ctx: RestContext, r: RestRequest): Promise<KubeObject> {
  const { def, namespace, name } = r.route;
  const current = ctx.store.get(def, namespace, name as string);
  if (current === undefined) throw notFound(def, name as string);
  const type = (r.headers['content-type'] ?? '').split(';')[0]?.trim();
  const accepted =
    'application/json-patch+json, application/merge-patch+json' +
    (def.isCustom ? '' : ', application/strategic-merge-patch+json');
  const unsupported = new ApiError(
    failure(
      415,
      `the body of the request was in an unknown format - accepted media types include: ${accepted}`,
    ),
  );
  const patch = await jsonBody(r);
  let result: JsonValue;
  try {
    if (type === 'application/merge-patch+json') result = mergePatch(current as JsonObject, patch);
    else if (type === 'application/json-patch+json') result = jsonPatch(current as JsonObject, patch);
    else if (type === 'application/strategic-merge-patch+json' && !def.isCustom) {
      result = strategicMergePatch(current as JsonObject, patch, def.mergeKeys);
    } else throw unsupported;
  } catch (err) {
    if (!(err instanceof PatchError)) throw err;
    if (err.isMalformed) throw badRequest(err.message);
    throw new ApiError(failure(422, err.message, 'Invalid'));
  }
  if (result === null || typeof result !== 'object' || Array.isArray(result)) {
    throw badRequest('the patched object must be a JSON object');
  }
  const obj = result as unknown as KubeObject;
  if (obj.metadata?.uid !== current.metadata.uid) {
    throw conflict(
      def,
      name as string,
      `Precondition failed: UID in precondition: ${obj.metadata?.uid}, UID in object meta: ${current.metadata.uid}`,
    );
  }
  checkName(r.route, obj);
  if (def.namespaced && obj.metadata.namespace !== namespace) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  return obj;
}

export async function serveResource(
  ctx: RestContext,
  r: RestRequest,
  res: ServerResponse,
): Promise<RestResult> {
  const { def, namespace, name, subresource } = r.route;
  const dryRun = r.query.get('dryRun') === 'All';
  const isWatch = r.route.isWatchPath || isTrue(r.query.get('watch'));
  const notAllowed = (): ApiError =>
    new ApiError(failure(405, `the server does not allow this method on the requested resource`));
  if (name === undefined) {
    if (r.method === 'GET') return isWatch ? watch(ctx, r, res) : list(ctx, r);
    if (r.method === 'POST' && (namespace !== undefined || !def.namespaced)) return create(ctx, r, dryRun);
    if (r.method === 'DELETE') {
      const filter = filterOf(r);
      const deleted = ctx.store
        .list(def, namespace)
        .filter((o) => passes(def, filter, o))
        .map((o) => ctx.store.delete(def, o.metadata.namespace, o.metadata.name as string, { dryRun }));
      return {
        code: 200,
        body: {
          kind: def.listKind,
          apiVersion: apiVersionOf(def),
          metadata: { resourceVersion: String(ctx.store.revision) },
          items: deleted.map((o) => listItem(def, o)),
        },
      };
    }
    throw notAllowed();
  }
  switch (r.method) {
    case 'GET': {
      if (isWatch) return watch(ctx, r, res);
      const obj = ctx.store.get(def, namespace, name);
      if (obj === undefined) throw notFound(def, name);
      return { code: 200, body: obj };
    }
    case 'PUT': {
      const obj = await objectBody(r);
      checkName(r.route, obj);
      checkNamespace(r.route, obj);
      const updated = ctx.store.update(def, obj, {
        subresource,
        dryRun,
        requireResourceVersion: def.isCustom,
      });
      return { code: 200, body: updated };
    }
    case 'PATCH': {
      const obj = await patched(ctx, r);
      return { code: 200, body: ctx.store.update(def, obj, { subresource, dryRun }) };
    }
    case 'DELETE': {
      if (subresource !== undefined) throw notAllowed();
      const text = await r.readBody();
      let preconditions: { uid?: string; resourceVersion?: string } | undefined;
      let isDryRun = dryRun;
      if (text.trim() !== '') {
        let opts: { preconditions?: { uid?: string; resourceVersion?: string }; dryRun?: string[] };
        try {
          opts = JSON.parse(text) as typeof opts;
        } catch (err) {
          throw badRequest(`invalid DeleteOptions: ${(err as Error).message}`);
        }
        preconditions = opts.preconditions;
        isDryRun ||= opts.dryRun?.includes('All') ?? false;
      }
      const deleted = ctx.store.delete(def, namespace, name, { preconditions, dryRun: isDryRun });
      return { code: 200, body: deleted };
    }
    default:
      throw notAllowed();
  }
}
