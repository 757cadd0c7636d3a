// Every node of the cluster as the calculation sees it: name, labels, AS number, route-reflector
// cluster ID, underlay addresses and pod CIDRs, plus this node's BGP router ID.
//
// Addresses (Calico publishes each node's autodetected address on its Node; Margay reads it from
// the node's annotations):
//   this node:   annotation margay.io/ipv4-address / ipv6-address, else NodeIdentity (autodetected
//                by the wiring, see autodetect.ts);
//   other nodes: the annotation, else the first InternalIP of the family in status.addresses (a
//                bare address, so its prefix length is /32 or /128). Their prefix length is never
//                used for a decision: CrossSubnet compares their address with OUR subnets.
// An address no host can have (unspecified, multicast, broadcast) or an IPv4-mapped IPv6 address
// in status.addresses is skipped with a problem (the annotations refuse them at validation). Two
// nodes claiming one address: the first by name keeps it, the other loses that address (and the
// problem names both), so peers and route attribution stay deterministic.
//
// Router IDs (routerIdFor): the node's IPv4 address; an IPv6-only node's is hashed from its name
// into the IPv4 unicast space without 0/8 and 127/8, since BGP speakers refuse an OPEN whose BGP
// Identifier is 0.0.0.0, multicast (224/4) or class E (240/4, 255.255.255.255 included) with Bad
// BGP Identifier (FRR logs "bad OPEN, wrong router identifier"), and 0/8 and 127/8 are no host's
// either. It is the largest such range, so two hashed IDs are as unlikely to meet as they can be.
// Margay's Node has no router ID field, so a clash is not resolved but detected: two nodes with
// one router ID (two hashed, or a hashed one equal to another node's IPv4 address) fail
// every session between them (the OPEN carries the receiver's own identifier), and reflected
// routes from one are dropped by the other (ORIGINATOR_ID, RFC 4456 §8); both nodes report it.
import { createHash } from 'node:crypto';
import type { Labels } from '../../felix/index.ts';
import { canonicalAddress, unusableAddress } from '../config/address.ts';
import type { BGPConfigurationSpec } from '../model/bgp.ts';
import { DEFAULT_BGP_CONFIGURATION_SPEC } from '../model/bgp.ts';
import type { Node, NodeBGPSettings } from '../model/node.ts';
import { NODE_ANNOTATIONS, nodeAnnotationSettings, nodePodCIDRs, resolveNodeBGP } from '../model/node.ts';
import type { Snapshot } from '../model/snapshot.ts';
import type { HostAddress, IpFamily } from './addr.ts';
import { canonicalCidr, canonicalIp, cidrFamily, compareStrings, parseHostAddress } from './addr.ts';
import type { NodeIdentity } from './types.ts';

export interface ClusterNode {
  readonly name: string;
  readonly labels: Labels;
  readonly asn: number;
  readonly asNumberSource: NodeBGPSettings['asNumberSource'];
  /** Set when the node is a route reflector. */
  readonly clusterId?: string;
  readonly ipv4?: HostAddress;
  readonly ipv6?: HostAddress;
  /** Canonical pod CIDRs (spec.podCIDRs), IPv4 first. */
  readonly podCIDRs: readonly string[];
  /** BGP router ID (routerIdFor). */
  readonly routerId: string;
}

export interface ClusterNodes {
  readonly config: BGPConfigurationSpec;
  /** This node; undefined when it is not in the datastore. */
  readonly self: ClusterNode | undefined;
  /** Every other node, sorted by name. */
  readonly others: readonly ClusterNode[];
  readonly problems: readonly string[];
}

export function nodeAddress(n: ClusterNode, family: IpFamily): HostAddress | undefined {
  return family === 4 ? n.ipv4 : n.ipv6;
}

export function nodePodCIDR(n: ClusterNode, family: IpFamily): string | undefined {
  return n.podCIDRs.find((c) => cidrFamily(c) === family);
}

/** The BGPConfiguration in force: `default`, else the defaults. */
export function bgpConfig(snapshot: Snapshot): BGPConfigurationSpec {
  return snapshot.bgpConfigurations.get('default')?.spec ?? DEFAULT_BGP_CONFIGURATION_SPEC;
}

function nodeBGP(node: Node, config: BGPConfigurationSpec, problems: string[]): NodeBGPSettings {
  try {
    return resolveNodeBGP(node, config);
  } catch (e) {
    problems.push(
      `BGPConfiguration default: spec.nodeASNumbers/routeReflectorClusterIDs: ${(e as Error).message} (ignored for node ${node.metadata.name})`,
    );
    return resolveNodeBGP(node, { ...config, nodeASNumbers: [], routeReflectorClusterIDs: [] });
  }
}

