// The read-only REST API. It answers from a StatusSource, so the standalone speaker and the node
// agent share one server. Loopback by default; any other address requires a bearer token
// (checked in constant time), except /healthz and /readyz which probes reach without
// credentials, as with Calico's health port.
//
// A handful of GET endpoints on node:http: the JSON schemas of schemas.ts check the one query
// string there is and shape every JSON response (json-schema.ts), and /v1/openapi.json publishes
// them. The API runs in every node's daemon for its whole life, so it brings no web framework:
// one would cost each idle daemon more memory than all of these handlers.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { PathView, PeerStatus, RouteFilter } from '../../bgp/index.ts';
import { BgpError, normalizeIp, normalizePrefix } from '../../bgp/index.ts';
import { isLoopbackHost } from '../config/fields.ts';
import { MargayError } from '../errors.ts';
import { checkQuerySchema, checkResponseSchema, type JsonSchema, parseQuery, shape } from './json-schema.ts';
import { type MetricFamily, renderMetrics } from './metrics.ts';
import {
  errorSchema,
  pathSchema,
  peerSchema,
  ROUTES_PAGE,
  routesQuerySchema,
  statusSchema,
} from './schemas.ts';

export interface StatusSource {
  status(): Record<string, unknown> & { mode: string };
  peers(): readonly PeerStatus[];
  routes(filter: RouteFilter): readonly PathView[];
  metrics(): readonly MetricFamily[];
  /** Live: the process works (event loop turning, speaker not wedged). */
  live(): ProbeResult;
  /** Ready: configuration applied and sessions started. */
  ready(): ProbeResult;
  /** Extra, mode-specific GET endpoints (the agent adds /v1/dataplane/*), documented in OpenAPI. */
  readonly extraRoutes?: readonly ExtraRoute[];
}

export interface ExtraRoute extends RouteDoc {
  readonly handler: () => unknown;
}

/** GET /v1/bgp/routes query: the filter, with the page size still text (schemas.ts). */
type RoutesQuery = Omit<RouteFilter, 'limit' | 'family'> & {
  readonly limit?: string;
  readonly family?: string;
};

export interface ApiOptions {
  readonly host: string;
  readonly port: number;
  readonly token?: string;
}

function peerForJson(p: PeerStatus): Record<string, unknown> {
  const held = p.prefixLimit?.heldIdle;
  return {
    ...p,
    since: new Date(p.since).toISOString(),
    ...(p.prefixLimit !== undefined && {
      prefixLimit: {
        ...p.prefixLimit,
        ...(held !== undefined && { heldIdle: { ...held, until: new Date(held.until).toISOString() } }),
      },
    }),
  };
}

export interface RouteDoc {
  readonly path: string;
  readonly summary: string;
  readonly querystring?: object;
  readonly response: object;
}

const ROUTES: readonly RouteDoc[] = [
  { path: '/v1/status', summary: 'Process and speaker summary', response: statusSchema },
  {
    path: '/v1/bgp/peers',
    summary: 'BGP peers with state, timers, capabilities and prefix counts',
    response: {
      type: 'object',
      required: ['peers'],
      properties: { peers: { type: 'array', items: peerSchema } },
    },
  },
  {
    path: '/v1/bgp/routes',
    summary:
      'BGP paths in the Loc-RIB and Adj-RIBs-In, each with the reason it is (not) best; paged: ' +
      '`next` is present when more follow (pass it as `after`)',
    querystring: routesQuerySchema,
    response: {
      type: 'object',
      required: ['routes'],
      properties: {
        routes: { type: 'array', items: pathSchema },
        next: { type: 'string', description: 'the last prefix of this page, when more may follow' },
      },
    },
  },
];

export function openApiDocument(extra: readonly RouteDoc[] = []): object {
  const paths: Record<string, unknown> = {};
  for (const r of [...ROUTES, ...extra]) {
    const parameters = r.querystring
      ? Object.entries((r.querystring as { properties: Record<string, object> }).properties).map(
          ([name, schema]) => ({
            name,
            in: 'query',
            required: false,
            schema,
          }),
        )
      : [];
    paths[r.path] = {
      get: {
        summary: r.summary,
        parameters,
        responses: {
          '200': { description: 'OK', content: { 'application/json': { schema: r.response } } },
          '400': {
            description: 'Bad query parameter',
            content: { 'application/json': { schema: errorSchema } },
          },
          '401': {
            description: 'Missing or wrong bearer token',
            content: { 'application/json': { schema: errorSchema } },
          },
        },
      },
    };
  }
  for (const p of ['/healthz', '/readyz'])
    paths[p] = { get: { summary: 'Probe', responses: { '200': { description: 'ok' } } } };
  paths['/metrics'] = {
    get: { summary: 'Prometheus metrics', responses: { '200': { description: 'text' } } },
  };
  return {
    openapi: '3.1.0',
    info: { title: 'Margay node API', version: '1' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }, {}],
    paths,
  };
}

