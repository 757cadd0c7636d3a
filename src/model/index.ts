// The resource model's public surface: types, validation, selectors, snapshots, per-node settings.
// CRD and docs generation (crds.ts, docs.ts, generated.ts, gen.ts) are imported directly.

export type { Labels, Selector, SelectorExpr } from '../../felix/index.ts';
export { compileSelector, parseSelector, printSelector, SelectorParseError } from '../../felix/index.ts';
export type { BGPConfiguration, BGPConfigurationSpec, BGPPeer, BGPPeerSpec } from './bgp.ts';
export { DEFAULT_AS_NUMBER, DEFAULT_BGP_CONFIGURATION_SPEC, parsePeerIP } from './bgp.ts';
export type { EncapsulationMode, IPPool, IPPoolSpec } from './ippool.ts';
export { DEFAULT_BLOCK_SIZE } from './ippool.ts';
export type { Namespace, NetworkPolicy, Pod } from './kube.ts';
export { podContainerPorts, podIPs } from './kube.ts';
export { MARGAY_API_VERSION, MARGAY_GROUP } from './meta.ts';
export type { InterfaceAddress, Node, NodeAnnotationSettings, NodeBGPSettings } from './node.ts';
export { NODE_ANNOTATIONS, nodeAnnotationSettings, nodePodCIDRs, resolveNodeBGP } from './node.ts';
export type { Resource, ResourceKind, ResourceOfKind, ValidationResult } from './resource.ts';
export { KIND_NAMES, KINDS, resourceKey, validateAs, validateResource } from './resource.ts';
export type { ResourceChange, Snapshot } from './snapshot.ts';
export { diffSnapshots, emptySnapshot, snapshotOf, snapshotResources } from './snapshot.ts';
