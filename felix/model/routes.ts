// Desired kernel routes as plain data (routed, no bridge: pod /32s to host veths, a blackhole per
// own pod CIDR, other nodes' pod CIDRs via that node or a tunnel), and the pure helpers every
// producer and the reconciler share: canonical prefixes and addresses, the route key, the canonical
// form two routes are compared in, and the per-IPPool choice between a plain route and a tunnel
// (Always | CrossSubnet | Never — Flannel's DirectRouting).
//
// Intent: one canonical spelling per route, so "desired == actual" is a string comparison. What
// this guards against: the kernel prints `default` for 0.0.0.0/0 and ::/0, prints a host route
// without its /32 (/128), may print IPv6 addresses in a different but equal spelling, and orders
// ECMP next hops its own way; a reconciler that compares naively rewrites routes that are already
// right on every resync (a flap per route per resync).
import { createHash } from 'node:crypto';
import { FelixError } from '../errors.ts';
import { contains, formatIp, type IpFamily, parseCidr, parseIp, scanCanonicalV4 } from './addr.ts';

/** The kernel's main table (`ip route` without `table`). */
export const RT_TABLE_MAIN = 254;
/**
 * Margay's routing protocol number (0x6d): every route it writes carries it, and routes without it
 * are never changed or deleted.
 */
export const MARGAY_RT_PROTO = 109;
/** The link-local gateway pods use (`onlink`): answered by proxy ARP on the host veth. */
export const POD_GATEWAY_V4 = '169.254.1.1';
/** The IPv6 pod gateway: the host veth carries this link-local address (see workload/veth.ts). */
export const POD_GATEWAY_V6 = 'fe80::1';

export const RouteType = { unicast: 'unicast', blackhole: 'blackhole', unreachable: 'unreachable' } as const;
export type RouteType = (typeof RouteType)[keyof typeof RouteType];

export type { IpFamily } from './addr.ts';

export interface NextHop {
  readonly gateway?: string;
  readonly dev?: string;
  /** Use the gateway even though no route says it is on the link (tunnels, /32 underlays). */
  readonly onlink?: boolean;
  /** ECMP weight, 1..256 (kernel default 1). */
  readonly weight?: number;
}

export interface RouteSpec {
  /** A prefix; canonicalized by `canonicalRoute` (host bits cleared, /32 or /128 added). */
  readonly dst: string;
  /** Routing table number; default main (254). */
  readonly table?: number;
  /** Default `unicast`. */
  readonly type?: RouteType;
  /** One entry: a plain route; more than one: ECMP multipath. Empty for blackhole/unreachable. */
  readonly nextHops?: readonly NextHop[];
  /** A plain device route (`dev X scope link`); mutually exclusive with `nextHops`. */
  readonly dev?: string;
  /** Preferred source address (`src`). */
  readonly src?: string;
  readonly mtu?: number;
  /** Why Margay wants this route; shown by the REST API. Not written to the kernel. */
  readonly reason?: string;
}

/** A RouteSpec in canonical form: every default filled in, next hops sorted. */
export interface CanonicalRoute {
  readonly family: IpFamily;
  readonly dst: string;
  readonly table: number;
  readonly type: RouteType;
  /** Device routes have one next hop with `dev` only. */
  readonly nextHops: readonly NextHop[];
  readonly src?: string;
  readonly mtu?: number;
  readonly reason?: string;
}

// ---------------------------------------------------------------------------------------------
// Addresses: parsed and printed by ./addr.ts (shared with the ipset model).

export interface ParsedAddress {
  readonly family: IpFamily;
  readonly bytes: readonly number[];
}

export function parseAddress(s: string): ParsedAddress | undefined {
  return parseIp(s);
}

export function formatAddress(a: ParsedAddress): string {
  return formatIp(a.bytes);
}

/** Canonical text of an address; throws FELIX_ERR_INVALID_ROUTE when it is not one. */
export function canonicalAddress(s: string, what = 'address'): string {
  const fast = fastCanonicalV4(s, false);
  if (fast !== undefined) return fast;
  const a = parseAddress(s);
  if (!a) throw new FelixError('FELIX_ERR_INVALID_ROUTE', `invalid ${what}: ${JSON.stringify(s)}`);
  return formatAddress(a);
}

