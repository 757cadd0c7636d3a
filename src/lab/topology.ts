// `margay lab` topology: the YAML file a user writes (or the defaults `--nodes N --tor KIND
// --route-reflectors N` stand for), validated with zod so every error names its field, and
// `planLab`, the pure function that turns it into addresses, pod CIDRs, pod IPs and namespace names.
//
// Addressing (documentation ranges only, so nothing in a lab can reach or shadow a real network):
//   underlay subnet 1   192.0.2.0/24      2001:db8:0:1::/64   router/ToR .1 / ::1
//   underlay subnet 2   198.51.100.0/24   2001:db8:0:2::/64   (only with `subnets: 2`)
//   node i (1-based)    .(10+i) on its subnet, e.g. 192.0.2.11, 2001:db8:0:1::11
//   node i pod CIDR     10.244.i.0/24     2001:db8:244:i::/64
//   pod k on node i     10.244.i.(10+k)   2001:db8:244:i::(10+k)   (k from 0, hex in IPv6)
// Pools must lie inside 10.244.0.0/16 or 2001:db8::/32 so nothing in a lab overlaps a real network.
import { z } from 'zod';
import { formatIssues } from '../config/fields.ts';
import { MargayError } from '../errors.ts';
import { cidr, cidrContains, labelKey, namespaceName, objectName } from '../model/fields.ts';
import { portName } from '../model/kube.ts';

export const TOR_KINDS = ['bird', 'frr', 'gobgp', 'none'] as const;
export type TorKind = (typeof TOR_KINDS)[number];

export const MAX_NODES = 200;
export const MAX_PODS_PER_NODE = 200;
export const DEFAULT_AS_NUMBER = 64512;
export const DEFAULT_TOR_AS_NUMBER = 65000;
/** Route reflector cluster ID given to the first `routeReflectors` nodes. */
export const RR_CLUSTER_ID = '244.0.0.1';
/** Label on every lab node naming its underlay subnet ("1" or "2"); ToR BGPPeers select on it. */
export const SUBNET_LABEL = 'lab.margay.io/subnet';
/** Label on route-reflector nodes (Calico's convention); the RR BGPPeer's peerSelector uses it. */
export const RR_LABEL = 'route-reflector';

const labels = z.record(labelKey, z.string().max(63, 'label values must be at most 63 characters'));

const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
const port = z.number().int('must be an integer').min(1, 'must be 1..65535').max(65535, 'must be 1..65535');

const containerPort = z.union([
  port,
  z.strictObject({
    port,
    name: portName.optional(),
    protocol: z.enum(PROTOCOLS, { error: 'must be TCP, UDP or SCTP' }).optional(),
  }),
]);

const nodeSpec = z.strictObject({
  name: objectName,
  subnet: z.union([z.literal(1), z.literal(2)], { error: 'must be 1 or 2' }).optional(),
  labels: labels.default({}),
});

const podSpec = z.strictObject({
  namespace: namespaceName.default('default'),
  name: objectName,
  node: objectName,
  labels: labels.default({}),
  ports: z.array(containerPort).default([]),
});

const ENCAP = ['Always', 'CrossSubnet', 'Never'] as const;
const poolSpec = z.strictObject({
  name: objectName,
  cidr,
  vxlanMode: z.enum(ENCAP, { error: 'must be Always, CrossSubnet or Never' }).default('Never'),
  natOutgoing: z.boolean().default(false),
});

