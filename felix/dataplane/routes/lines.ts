// The `ip -batch` lines of the route reconciler, one spelling for every writer of them (the diff,
// the batch that names a refused line, the desired set rendering a route it keeps compactly).
// The family goes on the command line (`ip -4|-6 -batch -`), never in a line; the protocol is in
// every line; main is ip's default table and is not spelled (`table 254` costs ip a table-name
// lookup per line).
import {
  type CanonicalRoute,
  type IpFamily,
  type RouteType,
  RT_TABLE_MAIN,
  routeBody,
} from '../../model/routes.ts';

/** `route add|replace [type] DST proto N BODY` (BODY: routeBody, with its leading space). */
export function routeLine(
  verb: 'add' | 'replace',
  type: RouteType,
  dst: string,
  proto: number,
  body: string,
): string {
  return type === 'unicast'
    ? `route ${verb} ${dst} proto ${proto}${body}`
    : `route ${verb} ${type} ${dst} proto ${proto}${body}`;
}

/** `route add|replace …` for a canonical route, carrying protocol `proto`. */
export function renderRouteLine(
  verb: 'add' | 'replace',
  r: CanonicalRoute,
  proto: number,
  body: string = routeBody(r),
): string {
  return routeLine(verb, r.type, r.dst, proto, body);
}

/** `route del …` for one of our routes: table, protocol and metric pinned, nothing else needed. */
export function deleteLine(
  dst: string,
  table: number,
  family: IpFamily,
  metric: number,
  proto: number,
): string {
  let s =
    table === RT_TABLE_MAIN
      ? `route del ${dst} proto ${proto}`
      : `route del ${dst} table ${table} proto ${proto}`;
  if (metric !== 0 || family === 6) s += ` metric ${metric}`;
  return s;
}

/** deleteLine for a route (canonical or as read). */
export function renderDeleteLine(
  r: { readonly dst: string; readonly table: number; readonly family: IpFamily },
  metric: number,
  proto: number,
): string {
  return deleteLine(r.dst, r.table, r.family, metric, proto);
}
