// The route reconciler's view of the kernel (Felix's "dataplane view"): our routes by key as the
// last read found them, or as the last successful apply wrote them.
//
// Two layers, so that what an apply wrote costs nothing to record. `written` is the desired set of
// the last apply whose every line went in: each of its routes is in the kernel exactly as desired,
// at the family's default metric. `other` holds what is known otherwise, and wins over `written`
// for its keys: routes as read from the kernel (a list per key, normally one, more when our
// protocol has the key at several metrics) and workload routes kept for their grace period after
// their desired entry went away. Recording each written route as a KernelRoute in one map instead
// would cost an object, an array and a map insertion per route, and a map that grows and shrinks by
// the whole set on every install or removal. After a successful apply the view is { written: the
// desired set just applied, other: what of `other` was not overwritten or deleted }; after any
// refused line it is a fresh read; after a batch process died (any of an apply's, route-batch.ts)
// it is unknown (the next apply reads).
import type { CanonicalRoute } from '../../model/routes.ts';
import { defaultMetric, type KernelRoute } from '../netlink/routes-json.ts';
import type { DesiredEntry, DesiredRoutes } from './desired.ts';

/** What the view holds for one key: a route we wrote (DesiredEntry) or the routes the kernel listed. */
export type ViewEntry = DesiredEntry | readonly KernelRoute[];

/** A route at the family's default metric, as written (DesiredEntry) or as read (KernelRoute). */
export type ViewRoute = DesiredEntry | KernelRoute;

export function isKernelEntries(e: ViewEntry): e is readonly KernelRoute[] {
  return Array.isArray(e);
}

export class RouteView {
  /**
   * The desired set of the last fully successful apply (every entry in the kernel as written), or
   * undefined when the view is a read.
   */
  readonly written: DesiredRoutes | undefined;
  /** Read or kept routes by key; wins over `written`. Mutated only by the apply that owns the view. */
  readonly other: Map<string, ViewEntry>;

  constructor(written: DesiredRoutes | undefined, other: Map<string, ViewEntry>) {
    this.written = written;
    this.other = other;
  }

  /** The view of a kernel read (grouped by key). */
  static fromKernel(read: Map<string, readonly KernelRoute[]>): RouteView {
    return new RouteView(undefined, read);
  }

  /** What the view holds at `key` (a written route as its DesiredEntry, built if need be). */
  get(key: string): ViewEntry | undefined {
    if (this.other.size > 0) {
      const o = this.other.get(key);
      if (o !== undefined) return o;
    }
    return this.written?.get(key);
  }

  has(key: string): boolean {
    return (this.other.size > 0 && this.other.has(key)) || this.written?.has(key) === true;
  }
}

/** The entry at the family's default metric (the only one we ever write), if any. */
export function atDefaultMetric(entries: readonly KernelRoute[] | undefined): KernelRoute | undefined {
  if (entries === undefined) return undefined;
  for (const e of entries) if (e.metric === defaultMetric(e.family)) return e;
  return undefined;
}

/** The route at the default metric of a view entry, if any. */
export function defaultRoute(entry: ViewEntry | undefined): ViewRoute | undefined {
  if (entry === undefined) return undefined;
  return isKernelEntries(entry) ? atDefaultMetric(entry) : entry;
}

/**
 * The route of a view entry in our terms, for listing: the one at the default metric, else the
 * first listed; undefined when the kernel's is nothing we would write.
 */
export function viewRoute(entry: ViewEntry | undefined): CanonicalRoute | undefined {
  if (entry === undefined) return undefined;
  if (!isKernelEntries(entry)) return entry.route;
  return (atDefaultMetric(entry) ?? entry[0])?.canonical;
}
