// Input records of the NetworkPolicy renderer (felix/calc): the networking.k8s.io/v1 NetworkPolicy
// spec shape, label selectors, pods as endpoints (labels, addresses, container ports) and
// namespaces (labels). Plain readonly data, exactly the fields the semantics need; the datastore
// (src/) converts Kubernetes objects or YAML into these.
//
// Field names follow the Kubernetes API (`podSelector`, `matchExpressions`, `ipBlock.except`,
// `endPort`, …) so a policy reads the same here as in `kubectl get netpol -o yaml`.

export const SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
export type SelectorOperator = (typeof SELECTOR_OPERATORS)[number];

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  /** Non-empty for In/NotIn, empty or absent for Exists/DoesNotExist. */
  readonly values?: readonly string[];
}

/** metav1.LabelSelector: all terms ANDed; an empty selector selects everything. */
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly LabelSelectorRequirement[];
}

export const POLICY_PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
export type PolicyProtocol = (typeof POLICY_PROTOCOLS)[number];

export const POLICY_TYPES = ['Ingress', 'Egress'] as const;
export type PolicyType = (typeof POLICY_TYPES)[number];

export interface NetworkPolicyPort {
  /** Default TCP. */
  readonly protocol?: PolicyProtocol;
  /** A number, or the name of a container port (IANA_SVC_NAME); absent = every port of `protocol`. */
  readonly port?: number | string;
  /** With a numeric `port`: the range port..endPort. */
  readonly endPort?: number;
}

export interface IPBlock {
  readonly cidr: string;
  /** CIDRs inside `cidr` that the peer does not include. */
  readonly except?: readonly string[];
}

/**
 * One peer: `podSelector` alone = pods of the policy's namespace; `namespaceSelector` alone = all
 * pods of the matching namespaces; both = matching pods of matching namespaces; `ipBlock` alone.
 */
export interface NetworkPolicyPeer {
  readonly podSelector?: LabelSelector;
  readonly namespaceSelector?: LabelSelector;
  readonly ipBlock?: IPBlock;
}

export interface NetworkPolicyIngressRule {
  /** Absent or empty: every source. */
  readonly from?: readonly NetworkPolicyPeer[];
  /** Absent or empty: every port (and protocol). */
  readonly ports?: readonly NetworkPolicyPort[];
}

export interface NetworkPolicyEgressRule {
  /** Absent or empty: every destination. */
  readonly to?: readonly NetworkPolicyPeer[];
  readonly ports?: readonly NetworkPolicyPort[];
}

export interface NetworkPolicySpec {
  /** Pods of the policy's namespace it applies to; `{}` = all of them. */
  readonly podSelector: LabelSelector;
  /** Absent or empty: Ingress, plus Egress when `egress` has at least one rule. */
  readonly policyTypes?: readonly PolicyType[];
  readonly ingress?: readonly NetworkPolicyIngressRule[];
  readonly egress?: readonly NetworkPolicyEgressRule[];
}

export interface NetworkPolicy {
  readonly namespace: string;
  readonly name: string;
  readonly spec: NetworkPolicySpec;
}

export interface ContainerPort {
  readonly name?: string;
  readonly containerPort: number;
  /** Default TCP. */
  readonly protocol?: PolicyProtocol;
}

/** A pod as the policy renderer sees it: anywhere in the cluster, local or not. */
export interface PolicyPod {
  readonly namespace: string;
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Pod addresses without prefix length (Kubernetes: at most one per family). */
  readonly ipv4?: readonly string[];
  readonly ipv6?: readonly string[];
  /** Container ports of all containers (named ports resolve against these). */
  readonly ports?: readonly ContainerPort[];
  /** The node the pod runs on; pods of `PolicyInput.nodeName` get endpoint chains. */
  readonly nodeName?: string;
  /** Host-side veth; default `workloadIfaceName(namespace, name)`. */
  readonly ifaceName?: string;
}

export interface PolicyNamespace {
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** Everything one node's policy dataplane is a function of. */
export interface PolicyInput {
  /** This node: its pods are the workload endpoints that get chains. */
  readonly nodeName: string;
  readonly namespaces: readonly PolicyNamespace[];
  readonly pods: readonly PolicyPod[];
  readonly policies: readonly NetworkPolicy[];
}

/**
 * The label the API server puts on every namespace (immutable since Kubernetes 1.21). The renderer
 * adds it to each namespace's labels itself, so the file datastore behaves like Kubernetes.
 */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