export function addressFamily(s: string): IpFamily | undefined {
  return parseAddress(s)?.family;
}

/**
 * Fast path for the common case (100k routes per apply): a dotted-quad IPv4 address or prefix
 * already in canonical form is returned as is (no allocation); anything else returns undefined
 * and takes the general path. `withLength` = whether a "/n" is required.
 */
function fastCanonicalV4(s: string, withLength: boolean): string | undefined {
  return scanCanonicalV4(s, 0, s.length, withLength, undefined) ? s : undefined;
}

/** Whether `s` is a dotted-quad IPv4 address (`withLength`: prefix) already in canonical form. */
export function isCanonicalV4(s: string, withLength: boolean): boolean {
  return scanCanonicalV4(s, 0, s.length, withLength, undefined);
}

export interface ParsedPrefix {
  readonly family: IpFamily;
  readonly bytes: readonly number[];
  readonly length: number;
}

/**
 * Parse "a.b.c.d/n", "x::/n", a bare address (host route) or the kernel's "default".
 * Host bits are cleared (the kernel refuses them for routes anyway; we normalize instead).
 */
export function parsePrefix(s: string, family?: IpFamily): ParsedPrefix | undefined {
  if (s === 'default') {
    if (family === undefined) return undefined;
    return { family, bytes: new Array<number>(family === 4 ? 4 : 16).fill(0), length: 0 };
  }
  const p = parseCidr(s, { bare: true });
  return p === undefined || (family !== undefined && p.family !== family) ? undefined : p;
}

export function formatPrefix(p: ParsedPrefix): string {
  return `${formatAddress(p)}/${p.length}`;
}

/** Canonical "addr/len" (host bits cleared); throws FELIX_ERR_INVALID_ROUTE. */
export function canonicalPrefix(s: string, family?: IpFamily): string {
  if (family !== 6) {
    const fast = fastCanonicalV4(s, true);
    if (fast !== undefined) return fast;
  }
  const p = parsePrefix(s, family);
  if (!p) throw new FelixError('FELIX_ERR_INVALID_ROUTE', `invalid prefix: ${JSON.stringify(s)}`);
  return formatPrefix(p);
}

/** Whether address `a` lies inside prefix `p` (same family). */
export function prefixContains(p: ParsedPrefix, a: ParsedAddress): boolean {
  return contains(p, a);
}

// ---------------------------------------------------------------------------------------------
// Routes.

function checkDev(dev: string): string {
  // IFNAMSIZ is 16 including the NUL; no whitespace or slash (it ends up in an ip -batch line).
  if (!/^[^\s/]{1,15}$/.test(dev)) {
    throw new FelixError('FELIX_ERR_INVALID_ROUTE', `invalid interface name: ${JSON.stringify(dev)}`);
  }
  return dev;
}

