// Routes carried over a restart: the routes to other nodes that a previous instance left in the
// kernel (our protocol, unicast, through a gateway), adopted by the new instance until released.
//
// A restarted agent has no best paths yet: its first dataplane pass would delete every remote route
// of ours, and traffic from local pods to other nodes would stop until BGP has resynchronised. So
// the Dataplane can adopt these routes (`readCarried` here, `Dataplane.adoptCarried()`): while they
// are adopted, the desired routes are the union of what the caller wants and what was adopted, the
// caller winning wherever both have a route at the same key (table and destination). Releasing
// them (`Dataplane.releaseCarried()`) drops the adopted ones the caller does not want; the next
// pass deletes them from the kernel like any other route of ours that is not desired.
//
// Only unicast routes with a gateway are carried: blackholes are this node's own pod CIDRs and
// device routes are its pods' (the caller wants those again from its first pass on).
import {
  type IpFamily,
  MARGAY_RT_PROTO,
  type RouteSpec,
  RT_TABLE_MAIN,
  routeKey,
} from '../../model/routes.ts';
import type { Netlink } from '../netlink/netlink.ts';
import { parseKernelRoutes } from '../netlink/routes-json.ts';

export const CARRIED_REASON =
  'kept from before the agent restarted until BGP has resynchronised (graceful restart)';

/** The carried-over routes in the kernel now, every table, the given families. */
export async function readCarried(
  netlink: Netlink,
  families: readonly IpFamily[],
  protocol = MARGAY_RT_PROTO,
): Promise<RouteSpec[]> {
  const carried: RouteSpec[] = [];
  for (const family of families) {
    const json = await netlink.read(
      'ip',
      ['-N', '-d', 'route', 'show', 'table', 'all', 'proto', String(protocol)],
      family,
    );
    for (const r of parseKernelRoutes(json, family, protocol)) {
      const c = r.canonical;
      if (c === undefined || c.type !== 'unicast' || !c.nextHops.some((h) => h.gateway !== undefined))
        continue;
      carried.push({
        dst: c.dst,
        table: c.table,
        type: c.type,
        nextHops: c.nextHops,
        ...(c.src !== undefined ? { src: c.src } : {}),
        ...(c.mtu !== undefined ? { mtu: c.mtu } : {}),
        reason: CARRIED_REASON,
      });
    }
  }
  return carried;
}

/**
 * The adopted routes at keys `wanted` has no route at (`has(key)`, routeKey: the canonical
 * destination and table), i.e. the ones that join the desired set: the caller's route wins.
 */
export function carriedBeside(carried: readonly RouteSpec[], has: (key: string) => boolean): RouteSpec[] {
  // A carried route comes from the kernel's canonical form: its dst and table are canonical already.
  return carried.filter((r) => !has(routeKey({ table: r.table ?? RT_TABLE_MAIN, dst: r.dst })));
}
