// What the lab writes for the agents (pure): the file datastore (one multi-document YAML file of
// Kubernetes-shaped objects), one agent config per node, and the ToR router's config; plus the
// merge/remove of `margay lab apply|delete`.
//
// The cluster objects follow the Calico patterns the agent implements:
// - Node: labels (kubernetes.io/hostname, lab.margay.io/subnet, route-reflector=true on RRs),
//   annotations margay.io/ipv4-address / ipv6-address (address/prefix, so CrossSubnet knows who
//   shares a subnet) and margay.io/route-reflector-cluster-id on RRs, spec.podCIDRs.
// - BGPConfiguration "default": asNumber, nodeToNodeMeshEnabled off when there are route reflectors.
// - BGPPeer "peer-with-route-reflectors": nodeSelector all(), peerSelector route-reflector == 'true'.
// - BGPPeer "tor-subnet-N" (and "-v6"): the ToR's address on subnet N, for the nodes on subnet N.
// The datastore is kept as the raw objects (what a user would write), validated as a whole with
// the file datastore's own parser before every write, so the agents never see a file they reject.
import { stringify } from 'yaml';
import { parseResourceFile } from '../datastore/file/parse.ts';
import { describeObject, isResourceKind, KINDS, resourceKey } from '../model/resource.ts';
import { birdConfig } from './bird.ts';
import { frrConfig } from './frr.ts';
import { gobgpConfig } from './gobgp.ts';
import type { LabPort, TorKind } from './topology.ts';
import { bare, RR_CLUSTER_ID, RR_LABEL, SUBNET_LABEL } from './topology.ts';

/** A Kubernetes-shaped object as written to the datastore file. */
export type RawObject = Record<string, unknown> & {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string } & Record<string, unknown>;
};

export interface ClusterNode {
  readonly name: string;
  readonly index: number;
  readonly subnet: 1 | 2;
  readonly labels: Readonly<Record<string, string>>;
  readonly ipv4: string;
  readonly ipv6?: string;
  readonly podCIDRv4: string;
  readonly podCIDRv6?: string;
  readonly isRouteReflector: boolean;
}

export interface ClusterPod {
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ports: readonly LabPort[];
  readonly ipv4: string;
  readonly ipv6?: string;
}

export interface ClusterRouter {
  readonly interfaces: readonly { subnet: 1 | 2; ipv4: string; ipv6?: string }[];
}

export interface ClusterInput {
  readonly asNumber: number;
  readonly torAsNumber: number;
  readonly tor: TorKind;
  readonly routeReflectors: number;
  readonly nodes: readonly ClusterNode[];
  readonly pods: readonly ClusterPod[];
  readonly namespaces: readonly { name: string; labels: Readonly<Record<string, string>> }[];
  readonly pools: readonly { name: string; cidr: string; vxlanMode: string; natOutgoing: boolean }[];
  readonly router?: ClusterRouter;
}

const MARGAY = 'margay.io/v1';

export function nodeObject(n: ClusterNode): RawObject {
  const annotations: Record<string, string> = { 'margay.io/ipv4-address': n.ipv4 };
  if (n.ipv6 !== undefined) annotations['margay.io/ipv6-address'] = n.ipv6;
  if (n.isRouteReflector) annotations['margay.io/route-reflector-cluster-id'] = RR_CLUSTER_ID;
  const addresses = [
    { type: 'InternalIP', address: bare(n.ipv4) },
    ...(n.ipv6 !== undefined ? [{ type: 'InternalIP', address: bare(n.ipv6) }] : []),
    { type: 'Hostname', address: n.name },
  ];
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: n.name, labels: { ...n.labels }, annotations },
    spec: { podCIDRs: [n.podCIDRv4, ...(n.podCIDRv6 !== undefined ? [n.podCIDRv6] : [])] },
    status: { addresses },
  };
}

export function podObject(p: ClusterPod): RawObject {
  const ips = [p.ipv4, ...(p.ipv6 !== undefined ? [p.ipv6] : [])];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace: p.namespace, name: p.name, labels: { ...p.labels } },
    spec: {
      nodeName: p.node,
      containers: [
        {
          name: 'main',
          ports: p.ports.map((port) => ({
            ...(port.name !== undefined ? { name: port.name } : {}),
            containerPort: port.port,
            protocol: port.protocol,
          })),
        },
      ],
    },
    status: { phase: 'Running', podIP: p.ipv4, podIPs: ips.map((ip) => ({ ip })) },
  };
}

