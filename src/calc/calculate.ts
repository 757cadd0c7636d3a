// calculate(snapshot, identity) → CalculatedState: everything this node wants, as one pure function
// of the datastore's content and the node's identity. No I/O, no clock, no randomness: the same
// content gives a deep-equal result whatever order the objects arrived in (maps are read in sorted
// key order everywhere; test/unit/src/calc/property.test.ts replays shuffled event sequences, Felix
// calc_graph_fv_test style).
//
// Speaker settings beyond the node's AS / router ID / cluster ID are fixed here:
//   maxPaths 16 (ECMP: equal best paths from several peers become one ECMP kernel route),
//   graceful restart 120 s with the forwarding-preserved bit (the agent leaves kernel routes in
//   place across a restart, so forwarding goes on; 120 s is Calico/BIRD's default).

import type { IpSet, IptablesSource, PolicyExplain, WorkloadEndpoint } from '../../felix/index.ts';
import { DEFAULT_SECRET_NAMESPACE } from '../model/secret.ts';
import type { Snapshot } from '../model/snapshot.ts';
import { compareStrings } from './addr.ts';
import { announcements } from './announcements.ts';
import type { ClusterDataplane } from './dataplane.ts';
import { clusterDataplane, mergeIpsets, podDataplane, policySource } from './dataplane.ts';
import type { ClusterNodes } from './nodes.ts';
import { resolveClusterNodes, routerIdFor } from './nodes.ts';
import { desiredPeers } from './peers.ts';
import type { ActivePool } from './pools.ts';
import { activePools } from './pools.ts';
import type { CalculatedNode, CalculatedState, NodeIdentity } from './types.ts';

export const SPEAKER_MAX_PATHS = 16;
export const GRACEFUL_RESTART_TIME = 120;

/**
 * What nodes, IP pools, BGPConfiguration and BGPPeers decide (no pod, namespace or policy is
 * read): this node, the speaker settings, peers, announcements, blackholes, NAT outgoing and the
 * tunnel devices, with the resolved nodes and pools that routes are translated with.
 */
export interface ClusterPart {
  readonly node: CalculatedNode | null;
  readonly speaker: CalculatedState['speaker'];
  readonly peers: CalculatedState['peers'];
  readonly announcements: CalculatedState['announcements'];
  readonly dataplane: ClusterDataplane;
  readonly nodes: ClusterNodes;
  readonly pools: readonly ActivePool[];
  readonly problems: readonly string[];
}

/** The cluster part of calculate(); `snapshot` is read for its nodes, pools, BGP objects only. */
export function calculateCluster(snapshot: Snapshot, identity: NodeIdentity): ClusterPart {
  const nodes = resolveClusterNodes(snapshot, identity);
  const { pools, problems: poolProblems } = activePools(snapshot);
  const self = nodes.self;
  const config = nodes.config;
  const hasAddress = self !== undefined && (self.ipv4 !== undefined || self.ipv6 !== undefined);

  const node: CalculatedNode | null =
    self !== undefined && hasAddress
      ? {
          name: self.name,
          asn: self.asn,
          asNumberSource: self.asNumberSource,
          routerId: routerIdFor(self.name, self.ipv4),
          ...(self.clusterId !== undefined ? { clusterId: self.clusterId } : {}),
          ...(self.ipv4 !== undefined ? { ipv4: self.ipv4 } : {}),
          ...(self.ipv6 !== undefined ? { ipv6: self.ipv6 } : {}),
          podCIDRs: self.podCIDRs,
        }
      : null;

  const { peers, problems: peerProblems } = desiredPeers(
    nodes,
    snapshot,
    identity.secretNamespace ?? DEFAULT_SECRET_NAMESPACE,
  );
  const { routes, problems: announceProblems } = announcements(self, config);
  const dataplane = clusterDataplane({
    nodeName: identity.name,
    nodes,
    pools,
    ...(identity.mtu !== undefined ? { mtu: identity.mtu } : {}),
  });
  return {
    node,
    speaker: {
      asn: self?.asn ?? config.asNumber,
      routerId: routerIdFor(identity.name, self?.ipv4),
      ...(self?.clusterId !== undefined ? { clusterId: self.clusterId } : {}),
      listenPort: config.listenPort,
      maxPaths: SPEAKER_MAX_PATHS,
      gracefulRestartTime: GRACEFUL_RESTART_TIME,
      gracefulRestartForwardingPreserved: true,
    },
    peers,
    announcements: routes,
    dataplane,
    nodes,
    pools,
    problems: [
      ...nodes.problems,
      ...poolProblems,
      ...peerProblems,
      ...announceProblems,
      ...dataplane.problems,
    ],
  };
}

/** What pods, namespaces and policies decide: this node's endpoints and the policy dataplane. */
export interface PodPart {
  readonly endpoints: readonly WorkloadEndpoint[];
  /** The "policy" iptables source. */
  readonly policy: IptablesSource;
  readonly policyIpsets: readonly IpSet[];
  readonly policyExplain: PolicyExplain;
}

/** Every problem once, sorted. */
export function sortedProblems(...lists: readonly (readonly string[])[]): string[] {
  return [...new Set(lists.flat())].sort(compareStrings);
}

/** The CalculatedState of a cluster part and a pod part (the pieces are used as they are). */
export function assembleState(
  cluster: ClusterPart,
  pods: PodPart,
  iptables: readonly IptablesSource[],
  ipsets: readonly IpSet[],
  problems: readonly string[],
): CalculatedState {
  return {
    node: cluster.node,
    speaker: cluster.speaker,
    peers: cluster.peers,
    announcements: cluster.announcements,
    dataplane: {
      localRoutes: cluster.dataplane.localRoutes,
      endpoints: pods.endpoints,
      iptables,
      ipsets,
      vxlan: cluster.dataplane.vxlan,
      ipip: cluster.dataplane.ipip,
      policyExplain: pods.policyExplain,
    },
    problems,
  };
}

export function calculate(snapshot: Snapshot, identity: NodeIdentity): CalculatedState {
  const cluster = calculateCluster(snapshot, identity);
  const pods = podDataplane(snapshot, identity.name);
  const part: PodPart = {
    endpoints: pods.endpoints,
    policy: policySource(pods.policy.iptables),
    policyIpsets: pods.policy.ipsets,
    policyExplain: pods.policy.explain,
  };
  return assembleState(
    cluster,
    part,
    [part.policy, cluster.dataplane.nat],
    mergeIpsets(part.policyIpsets, cluster.dataplane.natIpsets),
    sortedProblems(cluster.problems, pods.problems),
  );
}