/** Why a node address cannot be used, or undefined: it must be one host's, and not IPv4-mapped. */
function nodeAddressProblem(address: string): string | undefined {
  const unusable = unusableAddress(address);
  if (unusable !== undefined) return unusable;
  if (canonicalAddress(address)?.mapped === true)
    return `${address} is an IPv4-mapped IPv6 address, which BGP takes for the IPv4 address it maps`;
  return undefined;
}

function internalIP(node: Node, family: IpFamily, problems: string[]): HostAddress | undefined {
  for (const [i, a] of node.status.addresses.entries()) {
    if (a.type !== 'InternalIP') continue;
    const h = parseHostAddress(a.address, family);
    if (h === undefined) continue;
    const problem = nodeAddressProblem(a.address);
    if (problem !== undefined) {
      problems.push(`Node ${node.metadata.name}: status.addresses[${i}].address: ${problem} (not used)`);
      continue;
    }
    return h;
  }
  return undefined;
}

function identityAddress(
  identity: NodeIdentity,
  family: IpFamily,
  problems: string[],
): HostAddress | undefined {
  const text = family === 4 ? identity.ipv4 : identity.ipv6;
  if (text === undefined) return undefined;
  const h = parseHostAddress(text, family);
  if (h === undefined)
    problems.push(
      `Node ${identity.name}: autodetected ipv${family} ${JSON.stringify(text)} is not an IPv${family} address with optional prefix length (ignored)`,
    );
  const problem = h === undefined ? undefined : nodeAddressProblem(text.split('/')[0] as string);
  if (problem !== undefined) {
    problems.push(`Node ${identity.name}: autodetected ipv${family}: ${problem} (ignored)`);
    return undefined;
  }
  return h;
}

function canonicalPodCIDRs(node: Node, problems: string[]): string[] {
  const out: string[] = [];
  for (const c of nodePodCIDRs(node)) {
    const canon = canonicalCidr(c);
    if (canon === undefined) {
      problems.push(
        `Node ${node.metadata.name}: spec.podCIDRs: ${JSON.stringify(c)} is not a CIDR (ignored)`,
      );
      continue;
    }
    out.push(canon);
  }
  return out.sort((a, b) => (cidrFamily(a) ?? 9) - (cidrFamily(b) ?? 9));
}

function resolveNode(
  node: Node,
  config: BGPConfigurationSpec,
  addresses: { ipv4?: HostAddress; ipv6?: HostAddress },
  problems: string[],
): ClusterNode {
  const bgp = nodeBGP(node, config, problems);
  return {
    name: node.metadata.name,
    labels: node.metadata.labels,
    asn: bgp.asNumber,
    asNumberSource: bgp.asNumberSource,
    ...(bgp.routeReflectorClusterID !== undefined ? { clusterId: bgp.routeReflectorClusterID } : {}),
    ...(addresses.ipv4 !== undefined ? { ipv4: addresses.ipv4 } : {}),
    ...(addresses.ipv6 !== undefined ? { ipv6: addresses.ipv6 } : {}),
    podCIDRs: canonicalPodCIDRs(node, problems),
    routerId: routerIdFor(node.metadata.name, addresses.ipv4),
  };
}

/** Resolve every node of the snapshot; `identity` supplies this node's name and fallbacks. */
export function resolveClusterNodes(snapshot: Snapshot, identity: NodeIdentity): ClusterNodes {
  const config = bgpConfig(snapshot);
  const problems: string[] = [];
  const names = [...snapshot.nodes.keys()].sort(compareStrings);
  // First pass: every node's addresses, by the rules in the file comment, and the field each
  // came from (for the problems).
  const addrs = new Map<string, { ipv4?: HostAddress; ipv6?: HostAddress }>();
  const fieldOf = new Map<string, string>();
  for (const name of names) {
    const node = snapshot.nodes.get(name)!;
    const own = nodeAnnotationSettings(node);
    const isSelf = name === identity.name;
    const pick = (family: IpFamily): HostAddress | undefined => {
      const annotated = family === 4 ? own.ipv4Address : own.ipv6Address;
      let h: HostAddress | undefined;
      let field: string;
      if (annotated !== undefined) {
        h = parseHostAddress(`${annotated.address}/${annotated.prefixLength}`);
        field = `metadata.annotations["${family === 4 ? NODE_ANNOTATIONS.ipv4Address : NODE_ANNOTATIONS.ipv6Address}"]`;
      } else if (isSelf) {
        h = identityAddress(identity, family, problems);
        field = `autodetected ipv${family}`;
      } else {
        h = internalIP(node, family, problems);
        field = 'status.addresses';
      }
      if (h !== undefined) fieldOf.set(`${name} ${family}`, field);
      return h;
    };
    const ipv4 = pick(4);
    const ipv6 = pick(6);
    addrs.set(name, { ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}) });
  }
  // Second pass: an address claimed by two nodes stays with the first by name (self first, so
  // that a stale object elsewhere can never take this node's address away from it).
  const owner = new Map<string, string>();
  const order = names.includes(identity.name)
    ? [identity.name, ...names.filter((n) => n !== identity.name)]
    : names;
  for (const name of order) {
    const a = addrs.get(name)!;
    const kept: { ipv4?: HostAddress; ipv6?: HostAddress } = {};
    for (const family of [4, 6] as const) {
      const h = family === 4 ? a.ipv4 : a.ipv6;
      if (h === undefined) continue;
      const prev = owner.get(h.address);
      if (prev !== undefined) {
        problems.push(
          `Node ${name}: ${fieldOf.get(`${name} ${family}`)}: ${h.address} is also node ${prev}'s address (ignored for ${name})`,
        );
        continue;
      }
      owner.set(h.address, name);
      if (family === 4) kept.ipv4 = h;
      else kept.ipv6 = h;
    }
    addrs.set(name, kept);
  }
  let self: ClusterNode | undefined;
  const others: ClusterNode[] = [];
  for (const name of names) {
    const a = addrs.get(name)!;
    const n = resolveNode(snapshot.nodes.get(name)!, config, a, problems);
    if (a.ipv4 === undefined && a.ipv6 === undefined)
      problems.push(
        name === identity.name
          ? `Node ${name}: this node has no address (annotation margay.io/ipv4-address or ipv6-address, or autodetection): no BGP`
          : `Node ${name}: no address (annotation margay.io/ipv4-address or ipv6-address, or status.addresses InternalIP): not peered, not a VTEP`,
      );
    if (name === identity.name) self = n;
    else others.push(n);
  }
  if (self === undefined) problems.push(`Node ${identity.name}: this node is not in the datastore`);
  else routerIdClashes(self, others, fieldOf, problems);
  return { config, self, others, problems };
}

