// Desired vs actual for the route table, as pure data: which `ip -batch` lines bring the kernel
// from the view (view.ts: our protocol's routes as last read, or as we last wrote them) to
// `desired`. (Felix `deltatracker`: the desired set, the dataplane view, and the pending
// difference.)
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
// - Undesired keys the caller's `keep` accepts (workload routes in their grace period, see
//   route-table.ts) are not deleted.
// The diff is a generator that hands each op to a sink (no object per op) and yields every
// STEP_KEYS keys, so the reconciler can stream the lines into `ip -batch` while the kernel is
// still busy with the previous chunk (JS and kernel overlap). The diff hands over the writes
// first, then the deletes; when and in which order the kernel takes them is family-streams.ts's
// (deletes and routes needing no gateway first, then gateway routes, which are held until the
// first ones are done; every line of one key in the diff's order).
import { type CanonicalRoute, type IpFamily, routeMatches } from '../../model/routes.ts';
import { defaultMetric, type KernelRoute } from '../netlink/routes-json.ts';
import { type DesiredEntry, DesiredRoutes } from './desired.ts';
import { renderDeleteLine } from './lines.ts';
import { atDefaultMetric, isKernelEntries, RouteView, type ViewEntry, type ViewRoute } from './view.ts';

export { DesiredEntry, desiredEntry } from './desired.ts';
export { renderDeleteLine, renderRouteLine } from './lines.ts';

export type RouteOpKind = 'add' | 'replace' | 'del';

/** One line of a delta as data (computeRouteDelta; the reconciler streams without these). */
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

/** The line deleting `have` (a route of ours in the view) at `metric`. */
export function renderViewDeleteLine(have: ViewRoute, metric: number, proto: number): string {
  return renderDeleteLine('route' in have ? have.route : have, metric, proto);
}

/** The family of a route of the view. */
export function viewRouteFamily(have: ViewRoute): IpFamily {
  return 'route' in have ? have.route.family : have.family;
}

/** Whether the kernel route `have` is what `want` asks for. */
export function isUpToDate(want: DesiredEntry, have: KernelRoute): boolean {
  const c = have.canonical;
  if (c === undefined) return false;
  if (want.route.type === c.type && want.body === have.body) return true;
  if (!want.looseDev) return false;
  const fast = sameGatewayHop(want.route, c);
  return fast ?? routeMatches(want.route, c);
}

/**
 * routeMatches for the commonest loose route, allocation-free (an adopt compares 100k of them):
 * one next hop, a gateway and no dev, which the kernel lists with the dev it picked. undefined
 * for any other shape (then routeMatches decides).
 */
function sameGatewayHop(want: CanonicalRoute, have: CanonicalRoute): boolean | undefined {
  if (want.nextHops.length !== 1 || have.nextHops.length !== 1) return undefined;
  const w = want.nextHops[0]!;
  const h = have.nextHops[0]!;
  if (w.dev !== undefined || w.gateway === undefined) return undefined;
  return (
    want.type === have.type &&
    want.dst === have.dst &&
    want.table === have.table &&
    want.src === have.src &&
    want.mtu === have.mtu &&
    w.gateway === h.gateway &&
    (w.onlink === true) === (h.onlink === true)
  );
}

/** Whether a route we wrote (`have`, a desired entry of an earlier apply) is what `want` asks for. */
function isEntryUpToDate(want: DesiredEntry, have: DesiredEntry): boolean {
  if (want === have) return true;
  if (want.route.type === have.route.type && want.body === have.body) return true;
  return want.looseDev && routeMatches(want.route, have.route);
}

/** Whether the view's route at the default metric is what `want` asks for. */
export function isViewUpToDate(want: DesiredEntry, have: ViewRoute): boolean {
  return 'route' in have ? isEntryUpToDate(want, have) : isUpToDate(want, have);
}

/**
 * Receives the ops of a delta, in order. Desired and written routes come as slots of their
 * DesiredRoutes (`desired`, `view.written`), so that a plain route needs no entry object while the
 * lines stream (desired.ts).
 */
export interface RouteDeltaSink {
  /** Desired slot i: the view lacks it at the default metric, `route add`. */
  add(i: number): void;
  /** Desired slot i: our route at its key differs, `route replace`. */
  replace(i: number): void;
  /** A route of ours as read (or kept) to delete, at `metric`. */
  del(have: ViewRoute, metric: number): void;
  /** Slot j of `view.written` to delete, at the default metric. */
  delWritten(j: number): void;
}

export interface DeltaCounter {
  unchanged: number;
}

