// Kubernetes core/v1 Node, the fields Margay reads (name, labels, annotations, spec.podCIDR(s),
// status.addresses; everything else the API server sends is dropped), plus Margay's per-node
// settings, which live in annotations so that no Margay-specific node object is needed:
//
//   margay.io/as-number                  AS number of this node (overrides BGPConfiguration)
//   margay.io/route-reflector-cluster-id this node is a route reflector with this cluster ID
//   margay.io/ipv4-address               node address with prefix length, 192.0.2.10/24
//   margay.io/ipv6-address               node address with prefix length, 2001:db8::10/64
//
// (Calico keeps the same settings on its own Node resource and in projectcalico.org/* annotations.)
// The prefix length tells CrossSubnet which nodes share a subnet; a bare address means /32 (/128).
// A bad annotation is a validation error naming the node and the annotation.
import { z } from 'zod';
import { compileSelector, ipFamily, parseCidr } from '../../felix/index.ts';
import { canonicalAddress, unusableAddress } from '../config/address.ts';
import type { BGPConfigurationSpec } from './bgp.ts';
import { DEFAULT_BGP_CONFIGURATION_SPEC } from './bgp.ts';
import { cidr, cidrRange, ipv4Address } from './fields.ts';
import { clusterMeta } from './meta.ts';

export const NODE_ANNOTATIONS = {
  asNumber: 'margay.io/as-number',
  routeReflectorClusterID: 'margay.io/route-reflector-cluster-id',
  ipv4Address: 'margay.io/ipv4-address',
  ipv6Address: 'margay.io/ipv6-address',
} as const;

/** What each annotation means, for the generated reference. */
export const NODE_ANNOTATION_DOCS: Readonly<
  Record<(typeof NODE_ANNOTATIONS)[keyof typeof NODE_ANNOTATIONS], string>
> = {
  'margay.io/as-number':
    'AS number of this node (1..4294967295, decimal). Overrides BGPConfiguration nodeASNumbers and asNumber.',
  'margay.io/route-reflector-cluster-id':
    'Makes this node a route reflector with this cluster ID (IPv4 form, e.g. 224.0.0.1). Overrides BGPConfiguration routeReflectorClusterIDs.',
  'margay.io/ipv4-address':
    'The node IPv4 address with prefix length (192.0.2.10/24); a bare address means /32. Overrides autodetection.',
  'margay.io/ipv6-address':
    'The node IPv6 address with prefix length (2001:db8::10/64); a bare address means /128. Overrides autodetection.',
};

export const NODE_ADDRESS_TYPES = [
  'Hostname',
  'InternalIP',
  'ExternalIP',
  'InternalDNS',
  'ExternalDNS',
] as const;

const nodeAddress = z
  .object({
    type: z.enum(NODE_ADDRESS_TYPES),
    address: z.string().min(1, 'must not be empty'),
  })
  .superRefine((a, ctx) => {
    if ((a.type === 'InternalIP' || a.type === 'ExternalIP') && ipFamily(a.address) === undefined)
      ctx.addIssue({ code: 'custom', path: ['address'], message: `must be an IP address for ${a.type}` });
  });

export const nodeSchema = z
  .strictObject({
    apiVersion: z.literal('v1'),
    kind: z.literal('Node'),
    metadata: clusterMeta,
    spec: z
      .object({
        podCIDR: cidr.optional(),
        podCIDRs: z.array(cidr).max(2, 'must hold at most one IPv4 and one IPv6 CIDR').optional(),
      })
      .default({}),
    status: z
      .object({
        addresses: z.array(nodeAddress).default([]),
      })
      .default({ addresses: [] }),
  })
  .superRefine((n, ctx) => {
    const { podCIDR, podCIDRs } = n.spec;
    if (podCIDR !== undefined && podCIDRs !== undefined && podCIDRs.length > 0 && podCIDRs[0] !== podCIDR)
      ctx.addIssue({ code: 'custom', path: ['spec', 'podCIDRs', 0], message: 'must equal spec.podCIDR' });
    if (podCIDRs !== undefined && podCIDRs.length === 2) {
      const [a, b] = podCIDRs.map((c) => cidrRange(c)?.bits);
      if (a === b)
        ctx.addIssue({ code: 'custom', path: ['spec', 'podCIDRs'], message: 'must be one per family' });
    }
    for (const [annotation, problem] of nodeAnnotationProblems(n.metadata.annotations))
      ctx.addIssue({ code: 'custom', path: ['metadata', 'annotations', annotation], message: problem });
  });

export type Node = z.output<typeof nodeSchema>;

export interface InterfaceAddress {
  /** The address without prefix length. */
  readonly address: string;
  readonly prefixLength: number;
}

/** Margay's per-node settings from the node's annotations (absent when not annotated). */
export interface NodeAnnotationSettings {
  readonly asNumber?: number;
  readonly routeReflectorClusterID?: string;
  readonly ipv4Address?: InterfaceAddress;
  readonly ipv6Address?: InterfaceAddress;
}

