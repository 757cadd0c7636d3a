// remoteRoutes: the speaker's best paths → kernel routes (routed, or through a tunnel). BGP is the
// source of truth for where every other node's pod CIDR is; this decides only HOW to get there:
//
// - Our own pod CIDRs (and anything inside them) and prefixes we announce ourselves are skipped:
//   the blackhole and the workload routes own them.
// - A prefix inside an enabled IPPool whose next hop is a Margay node: per next hop,
//   selectEncapsulation(next hop, our connected subnets of the prefix's family, the pool's mode) →
//   a plain `via <node>`, VXLAN `via <its tunnel address of the prefix's family> dev vxlan.margay
//   onlink`, or IPIP `via <node> dev tunl0 onlink` (IPv4 pools only). The tunnel addresses come
//   from the remote VTEPs calculate() published for the device (the first address of the node's
//   IPv4 pod CIDR, and of its IPv6 pod CIDR when an IPv6 pool uses VXLAN), so a route through the
//   tunnel always has its neighbour entry; IPv6 rides the same device over the IPv4 underlay. The
//   pool's vxlanMode is used when it is not Never, else its ipipMode. When the tunnel is not
//   available on this node (calculate() produced no VXLAN/IPIP device, or the remote node has no
//   VTEP of that family) the route is plain and the reason says so.
// - Everything else (routes learned from a ToR, a prefix outside every pool, a next hop that is
//   not a node): plain `via`, ECMP over the multipath set.
// Next hops of the other family, or one of our own addresses, are dropped; a prefix left without
// next hops gets no route. Output is sorted by prefix; each route's `reason` says why it is there,
// for the REST API.
import type { BestPathChange, LocalRoute } from '../../bgp/index.ts';
import type { IpipDesired, NextHop, RemoteVtep, RouteSpec, VxlanDesired } from '../../felix/index.ts';
import {
  EncapMode,
  Encapsulation,
  IPIP_DEVICE,
  selectEncapsulation,
  VXLAN_DEVICE,
} from '../../felix/index.ts';
import type { Snapshot } from '../model/snapshot.ts';
import type { IpFamily, ParsedCidr } from './addr.ts';
import {
  addressSortKey,
  canonicalCidr,
  canonicalIp,
  compareParsed,
  compareStrings,
  parseCidr,
  parsedContains,
  subnetOf,
} from './addr.ts';
import type { ClusterNode } from './nodes.ts';
import { nodeByAddress, resolveClusterNodes } from './nodes.ts';
import type { ActivePool } from './pools.ts';
import { activePools } from './pools.ts';
import type { CalculatedNode, CalculatedState, NodeIdentity } from './types.ts';

/** A best path as the speaker reports it (`bestPathChanged`); `nextHops` is the multipath set. */
export type BestPath = Pick<BestPathChange, 'prefix' | 'family' | 'nextHops'>;

export interface RemoteRoutesInput {
  /** The current best path per prefix; a later entry for a prefix replaces an earlier one. */
  readonly bestPaths: Iterable<BestPath>;
  readonly state: CalculatedState;
  readonly snapshot: Snapshot;
}

type Encap = (typeof Encapsulation)[keyof typeof Encapsulation];

function identityOf(state: CalculatedState): NodeIdentity {
  const n = state.node;
  if (n === null) return { name: state.dataplane.vxlan?.nodeName ?? '' };
  return {
    name: n.name,
    ...(n.ipv4 !== undefined ? { ipv4: `${n.ipv4.address}/${n.ipv4.prefixLength}` } : {}),
    ...(n.ipv6 !== undefined ? { ipv6: `${n.ipv6.address}/${n.ipv6.prefixLength}` } : {}),
  };
}

function poolTunnel(
  pool: ActivePool,
): { encapsulation: Exclude<Encap, 'none'>; mode: EncapMode } | undefined {
  if (pool.vxlanMode !== 'Never') return { encapsulation: Encapsulation.vxlan, mode: pool.vxlanMode };
  if (pool.ipipMode !== 'Never') return { encapsulation: Encapsulation.ipip, mode: pool.ipipMode };
  return undefined;
}

