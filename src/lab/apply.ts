// `margay lab apply FILE` / `margay lab delete FILE`: resources into (out of) the running lab's
// datastore file, which every agent reloads on change. Most kinds (NetworkPolicy, BGPPeer,
// IPPool, Namespace, BGPConfiguration) are only merged into the file. Two kinds also change the
// lab itself, as a real cluster would:
// - a new Node gets a node namespace on its subnet (label lab.margay.io/subnet, default 1), the
//   next free index (address, pod CIDR), an agent, and a ToR session; its address annotations,
//   podCIDRs and status.addresses are always the lab's (the namespace has those addresses);
// - a new Pod is scheduled (spec.nodeName, else the node with fewest pods), gets the next free
//   address of its node's pod CIDR (status is always the lab's), is wired and gets listeners.
// Deleting a Node stops its agent and removes it with its pods; deleting a Pod removes its
// namespace. The file is validated with the agents' parser before it is written.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { parseResourceFile } from '../datastore/file/parse.ts';
import { MargayError } from '../errors.ts';
import { isResourceKind } from '../model/resource.ts';
import {
  addNode,
  addPod,
  reconfigureTor,
  startAgent,
  startListener,
  stopPod,
  type TorNode,
} from './build.ts';
import {
  describeRaw,
  mergeObjects,
  nodeObject,
  objectKey,
  podObject,
  type RawObject,
  removeObjects,
  renderDatastore,
} from './cluster.ts';
import { type NodeView, waitConverged } from './converge.ts';
import { deleteNamespace, namespacePids } from './netns.ts';
import { type LabState, type NodeRecord, type PodRecord, stopRecorded, writeState } from './state.ts';
import {
  type LabPort,
  MAX_NODES,
  MAX_PODS_PER_NODE,
  nodeAddresses,
  nodeNsShort,
  nodePodCIDRs,
  type PlannedNode,
  type PlannedPod,
  podAddresses,
  podNsShort,
  RR_LABEL,
  SUBNET_LABEL,
} from './topology.ts';
import { reopenLab, requireLab, writeDatastore } from './up.ts';

/** The objects of a YAML stream (a `kind: List` contributes its items). Syntax errors throw. */
export function rawObjects(text: string, source: string): RawObject[] {
  const out: RawObject[] = [];
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [];
  list.forEach((doc, i) => {
    if (doc.errors.length > 0)
      throw new MargayError(
        'MARGAY_ERR_CONFIG',
        `${source}: document ${i + 1}: ${doc.errors[0]?.message.split('\n')[0]}`,
      );
    const v = doc.toJS() as unknown;
    if (v === null || v === undefined) return;
    const items =
      (v as { kind?: unknown }).kind === 'List' ? ((v as { items?: unknown[] }).items ?? []) : [v];
    items.forEach((item, j) => {
      const o = item as Partial<RawObject> | null;
      const where = `${source}: document ${i + 1}${items.length > 1 || item !== v ? ` items[${j}]` : ''}`;
      if (o === null || typeof o !== 'object' || !isResourceKind(o.kind))
        throw new MargayError('MARGAY_ERR_CONFIG', `${where}: kind: must be a resource kind Margay reads`);
      if (typeof o.metadata?.name !== 'string' || o.metadata.name === '')
        throw new MargayError('MARGAY_ERR_CONFIG', `${where}: metadata.name: required`);
      out.push(o as RawObject);
    });
  });
  return out;
}

export interface ApplyResult {
  readonly created: readonly string[];
  readonly replaced: readonly string[];
  readonly nodesAdded: readonly string[];
  readonly podsAdded: readonly string[];
  readonly views?: readonly NodeView[];
}

interface ApplyOptions {
  /** Wait for convergence when nodes or pods were added (default true). */
  readonly wait?: boolean;
  readonly timeoutMs?: number;
}

type Meta = {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
};

function metaOf(o: RawObject): Meta {
  return o.metadata as unknown as Meta;
}