/** The whole initial datastore, in a stable order (namespaces, nodes, BGP, pools, pods). */
export function clusterObjects(c: ClusterInput): RawObject[] {
  const out: RawObject[] = [];
  for (const ns of c.namespaces)
    out.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns.name, labels: { ...ns.labels } } });
  for (const n of c.nodes) out.push(nodeObject(n));
  out.push({
    apiVersion: MARGAY,
    kind: 'BGPConfiguration',
    metadata: { name: 'default' },
    spec: { asNumber: c.asNumber, nodeToNodeMeshEnabled: c.routeReflectors === 0 },
  });
  if (c.routeReflectors > 0)
    out.push({
      apiVersion: MARGAY,
      kind: 'BGPPeer',
      metadata: { name: 'peer-with-route-reflectors' },
      spec: { nodeSelector: 'all()', peerSelector: `${RR_LABEL} == 'true'` },
    });
  if (c.tor !== 'none' && c.router !== undefined) {
    for (const i of c.router.interfaces) {
      const nodeSelector = `${SUBNET_LABEL} == '${i.subnet}'`;
      out.push({
        apiVersion: MARGAY,
        kind: 'BGPPeer',
        metadata: { name: `tor-subnet-${i.subnet}` },
        spec: { peerIP: bare(i.ipv4), asNumber: c.torAsNumber, nodeSelector },
      });
      if (i.ipv6 !== undefined)
        out.push({
          apiVersion: MARGAY,
          kind: 'BGPPeer',
          metadata: { name: `tor-subnet-${i.subnet}-v6` },
          spec: { peerIP: bare(i.ipv6), asNumber: c.torAsNumber, nodeSelector },
        });
    }
  }
  for (const p of c.pools)
    out.push({
      apiVersion: MARGAY,
      kind: 'IPPool',
      metadata: { name: p.name },
      spec: { cidr: p.cidr, vxlanMode: p.vxlanMode, natOutgoing: p.natOutgoing },
    });
  for (const p of c.pods) out.push(podObject(p));
  return out;
}

/** `Kind/namespace/name` (namespaced kinds default to namespace "default", like kubectl). */
export function objectKey(o: { kind: string; metadata: { name: string; namespace?: string } }): string {
  const namespaced = isResourceKind(o.kind) && KINDS[o.kind].namespaced;
  const ns = namespaced ? (o.metadata.namespace ?? 'default') : undefined;
  const metadata = { name: o.metadata.name, ...(ns !== undefined ? { namespace: ns } : {}) };
  return `${o.kind}/${resourceKey({ metadata })}`;
}

export function renderDatastore(objects: readonly RawObject[], header = 'written by margay lab'): string {
  const docs = objects.map((o) => stringify(o, { lineWidth: 0 }).trimEnd());
  return `# ${header}\n${docs.map((d) => `---\n${d}\n`).join('')}`;
}

/** Validates with the agents' own parser; throws DatastoreFileError naming document and field. */
export function validateDatastore(text: string, source: string): void {
  parseResourceFile(text, source);
}

/**
 * Merge `incoming` into `current` by kind/namespace/name: a known object is replaced in place, a
 * new one appended. Returns the new list and which keys were created or replaced.
 */
export function mergeObjects(
  current: readonly RawObject[],
  incoming: readonly RawObject[],
): { objects: RawObject[]; created: string[]; replaced: string[] } {
  const objects = [...current];
  const index = new Map(objects.map((o, i) => [objectKey(o), i]));
  const created: string[] = [];
  const replaced: string[] = [];
  for (const o of incoming) {
    const key = objectKey(o);
    const at = index.get(key);
    if (at === undefined) {
      index.set(key, objects.length);
      objects.push(o);
      created.push(key);
    } else {
      objects[at] = o;
      replaced.push(key);
    }
  }
  return { objects, created, replaced };
}

/** Remove objects by kind/namespace/name; `missing` lists keys that were not there. */
export function removeObjects(
  current: readonly RawObject[],
  remove: readonly RawObject[],
): { objects: RawObject[]; removed: string[]; missing: string[] } {
  const keys = new Set(remove.map(objectKey));
  const present = new Set(current.map(objectKey));
  return {
    objects: current.filter((o) => !keys.has(objectKey(o))),
    removed: [...keys].filter((k) => present.has(k)),
    missing: [...keys].filter((k) => !present.has(k)),
  };
}