function parseInterfaceAddress(text: string, family: 4 | 6): InterfaceAddress | string {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  if (ipFamily(address) !== family)
    return `must be an IPv${family} address with optional prefix length, e.g. ${family === 4 ? '192.0.2.10/24' : '2001:db8::10/64'}`;
  // The node's BGP sessions, next hops and VXLAN underlay use this address: it must be one host's.
  const unusable = unusableAddress(address);
  if (unusable !== undefined) return `is not a node address: ${unusable}`;
  if (canonicalAddress(address)?.mapped === true)
    return `is not a node address: ${address} is an IPv4-mapped IPv6 address, which BGP takes for the IPv4 address it maps`;
  const max = family === 4 ? 32 : 128;
  if (slash < 0) return { address, prefixLength: max };
  const c = parseCidr(text);
  if (c === undefined) return `prefix length must be 0..${max}`;
  return { address, prefixLength: c.length };
}

function parseAnnotations(annotations: Readonly<Record<string, string>>): {
  settings: NodeAnnotationSettings;
  problems: [string, string][];
} {
  const problems: [string, string][] = [];
  const settings: {
    asNumber?: number;
    routeReflectorClusterID?: string;
    ipv4Address?: InterfaceAddress;
    ipv6Address?: InterfaceAddress;
  } = {};
  const as = annotations[NODE_ANNOTATIONS.asNumber];
  if (as !== undefined) {
    const n = Number(as);
    if (/^[1-9][0-9]{0,9}$/.test(as) && n <= 4294967295) settings.asNumber = n;
    else problems.push([NODE_ANNOTATIONS.asNumber, `"${as}" must be an AS number 1..4294967295`]);
  }
  const rr = annotations[NODE_ANNOTATIONS.routeReflectorClusterID];
  if (rr !== undefined) {
    if (ipv4Address.safeParse(rr).success) settings.routeReflectorClusterID = rr;
    else
      problems.push([
        NODE_ANNOTATIONS.routeReflectorClusterID,
        `"${rr}" must be a cluster ID in IPv4 form, e.g. 224.0.0.1`,
      ]);
  }
  for (const family of [4, 6] as const) {
    const key = family === 4 ? NODE_ANNOTATIONS.ipv4Address : NODE_ANNOTATIONS.ipv6Address;
    const text = annotations[key];
    if (text === undefined) continue;
    const parsed = parseInterfaceAddress(text, family);
    if (typeof parsed === 'string') problems.push([key, `"${text}" ${parsed}`]);
    else if (family === 4) settings.ipv4Address = parsed;
    else settings.ipv6Address = parsed;
  }
  return { settings, problems };
}

/** Problems with Margay's node annotations, as [annotation, message] pairs. */
export function nodeAnnotationProblems(annotations: Readonly<Record<string, string>>): [string, string][] {
  return parseAnnotations(annotations).problems;
}

/** The node's annotation settings; a validated node parses without problems. */
export function nodeAnnotationSettings(node: Node): NodeAnnotationSettings {
  return parseAnnotations(node.metadata.annotations).settings;
}

/** The node's pod CIDRs (spec.podCIDRs, else spec.podCIDR). */
export function nodePodCIDRs(node: Node): readonly string[] {
  if (node.spec.podCIDRs !== undefined && node.spec.podCIDRs.length > 0) return node.spec.podCIDRs;
  return node.spec.podCIDR !== undefined ? [node.spec.podCIDR] : [];
}

export interface NodeBGPSettings {
  readonly asNumber: number;
  /** Where the AS number came from, for the status API. */
  readonly asNumberSource: 'annotation' | 'nodeASNumbers' | 'default';
  /** Set when the node is a route reflector. */
  readonly routeReflectorClusterID?: string;
}

/**
 * The node's AS number and route-reflector cluster ID. Precedence: the node annotation, then the
 * first matching BGPConfiguration selector entry, then the global asNumber (no cluster ID).
 */
export function resolveNodeBGP(
  node: Node,
  config: BGPConfigurationSpec = DEFAULT_BGP_CONFIGURATION_SPEC,
): NodeBGPSettings {
  const own = nodeAnnotationSettings(node);
  const labels = node.metadata.labels;
  let asNumber = config.asNumber;
  let asNumberSource: NodeBGPSettings['asNumberSource'] = 'default';
  if (own.asNumber !== undefined) {
    asNumber = own.asNumber;
    asNumberSource = 'annotation';
  } else {
    const hit = config.nodeASNumbers.find((e) => compileSelector(e.nodeSelector).matches(labels));
    if (hit !== undefined) {
      asNumber = hit.asNumber;
      asNumberSource = 'nodeASNumbers';
    }
  }
  const clusterID =
    own.routeReflectorClusterID ??
    config.routeReflectorClusterIDs.find((e) => compileSelector(e.nodeSelector).matches(labels))?.clusterID;
  return clusterID !== undefined
    ? { asNumber, asNumberSource, routeReflectorClusterID: clusterID }
    : { asNumber, asNumberSource };
}
