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

import type { Snapshot } from '../model/snapshot.ts';
import { announcements } from './announcements.ts';
import { localDataplane } from './dataplane.ts';
import { resolveClusterNodes, routerIdFor } from './nodes.ts';
import { desiredPeers } from './peers.ts';
import { activePools } from './pools.ts';
import type { CalculatedNode, CalculatedState, NodeIdentity } from './types.ts';

export const SPEAKER_MAX_PATHS = 16;
export const GRACEFUL_RESTART_TIME = 120;

export function calculate(snapshot: Snapshot, identity: NodeIdentity): CalculatedState {
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

  const { peers, problems: peerProblems } = desiredPeers(nodes, snapshot);
  const { routes, problems: announceProblems } = announcements(self, config);
  const dataplane = localDataplane({
    snapshot,
    nodeName: identity.name,
    nodes,
    pools,
    ...(identity.mtu !== undefined ? { mtu: identity.mtu } : {}),
  });

  const problems = [
    ...new Set([
      ...nodes.problems,
      ...poolProblems,
      ...peerProblems,
      ...announceProblems,
      ...dataplane.problems,
    ]),
  ].sort();

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
    dataplane: {
      localRoutes: dataplane.localRoutes,
      endpoints: dataplane.endpoints,
      iptables: dataplane.iptables,
      ipsets: dataplane.ipsets,
      vxlan: dataplane.vxlan,
      ipip: dataplane.ipip,
      policyExplain: dataplane.policyExplain,
    },
    problems,
  };
}