function podPorts(o: RawObject): LabPort[] {
  const spec = (
    o as {
      spec?: { containers?: { ports?: { containerPort: number; protocol?: string; name?: string }[] }[] };
    }
  ).spec;
  return (spec?.containers ?? []).flatMap((c) =>
    (c.ports ?? []).map((p) => ({
      port: p.containerPort,
      protocol: (p.protocol ?? 'TCP') as LabPort['protocol'],
      ...(p.name !== undefined ? { name: p.name } : {}),
    })),
  );
}

function samePorts(a: readonly LabPort[], b: readonly LabPort[]): boolean {
  const key = (ps: readonly LabPort[]) =>
    ps
      .map((p) => `${p.port}/${p.protocol}/${p.name ?? ''}`)
      .sort()
      .join(',');
  return key(a) === key(b);
}

function torNode(n: NodeRecord | PlannedNode): TorNode {
  return {
    index: n.index,
    subnet: n.subnet,
    ipv4: n.ipv4,
    ...(n.ipv6 !== undefined ? { ipv6: n.ipv6 } : {}),
  };
}

function planNode(state: LabState, o: RawObject, index: number): PlannedNode {
  const meta = metaOf(o);
  const subnetLabel = meta.labels?.[SUBNET_LABEL];
  const subnet: 1 | 2 = subnetLabel === '2' ? 2 : 1;
  if (subnetLabel !== undefined && subnetLabel !== '1' && subnetLabel !== '2')
    throw new MargayError(
      'MARGAY_ERR_CONFIG',
      `Node ${meta.name}: metadata.labels["${SUBNET_LABEL}"]: must be "1" or "2"`,
    );
  if (subnet === 2 && state.subnets === 1)
    throw new MargayError(
      'MARGAY_ERR_CONFIG',
      `Node ${meta.name}: metadata.labels["${SUBNET_LABEL}"]: the lab has one subnet`,
    );
  const addr = nodeAddresses(index, subnet);
  const cidrs = nodePodCIDRs(index);
  return {
    name: meta.name,
    index,
    subnet,
    nsShort: nodeNsShort(meta.name),
    labels: { ...(meta.labels ?? {}), 'kubernetes.io/hostname': meta.name, [SUBNET_LABEL]: String(subnet) },
    ipv4: addr.ipv4,
    ...(state.ipv6 ? { ipv6: addr.ipv6, podCIDRv6: cidrs.v6 } : {}),
    podCIDRv4: cidrs.v4,
    isRouteReflector:
      meta.annotations?.['margay.io/route-reflector-cluster-id'] !== undefined ||
      meta.labels?.[RR_LABEL] === 'true',
  };
}

/** The Node object as the lab writes it: the user's labels/annotations, the lab's addresses. */
function labNodeObject(o: RawObject, n: NodeRecord | PlannedNode): RawObject {
  const meta = metaOf(o);
  const base = nodeObject({ ...n, labels: { ...(meta.labels ?? {}), ...n.labels } });
  const baseMeta = base.metadata as unknown as Meta;
  return {
    ...base,
    metadata: { ...baseMeta, annotations: { ...(meta.annotations ?? {}), ...(baseMeta.annotations ?? {}) } },
  };
}

function freePodSlot(
  state: LabState,
  node: { name: string; index: number },
  taken: Set<string>,
): { ipv4: string; ipv6: string } {
  for (let k = 0; k < MAX_PODS_PER_NODE; k++) {
    const a = podAddresses(node.index, k);
    if (!taken.has(a.ipv4) && !state.pods.some((p) => p.ipv4 === a.ipv4)) {
      taken.add(a.ipv4);
      return a;
    }
  }
  throw new MargayError('MARGAY_ERR_CONFIG', `node ${node.name} has no free pod address left`);
}

