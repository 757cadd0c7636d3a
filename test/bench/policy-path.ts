// `npm run bench -- policy-path`: what one cluster change costs a node, from the datastore write to
// the last byte in the kernel, through the agent's own code. The bench runs the real Agent
// (src/daemon/agent.ts) in this process with the real FileDatastore and the real felix Dataplane
// programming a network namespace the bench creates: the wiring datastore → calculate() →
// Dataplane.setDesired → ipset/iptables-restore is the agent's, nothing of it is re-implemented
// here. The Agent's `runner` option wraps the Dataplane's command runner to record every iptables,
// ipset and sysctl command (argv, input size, start and end); routes keep their own `ip -batch`
// processes.
//
// The cluster (per size NODES/PODS/POLICIES, default 100/3000/100 and 1000/30000/1000): nodes
// node-0 … with a /24 pod CIDR each in one IPPool (no tunnel, NAT outgoing), pods spread evenly
// over the nodes (this node, node-0, gets PODS/NODES of them, each with its host veth created in the
// namespace as the CNI plugin would), PODS/150 namespaces labelled env/team, 50 apps, and the
// policies of dataplane-policy.ts (pod, namespace and ipBlock peers, numbered and named ports,
// egress on every fourth). BGP is off and the node-to-node mesh disabled: the speaker makes no
// connection, so the bench never touches the host's network; remote routes are BGP's business
// and not part of a policy change. The periodic resync is set to an hour so it cannot fall into a
// measured change.
//
// Changes, `--changes` of each kind (default 10), one at a time, each waited for:
//   label        a pod on another node gets another `app` label (the common case: most pods are
//                elsewhere; ipset members move between sets)
//   label-local  a pod on this node does (its endpoint chains change too)
//   policy       a NetworkPolicy is added
//   pod          a pod is added on another node
//   pod-local    a pod is added on this node (its veth exists first, as the CNI plugin makes it
//                before the pod has an address in the API)
// A change is written as the file datastore expects a save: the whole file to a temporary name in
// the same directory, then renamed over the datastore file.
//
// Per change: latency from the start of the write to the agent being idle again (its reconcile
// loop has run calculate() and the Dataplane pass has ended, so every byte is applied), and where
// it went:
//   write           the save itself;
//   load            until the datastore emits the change: the file's directory event (`watch`, as
//                   a watcher of the bench's own sees it), the datastore's debounce and its wait for
//                   the file to be stable, its reads, parse, snapshot and diff;
//   to first cmd    calculate(), Dataplane.setDesired, the writers' diffs;
//   commands        first recorded ipset/iptables command start to last end;
//   rest            the workload links and routes (their `ip`/`sysctl` processes are not recorded)
//                   and the agent's own bookkeeping.
// Bytes written: ipset and iptables input, route lines, from the Dataplane's own counters. The raw
// tools' time is the wall time of the very ipset/iptables-restore invocations the writers made for
// that change (same input, same kernel state): what restoring that delta costs by itself; the ratio
// latency / raw is what the agent adds around it. Two estimates, run in this process outside the
// timed path, say where the load and the calculation go: `parseMs` does the datastore's work on the
// new text once more (parse with YAML and validation, snapshot, diff against the previous
// snapshot), `calculateMs` runs calculate() once more on the new snapshot. Each change is checked
// against the kernel (the ipset members and chains the calculation's diff names are there, the
// removed members are gone), so a change that silently wrote nothing cannot look fast.
//
// Output: one JSON line per size on stdout, a table on stderr; the load average at the start of
// each size is in the JSON (the machine may be shared).
//
// Flags: --sizes 100/3000/100,1000/30000/1000  --changes 10  --kinds label,label-local,policy,pod,pod-local
import { watch } from 'node:fs';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import type { DataplaneStatus } from '../../felix/dataplane/dataplane.ts';
import { type Command, type CommandRunner, run } from '../../felix/dataplane/exec.ts';
import { iptablesCommands } from '../../felix/dataplane/iptables/backend.ts';
import { workloadIfaceName } from '../../felix/model/endpoints.ts';
import type { NetworkPolicy as PolicyModel } from '../../felix/model/policy.ts';
import { agentStatusSource } from '../../src/api/agent-status.ts';
import { calculate, chooseAddress } from '../../src/calc/index.ts';
import type { CalculatedState, NodeIdentity } from '../../src/calc/types.ts';
import { parseAgentConfig } from '../../src/config/agent.ts';
import { Agent } from '../../src/daemon/agent.ts';
import { FileDatastore } from '../../src/datastore/file/file-datastore.ts';
import { parseResourceFile } from '../../src/datastore/file/parse.ts';
import {
  type ClusterNode,
  type ClusterPod,
  nodeObject,
  podObject,
  type RawObject,
} from '../../src/lab/cluster.ts';
import { setLogLevel } from '../../src/log.ts';
import { diffSnapshots, snapshotOf } from '../../src/model/snapshot.ts';
import { syntheticPeerApp, syntheticPolicySpec } from './dataplane-policy.ts';
import { RUN_PREFIX } from './lib/netns.ts';
import { Teardown } from './lib/teardown.ts';