// node:http through getBuiltinModule, not an import: an ES module import of a built-in reads
// every export to build its namespace, and node:http's WebSocket, CloseEvent and MessageEvent
// getters load Node's bundled fetch/WebSocket client (undici) when read, which the daemon then
// carries for its whole life without using it.
const { createServer } = process.getBuiltinModule('node:http');

/** What an endpoint answers: JSON (shaped by its response schema) or text. */
type Reply =
  | { readonly status: number; readonly json: unknown }
  | { readonly status: number; readonly text: string; readonly contentType: string };

/** An endpoint; only those with a query schema read the query string, the others ignore it. */
type Handler = (query: URLSearchParams) => Reply;

const errorReply = (status: number, code: string, message: string): Reply => ({
  status,
  json: { error: { code, message } },
});

const badParameter = (name: string, what: string): Reply =>
  errorReply(400, 'BAD_PARAMETER', `query parameter "${name}" ${what}`);

/** A JSON endpoint answering 200 with its response schema's fields. */
function jsonRoute(schema: JsonSchema, handler: () => unknown): Handler {
  checkResponseSchema(schema);
  return () => ({ status: 200, json: shape(schema, handler()) });
}

function routesHandler(source: StatusSource): Handler {
  const querySchema = routesQuerySchema as JsonSchema;
  const responseSchema = ROUTES[2]?.response as JsonSchema;
  checkQuerySchema(querySchema);
  checkResponseSchema(responseSchema);
  return (params) => {
    const parsed = parseQuery(querySchema, params);
    if (!parsed.ok) return badParameter(parsed.parameter, parsed.problem);
    const { limit: limitText, ...query } = parsed.value as RoutesQuery;
    // The pattern admits the shape; a prefix must also be one (length within the family, no host
    // bits set), or the answer would be an empty list for a question that has no answer.
    const filter = { ...query };
    for (const name of ['prefix', 'after'] as const) {
      const text = query[name];
      if (text === undefined) continue;
      try {
        filter[name] = normalizePrefix(text);
      } catch (err) {
        return badParameter(name, `is not a prefix: ${(err as Error).message}`);
      }
    }
    if (query.peer !== undefined && query.peer !== 'local') {
      try {
        normalizeIp(query.peer);
      } catch (err) {
        return badParameter('peer', `is not an address or "local": ${(err as Error).message}`);
      }
    }
    const limit = limitText === undefined ? ROUTES_PAGE.default : Number(limitText);
    if (limit < ROUTES_PAGE.min || limit > ROUTES_PAGE.max) {
      return badParameter('limit', `must be ${ROUTES_PAGE.min}..${ROUTES_PAGE.max}`);
    }
    let routes: readonly PathView[];
    try {
      // The family was checked against the schema's enum.
      routes = source.routes({ ...filter, limit } as RouteFilter);
    } catch (err) {
      // The only caller error left after validation: an `after` the listing cannot continue from.
      if (err instanceof BgpError && err.code === 'BGP_ERR_INVALID_CONFIG' && filter.after !== undefined) {
        return badParameter('after', `cannot be continued from (${err.message})`);
      }
      throw err;
    }
    const page = (body: object): Reply => ({ status: 200, json: shape(responseSchema, body) });
    // A page holds whole prefixes (their paths are adjacent): a full page may have a successor;
    // a query for one prefix has none.
    if (filter.prefix !== undefined) return page({ routes });
    let prefixes = 0;
    for (let i = 0; i < routes.length; i++) {
      if (i === 0 || routes[i]?.prefix !== routes[i - 1]?.prefix) prefixes++;
    }
    const last = routes[routes.length - 1];
    return page(prefixes === limit && last !== undefined ? { routes, next: last.prefix } : { routes });
  };
}