export const topologySchema = z
  .strictObject({
    /** AS number of every node (BGPConfiguration default). */
    asNumber: z.number().int().min(1).max(4294967295).default(DEFAULT_AS_NUMBER),
    /** 1: all nodes on 192.0.2.0/24; 2: a router namespace joins 192.0.2.0/24 and 198.51.100.0/24. */
    subnets: z.union([z.literal(1), z.literal(2)], { error: 'must be 1 or 2' }).default(1),
    /** Dual stack: IPv6 underlay, pod CIDRs and pod addresses besides IPv4. */
    ipv6: z.boolean().default(true),
    /** Top-of-rack router on the underlay (in the router namespace), eBGP to every node. */
    tor: z.enum(TOR_KINDS, { error: `must be one of ${TOR_KINDS.join(', ')}` }).default('none'),
    torAsNumber: z.number().int().min(1).max(4294967295).default(DEFAULT_TOR_AS_NUMBER),
    /** The first N nodes are route reflectors (mesh off); 0 = full iBGP mesh. */
    routeReflectors: z.number().int('must be an integer').min(0, 'must be at least 0').default(0),
    /** A node count (named node-1 … node-N) or the node list. */
    nodes: z.union([
      z
        .number()
        .int('must be an integer')
        .min(1, 'must be at least 1')
        .max(MAX_NODES, `must be at most ${MAX_NODES}`),
      z.array(nodeSpec).min(1, 'must name at least one node').max(MAX_NODES, `must be at most ${MAX_NODES}`),
    ]),
    ipPools: z.array(poolSpec).optional(),
    namespaces: z.array(z.strictObject({ name: namespaceName, labels: labels.default({}) })).default([]),
    pods: z.array(podSpec).default([]),
  })
  .superRefine((t, ctx) => {
    const nodes = typeof t.nodes === 'number' ? defaultNodeNames(t.nodes).map((name) => ({ name })) : t.nodes;
    const nodeNames = new Map<string, number>();
    nodes.forEach((n, i) => {
      const prev = nodeNames.get(n.name);
      if (prev !== undefined)
        ctx.addIssue({ code: 'custom', path: ['nodes', i, 'name'], message: `duplicates nodes[${prev}]` });
      nodeNames.set(n.name, i);
    });
    if (t.subnets === 1 && typeof t.nodes !== 'number')
      t.nodes.forEach((n, i) => {
        if (n.subnet === 2)
          ctx.addIssue({ code: 'custom', path: ['nodes', i, 'subnet'], message: 'is 2 but subnets is 1' });
      });
    if (t.routeReflectors > nodes.length)
      ctx.addIssue({
        code: 'custom',
        path: ['routeReflectors'],
        message: `must be at most the number of nodes (${nodes.length})`,
      });
    const nsNames = new Map<string, number>();
    t.namespaces.forEach((n, i) => {
      const prev = nsNames.get(n.name);
      if (prev !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['namespaces', i, 'name'],
          message: `duplicates namespaces[${prev}]`,
        });
      nsNames.set(n.name, i);
    });
    const podKeys = new Map<string, number>();
    const perNode = new Map<string, number>();
    t.pods.forEach((p, i) => {
      const key = `${p.namespace}/${p.name}`;
      const prev = podKeys.get(key);
      if (prev !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['pods', i, 'name'],
          message: `duplicates pods[${prev}] (${key})`,
        });
      podKeys.set(key, i);
      if (!nodeNames.has(p.node))
        ctx.addIssue({
          code: 'custom',
          path: ['pods', i, 'node'],
          message: `"${p.node}" is not a node of this topology (${[...nodeNames.keys()].join(', ')})`,
        });
      const count = (perNode.get(p.node) ?? 0) + 1;
      perNode.set(p.node, count);
      if (count === MAX_PODS_PER_NODE + 1)
        ctx.addIssue({
          code: 'custom',
          path: ['pods', i, 'node'],
          message: `more than ${MAX_PODS_PER_NODE} pods on node ${p.node}`,
        });
      const seen = new Set<string>();
      p.ports.forEach((port, j) => {
        const norm = normalizePort(port);
        const id = `${norm.port}/${norm.protocol}`;
        if (seen.has(id))
          ctx.addIssue({ code: 'custom', path: ['pods', i, 'ports', j], message: `duplicates port ${id}` });
        seen.add(id);
      });
    });
    t.ipPools?.forEach((pool, i) => {
      if (!['10.244.0.0/16', '2001:db8::/32'].some((outer) => cidrContains(outer, pool.cidr)))
        ctx.addIssue({
          code: 'custom',
          path: ['ipPools', i, 'cidr'],
          message: `"${pool.cidr}" must be a CIDR inside 10.244.0.0/16 or 2001:db8::/32 (lab address plan)`,
        });
    });
  });

export type TopologyInput = z.input<typeof topologySchema>;
export type Topology = z.output<typeof topologySchema>;

export interface LabPort {
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly name?: string;
}

function normalizePort(p: z.output<typeof containerPort>): LabPort {
  if (typeof p === 'number') return { port: p, protocol: 'TCP' };
  return { port: p.port, protocol: p.protocol ?? 'TCP', ...(p.name !== undefined ? { name: p.name } : {}) };
}

export function defaultNodeNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `node-${i + 1}`);
}