export const CHANGE_KINDS = ['label', 'label-local', 'policy', 'pod', 'pod-local'] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

export interface ClusterSize {
  readonly nodes: number;
  readonly pods: number;
  readonly policies: number;
}

const APPS = 50;

const SELF = 'node-0';
const round1 = (x: number) => Math.round(x * 10) / 10;

export function parseSizes(text: string): ClusterSize[] {
  return text.split(',').map((part) => {
    const [nodes, pods, policies] = part.split('/').map(Number);
    const ok = (v: number | undefined) => v !== undefined && Number.isInteger(v) && v >= 1;
    if (!ok(nodes) || !ok(pods) || !ok(policies) || nodes! < 2) {
      throw new Error(`--sizes: "${part}" is not NODES/PODS/POLICIES (integers, at least 2 nodes)`);
    }
    if (Math.ceil(pods! / nodes!) > 200)
      throw new Error(`--sizes: "${part}" puts more than 200 pods on a node`);
    return { nodes: nodes!, pods: pods!, policies: policies! };
  });
}

/** The synthetic cluster as datastore objects, and how to name more of them. */
export class SyntheticCluster {
  readonly size: ClusterSize;
  readonly namespaces: number;
  readonly perNode: number;
  readonly #added = new Map<number, number>();

  constructor(size: ClusterSize) {
    this.size = size;
    this.namespaces = Math.max(10, Math.round(size.pods / 150));
    this.perNode = Math.ceil(size.pods / size.nodes);
  }

  node(i: number): ClusterNode {
    return {
      name: `node-${i}`,
      index: i,
      subnet: 1,
      labels: { 'kubernetes.io/hostname': `node-${i}` },
      ipv4: `172.16.${Math.floor(i / 250)}.${(i % 250) + 1}/16`,
      podCIDRv4: `10.${1 + (i >> 8)}.${i & 255}.0/24`,
      isRouteReflector: false,
    };
  }

  /** The k-th address of node i's pod CIDR (k from 0; .0 and .1 are left out). */
  podIp(node: number, k: number): string {
    return `10.${1 + (node >> 8)}.${node & 255}.${k + 2}`;
  }

  /** Pod j of the initial cluster: pods 0…perNode-1 on node-0, the next perNode on node-1, … */
  pod(j: number, app = j % APPS): ClusterPod {
    const node = Math.floor(j / this.perNode);
    return this.#pod(`pod-${j}`, j, node, this.podIp(node, j % this.perNode), app);
  }