function endpoints(source: StatusSource): Map<string, Handler> {
  const probe =
    (check: () => ProbeResult): Handler =>
    () => {
      const r = check();
      return { status: r.ok ? 200 : 503, json: r };
    };
  const map = new Map<string, Handler>([
    ['/v1/status', jsonRoute(statusSchema as JsonSchema, () => source.status())],
    [
      '/v1/bgp/peers',
      jsonRoute(ROUTES[1]?.response as JsonSchema, () => ({ peers: source.peers().map(peerForJson) })),
    ],
    ['/v1/bgp/routes', routesHandler(source)],
    ['/v1/openapi.json', () => ({ status: 200, json: openApiDocument(source.extraRoutes ?? []) })],
    ['/healthz', probe(() => source.live())],
    ['/readyz', probe(() => source.ready())],
    [
      '/metrics',
      () => ({
        status: 200,
        text: renderMetrics(source.metrics()),
        contentType: 'text/plain; version=0.0.4',
      }),
    ],
  ]);
  for (const r of source.extraRoutes ?? []) {
    if (map.has(r.path)) throw new Error(`REST API: ${r.path} is registered twice`);
    map.set(r.path, jsonRoute(r.response as JsonSchema, r.handler));
  }
  return map;
}

function send(res: ServerResponse, reply: Reply, head: boolean): void {
  const [body, type] =
    'json' in reply
      ? [JSON.stringify(reply.json), 'application/json; charset=utf-8']
      : [reply.text, reply.contentType];
  res.writeHead(reply.status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(head ? undefined : body);
}

/**
 * A probe's answer: `code` is a short, stable reason (DATASTORE_NOT_SYNCED, …) that anyone may
 * see; `reason` the full text, shown only to loopback clients or holders of the token.
 */
export interface ProbeResult {
  readonly ok: boolean;
  readonly code?: string;
  readonly reason?: string;
}

/** The listening API: the http.Server (for its address) and how to stop it. */
export interface ApiServer {
  readonly server: Server;
  close(): Promise<void>;
}

/** Whether the request carries `expected` as its bearer token, compared in constant time. */
function hasToken(req: IncomingMessage, expected: Buffer): boolean {
  // RFC 7235 §2.1: the auth-scheme is case-insensitive ("Bearer", "bearer").
  const m = /^bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
  const got = Buffer.from(m?.[1] ?? '');
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** A probe's reply with only its status and short reason code. */
function withoutDetail(reply: Reply): Reply {
  if (!('json' in reply) || typeof reply.json !== 'object' || reply.json === null) return reply;
  const { ok, code } = reply.json as { ok?: unknown; code?: unknown };
  return { status: reply.status, json: code === undefined ? { ok } : { ok, code } };
}

export async function startApi(source: StatusSource, opts: ApiOptions): Promise<ApiServer> {
  if (!isLoopbackHost(opts.host) && !opts.token) {
    throw new MargayError(
      'MARGAY_ERR_API_LISTEN',
      `api.listen ${opts.host}:${opts.port} is not a loopback address: set api.token (at least 16 characters)`,
    );
  }
  const expected = opts.token ? Buffer.from(opts.token) : undefined;
  const routes = endpoints(source);

  const answer = (req: IncomingMessage): Reply => {
    const url = new URL(req.url ?? '/', 'http://api');
    const handler = req.method === 'GET' || req.method === 'HEAD' ? routes.get(url.pathname) : undefined;
    if (handler === undefined) {
      return errorReply(404, 'NOT_FOUND', `no such endpoint: ${req.method} ${req.url}`);
    }
    const authorized = expected === undefined || hasToken(req, expected);
    const isProbe = url.pathname === '/healthz' || url.pathname === '/readyz';
    if (!authorized && !isProbe) return errorReply(401, 'UNAUTHORIZED', 'a valid bearer token is required');
    const reply = handler(url.searchParams);
    // Probes answer without a token, but beyond loopback their reasons (a datastore error with a
    // file path and an excerpt of it) are for those who hold the token: the rest get the status
    // and the short reason code.
    return authorized ? reply : withoutDetail(reply);
  };

  const server = createServer((req, res) => {
    let reply: Reply;
    try {
      reply = answer(req);
    } catch (err) {
      const e = err as Error & { code?: unknown };
      reply = errorReply(500, typeof e.code === 'string' ? e.code : 'INTERNAL', e.message ?? String(err));
    }
    send(res, reply, req.method === 'HEAD');
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: opts.host, port: opts.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    throw new MargayError(
      'MARGAY_ERR_API_LISTEN',
      `api.listen ${opts.host}:${opts.port}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Kept-alive connections that carry no request end now, not at their idle timeout.
        server.closeIdleConnections();
      }),
  };
}
