// Parsing `ip -json route show` (with or without -d and -N) into canonical routes.
//
// What the kernel/iproute2 prints, and we normalize (fixtures in test/unit/felix/routes/fixtures):
// - `dst` is "default" for 0.0.0.0/0 and ::/0; host routes have no "/32" or "/128".
// - `table` is absent for main (without -d), a name ("main", "local", "default") or a number
//   (with -N, or for tables without a name). `type` is absent for unicast (without -d), a name, or
//   a number with -N. `scope` likewise ("link" / "253").
// - blackhole/unreachable: IPv4 prints no dev, IPv6 prints `dev lo`. Neither means anything.
// - ECMP: `nexthops: [{gateway, dev, weight, flags}]`. Older kernels dump an IPv6 multipath route
//   as one object per next hop (same dst, table and metric, no `nexthops`); both shapes are
//   merged into one route here.
// - IPv6 routes always print `metric` (default 1024); IPv4 only when non-zero.
// A route we could never have written (another type, an RFC 5549 `via` object, a locked mtu,
// global scope on a device route) parses with `canonical: undefined`: the reconciler then replaces
// or deletes it, which is right, since it carries our protocol number but is not what we want.
import { FelixError } from '../../errors.ts';
import {
  type CanonicalRoute,
  formatAddress,
  formatPrefix,
  type IpFamily,
  isCanonicalV4,
  type NextHop,
  parseAddress,
  parsePrefix,
  type RouteType,
  RT_TABLE_MAIN,
  routeBody,
  routeKey,
  sortNextHops,
} from '../../model/routes.ts';

export interface KernelRoute {
  readonly family: IpFamily;
  readonly table: number;
  readonly dst: string;
  readonly metric: number;
  /** The kernel's type name ("unicast", "blackhole", "local", "prohibit", …). */
  readonly typeName: string;
  /** routeKey(table, dst). */
  readonly key: string;
  /** The route in our terms, or undefined when it is nothing Margay would write. */
  readonly canonical: CanonicalRoute | undefined;
  /** routeBody(canonical), precomputed (the reconciler compares 100k of these). */
  readonly body: string | undefined;
  readonly protocol?: string;
}

const TABLE_NAMES: Record<string, number> = { main: 254, local: 255, default: 253, unspec: 0 };
const TYPE_NUMBERS: Record<string, string> = {
  '0': 'unspec',
  '1': 'unicast',
  '2': 'local',
  '3': 'broadcast',
  '4': 'anycast',
  '5': 'multicast',
  '6': 'blackhole',
  '7': 'unreachable',
  '8': 'prohibit',
  '9': 'throw',
  '10': 'nat',
};
const OUR_TYPES = new Set<string>(['unicast', 'blackhole', 'unreachable']);

/** Default metric the kernel gives a route added without one. */
export function defaultMetric(family: IpFamily): number {
  return family === 4 ? 0 : 1024;
}

type Json = Record<string, unknown>;

function fail(what: string, obj: unknown): never {
  throw new FelixError('FELIX_ERR_NETLINK_PARSE', `ip -json route: ${what} in ${JSON.stringify(obj)}`);
}

function str(o: Json, k: string): string | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

function parseTable(o: Json): number {
  const t = str(o, 'table');
  if (t === undefined) return 254;
  if (/^\d+$/.test(t)) return Number(t);
  const n = TABLE_NAMES[t];
  // A name from /etc/iproute2/rt_tables: we read with -N, so this only happens with foreign input.
  if (n === undefined) fail(`unknown table name "${t}" (read with -N)`, o);
  return n;
}

function hasFlag(o: Json, flag: string): boolean {
  const f = o.flags;
  return Array.isArray(f) && f.includes(flag);
}

function parseHop(o: Json, family: IpFamily): NextHop | undefined {
  if (o.via !== undefined) return undefined; // RFC 5549 gateway of the other family: not ours
  const gw = str(o, 'gateway');
  const dev = str(o, 'dev');
  const hop: { gateway?: string; dev?: string; onlink?: boolean; weight?: number } = {};
  if (gw !== undefined && isCanonicalV4(gw, false)) {
    hop.gateway = gw; // the common case, as ip prints it: no parse, no new string
  } else if (gw !== undefined) {
    const a = parseAddress(gw);
    if (!a || (family === 4 && a.family === 6)) return undefined;
    hop.gateway = formatAddress(a);
  }
  if (dev !== undefined) hop.dev = dev;
  if (hasFlag(o, 'onlink')) hop.onlink = true;
  const w = o.weight;
  if (typeof w === 'number' && w !== 1) hop.weight = w;
  return hop;
}

/**
 * Parse one family's `ip -json route show` list. `protocol` filters entries that print one (the
 * caller normally filters in the kernel with `proto N`; this is a second line of defence).
 */