/** Keys visited between two yields of routeDeltaSteps. */
const STEP_KEYS = 1024;

/**
 * Hand the ops from `view` to `desired` to `sink`: writes first, then deletes, except of undesired
 * keys that `keep` accepts (asked once per undesired key, with what the view holds for it; never
 * about a plain gateway route, which goes through no device and so is no pod route it could keep).
 * Yields every STEP_KEYS keys. `counter.unchanged` counts desired keys already as desired.
 */
export function* routeDeltaSteps(
  desired: DesiredRoutes,
  view: RouteView,
  sink: RouteDeltaSink,
  counter: DeltaCounter,
  keep: (key: string, have: ViewEntry) => boolean = () => false,
): Generator<void, void, undefined> {
  const { written, other } = view;
  const hasOther = other.size > 0;
  if (written === desired && !hasOther) {
    counter.unchanged += desired.size; // the view is this very desired set, as written
    return;
  }
  const hasWritten = written !== undefined && written.size > 0;
  let n = 0;
  for (let i = 0; i < desired.size; i++) {
    const key = desired.keyAt(i);
    const o = hasOther ? other.get(key) : undefined;
    if (o !== undefined) {
      const have = isKernelEntries(o) ? atDefaultMetric(o) : o;
      if (have === undefined) sink.add(i);
      else if (isViewUpToDate(desired.entry(i), have)) counter.unchanged++;
      else sink.replace(i);
    } else if (written === desired) {
      counter.unchanged++;
    } else {
      const j = hasWritten ? written.indexOf(key) : -1;
      if (j < 0) sink.add(i);
      else if (desired.samePlain(i, written!, j) ?? isEntryUpToDate(desired.entry(i), written!.entry(j)))
        counter.unchanged++;
      else sink.replace(i);
    }
    if (++n === STEP_KEYS) {
      n = 0;
      yield;
    }
  }
  if (hasOther) {
    for (const [key, entry] of other) {
      const isWanted = desired.has(key);
      if (!isWanted && keep(key, entry)) continue;
      if (isKernelEntries(entry)) {
        for (const have of entry) {
          if (isWanted && have.metric === defaultMetric(have.family)) continue;
          sink.del(have, have.metric);
        }
      } else if (!isWanted) {
        sink.del(entry, defaultMetric(entry.route.family));
      }
      if (++n === STEP_KEYS) {
        n = 0;
        yield;
      }
    }
  }
  if (hasWritten && written !== desired) {
    for (let j = 0; j < written.size; j++) {
      const key = written.keyAt(j);
      const isGone = !(hasOther && other.has(key)) && !desired.has(key);
      if (isGone && (written.isPlain(j) || !keep(key, written.entry(j)))) sink.delWritten(j);
      if (++n === STEP_KEYS) {
        n = 0;
        yield;
      }
    }
  }
}

export interface RouteDelta {
  readonly ops: readonly RouteOp[];
  /** Keys already as desired. */
  readonly unchanged: number;
}

/**
 * All ops at once, as data (unit tests, small tables). `desired` by key (a map's keys are ignored:
 * each entry has its own); `actual` a kernel read grouped by key, or a view.
 */
export function computeRouteDelta(
  desired: ReadonlyMap<string, DesiredEntry> | DesiredRoutes,
  actual: ReadonlyMap<string, readonly KernelRoute[]> | RouteView,
  proto: number,
): RouteDelta {
  const want = desired instanceof DesiredRoutes ? desired : DesiredRoutes.of(desired.values());
  const view = actual instanceof RouteView ? actual : RouteView.fromKernel(new Map(actual));
  const ops: RouteOp[] = [];
  const write = (kind: 'add' | 'replace') => (i: number) => {
    const entry = want.entry(i);
    const line = want.routeLine(kind, i, proto);
    ops.push({ kind, key: entry.key, family: entry.route.family, entry, line });
  };
  const sink: RouteDeltaSink = {
    add: write('add'),
    replace: write('replace'),
    del: (have, metric) => {
      const line = renderViewDeleteLine(have, metric, proto);
      ops.push({ kind: 'del', key: have.key, family: viewRouteFamily(have), metric, line });
    },
    delWritten: (j) => {
      const w = view.written!;
      const family = w.familyAt(j);
      ops.push({
        kind: 'del',
        key: w.keyAt(j),
        family,
        metric: defaultMetric(family),
        line: w.deleteLine(j, proto),
      });
    },
  };
  const counter = { unchanged: 0 };
  for (const _ of routeDeltaSteps(want, view, sink, counter));
  return { ops, unchanged: counter.unchanged };
}