/** Parse a topology document; errors name the field ("pods[2].node: …"), exit code 2. */
export function parseTopology(doc: unknown, source = 'topology'): Topology {
  const result = topologySchema.safeParse(doc ?? {});
  if (!result.success)
    throw new MargayError('MARGAY_ERR_CONFIG', `${source}: ${formatIssues(result.error).join('; ')}`);
  return result.data;
}

export interface DefaultTopologyOptions {
  readonly nodes?: number;
  readonly tor?: TorKind;
  readonly routeReflectors?: number;
}

/**
 * What `margay lab up` builds without a file: N nodes, and 3 pods spread over them in two
 * namespaces (`frontend` web-0, web-1 on 8080/TCP "http"; `backend` db-0 on 5432/TCP and 53/UDP),
 * labelled so NetworkPolicies have something to select.
 */
export function defaultTopology(o: DefaultTopologyOptions = {}): Topology {
  const n = o.nodes ?? 3;
  const names = defaultNodeNames(Math.max(1, Math.min(n, MAX_NODES)));
  const on = (i: number): string => names[i % names.length] as string;
  return parseTopology(
    {
      nodes: n,
      tor: o.tor ?? 'none',
      routeReflectors: o.routeReflectors ?? 0,
      namespaces: [
        { name: 'frontend', labels: { tier: 'frontend' } },
        { name: 'backend', labels: { tier: 'backend' } },
      ],
      pods: [
        {
          namespace: 'frontend',
          name: 'web-0',
          node: on(0),
          labels: { app: 'web' },
          ports: [{ port: 8080, name: 'http' }],
        },
        {
          namespace: 'frontend',
          name: 'web-1',
          node: on(1),
          labels: { app: 'web' },
          ports: [{ port: 8080, name: 'http' }],
        },
        {
          namespace: 'backend',
          name: 'db-0',
          node: on(2),
          labels: { app: 'db' },
          ports: [
            { port: 5432, name: 'postgres' },
            { port: 53, name: 'dns', protocol: 'UDP' },
          ],
        },
      ],
    },
    'default topology',
  );
}

// ---------------------------------------------------------------------------------------------
// The plan: every name and address, computed once (pure).

export interface PlannedNode {
  readonly name: string;
  /** 1-based; determines addresses and pod CIDR. */
  readonly index: number;
  readonly subnet: 1 | 2;
  /** Namespace short name (without the lab prefix). */
  readonly nsShort: string;
  readonly labels: Readonly<Record<string, string>>;
  /** With prefix length: 192.0.2.11/24. */
  readonly ipv4: string;
  readonly ipv6?: string;
  readonly podCIDRv4: string;
  readonly podCIDRv6?: string;
  readonly isRouteReflector: boolean;
}

export interface PlannedPod {
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  readonly nsShort: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ports: readonly LabPort[];
  readonly ipv4: string;
  readonly ipv6?: string;
}

export interface PlannedRouter {
  /** Namespace short name. */
  readonly nsShort: string;
  /** Per subnet (index 0 = subnet 1): interface, IPv4 and IPv6 with prefix length. */
  readonly interfaces: readonly { ifname: string; subnet: 1 | 2; ipv4: string; ipv6?: string }[];
}

export interface LabPlan {
  readonly topology: Topology;
  readonly nodes: readonly PlannedNode[];
  readonly pods: readonly PlannedPod[];
  readonly namespaces: readonly { name: string; labels: Readonly<Record<string, string>> }[];
  /** Present when there is a ToR or two subnets. */
  readonly router?: PlannedRouter;
  readonly pools: readonly { name: string; cidr: string; vxlanMode: string; natOutgoing: boolean }[];
}

const SUBNETS = {
  1: { v4: '192.0.2', v6: '2001:db8:0:1' },
  2: { v4: '198.51.100', v6: '2001:db8:0:2' },
} as const;

export function nodeAddresses(index: number, subnet: 1 | 2): { ipv4: string; ipv6: string } {
  const s = SUBNETS[subnet];
  return { ipv4: `${s.v4}.${10 + index}/24`, ipv6: `${s.v6}::${10 + index}/64` };
}

export function routerAddresses(subnet: 1 | 2): { ipv4: string; ipv6: string } {
  const s = SUBNETS[subnet];
  return { ipv4: `${s.v4}.1/24`, ipv6: `${s.v6}::1/64` };
}