export async function labApply(
  stateDir: string,
  text: string,
  source: string,
  o: ApplyOptions = {},
): Promise<ApplyResult> {
  const state = requireLab(stateDir);
  parseResourceFile(text, source); // every problem, named, before anything changes
  const incoming = rawObjects(text, source);
  const current = rawObjects(readFileSync(state.datastorePath, 'utf8'), state.datastorePath);
  const currentKeys = new Set(current.map(objectKey));
  const lab = reopenLab(state);
  const nodesAdded: PlannedNode[] = [];
  const podsAdded: PlannedPod[] = [];
  const restartListeners: PodRecord[] = [];
  try {
    // Nodes first: new pods may be scheduled onto them.
    let nextIndex = Math.max(0, ...state.nodes.map((n) => n.index)) + 1;
    const objects: RawObject[] = [];
    for (const obj of incoming) {
      if (obj.kind !== 'Node') continue;
      const existing = state.nodes.find((n) => n.name === obj.metadata.name);
      if (existing !== undefined) {
        objects.push(labNodeObject(obj, existing));
        continue;
      }
      if (nextIndex > Math.min(MAX_NODES, 255))
        throw new MargayError(
          'MARGAY_ERR_CONFIG',
          `${describeRaw(obj)}: the lab is full (${MAX_NODES} nodes)`,
        );
      const plan = planNode(state, obj, nextIndex++);
      nodesAdded.push(plan);
      objects.push(labNodeObject(obj, plan));
    }
    const nodeInfo = [...state.nodes, ...nodesAdded];
    const taken = new Set<string>();
    const podCount = (name: string) =>
      state.pods.filter((p) => p.node === name).length + podsAdded.filter((p) => p.node === name).length;
    for (const obj of incoming) {
      if (obj.kind === 'Node') continue;
      if (obj.kind !== 'Pod') {
        objects.push(obj);
        continue;
      }
      const meta = metaOf(obj);
      const namespace = meta.namespace ?? 'default';
      const existing = state.pods.find((p) => p.namespace === namespace && p.name === meta.name);
      const spec = (obj as { spec?: { nodeName?: string } }).spec ?? {};
      const ports = podPorts(obj);
      const labels = meta.labels ?? {};
      if (existing !== undefined) {
        if (spec.nodeName !== undefined && spec.nodeName !== existing.node)
          throw new MargayError(
            'MARGAY_ERR_CONFIG',
            `${describeRaw(obj)}: spec.nodeName: a pod cannot move (${existing.node}); delete and re-apply it`,
          );
        const updated: PodRecord = { ...existing, labels, ports };
        state.pods[state.pods.indexOf(existing)] = updated;
        if (!samePorts(existing.ports, ports)) restartListeners.push(updated);
        objects.push(podObject({ ...updated, node: existing.node }));
        continue;
      }
      const nodeName =
        spec.nodeName ?? [...nodeInfo].sort((a, b) => podCount(a.name) - podCount(b.name))[0]?.name;
      const node = nodeInfo.find((n) => n.name === nodeName);
      if (node === undefined)
        throw new MargayError(
          'MARGAY_ERR_CONFIG',
          `${describeRaw(obj)}: spec.nodeName: "${String(nodeName)}" is not a lab node (${nodeInfo.map((n) => n.name).join(', ')})`,
        );
      const addr = freePodSlot(state, node, taken);
      const plan: PlannedPod = {
        namespace,
        name: meta.name,
        node: node.name,
        nsShort: podNsShort(namespace, meta.name),
        labels,
        ports,
        ipv4: addr.ipv4,
        ...(state.ipv6 ? { ipv6: addr.ipv6 } : {}),
      };
      podsAdded.push(plan);
      objects.push(podObject(plan));
    }
    // A pod in a namespace nobody declared gets its Namespace, as kubectl users expect it to exist.
    for (const p of podsAdded) {
      const key = `Namespace/${p.namespace}`;
      if (!currentKeys.has(key) && !objects.some((x) => objectKey(x) === key))
        objects.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: p.namespace, labels: {} } });
    }
    // Build what the datastore will describe, then publish it.
    for (const n of nodesAdded) await addNode(lab, state, n);
    for (const p of podsAdded) await addPod(lab, state, p);
    writeState(stateDir, state);
    const isNew = (x: PodRecord) => podsAdded.some((a) => a.namespace === x.namespace && a.name === x.name);
    await Promise.all(state.pods.filter(isNew).map((p) => startListener(lab, p)));
    for (const p of restartListeners) {
      await stopPod(p);
      await startListener(lab, p);
    }
    const merged = mergeObjects(current, objects);
    writeDatastore(state.datastorePath, renderDatastore(merged.objects));
    for (const n of state.nodes.filter((x) => nodesAdded.some((a) => a.name === x.name))) startAgent(lab, n);
    writeState(stateDir, state);
    if (state.router !== undefined) await reconfigureTor(state, state.router, nodesAdded.map(torNode), []);
    let views: NodeView[] | undefined;
    if ((o.wait ?? true) && (nodesAdded.length > 0 || podsAdded.length > 0))
      views = await waitConverged(state, { timeoutMs: o.timeoutMs ?? 60_000 });
    return {
      created: merged.created,
      replaced: merged.replaced,
      nodesAdded: nodesAdded.map((n) => n.name),
      podsAdded: podsAdded.map((p) => `${p.namespace}/${p.name}`),
      ...(views ? { views } : {}),
    };
  } finally {
    writeState(stateDir, state);
    lab.detach();
  }
}