/** Where a node's router ID comes from, for the problems. */
function routerIdOrigin(n: ClusterNode, fieldOf: ReadonlyMap<string, string>): string {
  return n.ipv4 !== undefined
    ? `its IPv4 address, ${fieldOf.get(`${n.name} 4`) ?? 'the node address'}`
    : 'hashed from its name: it has no IPv4 address';
}

/**
 * Other nodes with this node's router ID: one problem per clash, naming both nodes. Every node
 * computes every node's ID from the same snapshot, so the other node reports it too.
 */
function routerIdClashes(
  self: ClusterNode,
  others: readonly ClusterNode[],
  fieldOf: ReadonlyMap<string, string>,
  problems: string[],
): void {
  if (self.ipv4 === undefined && self.ipv6 === undefined) return;
  const field = self.ipv4 !== undefined ? (fieldOf.get(`${self.name} 4`) ?? 'address') : 'metadata.name';
  for (const n of others) {
    if (n.routerId !== self.routerId || (n.ipv4 === undefined && n.ipv6 === undefined)) continue;
    problems.push(
      `Node ${self.name}: ${field}: router ID ${self.routerId} (${routerIdOrigin(self, fieldOf)}) is also ` +
        `node ${n.name}'s (${routerIdOrigin(n, fieldOf)}): BGP sessions between them fail with Bad BGP ` +
        'Identifier; another name or an IPv4 address for one of them resolves it',
    );
  }
}

/**
 * BGP router ID: the node's IPv4 address; an IPv6-only node gets a stable 32-bit ID hashed from
 * its name, inside 1.0.0.0–223.255.255.255 without 127/8 (the file comment says why). The ID is
 * the first 4-byte word of SHA-256("margay-router-id:" + name) that falls in the range, so an ID
 * that was already in it stays as it was; a digest with no such word (rare) folds its first word
 * into the range.
 */
export function routerIdFor(name: string, ipv4: HostAddress | undefined): string {
  if (ipv4 !== undefined) return ipv4.address;
  const h = createHash('sha256').update(`margay-router-id:${name}`).digest();
  for (let i = 0; i + 4 <= h.length; i += 4) {
    if (isSafeRouterIdOctet(h[i]!)) return `${h[i]}.${h[i + 1]}.${h[i + 2]}.${h[i + 3]}`;
  }
  // 222 first octets are safe: 1..126 and 128..223.
  const k = h[0]! % 222;
  return `${k < 126 ? k + 1 : k + 2}.${h[1]}.${h[2]}.${h[3]}`;
}

/** A first octet of the router ID range: not 0/8, 127/8, multicast or class E. */
function isSafeRouterIdOctet(first: number): boolean {
  return first >= 1 && first <= 223 && first !== 127;
}

/** Canonical address of a node address spelled any way (for lookups by BGP next hop). */
export function nodeByAddress(nodes: readonly ClusterNode[]): Map<string, ClusterNode> {
  const out = new Map<string, ClusterNode>();
  for (const n of nodes)
    for (const h of [n.ipv4, n.ipv6]) {
      if (h === undefined) continue;
      const key = canonicalIp(h.address)!.address;
      if (!out.has(key)) out.set(key, n);
    }
  return out;
}
