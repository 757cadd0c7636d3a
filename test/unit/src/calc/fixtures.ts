// Resource builders for the calculation tests: every object goes through validateResource, so the
// tests see exactly what a datastore would hand over (defaults applied, fields checked).
import type { Resource } from '../../../../src/model/resource.ts';
import { validateResource } from '../../../../src/model/resource.ts';
import type { Snapshot } from '../../../../src/model/snapshot.ts';
import { snapshotOf } from '../../../../src/model/snapshot.ts';

export function res(obj: unknown): Resource {
  const r = validateResource(obj);
  if (!r.ok) throw new Error(`fixture invalid:\n${r.problems.join('\n')}`);
  return r.resource;
}

export interface NodeOptions {
  readonly ipv4?: string;
  readonly ipv6?: string;
  readonly podCIDRs?: readonly string[];
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly internalIPs?: readonly string[];
}

export function node(name: string, o: NodeOptions = {}): Resource {
  const annotations: Record<string, string> = { ...o.annotations };
  if (o.ipv4 !== undefined) annotations['margay.io/ipv4-address'] = o.ipv4;
  if (o.ipv6 !== undefined) annotations['margay.io/ipv6-address'] = o.ipv6;
  return res({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: o.labels ?? {}, annotations },
    spec: o.podCIDRs !== undefined ? { podCIDRs: o.podCIDRs } : {},
    status: { addresses: (o.internalIPs ?? []).map((address) => ({ type: 'InternalIP', address })) },
  });
}

export interface PodOptions {
  readonly node?: string;
  readonly ips?: readonly string[];
  readonly labels?: Record<string, string>;
  readonly phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  readonly hostNetwork?: boolean;
  readonly ports?: readonly { name?: string; containerPort: number; protocol?: 'TCP' | 'UDP' }[];
}

export function pod(namespace: string, name: string, o: PodOptions = {}): Resource {
  return res({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: o.labels ?? {} },
    spec: {
      ...(o.node !== undefined ? { nodeName: o.node } : {}),
      hostNetwork: o.hostNetwork ?? false,
      containers: [{ name: 'c', ports: o.ports ?? [] }],
    },
    status: {
      phase: o.phase ?? 'Running',
      ...(o.ips !== undefined && o.ips.length > 0
        ? { podIP: o.ips[0], podIPs: o.ips.map((ip) => ({ ip })) }
        : {}),
    },
  });
}

export function namespace(name: string, labels: Record<string, string> = {}): Resource {
  return res({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
}

export function netpol(ns: string, name: string, spec: Record<string, unknown>): Resource {
  return res({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace: ns },
    spec,
  });
}

export function pool(name: string, cidr: string, spec: Record<string, unknown> = {}): Resource {
  return res({ apiVersion: 'margay.io/v1', kind: 'IPPool', metadata: { name }, spec: { cidr, ...spec } });
}

export function bgpPeer(name: string, spec: Record<string, unknown>): Resource {
  return res({ apiVersion: 'margay.io/v1', kind: 'BGPPeer', metadata: { name }, spec });
}

export function bgpConfig(spec: Record<string, unknown>): Resource {
  return res({ apiVersion: 'margay.io/v1', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec });
}

export function snap(...resources: Resource[]): Snapshot {
  return snapshotOf(resources);
}

/** A snapshot with one raw (unvalidated) object added, to test what validation normally stops. */
export function withRaw(s: Snapshot, field: keyof Snapshot, key: string, obj: unknown): Snapshot {
  const m = new Map(s[field] as ReadonlyMap<string, unknown>);
  m.set(key, obj);
  return { ...s, [field]: m } as Snapshot;
}

/** Nodes node-1..node-N on 192.0.2.0/24 with pod CIDRs 10.244.N.0/24. */
export function flatNodes(n: number, labels: (i: number) => Record<string, string> = () => ({})): Resource[] {
  return Array.from({ length: n }, (_, k) =>
    node(`node-${k + 1}`, {
      ipv4: `192.0.2.${11 + k}/24`,
      podCIDRs: [`10.244.${k + 1}.0/24`],
      labels: labels(k + 1),
    }),
  );
}

/**
 * Nodes node-1..node-N where node-1 and node-2 are route reflectors of cluster 224.0.0.1 and the
 * rest their clients, peered by the BGPPeer peer-with-rrs; the mesh is off unless `mesh`.
 */
export function reflectorCluster(n: number, o: { mesh?: boolean } = {}): Resource[] {
  return [
    ...flatNodes(n, (i): Record<string, string> => (i <= 2 ? { 'route-reflector': 'true' } : {})),
    bgpConfig({
      ...(o.mesh === true ? {} : { nodeToNodeMeshEnabled: false }),
      routeReflectorClusterIDs: [{ nodeSelector: 'has(route-reflector)', clusterID: '224.0.0.1' }],
    }),
    bgpPeer('peer-with-rrs', { nodeSelector: 'all()', peerSelector: 'has(route-reflector)' }),
  ];
}

/** Route reflectors rr-a (cluster 224.0.0.1) and rr-b (cluster 224.0.0.2) peered with each other, mesh off. */
export function twoClusterReflectors(): Snapshot {
  return snap(
    node('rr-a', {
      ipv4: '192.0.2.11/24',
      annotations: { 'margay.io/route-reflector-cluster-id': '224.0.0.1' },
    }),
    node('rr-b', {
      ipv4: '192.0.2.12/24',
      annotations: { 'margay.io/route-reflector-cluster-id': '224.0.0.2' },
    }),
    bgpConfig({ nodeToNodeMeshEnabled: false }),
    bgpPeer('rr-mesh', { peerSelector: 'has(margay.io/route-reflector) || !has(x)' }),
  );
}

/** validateResource's answer for BGPPeer tor (192.0.2.1, AS 65000) with `spec` added. */
export function validateTorPeer(spec: Record<string, unknown>) {
  return validateResource({
    apiVersion: 'margay.io/v1',
    kind: 'BGPPeer',
    metadata: { name: 'tor' },
    spec: { peerIP: '192.0.2.1', asNumber: 65000, ...spec },
  });
}

/** validateResource's answer for the BGPConfiguration default with `spec`. */
export function validateBgpConfig(spec: Record<string, unknown>) {
  return validateResource({
    apiVersion: 'margay.io/v1',
    kind: 'BGPConfiguration',
    metadata: { name: 'default' },
    spec,
  });
}