export interface DeleteResult {
  readonly removed: readonly string[];
  readonly missing: readonly string[];
  readonly nodesRemoved: readonly string[];
  readonly podsRemoved: readonly string[];
}

async function removeNamespace(state: LabState, ns: string): Promise<void> {
  for (const pid of await namespacePids(ns)) {
    try {
      process.kill(pid, 'SIGKILL'); // only lab processes live in lab namespaces
    } catch {
      // exited meanwhile
    }
  }
  await deleteNamespace(ns);
  state.namespaces = state.namespaces.filter((n) => n !== ns);
}

export async function labDelete(stateDir: string, text: string, source: string): Promise<DeleteResult> {
  const state = requireLab(stateDir);
  const remove = rawObjects(text, source);
  const current = rawObjects(readFileSync(state.datastorePath, 'utf8'), state.datastorePath);
  const nodes = state.nodes.filter((n) =>
    remove.some((o) => o.kind === 'Node' && o.metadata.name === n.name),
  );
  // A deleted node takes its pods with it.
  const pods = state.pods.filter(
    (p) =>
      nodes.some((n) => n.name === p.node) ||
      remove.some(
        (o) =>
          o.kind === 'Pod' &&
          o.metadata.name === p.name &&
          (o.metadata.namespace ?? 'default') === p.namespace,
      ),
  );
  const podObjects = pods.map((p) => podObject(p));
  const result = removeObjects(current, [...remove, ...podObjects]);
  writeDatastore(state.datastorePath, renderDatastore(result.objects));
  for (const n of nodes) if (n.agent) await stopRecorded(n.agent);
  if (state.router !== undefined) await reconfigureTor(state, state.router, [], nodes.map(torNode));
  for (const p of pods) {
    await stopPod(p);
    await removeNamespace(state, p.ns);
  }
  for (const n of nodes) await removeNamespace(state, n.ns);
  state.pods = state.pods.filter((p) => !pods.includes(p));
  state.nodes = state.nodes.filter((n) => !nodes.includes(n));
  writeState(stateDir, state);
  const extra = new Set(podObjects.map(objectKey));
  return {
    removed: result.removed,
    missing: result.missing.filter((k) => !extra.has(k)),
    nodesRemoved: nodes.map((n) => n.name),
    podsRemoved: pods.map((p) => `${p.namespace}/${p.name}`),
  };
}
