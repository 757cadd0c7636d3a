// The public surface of felix/, the dataplane agent library: what src/ (the node daemon, the CNI
// plugin, `margay cleanup`, the lab) imports. Everything else under felix/ is internal and may change.
//
//   calculation (pure): renderPolicy / PolicyStore (NetworkPolicy → iptables + ipsets + explain),
//     renderNatOutgoing, remoteNodeRoute + selectEncapsulation, workloadEndpoint + workloadRoutes
//   dataplane: Dataplane (setDesired / idle / resync / status / listRoutes / describeRules / stop /
//     cleanup), wirePod + enableForwarding (CNI and lab plumbing), detectBackend
//   errors: FelixError with the stable codes of FelixErrorCode
//   selectors: parseSelector / compileSelector / evaluateSelector, the one label-selector engine
//     (Calico selector text and Kubernetes label selectors compile to one SelectorExpr)
//   addresses: parseIp / parseCidr / canonicalIp / canonicalCidr / cidrContains …, the one parser,
//     validator and canonical formatter of address and CIDR text for felix and src (on ipaddr.js)
//
// One address-family type: IpFamily, 4 | 6 (model/addr.ts), for addresses, CIDRs and routes. The
// iptables and ipset models keep the tools' own names, InetFamily 'inet' | 'inet6' (as
// iptables-save and ipset print them), and cross with inetFamily / ipFamilyOfInet.

export type { PolicyEvent, PolicyStoreOptions, PolicyStoreRender } from './calc/policy-store.ts';
export { PolicyStore } from './calc/policy-store.ts';
export type {
  EndpointExplain,
  EndpointPolicies,
  PolicyExplain,
  PolicyExplainEntry,
  PolicyRender,
} from './calc/render-policy.ts';
export { renderPolicy } from './calc/render-policy.ts';
export type { Labels, RequirementLike, Selector, SelectorExpr } from './calc/selector-expr.ts';
export {
  compileSelector,
  evaluateSelector,
  labelSelectorToExpr,
  parseSelector,
  printSelector,
  requirementExpr,
  SelectorParseError,
  selectorKeys,
} from './calc/selector-expr.ts';
export type { ApplyError, ApplyStep, RetryPolicy } from './dataplane/apply.ts';
export type {
  DataplaneCleanupReport,
  DataplaneCounts,
  DataplaneDesired,
  DataplaneEndpointProblem,
  DataplaneIo,
  DataplaneIpset,
  DataplaneOptions,
  DataplaneRepairs,
  DataplaneRoute,
  DataplaneRule,
  DataplaneStatus,
  DataplaneTimers,
  IpipDesired,
  IptablesSource,
  VxlanDesired,
} from './dataplane/dataplane.ts';
export { Dataplane } from './dataplane/dataplane.ts';
export type { RemoteVtep } from './dataplane/encap/vxlan.ts';
export type { CommandRunner } from './dataplane/exec.ts';
export type { BackendEvidence, IptablesBackend } from './dataplane/iptables/backend.ts';
export { detectBackend } from './dataplane/iptables/backend.ts';
export { Netlink } from './dataplane/netlink/netlink.ts';
export type { WiredPod, WirePodOptions } from './dataplane/workload/veth.ts';
export { enableForwarding, podGatewayAnchorRoute, wirePod } from './dataplane/workload/veth.ts';
export type { FelixErrorCodeName } from './errors.ts';
export { FelixError, FelixErrorCode } from './errors.ts';
export type { CidrOptions, IpAddress, IpCidr, IpFamily, ScannedV4 } from './model/addr.ts';
export {
  canonicalCidr,
  canonicalIp,
  cidrContains,
  cidrFamily,
  cidrProblem,
  cidrsOverlap,
  contains,
  formatCidr,
  formatIp,
  ipFamily,
  parseCidr,
  parseIp,
  parseIpOf,
  scanCanonicalV4,
} from './model/addr.ts';
export type { EndpointInput, WorkloadEndpoint } from './model/endpoints.ts';
export { workloadEndpoint, workloadIfaceName, workloadRoutes } from './model/endpoints.ts';
export type { IpSet, IpSetType } from './model/ipsets.ts';
export type {
  Action,
  Chain,
  InetFamily,
  IptablesDesired,
  IptablesTable,
  Jump,
  Rule,
  TableState,
} from './model/iptables.ts';
export { inetFamily, ipFamilyOfInet } from './model/iptables.ts';
export type { NatOutgoing, NatPool } from './model/nat-outgoing.ts';
export { renderNatOutgoing } from './model/nat-outgoing.ts';
export type {
  ContainerPort,
  LabelSelector,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  NetworkPolicySpec,
  PolicyInput,
  PolicyNamespace,
  PolicyPod,
} from './model/policy.ts';
export type {
  EncapDecisionInput,
  NextHop,
  RemoteNodeRoute,
  RouteSpec,
} from './model/routes.ts';
export {
  EncapMode,
  Encapsulation,
  MARGAY_RT_PROTO,
  POD_GATEWAY_V4,
  POD_GATEWAY_V6,
  RouteType,
  remoteNodeRoute,
  selectEncapsulation,
  VXLAN_DEVICE,
  vtepMac,
  vtepTunnelAddress,
} from './model/routes.ts';