export function nodePodCIDRs(index: number): { v4: string; v6: string } {
  return { v4: `10.244.${index}.0/24`, v6: `2001:db8:244:${index}::/64` };
}

/** Host k (0-based) of node `index`'s pod CIDR. */
export function podAddresses(index: number, k: number): { ipv4: string; ipv6: string } {
  return { ipv4: `10.244.${index}.${10 + k}`, ipv6: `2001:db8:244:${index}::${(10 + k).toString(16)}` };
}

export function nodeNsShort(name: string): string {
  return `node-${name}`;
}

/** Namespace names cannot contain "." and pod names can, so `ns.name` is unambiguous. */
export function podNsShort(namespace: string, name: string): string {
  return `pod-${namespace}.${name}`;
}

export function planLab(t: Topology): LabPlan {
  const specs =
    typeof t.nodes === 'number'
      ? defaultNodeNames(t.nodes).map((name) => ({ name, subnet: undefined, labels: {} }))
      : t.nodes;
  // Unassigned nodes with two subnets: first half on subnet 1, the rest on subnet 2.
  const half = Math.ceil(specs.length / 2);
  const nodes: PlannedNode[] = specs.map((s, i) => {
    const index = i + 1;
    const subnet: 1 | 2 = s.subnet ?? (t.subnets === 2 && i >= half ? 2 : 1);
    const addr = nodeAddresses(index, subnet);
    const cidrs = nodePodCIDRs(index);
    const isRouteReflector = i < t.routeReflectors;
    return {
      name: s.name,
      index,
      subnet,
      nsShort: nodeNsShort(s.name),
      labels: {
        ...s.labels,
        'kubernetes.io/hostname': s.name,
        [SUBNET_LABEL]: String(subnet),
        ...(isRouteReflector ? { [RR_LABEL]: 'true' } : {}),
      },
      ipv4: addr.ipv4,
      ...(t.ipv6 ? { ipv6: addr.ipv6 } : {}),
      podCIDRv4: cidrs.v4,
      ...(t.ipv6 ? { podCIDRv6: cidrs.v6 } : {}),
      isRouteReflector,
    };
  });
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const used = new Map<string, number>();
  const pods: PlannedPod[] = t.pods.map((p) => {
    const node = byName.get(p.node) as PlannedNode;
    const k = used.get(node.name) ?? 0;
    used.set(node.name, k + 1);
    const addr = podAddresses(node.index, k);
    return {
      namespace: p.namespace,
      name: p.name,
      node: p.node,
      nsShort: podNsShort(p.namespace, p.name),
      labels: p.labels,
      ports: p.ports.map(normalizePort),
      ipv4: addr.ipv4,
      ...(t.ipv6 ? { ipv6: addr.ipv6 } : {}),
    };
  });
  const namespaces = [...t.namespaces];
  for (const p of pods)
    if (!namespaces.some((n) => n.name === p.namespace)) namespaces.push({ name: p.namespace, labels: {} });
  const needsRouter = t.tor !== 'none' || t.subnets === 2;
  const subnetList: (1 | 2)[] = t.subnets === 2 ? [1, 2] : [1];
  const router: PlannedRouter | undefined = needsRouter
    ? {
        nsShort: t.tor !== 'none' ? 'tor' : 'router',
        interfaces: subnetList.map((s, i) => {
          const a = routerAddresses(s);
          return { ifname: `eth${i}`, subnet: s, ipv4: a.ipv4, ...(t.ipv6 ? { ipv6: a.ipv6 } : {}) };
        }),
      }
    : undefined;
  const defaultMode = t.subnets === 2 ? 'CrossSubnet' : 'Never';
  const pools = t.ipPools ?? [
    { name: 'default-ipv4', cidr: '10.244.0.0/16', vxlanMode: defaultMode, natOutgoing: false },
    ...(t.ipv6
      ? [{ name: 'default-ipv6', cidr: '2001:db8:244::/48', vxlanMode: defaultMode, natOutgoing: false }]
      : []),
  ];
  return { topology: t, nodes, pods, namespaces, ...(router ? { router } : {}), pools };
}

/** Strip the prefix length: "192.0.2.11/24" → "192.0.2.11". */
export function bare(address: string): string {
  const i = address.indexOf('/');
  return i < 0 ? address : address.slice(0, i);
}
