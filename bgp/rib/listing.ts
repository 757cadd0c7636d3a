// Listings of the Loc-RIB for the REST API (`GET /v1/bgp/routes`), whole or in pages.
//
// A full table is 1M prefixes: building every route view in one response took seconds and
// hundreds of MB, with the event loop stalled meanwhile. So a listing can be paged: `limit`
// routes per page, `after` = the last prefix of the previous page. The order is the Loc-RIB
// Map's (insertion order, not sorted): sorting 1M prefixes per page would cost what paging saves.
//
// Resuming a Map walk at a key has no O(1) form, so a full page leaves its live iterator here,
// keyed by its last prefix (BIRD's CLI keeps a FIB iterator per `show route` the same way): the
// next page then costs O(limit), and because Map iterators are live it survives that prefix
// being withdrawn meanwhile. A route present for the whole listing is listed exactly once; one
// added or removed meanwhile may or may not be. Without a kept position (more than
// MAX_ROUTE_CURSORS listings at once) the table is walked up to the prefix, O(table) (~10 ms at
// 1M); when the prefix is gone as well the position is lost, and that is an error, never a
// silently truncated or repeated listing.

import { BgpError } from '../errors.ts';
import { Dest, detachedDest, type Path } from './model.ts';
import { canonicalPrefix } from './prefix.ts';
import { type RouteFilter, type RouteView, routeView } from './snapshot.ts';

/** Listings whose position is kept; older ones fall back to a walk (see the file header). */
export const MAX_ROUTE_CURSORS = 8;

type Cursor = Iterator<[string, Path | Dest]>;

const invalid = (message: string): BgpError => new BgpError('BGP_ERR_INVALID_CONFIG', message);

export class RouteListing {
  readonly #dests: ReadonlyMap<string, Path | Dest>;
  /** Last prefix of a full page → the live cursor after it, oldest first. */
  readonly #cursors = new Map<string, Cursor>();

  /** `dests` is the RIB's Loc-RIB map (read only here). */
  constructor(dests: ReadonlyMap<string, Path | Dest>) {
    this.#dests = dests;
  }

  /** See `Rib.listRoutes`. */
  list(filter: RouteFilter): RouteView[] {
    const views: RouteView[] = [];
    const fromPeers = filter.fromPeers === undefined ? undefined : new Set(filter.fromPeers);
    const push = (prefix: string, entry: Path | Dest | undefined) => {
      if (entry === undefined || (filter.family !== undefined && entry.family !== filter.family)) return;
      // Filtering by peer before building a view: listing one peer's routes stays cheap.
      if (fromPeers !== undefined && !(entry instanceof Dest) && !fromPeers.has(entry.peer?.id ?? null))
        return;
      const view = routeView(entry instanceof Dest ? entry : detachedDest(prefix, entry), fromPeers);
      if (view !== null) views.push(view);
    };
    if (filter.prefix !== undefined) {
      const prefix = canonicalPrefix(filter.prefix);
      if (prefix !== null) push(prefix, this.#dests.get(prefix));
      return views;
    }
    const limit = filter.limit ?? Number.POSITIVE_INFINITY;
    if (limit !== Number.POSITIVE_INFINITY && (!Number.isInteger(limit) || limit < 1)) {
      throw invalid(`route listing: limit ${limit} is not a positive integer`);
    }
    const cursor = filter.after === undefined ? this.#dests.entries() : this.#resume(filter.after);
    let last: string | undefined;
    while (views.length < limit) {
      const step = cursor.next();
      if (step.done === true) return views;
      const [prefix, entry] = step.value;
      push(prefix, entry);
      last = prefix;
    }
    // The page is full, so `last` is its last route: the key the next page will name.
    if (last !== undefined) this.#keep(last, cursor);
    return views;
  }

  #resume(after: string): Cursor {
    const prefix = canonicalPrefix(after);
    if (prefix === null) throw invalid(`route listing: after ${after} is not a prefix`);
    const kept = this.#cursors.get(prefix);
    if (kept !== undefined) {
      this.#cursors.delete(prefix);
      return kept;
    }
    if (!this.#dests.has(prefix)) {
      throw invalid(`route listing: after ${after} is no longer in the table: list again from the start`);
    }
    const cursor = this.#dests.entries();
    for (let step = cursor.next(); step.done !== true && step.value[0] !== prefix; step = cursor.next());
    return cursor;
  }

  #keep(prefix: string, cursor: Cursor): void {
    this.#cursors.delete(prefix);
    this.#cursors.set(prefix, cursor);
    // Oldest out first: an abandoned listing's iterator must not live for ever (it would also
    // pin the Map's old backing store after a rehash).
    if (this.#cursors.size > MAX_ROUTE_CURSORS) {
      this.#cursors.delete(this.#cursors.keys().next().value as string);
    }
  }
}
