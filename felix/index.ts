// The public surface of felix/, the dataplane agent library: what src/ (the calculation, the node
// daemon, the CNI plugin, `margay cleanup`, the lab, the configuration schemas) imports, and only
// that. Everything else under felix/ is internal and may change; tests import the internals they
// test directly.
//
//   desired state (model): RouteSpec + NextHop, WorkloadEndpoint (workloadEndpoint,
//     workloadIfaceName), IptablesSource (one named piece of the iptables state), IpSet, the
//     tunnel devices VxlanDesired + RemoteVtep and IpipDesired, the encapsulation vocabulary
//     (EncapMode, Encapsulation, selectEncapsulation, VXLAN_DEVICE, IPIP_DEVICE, vtepMac,
//     vtepTunnelAddress) and the pod gateway addresses POD_GATEWAY_V4 / POD_GATEWAY_V6
//   calculation (pure): renderPolicy / PolicyStore (NetworkPolicy → iptables + ipsets + explain),
//     renderNatOutgoing; the policy model the schemas share (NetworkPolicy, NetworkPolicySpec,
//     ContainerPort, PolicyPod, PolicyNamespace, POLICY_PROTOCOLS, POLICY_TYPES, SELECTOR_OPERATORS)
//   dataplane: Dataplane (setDesired / idle / resync / status / listRoutes / describeRules / stop /
//     cleanup) with DataplaneDesired and the status records it reports
//   plumbing for the CNI plugin and the lab: wirePod + podGatewayAnchorRoute, Netlink, and run, the
//     CommandRunner that spawns the real commands (argv arrays, never a shell); spawnMethod, how
//     they start (posix_spawn, or a fork where it cannot be loaded), for the agent to log
//   selectors: parseSelector / compileSelector / evaluateSelector, the one label-selector engine
//     (Calico selector text and Kubernetes label selectors compile to one SelectorExpr), and
//     labelKeyProblem / labelValueProblem, Kubernetes' label syntax
//   addresses: parseIp / parseCidr / canonicalIp / canonicalCidr / cidrContains …, the one parser,
//     validator and canonical formatter of address and CIDR text for felix and src (on ipaddr.js)
//
// One address-family type: IpFamily, 4 | 6 (model/addr.ts), for addresses, CIDRs and routes. The
// iptables and ipset models keep the tools' own names, InetFamily 'inet' | 'inet6' (as
// iptables-save and ipset print them), inside felix.

export type { PolicyEvent } from './calc/policy-store.ts';
export { PolicyStore } from './calc/policy-store.ts';
export type { PolicyExplain, PolicyRender } from './calc/render-policy.ts';
export { renderPolicy } from './calc/render-policy.ts';
export { labelKeyProblem, labelValueProblem } from './calc/selector.ts';
export type { Labels, Selector, SelectorExpr } from './calc/selector-expr.ts';
export {
  compileSelector,
  evaluateSelector,
  labelSelectorToExpr,
  parseSelector,
  printSelector,
  SelectorParseError,
  selectorKeys,
} from './calc/selector-expr.ts';
export type {
  DataplaneDesired,
  DataplaneIpset,
  DataplaneRoute,
  DataplaneRule,
  DataplaneStatus,
} from './dataplane/dataplane.ts';
export { Dataplane } from './dataplane/dataplane.ts';
export type { CommandRunner } from './dataplane/exec.ts';
export { run } from './dataplane/exec.ts';
export { Netlink } from './dataplane/netlink/netlink.ts';
export { spawnMethod } from './dataplane/spawn.ts';
export { podGatewayAnchorRoute, wirePod } from './dataplane/workload/veth.ts';
export type { IpFamily, ScannedV4 } from './model/addr.ts';
export {
  canonicalCidr,
  canonicalIp,
  cidrContains,
  cidrProblem,
  cidrsOverlap,
  formatCidr,
  formatIp,
  ipFamily,
  parseCidr,
  parseIp,
  scanCanonicalV4,
} from './model/addr.ts';
export type { WorkloadEndpoint } from './model/endpoints.ts';
export { workloadEndpoint, workloadIfaceName } from './model/endpoints.ts';
export type { IpSet } from './model/ipsets.ts';
export type { IptablesSource } from './model/iptables.ts';
export { renderNatOutgoing } from './model/nat-outgoing.ts';
export type {
  ContainerPort,
  NetworkPolicy,
  NetworkPolicySpec,
  PolicyNamespace,
  PolicyPod,
} from './model/policy.ts';
export { POLICY_PROTOCOLS, POLICY_TYPES, SELECTOR_OPERATORS } from './model/policy.ts';
export type { NextHop, RouteSpec } from './model/routes.ts';
export {
  EncapMode,
  Encapsulation,
  IPIP_DEVICE,
  POD_GATEWAY_V4,
  POD_GATEWAY_V6,
  selectEncapsulation,
  VXLAN_DEVICE,
  vtepMac,
  vtepTunnelAddress,
} from './model/routes.ts';
export type { IpipDesired, RemoteVtep, VxlanDesired } from './model/tunnels.ts';