/** Next hop and reason for one Margay node inside a pool. */
function nodeHop(
  hop: string,
  node: ClusterNode,
  pool: ActivePool,
  ctx: RouteContext,
  family: IpFamily,
): { nextHop: NextHop; why: string } {
  const tunnel = poolTunnel(pool);
  if (tunnel === undefined)
    return { nextHop: { gateway: hop }, why: `pool ${pool.cidr}: no encapsulation → direct` };
  const modeText = `pool ${pool.cidr} ${tunnel.encapsulation}Mode ${tunnel.mode}`;
  const chosen = selectEncapsulation({ nextHop: hop, localSubnets: ctx.localSubnets, ...tunnel });
  let why =
    tunnel.mode === EncapMode.crossSubnet
      ? `${modeText}: ${chosen === Encapsulation.none ? 'same subnet' : 'other subnet'} → ${chosen === Encapsulation.none ? 'direct' : chosen}`
      : `${modeText} → ${chosen === Encapsulation.none ? 'direct' : chosen}`;
  if (chosen === Encapsulation.vxlan) {
    const vxlan = ctx.vxlan;
    const vtep = ctx.vteps.get(node.name);
    const gateway = family === 4 ? vtep?.tunnelAddress : vtep?.tunnelAddressV6;
    if (vxlan === null) why += ', but this node has no VXLAN device → direct';
    else if (vtep === undefined)
      why += `, but node ${node.name} has no VTEP (IPv4 address and pod CIDR) → direct`;
    else if (gateway === undefined)
      why += `, but node ${node.name} has no IPv6 VTEP address (IPv6 pod CIDR) → direct`;
    else return { nextHop: { gateway, dev: VXLAN_DEVICE, onlink: true }, why };
    return { nextHop: { gateway: hop }, why };
  }
  if (chosen === Encapsulation.ipip) {
    if (ctx.ipip === null)
      return { nextHop: { gateway: hop }, why: `${why}, but this node has no IPIP device → direct` };
    return { nextHop: { gateway: hop, dev: IPIP_DEVICE, onlink: true }, why };
  }
  return { nextHop: { gateway: hop }, why };
}

/**
 * What translating a best path depends on besides the path itself: this node, the other nodes,
 * the pools, the tunnel devices and what we announce. Built once per change of any of these; each
 * best path is then translated on its own (remoteRoute).
 */
export interface RouteContext {
  readonly byAddress: ReadonlyMap<string, ClusterNode>;
  readonly pools: readonly { readonly pool: ActivePool; readonly parsed: ParsedCidr }[];
  readonly ownCIDRs: readonly ParsedCidr[];
  readonly ownAddresses: ReadonlySet<string>;
  readonly originated: ReadonlySet<string>;
  readonly localSubnets: readonly string[];
  readonly vxlan: VxlanDesired | null;
  readonly vteps: ReadonlyMap<string, RemoteVtep>;
  readonly ipip: IpipDesired | null;
  /** Parsed next hops: a full table has few distinct ones, each is parsed once. */
  readonly hops: Map<string, { address: string; family: IpFamily; key: string } | null>;
}

export function routeContext(input: {
  readonly self: CalculatedNode | null;
  readonly others: readonly ClusterNode[];
  readonly pools: readonly ActivePool[];
  readonly announcements: readonly LocalRoute[];
  readonly vxlan: VxlanDesired | null;
  readonly ipip: IpipDesired | null;
}): RouteContext {
  const self = input.self;
  return {
    byAddress: nodeByAddress(input.others),
    pools: input.pools.map((pool) => ({ pool, parsed: parseCidr(pool.cidr)! })),
    ownCIDRs: (self?.podCIDRs ?? []).map((c) => parseCidr(c)).filter((c) => c !== undefined),
    ownAddresses: new Set<string>([self?.ipv4?.address, self?.ipv6?.address].filter((a) => a !== undefined)),
    originated: new Set(
      input.announcements.map((a) => canonicalCidr(a.prefix)).filter((p) => p !== undefined),
    ),
    localSubnets: [self?.ipv4, self?.ipv6].filter((a) => a !== undefined).map(subnetOf),
    vxlan: input.vxlan,
    vteps: new Map((input.vxlan?.remoteVteps ?? []).map((v) => [v.nodeName, v])),
    ipip: input.ipip,
    hops: new Map(),
  };
}

