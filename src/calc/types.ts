// What the calculation (pure functions of the datastore snapshot and this node's identity)
// hands to the wiring in src/daemon: the speaker's desired settings, peers and announcements,
// and the dataplane's desired local state. Routes to other nodes' pod CIDRs are not here: they
// come from the speaker's best paths and are turned into kernel routes by `remoteRoutes()`
// (src/calc/routes.ts; CalcGraph hands them beside the state), so that BGP stays the source of
// truth for reachability.

import type { LocalRoute, PeerConfig, SpeakerOptions } from '../../bgp/index.ts';
import type {
  IpipDesired,
  IpSet,
  IptablesSource,
  PolicyExplain,
  RouteSpec,
  VxlanDesired,
  WorkloadEndpoint,
} from '../../felix/index.ts';

/** `margayctl node status` PEER TYPE column (Calico's words). */
export type PeerType =
  | 'node-to-node mesh'
  | 'route reflector'
  | 'route reflector client'
  | 'global'
  | 'node specific';

export interface DesiredPeer extends PeerConfig {
  readonly peerType: PeerType;
  /** Where the peer comes from, e.g. "BGPPeer tor-rack1" or "node node-2 (mesh)". */
  readonly source: string;
}

export interface NodeIdentity {
  /** Kubernetes Node name. */
  readonly name: string;
  /** Autodetected (or annotated) underlay addresses with prefix length, e.g. 192.0.2.11/24. */
  readonly ipv4?: string;
  readonly ipv6?: string;
  /** Underlay MTU (agent config `dataplane.mtu`); VXLAN/IPIP devices get their overhead less. */
  readonly mtu?: number;
  /**
   * The namespace the agent runs in, where the Secrets of BGP passwords are read (agent config
   * `secretNamespace`); default DEFAULT_SECRET_NAMESPACE.
   */
  readonly secretNamespace?: string;
}

export interface CalculatedNode {
  readonly name: string;
  readonly asn: number;
  /** Where the AS number came from: node annotation, BGPConfiguration nodeASNumbers, or the default. */
  readonly asNumberSource?: 'annotation' | 'nodeASNumbers' | 'default';
  readonly routerId: string;
  readonly clusterId?: string;
  readonly ipv4?: { readonly address: string; readonly prefixLength: number };
  readonly ipv6?: { readonly address: string; readonly prefixLength: number };
  readonly podCIDRs: readonly string[];
}

export interface CalculatedState {
  /** null when this node is not (yet) in the datastore or has no usable address. */
  readonly node: CalculatedNode | null;
  readonly speaker: Omit<SpeakerOptions, 'listen' | 'hostname'> & { readonly listenPort: number };
  readonly peers: readonly DesiredPeer[];
  /** This node's pod CIDRs (and per-prefix communities from BGPConfiguration). */
  readonly announcements: readonly LocalRoute[];
  readonly dataplane: {
    /** Blackholes for this node's pod CIDRs (proto 109), with reasons. */
    readonly localRoutes: readonly RouteSpec[];
    /** Pods on this node (their /32 and /128 routes are derived by the dataplane). */
    readonly endpoints: readonly WorkloadEndpoint[];
    /** The policy renderer's chains and NAT outgoing, as named sources (felix merges them). */
    readonly iptables: readonly IptablesSource[];
    readonly ipsets: readonly IpSet[];
    /** This node's VXLAN device and every remote VTEP; null when no pool uses VXLAN. */
    readonly vxlan: VxlanDesired | null;
    /** null when no pool uses IPIP. */
    readonly ipip: IpipDesired | null;
    /** The policy renderer's explanation (what `/v1/dataplane/policy` serves). */
    readonly policyExplain?: PolicyExplain;
  };
  /** Everything the calculation refused, naming the object and field (shown by /v1/status). */
  readonly problems: readonly string[];
}

/**
 * Which parts of the calculation's output moved in one CalcGraph.update() (src/calc/graph.ts);
 * a part that did not move is the very same object as in the previous output.
 */
export interface CalcChanges {
  /** `node`, `speaker`, the blackholes and the tunnel devices. */
  readonly cluster: boolean;
  readonly peers: boolean;
  readonly announcements: boolean;
  /** The kernel routes translated from best paths. */
  readonly routes: boolean;
  /** iptables or ipsets (policy or NAT outgoing), or the policy explanation. */
  readonly policy: boolean;
  readonly endpoints: boolean;
  readonly problems: boolean;
}

/** What CalcGraph.update() hands to the wiring. */
export interface CalcOutput {
  readonly state: CalculatedState;
  /** The routes to other nodes' pod CIDRs and to what BGP learned, sorted by prefix (remoteRoutes). */
  readonly remoteRoutes: readonly RouteSpec[];
  readonly changed: CalcChanges;
}
