// Listings of the Loc-RIB for the REST API (`GET /v1/bgp/routes`), whole or in pages.
//
// A full table is 1M prefixes: building every route view in one response holds a view of every
// route in memory at once and stalls the event loop while it is built. So a listing can be paged:
// `limit` routes per page, `after` = the last prefix of the previous page. The order is the Loc-RIB
// tables' (IPv4 then IPv6, each in insertion order, not sorted): sorting 1M prefixes per page would
// cost what paging saves.
//
// Resuming a table walk at a key has no O(1) form, so a full page leaves its live cursor here,
// keyed by its last prefix (BIRD's CLI keeps a FIB iterator per `show route` the same way): the
// next page then costs O(limit), and because table cursors are live it survives that prefix
// being withdrawn meanwhile. A route present for the whole listing is listed exactly once; one
// added or removed meanwhile may or may not be. Without a kept position (more than
// MAX_ROUTE_CURSORS listings at once) the prefix is looked up and the walk goes on after it;
// when the prefix is gone as well the position is lost, and that is an error, never a
// silently truncated or repeated listing.

import { BgpError } from '../errors.ts';
import { PrefixList } from '../wire/prefix-list.ts';
import type { Family } from '../wire/types.ts';
import type { LocRibTable } from './adj-rib-out.ts';
import { Dest, detachedDest, type Path } from './model.ts';
import { canonicalPrefix, familyOfPrefix } from './prefix.ts';
import type { TableCursor } from './prefix-table.ts';
import { type RouteFilter, type RouteView, routeView } from './snapshot.ts';

/** Listings whose position is kept; older ones fall back to a walk (see the file header). */
export const MAX_ROUTE_CURSORS = 8;

const FAMILIES: readonly Family[] = ['ipv4-unicast', 'ipv6-unicast'];

/** A position in a listing: the family table being walked and the cursor in it. */
interface Position {
  family: Family;
  cursor: TableCursor;
}

const invalid = (message: string): BgpError => new BgpError('BGP_ERR_INVALID_CONFIG', message);

export class RouteListing {
  readonly #tables: Readonly<Record<Family, LocRibTable>>;
  /** Last prefix of a full page → the live position after it, oldest first. */
  readonly #positions = new Map<string, Position>();

  /** `tables` are the RIB's Loc-RIB tables (read only here). */
  constructor(tables: Readonly<Record<Family, LocRibTable>>) {
    this.#tables = tables;
  }

  /** See `Rib.listRoutes`. */
  list(filter: RouteFilter): RouteView[] {
    const views: RouteView[] = [];
    const fromPeers = filter.fromPeers === undefined ? undefined : new Set(filter.fromPeers);
    const push = (prefix: string, entry: Path | Dest | undefined) => {
      if (entry === undefined) return;
      // Filtering by peer before building a view: listing one peer's routes stays cheap.
      if (fromPeers !== undefined && !(entry instanceof Dest) && !fromPeers.has(entry.peer?.id ?? null))
        return;
      const view = routeView(entry instanceof Dest ? entry : detachedDest(prefix, entry), fromPeers);
      if (view !== null) views.push(view);
    };
    if (filter.prefix !== undefined) {
      const prefix = canonicalPrefix(filter.prefix);
      if (prefix === null) return views;
      const family = familyOfPrefix(prefix);
      if (filter.family !== undefined && filter.family !== family) return views;
      const table = this.#tables[family];
      const key = PrefixList.parse(table.afi, [prefix]);
      push(prefix, table.get(key.words, 0, key.lenAt(0)));
      return views;
    }
    const limit = filter.limit ?? Number.POSITIVE_INFINITY;
    if (limit !== Number.POSITIVE_INFINITY && (!Number.isInteger(limit) || limit < 1)) {
      throw invalid(`route listing: limit ${limit} is not a positive integer`);
    }
    const families = filter.family === undefined ? FAMILIES : [filter.family];
    const pos = filter.after === undefined ? this.#start(families[0] as Family) : this.#resume(filter.after);
    if (!families.includes(pos.family)) {
      pos.cursor.close();
      throw invalid(`route listing: after ${filter.after} is not a ${filter.family} prefix`);
    }
    let last: string | undefined;
    while (views.length < limit) {
      const table = this.#tables[pos.family];
      const i = pos.cursor.next();
      if (i < 0) {
        pos.cursor.close();
        const nextFamily = families[families.indexOf(pos.family) + 1];
        if (nextFamily === undefined) return views;
        pos.family = nextFamily;
        pos.cursor = this.#tables[nextFamily].cursor();
        continue;
      }
      last = table.prefixAt(i);
      push(last, table.valueAt(i));
    }
    // The page is full, so `last` is its last route: the key the next page will name.
    if (last !== undefined) this.#keep(last, pos);
    else pos.cursor.close();
    return views;
  }

  #start(family: Family): Position {
    return { family, cursor: this.#tables[family].cursor() };
  }

  #resume(after: string): Position {
    const prefix = canonicalPrefix(after);
    if (prefix === null) throw invalid(`route listing: after ${after} is not a prefix`);
    const kept = this.#positions.get(prefix);
    if (kept !== undefined) {
      this.#positions.delete(prefix);
      return kept;
    }
    const family = familyOfPrefix(prefix);
    const table = this.#tables[family];
    const key = PrefixList.parse(table.afi, [prefix]);
    const target = table.find(key.words, 0, key.lenAt(0));
    if (target < 0) {
      throw invalid(`route listing: after ${after} is no longer in the table: list again from the start`);
    }
    const cursor = table.cursor();
    cursor.pos = target + 1;
    return { family, cursor };
  }

  #keep(prefix: string, pos: Position): void {
    this.#positions.get(prefix)?.cursor.close();
    this.#positions.delete(prefix);
    this.#positions.set(prefix, pos);
    // Oldest out first: an abandoned listing's cursor must not live for ever (every table
    // rebuild moves it).
    if (this.#positions.size > MAX_ROUTE_CURSORS) {
      const [oldest, old] = this.#positions.entries().next().value as [string, Position];
      old.cursor.close();
      this.#positions.delete(oldest);
    }
  }
}
