// Desired vs actual for the route table, as pure data: which `ip -batch` lines bring the kernel
// from `actual` (our protocol's routes as last read, or as we last wrote them) to `desired`.
// (Felix `deltatracker`: the desired set, the dataplane view, and the pending difference.)
//
// Rules, each one a past failure in some reconciler:
// - A route already as desired produces no line at all (adopt on restart: no flap).
// - A new key is written with `route add` (NLM_F_EXCL), not `replace`: if another protocol holds
//   the same table/prefix/metric, `replace` would overwrite a route that is not ours; `add` fails
//   with "File exists" and the key is reported as a conflict. `replace` is used only where our own
//   route already sits at the key (a changed route is replaced atomically, never del + add).
// - Deletes name our protocol (`proto N`) and the exact metric, so the kernel itself refuses to
//   delete anything else, even if the table changed since we read it.
// - Our routes at a non-default metric are never what we write (we always use the default), so
//   they are deleted.
// - Undesired keys in `keep` (workload routes in their grace period, see route-table.ts) are not
//   deleted.
// The ops come from a generator so the reconciler can stream them into `ip -batch` while the kernel
// is still busy with the previous chunk (the benchmark's 100k routes: JS and kernel overlap).
import { type CanonicalRoute, type IpFamily, routeBody, routeMatches } from '../../model/routes.ts';
import { defaultMetric, type KernelRoute } from '../netlink/routes-json.ts';

export interface DesiredEntry {
  readonly route: CanonicalRoute;
  /** routeBody(route): the part of the `ip route` line after the destination and protocol. */
  readonly body: string;
  /** True when some next hop has no dev (the kernel picks it): compare with routeMatches. */
  readonly looseDev: boolean;
}

export function desiredEntry(route: CanonicalRoute): DesiredEntry {
  let looseDev = false;
  for (const h of route.nextHops) if (h.dev === undefined) looseDev = true;
  return { route, body: routeBody(route), looseDev };
}

export type RouteOpKind = 'add' | 'replace' | 'del';

export interface RouteOp {
  readonly kind: RouteOpKind;
  readonly key: string;
  readonly family: IpFamily;
  /** The `ip -batch` line (the family goes on the command line: `ip -4|-6 -batch -`). */
  readonly line: string;
  /** For add/replace: the desired entry that will be in the kernel afterwards. */
  readonly entry?: DesiredEntry;
  /** For del: the metric deleted. */
  readonly metric?: number;
}

/** `route add|replace …` for a canonical route, carrying protocol `proto`. */
export function renderRouteLine(
  verb: 'add' | 'replace',
  r: CanonicalRoute,
  proto: number,
  body: string = routeBody(r),
): string {
  return r.type === 'unicast'
    ? `route ${verb} ${r.dst} proto ${proto}${body}`
    : `route ${verb} ${r.type} ${r.dst} proto ${proto}${body}`;
}

/** `route del …` for one of our routes: table, protocol and metric pinned, nothing else needed. */
export function renderDeleteLine(
  r: { dst: string; table: number; family: IpFamily },
  metric: number,
  proto: number,
): string {
  // Main is ip's default table (spelling it costs ip a table-name lookup per line).
  let s =
    r.table === 254
      ? `route del ${r.dst} proto ${proto}`
      : `route del ${r.dst} table ${r.table} proto ${proto}`;
  if (metric !== 0 || r.family === 6) s += ` metric ${metric}`;
  return s;
}

export function isUpToDate(want: DesiredEntry, have: KernelRoute): boolean {
  const c = have.canonical;
  if (c === undefined) return false;
  if (want.route.type === c.type && want.body === have.body) return true;
  return want.looseDev && routeMatches(want.route, c);
}

/** The kernel entry at the default metric for a key, if any. */
export function atDefaultMetric(entries: readonly KernelRoute[] | undefined): KernelRoute | undefined {
  if (entries === undefined) return undefined;
  for (const e of entries) if (e.metric === defaultMetric(e.family)) return e;
  return undefined;
}

export interface DeltaCounter {
  unchanged: number;
}

/**
 * The ops from `actual` (grouped by key; normally one entry per key) to `desired`: writes first,
 * then deletes, except of undesired keys in `keep`. `counter.unchanged` counts keys already as
 * desired.
 */
export function* routeDeltaOps(
  desired: ReadonlyMap<string, DesiredEntry>,
  actual: ReadonlyMap<string, readonly KernelRoute[]>,
  proto: number,
  counter: DeltaCounter = { unchanged: 0 },
  keep: ReadonlySet<string> = new Set(),
): Generator<RouteOp> {
  for (const [key, want] of desired) {
    const r = want.route;
    const have = atDefaultMetric(actual.get(key));
    if (have === undefined) {
      yield {
        kind: 'add',
        key,
        family: r.family,
        entry: want,
        line: renderRouteLine('add', r, proto, want.body),
      };
    } else if (isUpToDate(want, have)) {
      counter.unchanged++;
    } else {
      yield {
        kind: 'replace',
        key,
        family: r.family,
        entry: want,
        line: renderRouteLine('replace', r, proto, want.body),
      };
    }
  }
  for (const [key, entries] of actual) {
    const wanted = desired.has(key);
    if (!wanted && keep.has(key)) continue;
    for (const have of entries) {
      if (wanted && have.metric === defaultMetric(have.family)) continue;
      yield {
        kind: 'del',
        key,
        family: have.family,
        metric: have.metric,
        line: renderDeleteLine(have, have.metric, proto),
      };
    }
  }
}

export interface RouteDelta {
  readonly ops: readonly RouteOp[];
  /** Keys already as desired. */
  readonly unchanged: number;
}

/** All ops at once (unit tests, small tables). */
export function computeRouteDelta(
  desired: ReadonlyMap<string, DesiredEntry>,
  actual: ReadonlyMap<string, readonly KernelRoute[]>,
  proto: number,
): RouteDelta {
  const counter = { unchanged: 0 };
  const ops = [...routeDeltaOps(desired, actual, proto, counter)];
  return { ops, unchanged: counter.unchanged };
}