/** A context outlives many best-path changes: its next-hop cache starts over beyond this size. */
const MAX_CACHED_HOPS = 4096;

/** The kernel route for one best path (the file comment's rules); undefined for none. */
export function remoteRoute(
  ctx: RouteContext,
  parsed: ParsedCidr,
  nextHops: readonly string[],
): RouteSpec | undefined {
  const prefix = parsed.text;
  if (ctx.originated.has(prefix) || ctx.ownCIDRs.some((c) => parsedContains(c, parsed))) return undefined;
  const hops: { address: string; key: string }[] = [];
  for (const text of nextHops) {
    let h = ctx.hops.get(text);
    if (h === undefined) {
      const ip = canonicalIp(text);
      h = ip === undefined ? null : { ...ip, key: addressSortKey(ip.address) };
      if (ctx.hops.size >= MAX_CACHED_HOPS) ctx.hops.clear();
      ctx.hops.set(text, h);
    }
    if (h === null || h.family !== parsed.family || ctx.ownAddresses.has(h.address)) continue;
    const address = h.address;
    if (!hops.some((x) => x.address === address)) hops.push(h);
  }
  if (hops.length === 0) return undefined;
  if (hops.length > 1) hops.sort((a, b) => compareStrings(a.key, b.key));
  const addresses = hops.map((h) => h.address);
  const from = (hop: string): string => {
    const n = ctx.byAddress.get(hop);
    return n !== undefined ? `${hop} (${n.name})` : hop;
  };
  const head =
    addresses.length === 1
      ? `BGP best path from ${from(addresses[0]!)}`
      : `BGP best paths (ECMP) from ${addresses.map(from).join(', ')}`;
  const pool = ctx.pools.find((p) => parsedContains(p.parsed, parsed))?.pool;
  if (pool !== undefined && addresses.every((h) => ctx.byAddress.has(h))) {
    const decided = addresses.map((h) => nodeHop(h, ctx.byAddress.get(h)!, pool, ctx, parsed.family));
    const whys = [...new Set(decided.map((d) => d.why))];
    return {
      dst: prefix,
      nextHops: decided.map((d) => d.nextHop),
      reason: `${head}, ${whys.join('; ')}`,
    };
  }
  const why =
    pool !== undefined
      ? `pool ${pool.cidr}, next hop not a Margay node → direct`
      : 'not in an IPPool → direct';
  return {
    dst: prefix,
    nextHops: addresses.map((gateway) => ({ gateway })),
    reason: `${head}, ${why}`,
  };
}

export function remoteRoutes(input: RemoteRoutesInput): RouteSpec[] {
  const { state, snapshot } = input;
  const latest = new Map<string, { parsed: ParsedCidr; nextHops: readonly string[] }>();
  for (const p of input.bestPaths) {
    const parsed = parseCidr(p.prefix);
    if (parsed !== undefined) latest.set(parsed.text, { parsed, nextHops: p.nextHops });
  }
  const ctx = routeContext({
    self: state.node,
    others: resolveClusterNodes(snapshot, identityOf(state)).others,
    pools: activePools(snapshot).pools,
    announcements: state.announcements,
    vxlan: state.dataplane.vxlan,
    ipip: state.dataplane.ipip,
  });
  const routes: RouteSpec[] = [];
  for (const { parsed, nextHops } of [...latest.values()].sort((a, b) => compareParsed(a.parsed, b.parsed))) {
    const r = remoteRoute(ctx, parsed, nextHops);
    if (r !== undefined) routes.push(r);
  }
  return routes;
}