export function describeRaw(o: RawObject): string {
  return describeObject(o.kind, o);
}

// ---------------------------------------------------------------------------------------------
// Agent config

export interface AgentConfigInput {
  readonly nodeName: string;
  readonly datastorePath: string;
  readonly ipv6: boolean;
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

/** The agent's API listens on the node namespace's own loopback, so every node uses 9099. */
export const AGENT_API = '127.0.0.1:9099';

export function agentConfigObject(a: AgentConfigInput): Record<string, unknown> {
  return {
    nodeName: a.nodeName,
    datastore: { type: 'file', path: a.datastorePath },
    api: { listen: AGENT_API },
    bgp: { listenAddress: '::', enabled: true },
    ipv4Autodetection: 'interface=eth0',
    ...(a.ipv6 ? { ipv6Autodetection: 'interface=eth0' } : {}),
    dataplane: { enabled: true, resyncIntervalSeconds: 30 },
    logLevel: a.logLevel ?? 'info',
  };
}

export function agentConfigYaml(a: AgentConfigInput): string {
  return `# written by margay lab for node ${a.nodeName}\n${stringify(agentConfigObject(a))}`;
}

// ---------------------------------------------------------------------------------------------
// ToR router config: eBGP to every node, IPv4 session per node plus an IPv6 one when dual stack.

export interface TorInput {
  readonly kind: Exclude<TorKind, 'none'>;
  readonly asNumber: number;
  readonly nodeAsNumber: number;
  readonly router: ClusterRouter;
  readonly nodes: readonly Pick<ClusterNode, 'index' | 'subnet' | 'ipv4' | 'ipv6'>[];
}

/** The BIRD protocol name of a node's session: node3, node3_v6. */
export function birdProtocolName(index: number, family: 4 | 6): string {
  return family === 4 ? `node${index}` : `node${index}_v6`;
}

export function torConfig(t: TorInput): string {
  const routerId = bare(t.router.interfaces[0]?.ipv4 ?? '192.0.2.1/24');
  const local = (subnet: 1 | 2) => t.router.interfaces.find((i) => i.subnet === subnet);
  if (t.kind === 'bird') {
    return birdConfig({
      routerId,
      localAs: t.asNumber,
      neighbors: t.nodes.flatMap((n) => {
        const l = local(n.subnet);
        const v4 = {
          name: birdProtocolName(n.index, 4),
          address: bare(n.ipv4),
          remoteAs: t.nodeAsNumber,
          ...(l ? { localAddress: bare(l.ipv4) } : {}),
          ipv4: true,
          ipv6: false,
        };
        if (n.ipv6 === undefined || l?.ipv6 === undefined) return [v4];
        const v6 = {
          name: birdProtocolName(n.index, 6),
          address: bare(n.ipv6),
          remoteAs: t.nodeAsNumber,
          localAddress: bare(l.ipv6),
          ipv4: false,
          ipv6: true,
        };
        return [v4, v6];
      }),
      // The ToR forwards what it learns, as FRR's zebra does: traffic from its namespace to the
      // pods follows its BGP routes (graceful restart keeps them across an agent restart).
      extra: 'protocol kernel { ipv4 { export all; }; }\nprotocol kernel { ipv6 { export all; }; }',
    });
  }
  if (t.kind === 'frr') {
    return frrConfig({
      hostname: 'tor',
      routerId,
      localAs: t.asNumber,
      neighbors: t.nodes.flatMap((n) => [
        { address: bare(n.ipv4), remoteAs: t.nodeAsNumber, ipv4: true, ipv6: false },
        ...(n.ipv6 !== undefined
          ? [{ address: bare(n.ipv6), remoteAs: t.nodeAsNumber, ipv4: false, ipv6: true }]
          : []),
      ]),
    });
  }
  return gobgpConfig({
    routerId,
    localAs: t.asNumber,
    neighbors: t.nodes.flatMap((n) => [
      { address: bare(n.ipv4), remoteAs: t.nodeAsNumber, families: ['ipv4-unicast' as const] },
      ...(n.ipv6 !== undefined
        ? [{ address: bare(n.ipv6), remoteAs: t.nodeAsNumber, families: ['ipv6-unicast' as const] }]
        : []),
    ]),
  });
}
