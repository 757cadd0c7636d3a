// JSON schemas of the REST API's responses and query strings. They check the query string (bad
// query parameters → 400 naming the parameter), shape every response to the documented fields
// (json-schema.ts), and make /v1/openapi.json.

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const strArray = { type: 'array', items: str } as const;

export const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: { type: 'object', required: ['code', 'message'], properties: { code: str, message: str } },
  },
} as const;

export const peerSchema = {
  type: 'object',
  required: ['address', 'asn', 'type', 'state', 'since', 'holdTime', 'keepalive', 'prefixes', 'messages'],
  properties: {
    address: str,
    asn: int,
    description: str,
    type: { type: 'string', enum: ['ibgp', 'ebgp'] },
    peerType: str,
    routeReflectorClient: { type: 'boolean' },
    state: { type: 'string', enum: ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'] },
    since: { type: 'string', format: 'date-time' },
    lastError: str,
    // 'TCP-MD5 mismatch suspected' (PeerStatus.tcpMd5).
    tcpMd5: str,
    holdTime: int,
    keepalive: int,
    localAddress: str,
    remoteRouterId: str,
    families: strArray,
    capabilities: { type: 'object', properties: { local: strArray, remote: strArray } },
    prefixes: {
      type: 'object',
      required: ['received', 'accepted', 'advertised'],
      properties: { received: int, accepted: int, advertised: int },
    },
    // RFC 9494 (PeerStatus.llgrNegotiated, PeerStatus.staleRoutes).
    llgrNegotiated: { type: 'boolean' },
    staleRoutes: {
      type: 'object',
      required: ['routes', 'restarting', 'longLived'],
      properties: { routes: int, restarting: strArray, longLived: strArray },
    },
    messages: {
      type: 'object',
      required: ['in', 'out'],
      properties: { in: int, out: int, updatesIn: int, updatesOut: int },
    },
    // BFD with the peer (PeerStatus.bfd): state 'Unavailable' with `error` when it could not start.
    bfd: {
      type: 'object',
      required: ['state'],
      properties: {
        state: { type: 'string', enum: ['AdminDown', 'Down', 'Init', 'Up', 'Unavailable'] },
        remoteState: str,
        diag: str,
        remoteDiag: { type: ['string', 'null'] },
        minTxMs: { type: 'number' },
        minRxMs: { type: 'number' },
        multiplier: int,
        remoteMinTxMs: { type: 'number' },
        remoteMinRxMs: { type: 'number' },
        remoteMultiplier: int,
        txIntervalMs: { type: 'number' },
        detectionTimeMs: { type: 'number' },
        ups: int,
        downs: int,
        failures: int,
        damping: {
          type: 'object',
          required: ['level', 'heldDownMs', 'holds'],
          properties: { level: int, heldDownMs: int, holds: int },
        },
        error: str,
      },
    },
    prefixLimit: {
      type: 'object',
      required: ['exceeded'],
      properties: {
        exceeded: {
          type: 'array',
          items: {
            type: 'object',
            required: ['family', 'limit', 'action', 'count'],
            properties: { family: str, limit: int, action: str, count: int },
          },
        },
        heldIdle: {
          type: 'object',
          required: ['family', 'limit', 'received', 'until', 'seconds', 'reason'],
          properties: {
            family: str,
            limit: int,
            received: int,
            until: { type: 'string', format: 'date-time' },
            seconds: int,
            reason: str,
          },
        },
      },
    },
  },
} as const;

export const pathSchema = {
  type: 'object',
  required: ['prefix', 'family', 'nextHop', 'asPath', 'origin', 'fromPeer', 'best', 'reason'],
  properties: {
    prefix: str,
    family: str,
    nextHop: str,
    asPath: str,
    origin: { type: 'string', enum: ['igp', 'egp', 'incomplete'] },
    med: int,
    localPref: int,
    communities: strArray,
    largeCommunities: strArray,
    extendedCommunities: strArray,
    originatorId: str,
    clusterList: strArray,
    fromPeer: str,
    best: { type: 'boolean' },
    multipath: { type: 'boolean' },
    reason: str,
  },
} as const;

/**
 * Paging of GET /v1/bgp/routes: a full table is 1M prefixes, whose views would take seconds
 * and hundreds of MB to build in one response (and stall the event loop meanwhile).
 */
export const ROUTES_PAGE = { default: 1000, min: 1, max: 10_000 } as const;

export const routesQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    prefix: {
      type: 'string',
      pattern: '^[0-9a-fA-F:.]+/[0-9]{1,3}$',
      description: 'exact prefix, e.g. 10.244.1.0/24',
    },
    peer: { type: 'string', pattern: '^[0-9a-fA-F:.]+$|^local$', description: 'peer address, or "local"' },
    family: { type: 'string', enum: ['ipv4-unicast', 'ipv6-unicast'] },
    // A string, as every query value is; the range is checked by the handler so that its 400
    // names the parameter and the bounds.
    limit: {
      type: 'string',
      pattern: '^[0-9]{1,9}$',
      description: `prefixes per page, ${ROUTES_PAGE.min}..${ROUTES_PAGE.max}, default ${ROUTES_PAGE.default}`,
    },
    after: {
      type: 'string',
      pattern: '^[0-9a-fA-F:.]+/[0-9]{1,3}$',
      description: 'continue after this prefix: the "next" of the previous page',
    },
  },
} as const;

export const statusSchema = {
  type: 'object',
  required: ['version', 'mode', 'uptimeSeconds'],
  properties: {
    version: str,
    mode: str,
    hostname: str,
    asn: int,
    routerId: str,
    uptimeSeconds: { type: 'number' },
    ready: { type: 'boolean' },
    peers: {
      type: 'object',
      properties: { total: int, established: int },
    },
    node: { type: ['object', 'null'], additionalProperties: true },
    announced: strArray,
    problems: strArray,
    dataplane: { type: ['object', 'null'], additionalProperties: true },
  },
} as const;

const nextHopSchema = {
  type: 'object',
  properties: { gateway: str, dev: str, onlink: { type: 'boolean' }, weight: int },
} as const;

export const dataplaneRoutesSchema = {
  type: 'object',
  required: ['routes'],
  properties: {
    routes: {
      type: 'array',
      items: {
        type: 'object',
        required: ['family', 'table', 'dst', 'type', 'nextHops', 'reason', 'state'],
        properties: {
          family: int,
          table: int,
          dst: str,
          type: str,
          nextHops: { type: 'array', items: nextHopSchema },
          src: str,
          mtu: int,
          reason: str,
          state: { type: 'string', enum: ['programmed', 'pending', 'conflict', 'failed', 'grace'] },
          message: str,
        },
      },
    },
  },
} as const;

export const dataplanePolicySchema = {
  type: 'object',
  required: ['rules', 'ipsets'],
  properties: {
    rules: {
      type: 'array',
      items: {
        type: 'object',
        required: ['family', 'table', 'chain', 'position', 'hash', 'args'],
        properties: { family: str, table: str, chain: str, position: int, hash: str, origin: str, args: str },
      },
    },
    ipsets: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'type', 'family', 'members'],
        properties: { name: str, type: str, family: str, members: int, origin: str },
      },
    },
  },
} as const;
