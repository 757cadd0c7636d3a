// What this node announces: its pod CIDRs (next hop self), and the Service cluster IP and
// external IP ranges of BGPConfiguration, which Calico announces from every node (the ToR then
// spreads Service traffic over the nodes with ECMP). Communities: BGPConfiguration
// `prefixAdvertisements`, the entry with the longest CIDR containing the prefix (Calico's rule);
// its names resolve through `communities`, anything else is a literal AA:NN (RFC 1997) or
// AA:NN:MM (RFC 8092 large community). Nothing is announced by a node without an address.
import type { LargeCommunity, LocalRoute } from '../../bgp/index.ts';
import { parseCommunity, parseLargeCommunity } from '../../bgp/index.ts';
import type { BGPConfigurationSpec } from '../model/bgp.ts';
import { canonicalCidr, cidrContains, compareAddresses } from './addr.ts';
import type { ClusterNode } from './nodes.ts';

function prefixLength(cidr: string): number {
  return Number(cidr.slice(cidr.indexOf('/') + 1));
}

function communitiesFor(
  prefix: string,
  config: BGPConfigurationSpec,
  problems: string[],
): { communities: number[]; largeCommunities: LargeCommunity[] } {
  const communities: number[] = [];
  const largeCommunities: LargeCommunity[] = [];
  let best: BGPConfigurationSpec['prefixAdvertisements'][number] | undefined;
  let bestIndex = -1;
  for (const [i, adv] of config.prefixAdvertisements.entries()) {
    if (!cidrContains(adv.cidr, prefix)) continue;
    if (best === undefined || prefixLength(adv.cidr) > prefixLength(best.cidr)) {
      best = adv;
      bestIndex = i;
    }
  }
  if (best === undefined) return { communities, largeCommunities };
  const named = new Map(config.communities.map((c) => [c.name, c.value]));
  for (const [j, ref] of best.communities.entries()) {
    const text = named.get(ref) ?? ref;
    const standard = parseCommunity(text);
    if (standard !== undefined) {
      if (!communities.includes(standard)) communities.push(standard);
      continue;
    }
    const large = parseLargeCommunity(text);
    if (large !== undefined) {
      if (
        !largeCommunities.some(
          (l) =>
            l.globalAdmin === large.globalAdmin &&
            l.localData1 === large.localData1 &&
            l.localData2 === large.localData2,
        )
      )
        largeCommunities.push(large);
      continue;
    }
    problems.push(
      `BGPConfiguration default: spec.prefixAdvertisements[${bestIndex}].communities[${j}]: "${ref}" is neither a community name nor a value (skipped for ${prefix})`,
    );
  }
  return { communities, largeCommunities };
}

export function announcements(
  self: ClusterNode | undefined,
  config: BGPConfigurationSpec,
): { routes: LocalRoute[]; problems: string[] } {
  const problems: string[] = [];
  if (self === undefined || (self.ipv4 === undefined && self.ipv6 === undefined))
    return { routes: [], problems };
  const prefixes = new Set<string>(self.podCIDRs);
  for (const s of [...config.serviceClusterIPs, ...config.serviceExternalIPs]) {
    const c = canonicalCidr(s.cidr);
    if (c !== undefined) prefixes.add(c);
  }
  const routes: LocalRoute[] = [];
  for (const prefix of [...prefixes].sort(compareAddresses)) {
    const { communities, largeCommunities } = communitiesFor(prefix, config, problems);
    routes.push({
      prefix,
      nextHop: 'self',
      ...(communities.length > 0 ? { communities } : {}),
      ...(largeCommunities.length > 0 ? { largeCommunities } : {}),
    });
  }
  return { routes, problems };
}