  /** A new pod on `node`, with the next free address of its pod CIDR. */
  addedPod(serial: number, node: number): ClusterPod {
    const k = this.perNode + (this.#added.get(node) ?? 0);
    if (k > 250) throw new Error(`node-${node} has no free pod address left`);
    this.#added.set(node, k - this.perNode + 1);
    const j = this.size.pods + serial;
    return this.#pod(`added-${serial}`, j, node, this.podIp(node, k), j % APPS);
  }

  #pod(name: string, j: number, node: number, ip: string, app: number): ClusterPod {
    return {
      namespace: `ns-${j % this.namespaces}`,
      name,
      node: `node-${node}`,
      labels: { app: `app-${app}`, tier: ['front', 'mid', 'back'][j % 3]! },
      ports: [
        { name: 'http', port: 8000 + (j % 7), protocol: 'TCP' },
        { name: 'dns', port: 53, protocol: 'UDP' },
      ],
      ipv4: `${ip}`,
    };
  }

  /**
   * An `app` for pod j other than its own that a policy of its namespace allows traffic from, so
   * that relabelling the pod moves it into a peer set (the k-th such app, cycling).
   */
  peerAppFor(j: number, k: number): number {
    const own = j % APPS;
    const apps: number[] = [];
    for (let q = j % this.namespaces; q < this.size.policies; q += this.namespaces) {
      const peer = syntheticPeerApp(q, APPS);
      if (peer !== own && !apps.includes(peer)) apps.push(peer);
    }
    return apps.length > 0 ? apps[k % apps.length]! : (own + 1) % APPS;
  }

  policy(q: number, name = `policy-${q}`): RawObject {
    const p: PolicyModel = {
      namespace: `ns-${q % this.namespaces}`,
      name,
      spec: syntheticPolicySpec(q, APPS),
    };
    return {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { namespace: p.namespace, name: p.name },
      spec: { ...p.spec },
    };
  }

  objects(): RawObject[] {
    const out: RawObject[] = [];
    for (let i = 0; i < this.namespaces; i++) {
      out.push({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: `ns-${i}`, labels: { env: i % 2 === 0 ? 'prod' : 'dev', team: `t${i % 5}` } },
      });
    }
    for (let i = 0; i < this.size.nodes; i++) out.push(nodeObject(this.node(i)));
    out.push({
      apiVersion: 'margay.io/v1',
      kind: 'BGPConfiguration',
      metadata: { name: 'default' },
      spec: { asNumber: 64512, nodeToNodeMeshEnabled: false },
    });
    out.push({
      apiVersion: 'margay.io/v1',
      kind: 'IPPool',
      metadata: { name: 'pods' },
      spec: { cidr: '10.0.0.0/8', vxlanMode: 'Never', natOutgoing: true },
    });
    for (let j = 0; j < this.size.pods; j++) out.push(podObject(this.pod(j)));
    for (let q = 0; q < this.size.policies; q++) out.push(this.policy(q));
    return out;
  }
}

/** The datastore file, kept as one YAML document per object so a change renders one object. */
class DatastoreFile {
  readonly path: string;
  readonly #docs: string[] = [];
  readonly #index = new Map<string, number>();

  constructor(path: string, objects: readonly RawObject[]) {
    this.path = path;
    for (const o of objects) this.put(o);
  }

  static key(o: RawObject): string {
    return `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  }

  put(o: RawObject): void {
    const doc = `---\n${stringify(o, { lineWidth: 0 })}`;
    const at = this.#index.get(DatastoreFile.key(o));
    if (at !== undefined) this.#docs[at] = doc;
    else {
      this.#index.set(DatastoreFile.key(o), this.#docs.length);
      this.#docs.push(doc);
    }
  }

  text(): string {
    return `# policy-path benchmark cluster\n${this.#docs.join('')}`;
  }

  /** A save: the whole file under a temporary name in the same directory, renamed over the file. */
  async save(text: string): Promise<void> {
    const tmp = `${this.path}.tmp`;
    await writeFile(tmp, text);
    await rename(tmp, this.path);
  }
}

interface CommandRecord {
  readonly argv: readonly string[];
  readonly inputBytes: number;
  readonly start: number;
  readonly end: number;
  /** The command changes the kernel (restore input or `sysctl -w`), rather than reading it. */
  readonly write: boolean;
}

