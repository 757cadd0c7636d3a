// This node's desired local dataplane, in two parts that change for different reasons:
// - what nodes and IP pools decide (clusterDataplane):
//   - a blackhole per own pod CIDR (traffic to unassigned addresses stops here);
//   - NAT outgoing over the enabled pools, both families → iptables source "nat-outgoing";
//   - VXLAN / IPIP devices: when an enabled pool selecting this node tunnels (mode Always or
//     CrossSubnet) and this node has an IPv4 pod CIDR (the tunnel address is its .0) and, for
//     VXLAN, an IPv4 address (the device's `local`). Remote VTEPs: every other node with an IPv4
//     address and an IPv4 pod CIDR (so CrossSubnet can switch to the tunnel for any of them without
//     a device change). VXLAN pools may be IPv6 too (IPIP pools cannot): IPv6 pod traffic uses the
//     same device over the IPv4 underlay; when an IPv6 pool selecting this node uses VXLAN, the
//     device also gets the first address of this node's IPv6 pod CIDR (vtepTunnelAddress) and every
//     remote VTEP with an IPv6 pod CIDR carries its IPv6 tunnel address (one more neighbour entry;
//     the FDB entry to its IPv4 address is shared). remoteRoutes takes the tunnel next hops from
//     this list, so a route through the tunnel always has its neighbour entry;
// - what pods, namespaces and policies decide (podDataplane from a snapshot; the calculation
//   graph, graph.ts, keeps the same up to date from changes with the per-object functions here):
//   - workload endpoints: pods scheduled here, not hostNetwork, not finished (Succeeded/Failed:
//     their addresses may already belong to a new pod), with at least one address;
//   - NetworkPolicy: the policy renderer over every pod of the cluster that has an address by the
//     same rule (selectors match remote pods too; the renderer decides from `nodeName` what
//     applies to this node), all namespaces and policies → iptables source "policy".
import type {
  NetworkPolicy as FelixNetworkPolicy,
  IpipDesired,
  IpSet,
  IptablesSource,
  PolicyExplain,
  PolicyNamespace,
  PolicyPod,
  PolicyRender,
  RemoteVtep,
  RouteSpec,
  VxlanDesired,
  WorkloadEndpoint,
} from '../../felix/index.ts';
import {
  renderNatOutgoing,
  renderPolicy,
  vtepMac,
  vtepTunnelAddress,
  workloadEndpoint,
} from '../../felix/index.ts';
import type { Namespace, NetworkPolicy, Pod } from '../model/kube.ts';
import { podContainerPorts, podIPs } from '../model/kube.ts';
import type { Snapshot } from '../model/snapshot.ts';
import { compareAddresses, compareStrings, familyOf } from './addr.ts';
import type { ClusterNode, ClusterNodes } from './nodes.ts';
import { nodePodCIDR } from './nodes.ts';
import type { ActivePool } from './pools.ts';

/** The part of the local dataplane that depends on nodes and IP pools only (not on pods). */
export interface ClusterDataplane {
  readonly localRoutes: RouteSpec[];
  /** The iptables source "nat-outgoing". */
  readonly nat: IptablesSource;
  readonly natIpsets: IpSet[];
  readonly vxlan: VxlanDesired | null;
  readonly ipip: IpipDesired | null;
  readonly problems: string[];
}