function nextHopOrder(a: NextHop, b: NextHop): number {
  const ka = `${a.gateway ?? ''}|${a.dev ?? ''}`;
  const kb = `${b.gateway ?? ''}|${b.dev ?? ''}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function invalid(dst: string, what: string): FelixError {
  return new FelixError('FELIX_ERR_INVALID_ROUTE', `route ${dst}: ${what}`);
}

function canonicalGateway(gw: string, family: IpFamily, dst: string): string {
  const fast = fastCanonicalV4(gw, false);
  if (fast !== undefined) return fast;
  const a = parseAddress(gw);
  if (!a) throw invalid(dst, `invalid gateway ${gw}`);
  if (a.family === 6 && family === 4) throw invalid(dst, 'IPv6 gateway for an IPv4 route');
  return formatAddress(a);
}

/**
 * Scratch shared by the canonicalRoute calls of one large set (RouteTable.compile, 100k routes):
 * - next-hop lists shared between routes (gateway → the frozen one-hop list `[{ gateway }]`), so
 *   that the routes via one gateway share their (readonly) list instead of each allocating two
 *   objects, which all survive and so cost the garbage collector a copy each;
 * - the destination of the last route as numbers when it is IPv4, so that the caller can index
 *   it without parsing the text again.
 */
export class CanonicalScratch {
  readonly nextHops = new Map<string, readonly NextHop[]>();
  /** The last route's IPv4 destination address (int32), when v4Length >= 0. */
  v4Address = 0;
  /** The last route's IPv4 prefix length, or -1 when its destination is IPv6. */
  v4Length = -1;
}

/**
 * The commonest route of all (a remote pod CIDR or a service route: an IPv4 prefix in canonical
 * form `via` one canonical IPv4 gateway, every other field left to its default): when `r` is one,
 * its next-hop list (shared through `scratch` when given), else undefined (general path). Its
 * canonical route is gatewayRouteV4(r.dst, nextHops, r.reason), with nothing else to validate: a
 * caller holding many may keep just those three and build the route when it needs it
 * (RouteTable.compile). `dstText`/`dstAt`: where the characters of r.dst can be read, when the
 * caller copied many destinations into one string (reading a concatenated string makes V8 flatten
 * each one in place, an allocation that survives with it).
 */
export function plainGatewayHopsV4(
  r: RouteSpec,
  scratch: CanonicalScratch | undefined,
  dstText: string = r.dst,
  dstAt = 0,
): readonly NextHop[] | undefined {
  if (r.table !== undefined || r.type !== undefined || r.dev !== undefined) return undefined;
  if (r.src !== undefined || r.mtu !== undefined) return undefined;
  const hops = r.nextHops;
  if (hops === undefined || hops.length !== 1) return undefined;
  const nh = hops[0]!;
  if (
    nh.gateway === undefined ||
    nh.dev !== undefined ||
    nh.onlink !== undefined ||
    nh.weight !== undefined
  ) {
    return undefined;
  }
  const gateway = nh.gateway;
  if (typeof gateway !== 'string' || !scanCanonicalV4(gateway, 0, gateway.length, false, undefined))
    return undefined;
  if (!scanCanonicalV4(dstText, dstAt, dstAt + r.dst.length, true, scratch)) return undefined;
  let nextHops = scratch?.nextHops.get(gateway);
  if (nextHops === undefined) {
    nextHops = Object.freeze([Object.freeze({ gateway })]);
    scratch?.nextHops.set(gateway, nextHops);
  }
  return nextHops;
}

/**
 * The canonical form of a plain IPv4 gateway route (plainGatewayHopsV4): the same object
 * canonicalRoute's general path makes, in the same property order.
 */
export function gatewayRouteV4(
  dst: string,
  nextHops: readonly NextHop[],
  reason: string | undefined,
): CanonicalRoute {
  return reason === undefined
    ? { family: 4, dst, table: RT_TABLE_MAIN, type: RouteType.unicast, nextHops }
    : { family: 4, dst, table: RT_TABLE_MAIN, type: RouteType.unicast, nextHops, reason };
}

/**
 * Validate and fill in a RouteSpec. ECMP next hops are sorted: the kernel does not keep the order
 * it was given for IPv6, and the order carries no meaning for the forwarding decision.
 * (Hot path: 100k routes per setDesired; with a CanonicalScratch the IPv4 fast path allocates
 * only the result.)
 */
export function canonicalRoute(r: RouteSpec, scratch?: CanonicalScratch): CanonicalRoute {
  const plain = plainGatewayHopsV4(r, scratch);
  if (plain !== undefined) return gatewayRouteV4(r.dst, plain, r.reason);
  let dst = r.dst;
  let family: IpFamily = 4;
  if (typeof dst !== 'string' || !scanCanonicalV4(dst, 0, dst.length, true, scratch)) {
    const p = parsePrefix(r.dst);
    if (!p)
      throw new FelixError('FELIX_ERR_INVALID_ROUTE', `invalid route destination: ${JSON.stringify(r.dst)}`);
    family = p.family;
    dst = formatPrefix(p);
    if (scratch !== undefined) {
      const b = p.bytes;
      scratch.v4Address = family === 4 ? (b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]! : 0;
      scratch.v4Length = family === 4 ? p.length : -1;
    }
  }
  const table = r.table ?? RT_TABLE_MAIN;
  if (!Number.isInteger(table) || table < 1 || table > 0xffffffff || table === 255) {
    throw invalid(dst, `invalid table ${table}`);
  }
  const type = r.type ?? RouteType.unicast;
  if (type !== 'unicast' && type !== 'blackhole' && type !== 'unreachable') {
    throw invalid(dst, `invalid type ${String(type)}`);
  }
  let nextHops: NextHop[] = [];
  if (type === RouteType.unicast) {
    if (r.dev !== undefined && r.nextHops !== undefined && r.nextHops.length > 0) {
      throw invalid(dst, 'give either dev or nextHops, not both');
    }
    if (r.dev !== undefined) {
      nextHops = [{ dev: checkDev(r.dev) }];
    } else {
      const given = r.nextHops ?? [];
      for (const nh of given) {
        const out: { gateway?: string; dev?: string; onlink?: boolean; weight?: number } = {};
        if (nh.gateway !== undefined) out.gateway = canonicalGateway(nh.gateway, family, dst);
        if (nh.dev !== undefined) out.dev = checkDev(nh.dev);
        if (out.gateway === undefined && out.dev === undefined) {
          throw invalid(dst, 'a next hop needs a gateway or a dev');
        }
        if (nh.onlink) {
          if (out.dev === undefined) throw invalid(dst, 'onlink needs a dev');
          out.onlink = true;
        }
        if (nh.weight !== undefined) {
          if (!Number.isInteger(nh.weight) || nh.weight < 1 || nh.weight > 256) {
            throw invalid(dst, `invalid weight ${nh.weight}`);
          }
          // A single next hop has no weight in the kernel.
          if (nh.weight !== 1 && given.length > 1) out.weight = nh.weight;
        }
        nextHops.push(out);
      }
      if (nextHops.length === 0) throw invalid(dst, 'a unicast route needs a dev or next hops');
      if (nextHops.length > 1) {
        nextHops.sort(nextHopOrder);
        for (let i = 1; i < nextHops.length; i++) {
          if (nextHopOrder(nextHops[i - 1]!, nextHops[i]!) === 0) throw invalid(dst, 'duplicate next hop');
        }
      }
    }
  } else if ((r.nextHops?.length ?? 0) > 0 || r.dev !== undefined) {
    throw invalid(dst, `a ${type} route has no next hop`);
  }
  const out: {
    family: IpFamily;
    dst: string;
    table: number;
    type: RouteType;
    nextHops: readonly NextHop[];
    src?: string;
    mtu?: number;
    reason?: string;
  } = { family, dst, table, type, nextHops };
  if (r.src !== undefined) {
    const a = parseAddress(r.src);
    if (!a || a.family !== family) throw invalid(dst, `invalid src ${r.src}`);
    out.src = formatAddress(a);
  }
  if (r.mtu !== undefined) {
    if (!Number.isInteger(r.mtu) || r.mtu < 68 || r.mtu > 65535) throw invalid(dst, `invalid mtu ${r.mtu}`);
    out.mtu = r.mtu;
  }
  if (r.reason !== undefined) out.reason = r.reason;
  return out;
}

/**
 * Identity of a route in the kernel (for our purposes): table and destination — the family is in
 * the canonical destination (only IPv6 has a colon). A main-table route's key is its destination
 * itself, so the 100k keys of a large desired set cost no string of their own (`100|10.0.0.0/8`
 * in table 100).
 */
export function routeKey(r: Pick<CanonicalRoute, 'table' | 'dst'>): string {
  return r.table === RT_TABLE_MAIN ? r.dst : `${r.table}|${r.dst}`;
}

/**
 * Everything after the destination in an `ip route` command for this route, except the protocol:
 * ` [table T] [src S] [mtu M]` and the next hops (`nexthop` entries last, as ip requires), each
 * item with a leading space; the main table is not spelled (it is the default, and `table 254`
 * costs ip a lookup per line). It is both what the reconciler writes and what it compares, so
 * "equal" means "would write the same thing".
 */
export function routeBody(r: CanonicalRoute): string {
  let s = r.table === RT_TABLE_MAIN ? '' : ` table ${r.table}`;
  if (r.src !== undefined) s += ` src ${r.src}`;
  if (r.mtu !== undefined) s += ` mtu ${r.mtu}`;
  if (r.type !== 'unicast') return s;
  if (r.nextHops.length === 1) {
    const h = r.nextHops[0]!;
    if (h.gateway !== undefined) s += ` via ${h.gateway}`;
    if (h.dev !== undefined) s += ` dev ${h.dev}`;
    if (h.gateway === undefined && r.family === 4) s += ' scope link';
    if (h.onlink) s += ' onlink';
    return s;
  }
  for (const h of r.nextHops) {
    s += ' nexthop';
    if (h.gateway !== undefined) s += ` via ${h.gateway}`;
    if (h.dev !== undefined) s += ` dev ${h.dev}`;
    s += ` weight ${h.weight ?? 1}`;
    if (h.onlink) s += ' onlink';
  }
  return s;
}

/** The canonical comparison string of a route (everything written to the kernel, not the reason). */
export function routeFingerprint(r: CanonicalRoute, body = routeBody(r)): string {
  return `${r.type} ${r.dst}${body}`;
}

/** Whether the kernel's `actual` route is what `desired` asks for. */
export function routeMatches(desired: CanonicalRoute, actual: CanonicalRoute): boolean {
  if (desired.nextHops.length !== actual.nextHops.length) return false;
  // The kernel fills in the device of a gateway-only next hop; compare such a hop without it.
  const needsMask = desired.nextHops.some((h) => h.dev === undefined);
  if (!needsMask) return routeFingerprint(desired) === routeFingerprint(actual);
  const want = [...desired.nextHops].sort(nextHopByGateway);
  const have = [...actual.nextHops].sort(nextHopByGateway).map((h, i) => {
    if (want[i]?.dev !== undefined) return h;
    const { dev: _d, ...rest } = h;
    return rest;
  });
  return routeFingerprint({ ...desired, nextHops: want }) === routeFingerprint({ ...actual, nextHops: have });
}

function nextHopByGateway(a: NextHop, b: NextHop): number {
  const ka = a.gateway ?? '';
  const kb = b.gateway ?? '';
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Sort and re-check a next-hop list in canonical order (for parsed kernel routes). */
export function sortNextHops(hops: NextHop[]): NextHop[] {
  return hops.sort(nextHopOrder);
}

// ---------------------------------------------------------------------------------------------
// Reaching another node's pod CIDR: plain route or tunnel.

export const EncapMode = { always: 'Always', crossSubnet: 'CrossSubnet', never: 'Never' } as const;
export type EncapMode = (typeof EncapMode)[keyof typeof EncapMode];

export const Encapsulation = { none: 'none', vxlan: 'vxlan', ipip: 'ipip' } as const;
export type Encapsulation = (typeof Encapsulation)[keyof typeof Encapsulation];

export interface EncapDecisionInput {
  /** The remote node's underlay address (the BGP next hop). */
  readonly nextHop: string;
  /** This node's connected underlay subnets, e.g. ["192.0.2.0/24"]. */
  readonly localSubnets: readonly string[];
  /** Which tunnel the pool uses when it tunnels. */
  readonly encapsulation: Exclude<Encapsulation, 'none'>;
  readonly mode: EncapMode;
}

/**
 * Plain route or tunnel for one remote node. Never → plain; Always → tunnel; CrossSubnet → plain
 * when the next hop is inside one of our connected subnets (one L2 hop away), tunnel otherwise.
 */
export function selectEncapsulation(input: EncapDecisionInput): Encapsulation {
  if (input.mode === EncapMode.never) return Encapsulation.none;
  if (input.mode === EncapMode.always) return input.encapsulation;
  const nh = parseAddress(input.nextHop);
  if (!nh)
    throw new FelixError('FELIX_ERR_INVALID_ROUTE', `invalid next hop ${JSON.stringify(input.nextHop)}`);
  for (const s of input.localSubnets) {
    const p = parsePrefix(s);
    if (!p) throw new FelixError('FELIX_ERR_INVALID_ROUTE', `invalid local subnet ${JSON.stringify(s)}`);
    if (prefixContains(p, nh)) return Encapsulation.none;
  }
  return input.encapsulation;
}

export const VXLAN_DEVICE = 'vxlan.margay';
export const IPIP_DEVICE = 'tunl0';

/**
 * A node's VXLAN tunnel address in one family: the first address of its pod CIDR of that family,
 * as Flannel does for both of its VXLAN devices — the .0 of the IPv4 pod CIDR (10.244.2.0/24 →
 * 10.244.2.0), the all-zero host of the IPv6 one (2001:db8:244:2::/64 → 2001:db8:244:2::). Neither
 * is ever given to a pod (the reconciler blackholes the CIDR; IPAM starts at .1 / ::1), so every
 * node can compute every other node's tunnel addresses from the CIDRs it already knows. They sit
 * on vxlan.margay as /32 and /128; a /128 makes the kernel join no subnet-router anycast group,
 * so the IPv6 one is an ordinary unicast address. The underlay stays IPv4 for both: an IPv6 inner
 * packet goes through the same device (Linux VXLAN carries any Ethernet frame), its neighbour
 * entry maps the IPv6 tunnel address to the VTEP MAC, and the FDB maps that MAC to the remote
 * node's IPv4 address.
 */
export function vtepTunnelAddress(podCidr: string): string {
  const p = parsePrefix(podCidr);
  if (p === undefined || p.length === (p.family === 4 ? 32 : 128)) {
    throw new FelixError(
      'FELIX_ERR_INVALID_ROUTE',
      `a VTEP address needs a pod CIDR (shorter than a host prefix), got ${JSON.stringify(podCidr)}`,
    );
  }
  return formatAddress(p);
}

/**
 * A node's VTEP MAC: derived from its name (SHA-256, first 6 bytes, locally administered unicast),
 * so no MAC has to be published: every node computes its peers' MACs. Same name → same MAC.
 */
export function vtepMac(nodeName: string): string {
  const h = createHash('sha256').update(`margay-vtep:${nodeName}`).digest();
  const b = [...h.subarray(0, 6)];
  b[0] = (b[0]! & 0xfc) | 0x02; // unicast, locally administered
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export interface RemoteNodeRoute {
  /** The remote node's pod CIDR. */
  readonly podCidr: string;
  /** Its underlay address. */
  readonly nodeIp: string;
  /** What `selectEncapsulation` chose. */
  readonly encapsulation: Encapsulation;
  readonly table?: number;
  readonly reason?: string;
}

/**
 * The route to another node's pod CIDR: `via nodeIp` (plain), `via <its VTEP addr> dev vxlan.margay
 * onlink` (VXLAN; the tunnel address of the pod CIDR's family, see vtepTunnelAddress) or
 * `via nodeIp dev tunl0 onlink` (IPIP, IPv4 only).
 */
export function remoteNodeRoute(r: RemoteNodeRoute): RouteSpec {
  const reason = r.reason ?? `pod CIDR of node ${r.nodeIp} (${r.encapsulation})`;
  const base = { dst: r.podCidr, reason, ...(r.table !== undefined ? { table: r.table } : {}) };
  switch (r.encapsulation) {
    case Encapsulation.none:
      return { ...base, nextHops: [{ gateway: r.nodeIp }] };
    case Encapsulation.vxlan:
      return {
        ...base,
        nextHops: [{ gateway: vtepTunnelAddress(r.podCidr), dev: VXLAN_DEVICE, onlink: true }],
      };
    case Encapsulation.ipip:
      return { ...base, nextHops: [{ gateway: r.nodeIp, dev: IPIP_DEVICE, onlink: true }] };
  }
}