function recordingRunner(records: CommandRecord[]): CommandRunner {
  return async (c: Command) => {
    const start = performance.now();
    try {
      return await run(c);
    } finally {
      records.push({
        argv: c.argv,
        inputBytes: c.input === undefined ? 0 : Buffer.byteLength(c.input),
        start,
        end: performance.now(),
        write: c.input !== undefined || (c.argv[0] === 'sysctl' && c.argv.includes('-w')),
      });
    }
  };
}

export interface ChangeFigures {
  readonly kind: ChangeKind;
  readonly what: string;
  /** Write start → agent idle, ms. */
  readonly latencyMs: number;
  readonly writeMs: number;
  readonly loadMs: number;
  /** Of the load: the write's end until a watcher of the bench's own sees the file's directory event. */
  readonly watchMs: number;
  readonly toFirstCommandMs: number;
  readonly commandsMs: number;
  readonly restMs: number;
  /** Estimates, outside the timed path: parsing the new file, calculate() on the new snapshot. */
  readonly parseMs: number;
  readonly calculateMs: number;
  /** Wall time of the write commands the Dataplane ran for this change. */
  readonly rawToolMs: number;
  readonly ipsetBytes: number;
  readonly iptablesBytes: number;
  readonly routeLines: number;
  readonly commands: number;
  readonly writeCommands: readonly string[];
}

