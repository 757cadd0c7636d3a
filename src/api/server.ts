// The read-only REST API (DESIGN.md "Interfaces"). It answers from a StatusSource, so the
// standalone speaker and the node agent share one server. Loopback by default; any other
// address requires a bearer token (checked in constant time), except /healthz and /readyz which
// probes reach without credentials, as with Calico's health port.
import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { BgpError } from '../../bgp/errors.ts';
import type { PathView, PeerStatus, RouteFilter } from '../../bgp/speaker/types.ts';
import { MargayError } from '../errors.ts';
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
  live(): { ok: boolean; reason?: string };
  /** Ready: configuration applied and sessions started. */
  ready(): { ok: boolean; reason?: string };
  /** Extra, mode-specific GET endpoints (the agent adds /v1/dataplane/*), documented in OpenAPI. */
  readonly extraRoutes?: readonly ExtraRoute[];
}

export interface ExtraRoute extends RouteDoc {
  readonly handler: () => unknown;
}

/** GET /v1/bgp/routes query: the filter, with the page size still text (schemas.ts). */
type RoutesQuery = Omit<RouteFilter, 'limit'> & { readonly limit?: string };

function badParameter(reply: FastifyReply, name: string, what: string): FastifyReply {
  return reply
    .status(400)
    .send({ error: { code: 'BAD_PARAMETER', message: `query parameter "${name}" ${what}` } });
}

export interface ApiOptions {
  readonly host: string;
  readonly port: number;
  readonly token?: string;
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

function peerForJson(p: PeerStatus): Record<string, unknown> {
  return { ...p, since: new Date(p.since).toISOString() };
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

export async function startApi(source: StatusSource, opts: ApiOptions): Promise<FastifyInstance> {
  if (!isLoopback(opts.host) && !opts.token) {
    throw new MargayError(
      'MARGAY_ERR_API_LISTEN',
      `api.listen ${opts.host}:${opts.port} is not a loopback address: set api.token (at least 16 characters)`,
    );
  }
  const app = Fastify({
    logger: false,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  });
  const expected = opts.token ? Buffer.from(`Bearer ${opts.token}`) : undefined;

  app.setErrorHandler((err: FastifyError, _req, reply) => {
    if (err.validation) {
      const v = err.validation[0];
      const param =
        (v?.params as { additionalProperty?: string } | undefined)?.additionalProperty ??
        v?.instancePath.replace(/^\//, '') ??
        '';
      const what =
        v?.keyword === 'additionalProperties' ? 'is not a known parameter' : (v?.message ?? 'is invalid');
      return reply
        .status(400)
        .send({ error: { code: 'BAD_PARAMETER', message: `query parameter "${param}" ${what}` } });
    }
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    return reply.status(status).send({ error: { code: err.code ?? 'INTERNAL', message: err.message } });
  });
  app.setNotFoundHandler((req, reply) =>
    reply
      .status(404)
      .send({ error: { code: 'NOT_FOUND', message: `no such endpoint: ${req.method} ${req.url}` } }),
  );

  app.addHook('onRequest', async (req, reply) => {
    if (!expected || req.url === '/healthz' || req.url === '/readyz') return;
    const got = Buffer.from(req.headers.authorization ?? '');
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
      return reply
        .status(401)
        .send({ error: { code: 'UNAUTHORIZED', message: 'a valid bearer token is required' } });
    }
  });

  app.get('/v1/status', { schema: { response: { 200: statusSchema } } }, async () => source.status());
  app.get('/v1/bgp/peers', { schema: { response: { 200: ROUTES[1]?.response } } }, async () => ({
    peers: source.peers().map(peerForJson),
  }));
  app.get<{ Querystring: RoutesQuery }>(
    '/v1/bgp/routes',
    { schema: { querystring: routesQuerySchema, response: { 200: ROUTES[2]?.response } } },
    async (req, reply) => {
      const { limit: limitText, ...filter } = req.query;
      const limit = limitText === undefined ? ROUTES_PAGE.default : Number(limitText);
      if (limit < ROUTES_PAGE.min || limit > ROUTES_PAGE.max) {
        return badParameter(reply, 'limit', `must be ${ROUTES_PAGE.min}..${ROUTES_PAGE.max}`);
      }
      let routes: readonly PathView[];
      try {
        routes = source.routes({ ...filter, limit });
      } catch (err) {
        // The only caller error left after validation: an `after` the listing cannot continue from.
        if (err instanceof BgpError && err.code === 'BGP_ERR_INVALID_CONFIG' && filter.after !== undefined) {
          return badParameter(reply, 'after', `cannot be continued from (${err.message})`);
        }
        throw err;
      }
      // A page holds whole prefixes (their paths are adjacent): a full page may have a successor;
      // a query for one prefix has none.
      if (filter.prefix !== undefined) return { routes };
      let prefixes = 0;
      for (let i = 0; i < routes.length; i++) {
        if (i === 0 || routes[i]?.prefix !== routes[i - 1]?.prefix) prefixes++;
      }
      const last = routes[routes.length - 1];
      return prefixes === limit && last !== undefined ? { routes, next: last.prefix } : { routes };
    },
  );
  app.get('/v1/openapi.json', async () => openApiDocument(source.extraRoutes ?? []));
  app.get('/healthz', async (_req, reply) => {
    const r = source.live();
    return reply.status(r.ok ? 200 : 503).send(r);
  });
  app.get('/readyz', async (_req, reply) => {
    const r = source.ready();
    return reply.status(r.ok ? 200 : 503).send(r);
  });
  app.get('/metrics', async (_req, reply) =>
    reply.type('text/plain; version=0.0.4').send(renderMetrics(source.metrics())),
  );
  for (const r of source.extraRoutes ?? []) {
    app.get(r.path, { schema: { response: { 200: r.response } } }, async () => r.handler());
  }

  try {
    await app.listen({ host: opts.host, port: opts.port });
  } catch (err) {
    throw new MargayError(
      'MARGAY_ERR_API_LISTEN',
      `api.listen ${opts.host}:${opts.port}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  return app;
}