export function parseKernelRoutes(
  list: readonly unknown[],
  family: IpFamily,
  protocol?: number,
): KernelRoute[] {
  const merged = new Map<string, { head: Json; hops: Json[] }>();
  const order: { head: Json; hops: Json[] }[] = [];
  const ours = protocol === undefined ? undefined : String(protocol);
  for (const item of list) {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) fail('not an object', item);
    const o = item as Json;
    const proto = str(o, 'protocol');
    // Read with -N, the protocol is a number; a name is some other protocol's.
    if (ours !== undefined && proto !== undefined && proto !== ours) continue;
    const dst = str(o, 'dst');
    if (dst === undefined) fail('no dst', o);
    const typeName = typeOf(o);
    const metric = typeof o.metric === 'number' ? o.metric : defaultMetric(family);
    const id = `${parseTable(o)}|${dst}|${metric}|${typeName}`;
    const prev = merged.get(id);
    // Old-style IPv6 multipath: one object per next hop with the same table, dst and metric.
    if (prev && typeName === 'unicast' && family === 6) {
      if (Array.isArray(o.nexthops)) prev.hops.push(...(o.nexthops as Json[]));
      else prev.hops.push(o);
      continue;
    }
    if (prev) fail('duplicate route', o);
    const rec = { head: o, hops: Array.isArray(o.nexthops) ? [...(o.nexthops as Json[])] : [o] };
    merged.set(id, rec);
    order.push(rec);
  }
  const out: KernelRoute[] = [];
  const share: Shared = { hops: undefined, body: undefined };
  for (const { head, hops } of order) out.push(toKernelRoute(head, hops, family, share));
  return out;
}

/**
 * What consecutive routes of one parse share when they can (a table lists the routes via one next
 * hop together): the one-hop list and the body of a plain route. An adopt keeps 100k routes in its
 * view; shared, they are two objects and a string fewer each for the garbage collector to trace.
 */
interface Shared {
  /** The last one-hop list, frozen. */
  hops: readonly NextHop[] | undefined;
  /** The body of the last plain route (main table, no src or mtu) through `hops`. */
  body: string | undefined;
}

function sameHop(a: NextHop, b: NextHop): boolean {
  return a.gateway === b.gateway && a.dev === b.dev && a.onlink === b.onlink && a.weight === b.weight;
}

function typeOf(o: Json): string {
  const t = str(o, 'type') ?? 'unicast';
  return TYPE_NUMBERS[t] ?? t;
}

/**
 * The canonical destination of a listed route. IPv4 as ip prints it ("a.b.c.d/n", a host route as
 * "a.b.c.d") is taken as is, without a parse (an adopt of 100k routes parses every one).
 */
function canonicalDst(o: Json, text: string, family: IpFamily): string {
  if (family === 4 && isCanonicalV4(text, true)) return text;
  if (family === 4 && isCanonicalV4(text, false)) return `${text}/32`;
  const p = parsePrefix(text, family);
  if (!p) fail(`bad dst "${text}"`, o);
  return formatPrefix(p);
}

function toKernelRoute(o: Json, hopObjs: Json[], family: IpFamily, share: Shared): KernelRoute {
  const dst = canonicalDst(o, str(o, 'dst')!, family);
  const table = parseTable(o);
  const typeName = typeOf(o);
  const metric = typeof o.metric === 'number' ? o.metric : defaultMetric(family);
  const key = routeKey({ table, dst });
  const protocol = str(o, 'protocol');
  const canonical = toCanonical(o, hopObjs, family, dst, table, typeName, share);
  let body: string | undefined;
  if (canonical !== undefined) {
    const isPlain =
      canonical.type === 'unicast' &&
      canonical.nextHops === share.hops &&
      table === RT_TABLE_MAIN &&
      canonical.src === undefined &&
      canonical.mtu === undefined;
    if (isPlain && share.body !== undefined) body = share.body;
    else body = routeBody(canonical);
    if (isPlain) share.body = body;
  }
  return protocol === undefined
    ? { family, table, dst, metric, typeName, key, canonical, body }
    : { family, table, dst, metric, typeName, key, protocol, canonical, body };
}

function toCanonical(
  o: Json,
  hopObjs: Json[],
  family: IpFamily,
  dst: string,
  table: number,
  typeName: string,
  share: Shared,
): CanonicalRoute | undefined {
  if (!OUR_TYPES.has(typeName)) return undefined;
  const type = typeName as RouteType;
  let nextHops: NextHop[] = [];
  if (type === 'unicast') {
    for (const h of hopObjs) {
      const hop = parseHop(h, family);
      if (!hop) return undefined;
      nextHops.push(hop);
    }
    if (nextHops.length === 1) {
      const only = nextHops[0]!;
      if (only.weight !== undefined) {
        const { weight: _w, ...rest } = only;
        nextHops = [rest];
      }
      // IPv4 device routes are written `scope link`; one with another scope is not ours as is.
      if (family === 4 && only.gateway === undefined) {
        const scope = str(o, 'scope');
        if (scope !== undefined && scope !== 'link' && scope !== '253') return undefined;
      }
      const prev = share.hops?.[0];
      if (prev !== undefined && sameHop(prev, nextHops[0]!)) {
        nextHops = share.hops as NextHop[];
      } else {
        nextHops = Object.freeze([Object.freeze(nextHops[0]!)]) as NextHop[];
        share.hops = nextHops;
        share.body = undefined;
      }
    } else {
      sortNextHops(nextHops);
    }
  }
  const out: {
    family: IpFamily;
    dst: string;
    table: number;
    type: RouteType;
    nextHops: readonly NextHop[];
    src?: string;
    mtu?: number;
  } = { family, dst, table, type, nextHops };
  const src = str(o, 'prefsrc');
  if (src !== undefined) {
    const a = parseAddress(src);
    if (!a) return undefined;
    out.src = formatAddress(a);
  }
  const metrics = o.metrics;
  if (Array.isArray(metrics)) {
    for (const m of metrics as Json[]) {
      if (m === null || typeof m !== 'object') return undefined;
      for (const [k, v] of Object.entries(m)) {
        if (k === 'mtu' && typeof v === 'number') out.mtu = v;
        else return undefined; // a locked mtu or another metric (advmss, …): not written by us
      }
    }
  }
  return out;
}