export interface KindSummary {
  readonly kind: ChangeKind;
  readonly changes: number;
  readonly latencyMs: {
    readonly median: number;
    readonly p99: number;
    readonly min: number;
    readonly max: number;
  };
  /** Medians over the changes. */
  readonly breakdownMs: {
    readonly write: number;
    readonly load: number;
    readonly watch: number;
    readonly toFirstCommand: number;
    readonly commands: number;
    readonly rest: number;
    readonly parse: number;
    readonly calculate: number;
  };
  readonly rawToolMs: number;
  /** Median over the changes of latency / raw tool time (null when a change wrote through no tool). */
  readonly latencyVsRawTool: number | null;
  readonly bytes: { readonly ipset: number; readonly iptables: number; readonly routeLines: number };
  readonly commands: number;
  /** The write commands of the first change, e.g. "ipset restore -exist (1234 B)". */
  readonly exampleWrites: readonly string[];
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Nearest-rank percentile: with fewer than 100 samples p99 is the largest. */
function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

export function summariseKind(kind: ChangeKind, figures: readonly ChangeFigures[]): KindSummary {
  const m = (f: (c: ChangeFigures) => number) => round1(median(figures.map(f)));
  const latencies = figures.map((c) => c.latencyMs);
  const ratios = figures.filter((c) => c.rawToolMs > 0).map((c) => c.latencyMs / c.rawToolMs);
  return {
    kind,
    changes: figures.length,
    latencyMs: {
      median: round1(median(latencies)),
      p99: round1(percentile(latencies, 99)),
      min: round1(Math.min(...latencies)),
      max: round1(Math.max(...latencies)),
    },
    breakdownMs: {
      write: m((c) => c.writeMs),
      load: m((c) => c.loadMs),
      watch: m((c) => c.watchMs),
      toFirstCommand: m((c) => c.toFirstCommandMs),
      commands: m((c) => c.commandsMs),
      rest: m((c) => c.restMs),
      parse: m((c) => c.parseMs),
      calculate: m((c) => c.calculateMs),
    },
    rawToolMs: m((c) => c.rawToolMs),
    latencyVsRawTool: ratios.length > 0 ? Math.round(median(ratios) * 10) / 10 : null,
    bytes: {
      ipset: m((c) => c.ipsetBytes),
      iptables: m((c) => c.iptablesBytes),
      routeLines: m((c) => c.routeLines),
    },
    commands: m((c) => c.commands),
    exampleWrites: figures[0]?.writeCommands ?? [],
  };
}

/** ipset members ("set ip") and iptables chains ("family chain") of a calculated state. */
function dataplaneKeys(state: CalculatedState): {
  members: Set<string>;
  sets: Set<string>;
  chains: Set<string>;
} {
  const members = new Set<string>();
  const sets = new Set<string>();
  for (const s of state.dataplane.ipsets) {
    sets.add(s.name);
    for (const m of s.members) members.add(`${s.name} ${m}`);
  }
  const chains = new Set<string>();
  for (const src of state.dataplane.iptables) {
    for (const family of ['inet', 'inet6'] as const) {
      for (const t of src[family]) for (const c of t.chains) chains.add(`${family} ${t.table} ${c.name}`);
    }
  }
  return { members, sets, chains };
}

const minus = <T>(a: Set<T>, b: Set<T>): T[] => [...a].filter((x) => !b.has(x));

/**
 * The kernel holds what the calculation's diff between `before` and `after` says: up to three
 * added ipset members are there, up to three removed ones (of sets that stay) are not, up to three
 * new chains exist. Throws when the diff is empty (the change would measure nothing).
 */
async function verifyKernel(
  ns: string,
  backend: 'nft' | 'legacy',
  before: CalculatedState,
  after: CalculatedState,
  what: string,
): Promise<void> {
  const a = dataplaneKeys(before);
  const b = dataplaneKeys(after);
  const added = minus(b.members, a.members);
  const removed = minus(a.members, b.members).filter((k) => b.sets.has(k.split(' ')[0]!));
  const chains = minus(b.chains, a.chains);
  if (added.length + removed.length + chains.length === 0 && minus(a.chains, b.chains).length === 0) {
    throw new Error(`${what}: the calculated dataplane did not change; the change measures nothing`);
  }
  const ipsetTest = async (key: string) => {
    const [set, member] = key.split(' ') as [string, string];
    return (await run({ argv: ['ipset', 'test', set, member], netns: ns, allowFailure: true })).code === 0;
  };
  for (const k of added.slice(0, 3)) if (!(await ipsetTest(k))) throw new Error(`${what}: ipset lacks ${k}`);
  for (const k of removed.slice(0, 3))
    if (await ipsetTest(k)) throw new Error(`${what}: ipset still has ${k}`);
  if (chains.length > 0) {
    const saved = new Map<string, string>();
    for (const key of chains.slice(0, 3)) {
      const [family, table, chain] = key.split(' ') as ['inet' | 'inet6', string, string];
      const save = iptablesCommands(backend, family).save;
      let text = saved.get(`${family} ${table}`);
      if (text === undefined) {
        text = (await run({ argv: [save, '-t', table], netns: ns })).stdout;
        saved.set(`${family} ${table}`, text);
      }
      if (!text.includes(`:${chain} `)) throw new Error(`${what}: ${save} -t ${table} has no chain ${chain}`);
    }
  }
}

interface Pending {
  changedAt: number | undefined;
  /** When the bench's own watcher saw the datastore file's directory event. */
  watchedAt: number | undefined;
  resolve: (idleAt: number) => void;
}

export interface PolicyPathResult {
  readonly bench: 'policy-path';
  readonly nodes: number;
  readonly pods: number;
  readonly policies: number;
  readonly namespaces: number;
  readonly localPods: number;
  readonly fileBytes: number;
  readonly initial: {
    readonly seconds: number;
    readonly ipsetBytes: number;
    readonly iptablesBytes: number;
    readonly routeLines: number;
    readonly chains: number;
    readonly rules: number;
    readonly ipsets: number;
    readonly ipsetMembers: number;
  };
  readonly kinds: readonly KindSummary[];
  readonly changes: readonly ChangeFigures[];
  readonly host: { readonly loadavg1: number };
}

export async function runPolicyPath(
  size: ClusterSize,
  opts: { changes: number; kinds: readonly ChangeKind[]; timeoutMs: number },
): Promise<PolicyPathResult> {
  const load = loadavg()[0]!;
  const teardown = new Teardown();
  let failure: unknown;
  let result: PolicyPathResult | undefined;
  try {
    const ns = `${RUN_PREFIX}policy-path`;
    await run({ argv: ['ip', 'netns', 'add', ns] });
    teardown.add(`netns ${ns}`, async () => {
      await run({ argv: ['ip', 'netns', 'del', ns] });
    });
    await run({ argv: ['ip', '-n', ns, 'link', 'set', 'lo', 'up'] });
    const dir = await mkdtemp(join(tmpdir(), `${RUN_PREFIX}policy-path-`));
    teardown.add(`directory ${dir}`, () => rm(dir, { recursive: true, force: true }));

    const cluster = new SyntheticCluster(size);
    const file = new DatastoreFile(join(dir, 'cluster.yaml'), cluster.objects());
    const text = file.text();
    await file.save(text);

    // The host side of every local pod's veth, as the CNI plugin leaves it.
    let vethSerial = 0;
    const makeVeths = async (pods: readonly ClusterPod[]) => {
      const lines = pods.flatMap((p) => {
        const host = workloadIfaceName(p.namespace, p.name);
        const peer = `mgbp${vethSerial++}`;
        return [`link add ${host} type veth peer name ${peer}`, `link set ${host} up`, `link set ${peer} up`];
      });
      if (lines.length > 0)
        await run({ argv: ['ip', '-n', ns, '-batch', '-'], input: `${lines.join('\n')}\n` });
    };
    const localPods = Array.from({ length: Math.min(cluster.perNode, size.pods) }, (_, j) => cluster.pod(j));
    await makeVeths(localPods);

    setLogLevel('warn');
    const records: CommandRecord[] = [];
    const config = parseAgentConfig({
      nodeName: SELF,
      datastore: { type: 'file', path: file.path },
      bgp: { enabled: false },
      ipv4Autodetection: 'kubernetes-internal-ip',
      dataplane: { resyncIntervalSeconds: 3600 },
      logLevel: 'warn',
    });
    const datastore = new FileDatastore({ path: file.path });
    const agent = new Agent({ config, datastore, netns: ns, runner: recordingRunner(records) });
    const status = agentStatusSource(agent.view(), () => []);
    const dataplane = () => {
      // The status API carries the Dataplane's own status() as it is (src/api/agent-status.ts).
      const s = status.status().dataplane as DataplaneStatus | null;
      if (s === null) throw new Error('the agent has no dataplane');
      return s;
    };
    teardown.add('agent', () => agent.stop());

    // Registered before the agent's own listener, which runs calculate() at once: the stamp is the
    // moment the datastore has the new snapshot. The agent's reconcile loop exists once every
    // listener has run, so the wait for it to be idle starts a microtask later.
    let pending: Pending | undefined;
    datastore.on('changed', () => {
      const p = pending;
      if (p === undefined || p.changedAt !== undefined) return;
      p.changedAt = performance.now();
      queueMicrotask(() => void agent.idle().then(() => p.resolve(performance.now())));
    });

    // The same directory watch the datastore has (its file's name, or a rename's null name).
    const watcher = watch(dir, (_event, filename) => {
      if (
        pending !== undefined &&
        pending.watchedAt === undefined &&
        (filename === null || filename === basename(file.path))
      )
        pending.watchedAt = performance.now();
    });
    teardown.add('directory watch', () => watcher.close());

    const t0 = performance.now();
    await agent.start();
    await agent.idle();
    const initialSeconds = (performance.now() - t0) / 1000;
    const first = dataplane();
    if (!first.ready || first.lastError !== undefined || first.endpointsNotWired.length > 0) {
      throw new Error(`initial program not ready: ${JSON.stringify({ ...first, counts: undefined })}`);
    }

    const nodeObj = datastore.snapshot().nodes.get(SELF);
    const picked = chooseAddress('kubernetes-internal-ip', { family: 4, interfaces: [], node: nodeObj });
    const identity: NodeIdentity = { name: SELF, ...(picked.ok ? { ipv4: picked.cidr } : {}), mtu: 1500 };
    let state = calculate(datastore.snapshot(), identity);

    const figures: ChangeFigures[] = [];
    let serial = 0;
    for (const kind of opts.kinds) {
      for (let c = 0; c < opts.changes; c++) {
        const k = serial++;
        // What changes, prepared outside the timed path.
        let what: string;
        if (kind === 'label' || kind === 'label-local') {
          // A pod of another node (spread over the cluster), or one of this node's.
          const j =
            kind === 'label'
              ? cluster.perNode + ((k * 7919) % (size.pods - cluster.perNode))
              : k % Math.min(cluster.perNode, size.pods);
          const pod = cluster.pod(j, cluster.peerAppFor(j, k));
          file.put(podObject(pod));
          what = `${pod.namespace}/${pod.name} app=${pod.labels.app}`;
        } else if (kind === 'policy') {
          const policy = cluster.policy(size.policies + k, `added-policy-${k}`);
          file.put(policy);
          what = `NetworkPolicy ${policy.metadata.namespace}/${policy.metadata.name}`;
        } else {
          const node = kind === 'pod' ? 1 + ((k * 37) % (size.nodes - 1)) : 0;
          const pod = cluster.addedPod(k, node);
          if (kind === 'pod-local') await makeVeths([pod]);
          file.put(podObject(pod));
          what = `${pod.namespace}/${pod.name} on ${pod.node}`;
        }
        const nextText = file.text();
        const previous = datastore.snapshot();
        const mark = records.length;
        const io0 = dataplane().io;
        const idle = new Promise<number>((resolve) => {
          pending = { changedAt: undefined, watchedAt: undefined, resolve };
        });
        const start = performance.now();
        await file.save(nextText);
        const written = performance.now();
        let timer: NodeJS.Timeout | undefined;
        const idleAt = await Promise.race([
          idle,
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`${kind} change ${what}: not applied within ${opts.timeoutMs} ms`)),
              opts.timeoutMs,
            );
          }),
        ]);
        clearTimeout(timer);
        const changedAt = pending!.changedAt!;
        const watchedAt = pending!.watchedAt;
        pending = undefined;

        const dp = dataplane();
        if (dp.consecutiveFailures > 0 || dp.pending || dp.applying || dp.endpointsNotWired.length > 0) {
          throw new Error(
            `${kind} change ${what}: dataplane not in sync: ${JSON.stringify(dp.lastError ?? dp)}`,
          );
        }
        const cmds = records.slice(mark);
        const writes = cmds.filter((r) => r.write);
        const firstStart = cmds.length > 0 ? Math.min(...cmds.map((r) => r.start)) : idleAt;
        const lastEnd = cmds.length > 0 ? Math.max(...cmds.map((r) => r.end)) : idleAt;
        let t = performance.now();
        diffSnapshots(previous, snapshotOf(parseResourceFile(nextText, file.path)));
        const parseMs = performance.now() - t;
        t = performance.now();
        const next = calculate(datastore.snapshot(), identity);
        const calculateMs = performance.now() - t;
        await verifyKernel(ns, dp.backend ?? 'nft', state, next, `${kind} change ${what}`);
        state = next;
        figures.push({
          kind,
          what,
          latencyMs: round1(idleAt - start),
          writeMs: round1(written - start),
          loadMs: round1(changedAt - written),
          watchMs: round1((watchedAt ?? changedAt) - written),
          toFirstCommandMs: round1(firstStart - changedAt),
          commandsMs: round1(lastEnd - firstStart),
          restMs: round1(idleAt - lastEnd),
          parseMs: round1(parseMs),
          calculateMs: round1(calculateMs),
          rawToolMs: round1(writes.reduce((s, r) => s + (r.end - r.start), 0)),
          ipsetBytes: dp.io.ipsetBytesWritten - io0.ipsetBytesWritten,
          iptablesBytes: dp.io.iptablesBytesWritten - io0.iptablesBytesWritten,
          routeLines: dp.io.routeLinesWritten - io0.routeLinesWritten,
          commands: dp.io.commands - io0.commands,
          writeCommands: writes.map((r) => `${r.argv.join(' ')} (${r.inputBytes} B)`),
        });
        process.stderr.write(
          `policy-path ${size.nodes}/${size.pods}/${size.policies}: ${kind} ${c + 1}/${opts.changes} ${round1(idleAt - start)} ms\n`,
        );
      }
    }

    const counts = first.counts;
    result = {
      bench: 'policy-path',
      ...size,
      namespaces: cluster.namespaces,
      localPods: localPods.length,
      fileBytes: Buffer.byteLength(text),
      initial: {
        seconds: Math.round(initialSeconds * 1000) / 1000,
        ipsetBytes: first.io.ipsetBytesWritten,
        iptablesBytes: first.io.iptablesBytesWritten,
        routeLines: first.io.routeLinesWritten,
        chains: counts.chains,
        rules: counts.rules,
        ipsets: counts.ipsets,
        ipsetMembers: counts.ipsetMembers,
      },
      kinds: opts.kinds.map((kind) =>
        summariseKind(
          kind,
          figures.filter((f) => f.kind === kind),
        ),
      ),
      changes: figures,
      host: { loadavg1: Math.round(load * 100) / 100 },
    };
  } catch (err) {
    failure = err;
  }
  await teardown.finish(failure);
  return result!;
}