/** A pod that holds its addresses: not hostNetwork, not finished, with at least one address. */
function isActiveWorkload(pod: Pod): boolean {
  if (pod.spec.hostNetwork) return false;
  if (pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed') return false;
  return podIPs(pod).length > 0;
}

/** Shared by every pod without an address of a family (most clusters use one family). */
const NO_ADDRESSES: readonly string[] = Object.freeze([]);

function splitFamilies(ips: readonly string[]): { ipv4: readonly string[]; ipv6: readonly string[] } {
  const ipv4: string[] = [];
  const ipv6: string[] = [];
  for (const ip of ips) (familyOf(ip) === 6 ? ipv6 : ipv4).push(ip);
  return {
    ipv4: ipv4.length === 0 ? NO_ADDRESSES : ipv4,
    ipv6: ipv6.length === 0 ? NO_ADDRESSES : ipv6,
  };
}

function sortedValues<T>(m: ReadonlyMap<string, T>): T[] {
  return [...m.keys()].sort(compareStrings).map((k) => m.get(k)!);
}

/** The pod as the policy renderer sees it; undefined when it holds no addresses (isActiveWorkload). */
export function policyPodOf(pod: Pod): PolicyPod | undefined {
  if (!isActiveWorkload(pod)) return undefined;
  const { namespace, name, labels } = pod.metadata;
  const { ipv4, ipv6 } = splitFamilies(podIPs(pod));
  return {
    namespace,
    name,
    labels,
    ipv4,
    ipv6,
    ports: podContainerPorts(pod),
    ...(pod.spec.nodeName !== undefined ? { nodeName: pod.spec.nodeName } : {}),
  };
}

/**
 * The workload endpoint of a pod scheduled on `nodeName` that holds addresses; a problem instead
 * when its addresses cannot make one; neither for any other pod.
 */
export function localEndpointOf(
  pod: Pod,
  nodeName: string,
): { endpoint?: WorkloadEndpoint; problem?: string } {
  if (pod.spec.nodeName !== nodeName) return {};
  const p = policyPodOf(pod);
  if (p === undefined) return {};
  try {
    return {
      endpoint: workloadEndpoint({ namespace: p.namespace, name: p.name, ipv4: p.ipv4, ipv6: p.ipv6 }),
    };
  } catch (e) {
    return {
      problem: `Pod ${p.namespace}/${p.name}: status.podIPs: ${(e as Error).message} (no endpoint)`,
    };
  }
}

/** The policy renderer's problems as calculation problems ("NetworkPolicy ns/name: …" or "Pod …"). */
export function policyProblems(explain: PolicyExplain, isPolicy: (id: string) => boolean): string[] {
  return explain.problems.map(
    (p) => `${isPolicy(p.object) ? 'NetworkPolicy' : 'Pod'} ${p.object}: ${p.field}: ${p.message}`,
  );
}

/** The policy renderer's ipsets and NAT outgoing's, in the order felix is handed them. */
export function mergeIpsets(policy: readonly IpSet[], nat: readonly IpSet[]): IpSet[] {
  return [...policy, ...nat].sort(
    (a, b) => compareStrings(a.family, b.family) || compareStrings(a.name, b.name),
  );
}

/** The iptables source "policy" of a render. */
export function policySource(iptables: PolicyRender['iptables']): IptablesSource {
  return { source: 'policy', ...iptables };
}

/** Blackholes, NAT outgoing and tunnel devices: what nodes and pools decide. */
export function clusterDataplane(options: {
  readonly nodeName: string;
  readonly nodes: ClusterNodes;
  readonly pools: readonly ActivePool[];
  readonly mtu?: number;
}): ClusterDataplane {
  const { nodeName, nodes, pools } = options;
  const problems: string[] = [];
  const self = nodes.self;
  const localRoutes: RouteSpec[] = (self?.podCIDRs ?? []).map((cidr) => ({
    dst: cidr,
    type: 'blackhole',
    reason: `pod CIDR of node ${nodeName}`,
  }));
  const natPools = pools
    .map((p) => ({ name: p.name, cidr: p.cidr, natOutgoing: p.natOutgoing }))
    .sort((a, b) => compareAddresses(a.cidr, b.cidr));
  const nat4 = renderNatOutgoing(natPools, 'inet');
  const nat6 = renderNatOutgoing(natPools, 'inet6');
  const { vxlan, ipip } = tunnels(self, nodes.others, pools, options.mtu, problems);
  return {
    localRoutes,
    nat: { source: 'nat-outgoing', inet: [nat4.nat], inet6: [nat6.nat] },
    natIpsets: [...nat4.ipsets, ...nat6.ipsets],
    vxlan,
    ipip,
    problems,
  };
}

/**
 * This node's endpoints and the policy dataplane rendered from scratch over the snapshot's pods,
 * namespaces and policies (calculate(); the calculation graph keeps the same up to date by events).
 */
export function podDataplane(
  snapshot: Snapshot,
  nodeName: string,
): { endpoints: WorkloadEndpoint[]; policy: PolicyRender; problems: string[] } {
  const problems: string[] = [];
  const policyPods: PolicyPod[] = [];
  const endpoints: WorkloadEndpoint[] = [];
  for (const pod of sortedValues(snapshot.pods)) {
    const p = policyPodOf(pod);
    if (p === undefined) continue;
    policyPods.push(p);
    const local = localEndpointOf(pod, nodeName);
    if (local.endpoint !== undefined) endpoints.push(local.endpoint);
    if (local.problem !== undefined) problems.push(local.problem);
  }
  const policy = renderPolicy({
    nodeName,
    namespaces: sortedValues(snapshot.namespaces).map(policyNamespaceOf),
    pods: policyPods,
    policies: sortedValues(snapshot.networkPolicies).map(policyOf),
  });
  problems.push(...policyProblems(policy.explain, (id) => snapshot.networkPolicies.has(id)));
  return { endpoints, policy, problems };
}

export function policyNamespaceOf(n: Namespace): PolicyNamespace {
  return { name: n.metadata.name, labels: n.metadata.labels };
}

export function policyOf(p: NetworkPolicy): FelixNetworkPolicy {
  return { namespace: p.metadata.namespace, name: p.metadata.name, spec: p.spec };
}

function tunnels(
  self: ClusterNode | undefined,
  others: readonly ClusterNode[],
  pools: readonly ActivePool[],
  mtu: number | undefined,
  problems: string[],
): { vxlan: VxlanDesired | null; ipip: IpipDesired | null } {
  if (self === undefined) return { vxlan: null, ipip: null };
  const mine = pools.filter((p) => p.nodeSelector.matches(self.labels));
  const wantsVxlan = mine.filter((p) => p.vxlanMode !== 'Never');
  const hasVxlanV6 = wantsVxlan.some((p) => p.family === 6);
  const wantsIpip = mine.filter((p) => p.family === 4 && p.ipipMode !== 'Never');
  const cidr = nodePodCIDR(self, 4);
  const cidr6 = nodePodCIDR(self, 6);
  const mtuField = mtu !== undefined ? { underlayMtu: mtu } : {};
  let vxlan: VxlanDesired | null = null;
  if (wantsVxlan.length > 0) {
    const pools = wantsVxlan.map((p) => p.name).join(', ');
    if (cidr === undefined)
      problems.push(
        `Node ${self.name}: no IPv4 pod CIDR for a VXLAN tunnel address (IPPool ${pools}): no VXLAN`,
      );
    else if (self.ipv4 === undefined)
      problems.push(`Node ${self.name}: no IPv4 address for the VXLAN underlay (IPPool ${pools}): no VXLAN`);
    else {
      const remoteVteps: RemoteVtep[] = [];
      for (const n of others) {
        const theirs = nodePodCIDR(n, 4);
        if (n.ipv4 === undefined || theirs === undefined) continue;
        const theirs6 = hasVxlanV6 ? nodePodCIDR(n, 6) : undefined;
        remoteVteps.push({
          nodeName: n.name,
          nodeIp: n.ipv4.address,
          tunnelAddress: vtepTunnelAddress(theirs),
          ...(theirs6 !== undefined ? { tunnelAddressV6: vtepTunnelAddress(theirs6) } : {}),
          mac: vtepMac(n.name),
        });
      }
      vxlan = {
        nodeName: self.name,
        underlayAddress: self.ipv4.address,
        tunnelAddress: vtepTunnelAddress(cidr),
        ...(hasVxlanV6 && cidr6 !== undefined ? { tunnelAddressV6: vtepTunnelAddress(cidr6) } : {}),
        ...mtuField,
        remoteVteps,
      };
    }
  }
  let ipip: IpipDesired | null = null;
  if (wantsIpip.length > 0) {
    if (cidr === undefined)
      problems.push(
        `Node ${self.name}: no IPv4 pod CIDR for an IPIP tunnel address (IPPool ${wantsIpip.map((p) => p.name).join(', ')}): no IPIP`,
      );
    else ipip = { tunnelAddress: vtepTunnelAddress(cidr), ...mtuField };
  }
  return { vxlan, ipip };
}