function table(r: PolicyPathResult): string {
  const head = [
    'change',
    'n',
    'median ms',
    'p99 ms',
    'load',
    'watch',
    'parse',
    'to 1st cmd',
    'calc',
    'cmds',
    'rest',
    'raw tool',
    'x raw',
    'ipset B',
    'iptables B',
  ];
  const rows = [head];
  for (const k of r.kinds) {
    rows.push([
      k.kind,
      String(k.changes),
      String(k.latencyMs.median),
      String(k.latencyMs.p99),
      String(k.breakdownMs.load),
      String(k.breakdownMs.watch),
      String(k.breakdownMs.parse),
      String(k.breakdownMs.toFirstCommand),
      String(k.breakdownMs.calculate),
      String(k.breakdownMs.commands),
      String(k.breakdownMs.rest),
      String(k.rawToolMs),
      k.latencyVsRawTool === null ? '-' : String(k.latencyVsRawTool),
      String(k.bytes.ipset),
      String(k.bytes.iptables),
    ]);
  }
  const widths = head.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const lines = rows.map((row) =>
    row
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join('  ')
      .trimEnd(),
  );
  const i = r.initial;
  return (
    `policy-path ${r.nodes} nodes / ${r.pods} pods / ${r.policies} policies (${r.localPods} local pods, ` +
    `${(r.fileBytes / 2 ** 20).toFixed(1)} MiB datastore file)\n` +
    `initial program: ${i.seconds} s, ${i.chains} chains, ${i.rules} rules, ${i.ipsets} ipsets, ` +
    `${i.ipsetMembers} members, ${i.iptablesBytes + i.ipsetBytes} bytes\n${lines.join('\n')}\n`
  );
}

export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      sizes: { type: 'string', default: '100/3000/100,1000/30000/1000' },
      changes: { type: 'string', default: '10' },
      kinds: { type: 'string', default: CHANGE_KINDS.join(',') },
      'timeout-s': { type: 'string', default: '600' },
    },
  });
  if (process.getuid?.() !== 0) throw new Error('policy-path needs root (network namespaces)');
  const sizes = parseSizes(values.sizes);
  const changes = Number(values.changes);
  if (!Number.isInteger(changes) || changes < 1) throw new Error('--changes must be a positive integer');
  const kinds = values.kinds.split(',').map((s) => s.trim()) as ChangeKind[];
  for (const k of kinds) {
    if (!CHANGE_KINDS.includes(k)) throw new Error(`--kinds: unknown "${k}" (${CHANGE_KINDS.join(', ')})`);
  }
  const timeoutMs = Number(values['timeout-s']) * 1000;
  for (const size of sizes) {
    const r = await runPolicyPath(size, { changes, kinds, timeoutMs });
    process.stdout.write(`${JSON.stringify(r)}\n`);
    process.stderr.write(table(r));
  }
  return 0;
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
