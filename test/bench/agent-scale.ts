// `npm run bench -- agent-scale`: one `margay agent` process, run as the product runs it, on a
// cluster of NODES nodes, PODS pods and POLICIES NetworkPolicies, with a BGP peer announcing the
// other nodes' pod CIDRs. What starting costs, what each kind of change costs until the kernel has
// it, and how long the agent's event loop stalls meanwhile. The same scenario runs on this
// checkout (`--code DIR`, default this one) and on an older commit (`--baseline REF`, a worktree
// made for the run), each through the file datastore and through the Kubernetes datastore.
//
// Setting, per run (fresh every time): a node namespace and a peer namespace, joined by a veth
// (node side 172.16.0.1/16, node-0's address; peer side 172.16.255.254/16), so the other nodes'
// addresses (172.16.x.y) are on the link and a route via any of them is accepted by the kernel.
// The cluster is policy-path's (SyntheticCluster: nodes with a /24 pod CIDR each, pods spread
// evenly, namespaces labelled env/team, the policies of dataplane-policy.ts with pod, namespace
// and ipBlock peers and named ports), plus a BGPPeer for the peer namespace's address (node-to-node
// mesh off). This node (node-0) has PODS/NODES pods; the host side of each one's veth exists, as
// the CNI plugin leaves it. The agent is `DIR/node_modules/.bin/node DIR/dist/src/main.js agent
// --config FILE` (the build, as `margay` runs installed and in the image; `--from src` runs
// DIR/src/main.ts) inside the node namespace (`ip netns exec`), with BGP on, the node address from
// the Node object, the periodic resync set to an hour (so it cannot fall into a measured change)
// and everything else at its default. The datastore is the file (written whole to a temporary
// name and renamed over it, as a save is) or the fake API server (test/fakes/kube-apiserver-main.ts)
// on the node namespace's loopback, loaded with the same objects and changed through its REST API.
// The peer (agent-scale-peer.ts) announces the other NODES-1 pod CIDRs, each via its node's address.
//
// Observed from outside only, the same way for every version: the agent's REST API through a
// client in the node namespace (agent-scale-client.ts) — `/v1/status` (`dataplane`: applies,
// applying, pending, lastSuccessAt, io counters) and `/metrics` —, /proc/PID of the agent (VmRSS,
// VmHWM; utime+stime, and cutime+cstime for the processes it ran and waited for), and the kernel.
//
// Start: from spawning the agent to the end of the first dataplane pass after which the kernel
// has every remote route and every local pod's route, the dataplane is idle and in sync, the
// session is Established and /v1/status says ready.
//
// Changes, `--events` of each kind (`--baseline-events` for the baseline), one at a time:
//   a  a pod added on this node (its veth first, as the CNI plugin makes it), labelled so that a
//      policy rendered here selects it;                        checked: its /32 route via its veth
//   b  a pod added on another node, in a rendered policy's namespace with the labels the policy
//      allows traffic from;                                    checked: its address in an ipset
//   c  a pod of another node relabelled so that a rendered policy starts allowing it;
//                                                              checked: its ipsets changed
//   d  one route of the peer moved to another node's address as next hop (an UPDATE);
//                                                              checked: `ip route` has the new via
//   e  a NetworkPolicy added that selects a pod of this node;  checked: iptables-save -t filter
//                                                              has rules of that policy
// ("rendered" means selecting a pod of this node: a policy that selects none has no business on
// this node.) Latency: from the start of the write (the file's write, the API request's send, the
// UPDATE's send, each stamped with the wall clock) to the end of the dataplane pass after which
// the kernel has the change: `lastSuccessAt` of the agent's /v1/status, its own wall-clock stamp
// at the end of a pass. The bench polls the status every `--poll-ms`; each time the dataplane has
// finished a pass since the change and is idle, it checks the kernel (above), and once the kernel
// has the change and the status read again shows no further pass, that pass's end is the
// change's end. The poll's own cost (response time, agent CPU, bytes) is measured once per run and
// reported beside the figures. A change that did not reach the kernel within `--timeout-s` fails
// the run. Per change also: the agent's CPU (own and children's), the bytes the dataplane wrote
// (`io`: iptables-restore and ipset input, route lines for `ip`; 307eba5 counts route lines, not
// bytes), and the agent's RSS after it.
//
// Churn, `--churn N` changes after the kinds (none by default): N/2 pairs of a change and the
// change that undoes it, the pairs rotating over the kinds (`--kinds`), so that after each pair
// the cluster is as it was and an RSS that grows over the phase is memory the agent keeps:
//   a  a pod added on this node (its veth first) / deleted (its veth first, as the CNI plugin's
//      DEL removes it, so the kernel drops the route; a pod deleted with its veth still there
//      keeps its route for the workload grace period);         checked: its /32 route via its
//                                                              veth there / gone and no rule
//                                                              names the veth
//   b  a pod added on another node, with the labels a rendered policy allows / deleted;
//                                                              checked: its address in an ipset /
//                                                              in none
//   c  a pod of another node relabelled so that a rendered policy allows it / its labels restored;
//                                                              checked: its address in an ipset it
//                                                              was not in / not in those any more
//   d  one route of the peer moved to another node's address / moved back (UPDATEs);
//                                                              checked: `ip route` has the via
//   e  a NetworkPolicy added that selects a pod of this node / deleted;
//                                                              checked: iptables-save -t filter
//                                                              has / no longer has its rules
// The objects have names of their own (churn-local-K, churn-remote-K, churn-policy-K); a deleted
// pod's address goes to the next pod added on its node, as IPAM hands it out again. Every change
// is written and timed as a kind's change (a delete is the file saved without the object, or the
// API server's REST DELETE; a restore a merge patch that sets the old labels and removes the
// added ones), with the same timeout; after a veth's removal the bench waits for the dataplane to
// be idle before the delete. Reported per run: changes done, latency p50/p99/max of the adds
// (the first of each pair) and of the undos (the second), CPU per change (own and children's),
// RSS before the first change, after the last, the largest after any, and its slope per 100
// changes over the phase (RSS is read after every change), and the /healthz spread over the phase.
//
// Event-loop delay, throughout: the client GETs /healthz (the cheapest endpoint) every 50 ms, one
// request at a time; a response time of N ms means the agent's loop did not get to it for about
// that long. Reported p50/p99/max per phase (start, each kind) and over the run; besides, the
// agent's own margay_event_loop_delay_seconds from /metrics (over the process's life) at the end.
// Memory: RSS at the end of the start, once idle after it (settled: <1% CPU and RSS steady for
// 0.5 s), once idle after all changes (the churn phase's too), the peak (VmHWM), and the slope of
// RSS over the kinds' changes.
//
// A note on the file datastore: a file renamed into place is used as soon as the directory's
// events show the move (src/datastore/file/file-datastore.ts), so a save here waits for no settle
// time; its latency includes writing the whole file, which is the writer's cost of a save, and
// that part (from the start of the write to the end of the rename) is reported beside it.
//
// Output: one JSON line per run on stdout, the tables on stderr at the end of each size.
// Flags: --sizes 100/3000/100,1000/30000/1000  --events 100  --kinds a,b,c,d,e
//        --datastores file,k8s  --code DIR  --baseline REF|none (default 307eba5)
//        --baseline-events N (default --events)  --versions new,baseline  --poll-ms 25  --gap-ms 100
//        --timeout-s 300  --churn N (default 0; even; the baseline churns as much)
//        --cpu-prof DIR (the agent writes V8 CPU profiles there as it exits, one per thread, named
//        as Node names them: CPU.<date>.<time>.<pid>.<thread>.<n>.cpuprofile)
//        --from dist|src (default dist: the agent runs the build, dist/src/main.js, as `margay` does
//        when installed and in the image; this checkout's dist/ must be fresh (`npm run build`),
//        and the baseline's worktree is compiled with tsc first; src runs the .ts sources)
//        --memory-limit 512Mi (the agent runs in a memory cgroup with that limit, as in a pod with
//        resources.limits.memory, and sets its heap from it; reported: the heap limit, the cgroup's
//        peak and OOM kills)
//        --trace-gc DIR (the agent runs with V8's --trace-gc and its log is kept in DIR, one file
//        per run; reported: the main thread's major collections after the start, how many and
//        what each cost the event loop, its pause plus its incremental marking steps)
//        --node-options=--max-semi-space-size=8 (Node options for the agent only, before its
//        script, space-separated in one argument; with "=", as the value starts with dashes; a
//        heap flag given here wins over the agent's own rule, src/heap.ts)
// Everything a run creates (namespaces, processes by PID, files, the worktree) is removed at its
// end, on failure and on SIGINT too.

import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { workloadIfaceName } from '../../felix/model/endpoints.ts';
import type { ClusterPod, RawObject } from '../../src/lab/cluster.ts';
import { podObject } from '../../src/lab/cluster.ts';
import { createLimitedCgroup, quantityBytes } from '../support/cgroup.ts';
import type { ClientReply, ClientRequest, ProbeSample } from './agent-scale-client.ts';
import type { PeerCommand, PeerEvent, PeerRoute } from './agent-scale-peer.ts';
import { SENDER_ASN } from './bgp/feed.ts';
import { buildCheckout, requireFreshBuild } from './lib/build.ts';
import { RUN_PREFIX } from './lib/netns.ts';
import { GiveUpError, sleep, waitFor } from './lib/poll.ts';
import { procStats, run, type Spawned, settleIdle, spawnTracked, table } from './lib/proc.ts';
import { Teardown } from './lib/teardown.ts';
import { addWorktree, type CodeVersion, describeCheckout } from './lib/worktree.ts';
import { type ClusterSize, parseSizes, SyntheticCluster } from './policy-path.ts';
import { metricValue, slope } from './soak.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PEER_PATH = fileURLToPath(new URL('./agent-scale-peer.ts', import.meta.url));
const CLIENT_PATH = fileURLToPath(new URL('./agent-scale-client.ts', import.meta.url));
const FAKE_API_SERVER_PATH = fileURLToPath(new URL('../fakes/kube-apiserver-main.ts', import.meta.url));

export const KINDS = ['a', 'b', 'c', 'd', 'e'] as const;
export type Kind = (typeof KINDS)[number];
export const KIND_NAMES: Readonly<Record<Kind, string>> = {
  a: 'local pod added',
  b: 'remote pod added',
  c: 'pod label change',
  d: 'BGP route change',
  e: 'policy added',
};
export const DATASTORES = ['file', 'k8s'] as const;
/** This checkout's code (`--code`) and the baseline commit's (`--baseline`). */
export const VERSIONS = ['new', 'baseline'] as const;
export type Version = (typeof VERSIONS)[number];
export type DatastoreKind = (typeof DATASTORES)[number];

const DEFAULT_BASELINE = '307eba5';
const SELF = 0;
const PEER_ADDRESS = '172.16.255.254';
const API = 'http://127.0.0.1:9099';
/** The fake API server's default bearer token (test/fakes/kube-apiserver.ts). */
const FAKE_TOKEN = 'margay-fake-token';
const PROBE_INTERVAL_MS = 50;
const START_TIMEOUT_MS = 1_800_000;

const round1 = (x: number): number => Math.round(x * 10) / 10;
/** Milliseconds as seconds with two decimals. */
const seconds = (ms: number): number => Math.round(ms / 10) / 100;

// ---------------------------------------------------------------------------------------------
// Pure parts (unit-tested in agent-scale.test.ts)

/** Nearest-rank percentile (p in 0..100) of a non-empty sample; with fewer than 100, p99 is the max. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) throw new Error('percentile of an empty sample');
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export interface Spread {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface MajorCollections {
  /** Major collections (Mark-Compact) of the main thread's heap after the start. */
  readonly count: number;
  /** What each cost the main thread, ms: its pause plus the incremental marking steps before it. */
  readonly mainThreadMs: Spread | null;
}

/**
 * The main thread's major collections in a --trace-gc log, from `afterMs` on (V8's clock: ms since
 * the isolate started). Each isolate prints with its own address; the main thread's is the one
 * that prints last (worker threads end first).
 */
export function majorCollections(log: string, afterMs: number): MajorCollections {
  const line =
    /^\[\d+:(0x[0-9a-f]+)\]\s+(\d+) ms: Mark-Compact .*?MB, (?:pooled: [\d.]+ MB, )?([\d.]+) \/ [\d.]+ ms(?:\s+\(\+ ([\d.]+) ms in \d+ steps)?/;
  const seen: { isolate: string; at: number; ms: number }[] = [];
  let main: string | undefined;
  for (const text of log.split('\n')) {
    const isolate = /^\[\d+:(0x[0-9a-f]+)\]/.exec(text)?.[1];
    if (isolate !== undefined) main = isolate;
    const m = line.exec(text);
    if (m) seen.push({ isolate: m[1]!, at: Number(m[2]), ms: Number(m[3]) + Number(m[4] ?? 0) });
  }
  const mine = seen.filter((c) => c.isolate === main && c.at >= afterMs);
  return { count: mine.length, mainThreadMs: spread(mine.map((c) => c.ms)) };
}

export function spread(xs: readonly number[]): Spread | null {
  if (xs.length === 0) return null;
  return {
    n: xs.length,
    p50: round1(percentile(xs, 50)),
    p99: round1(percentile(xs, 99)),
    max: round1(Math.max(...xs)),
  };
}

/** CPU clock ticks of a process from /proc/PID/stat: its own (utime, stime) and its waited-for children's. */
export interface CpuTicks {
  readonly self: number;
  readonly children: number;
}

export function parseProcStat(text: string): CpuTicks {
  // The command name (field 2) is in parentheses and may hold spaces and parentheses: the fields
  // after it start two characters after the last ')'. utime, stime, cutime, cstime are fields
  // 14 to 17 (1-based), so 11 to 14 of the rest.
  const close = text.lastIndexOf(')');
  if (close < 0) throw new Error('not a /proc/PID/stat line');
  const rest = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const f = (i: number): number => {
    const v = Number(rest[i]);
    if (!Number.isInteger(v)) throw new Error(`/proc/PID/stat field ${i + 3} is not a number: ${rest[i]}`);
    return v;
  };
  return { self: f(11) + f(12), children: f(13) + f(14) };
}

/** VmRSS and VmHWM of /proc/PID/status, in kB. */
export function parseProcStatus(text: string): { readonly rssKb: number; readonly hwmKb: number } {
  const kb = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    if (!m) throw new Error(`/proc/PID/status has no ${key}`);
    return Number(m[1]);
  };
  return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
}

/**
 * The sets of an `ipset save` text that hold `ip`, each with the member as saved: the address
 * itself, or an `ip,proto:port` member of a named-port set.
 */
export function setsHolding(save: string, ip: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of save.split('\n')) {
    if (!line.startsWith('add ')) continue;
    const [, set, member] = line.split(' ');
    if (set !== undefined && member !== undefined && (member === ip || member.startsWith(`${ip},`)))
      out.set(set, member);
  }
  return out;
}

export function parseList<T extends string>(flag: string, text: string, allowed: readonly T[]): T[] {
  const out = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const s of out) {
    if (!allowed.includes(s as T)) throw new Error(`--${flag}: unknown "${s}" (${allowed.join(', ')})`);
  }
  if (out.length === 0) throw new Error(`--${flag}: empty`);
  return out as T[];
}

// ---------------------------------------------------------------------------------------------
// The scenario: which objects change, chosen so that every change has work to do on this node.

type Labels = Readonly<Record<string, string>>;
interface PolicySpecView {
  readonly podSelector: { readonly matchLabels: Labels };
  readonly ingress: readonly {
    readonly from?: readonly { readonly podSelector?: { matchLabels?: Labels } }[];
  }[];
}

const matches = (selector: Labels, labels: Labels): boolean =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** A peer route moved to another next hop: addresses, and node indices to move it back. */
export interface RouteMove {
  readonly prefix: string;
  readonly from: string;
  readonly to: string;
  readonly route: PeerRoute;
  /** The node whose pod CIDR the route is, and the nodes it was and is now via. */
  readonly node: number;
  readonly fromNode: number;
  readonly toNode: number;
}

/** The cluster and the changes of one run. */
export class Scenario {
  readonly cluster: SyntheticCluster;
  readonly size: ClusterSize;
  /** This node's pods at the start. */
  readonly localPods: readonly ClusterPod[];
  /** Indices of the initial policies that select a pod of this node. */
  readonly renderedPolicies: readonly number[];
  readonly #nextAddress = new Map<number, number>();
  /** Addresses of deleted pods, by node, handed out again before fresh ones (as IPAM does). */
  readonly #freed = new Map<number, number[]>();
  /** Node and address index of each pod added by #newPod, by name. */
  readonly #addressOf = new Map<string, { readonly node: number; readonly k: number }>();
  /** Cluster pod indices of the pods relabelled and not restored. */
  readonly #relabelled = new Set<number>();
  /** The next hop each peer prefix has now, by node index. */
  readonly #via = new Map<number, number>();
  #nextPolicy: number;

  constructor(size: ClusterSize) {
    if (size.nodes < 3)
      throw new Error('agent-scale needs at least 3 nodes (a route moves between two others)');
    this.size = size;
    this.cluster = new SyntheticCluster(size);
    this.localPods = Array.from({ length: Math.min(this.cluster.perNode, size.pods) }, (_, j) =>
      this.cluster.pod(j),
    );
    this.renderedPolicies = Array.from({ length: size.policies }, (_, q) => q).filter((q) =>
      this.selectsLocalPod(q),
    );
    if (this.renderedPolicies.length === 0) throw new Error('no policy selects a pod of this node');
    this.#nextPolicy = size.policies;
  }

  policyObject(q: number, name?: string): RawObject {
    return this.cluster.policy(q, name);
  }

  #spec(q: number): PolicySpecView {
    return this.cluster.policy(q).spec as unknown as PolicySpecView;
  }

  #namespaceOf(q: number): string {
    return this.cluster.policy(q).metadata.namespace as string;
  }

  selectsLocalPod(q: number): boolean {
    const ns = this.#namespaceOf(q);
    const selector = this.#spec(q).podSelector.matchLabels;
    return this.localPods.some((p) => p.namespace === ns && matches(selector, p.labels));
  }

  /** The labels policy q allows ingress from (its first pod peer). */
  peerLabels(q: number): Labels {
    const peer = this.#spec(q).ingress[0]?.from?.find((f) => f.podSelector?.matchLabels !== undefined);
    if (peer?.podSelector?.matchLabels === undefined) throw new Error(`policy ${q} has no pod peer`);
    return peer.podSelector.matchLabels;
  }

  node(i: number): { readonly name: string; readonly address: string; readonly podCIDR: string } {
    const n = this.cluster.node(i);
    return { name: n.name, address: n.ipv4.split('/')[0]!, podCIDR: n.podCIDRv4 };
  }

  /** A new pod on node `node`, at a freed address of its pod CIDR or else the next unused one. */
  #newPod(name: string, node: number, namespace: string, labels: Labels): ClusterPod {
    let k = this.#freed.get(node)?.shift();
    if (k === undefined) {
      k = this.cluster.perNode + (this.#nextAddress.get(node) ?? 0);
      if (k > 250) throw new Error(`node-${node} has no free pod address left`);
      this.#nextAddress.set(node, k - this.cluster.perNode + 1);
    }
    this.#addressOf.set(name, { node, k });
    const base = this.cluster.pod(0);
    return {
      namespace,
      name,
      node: `node-${node}`,
      labels: { ...base.labels, ...labels },
      ports: base.ports,
      ipv4: this.cluster.podIp(node, k),
    };
  }

  /** (a): a pod on this node that the k-th rendered policy selects. */
  localPod(k: number, name = `added-local-${k}`): ClusterPod {
    const q = this.renderedPolicies[k % this.renderedPolicies.length]!;
    return this.#newPod(name, SELF, this.#namespaceOf(q), this.#spec(q).podSelector.matchLabels);
  }

  /** (b): a pod on another node that the k-th rendered policy allows traffic from. */
  remotePod(k: number, name = `added-remote-${k}`): ClusterPod {
    const q = this.renderedPolicies[k % this.renderedPolicies.length]!;
    const node = 1 + ((k * 37) % (this.size.nodes - 1));
    return this.#newPod(name, node, this.#namespaceOf(q), this.peerLabels(q));
  }

  /** A pod of localPod or remotePod deleted: its address is free for the next new pod. */
  podDeleted(name: string): void {
    const at = this.#addressOf.get(name);
    if (at === undefined) throw new Error(`no pod ${name} was added`);
    this.#addressOf.delete(name);
    const freed = this.#freed.get(at.node) ?? [];
    freed.push(at.k);
    this.#freed.set(at.node, freed);
  }

  /**
   * (c): a pod of another node, in the k-th rendered policy's namespace, not yet allowed by it,
   * with the labels that make it allowed; each pod once until restored.
   */
  relabel(k: number): { readonly before: ClusterPod; readonly after: ClusterPod; readonly index: number } {
    const q = this.renderedPolicies[k % this.renderedPolicies.length]!;
    const ns = this.#namespaceOf(q);
    const peer = this.peerLabels(q);
    for (let j = this.cluster.perNode; j < this.size.pods; j++) {
      if (this.#relabelled.has(j)) continue;
      const pod = this.cluster.pod(j);
      if (pod.namespace !== ns || matches(peer, pod.labels)) continue;
      this.#relabelled.add(j);
      return { before: pod, after: { ...pod, labels: { ...pod.labels, ...peer } }, index: j };
    }
    throw new Error(`no pod of namespace ${ns} is left to relabel`);
  }

  /** A pod of relabel (its `index`) back at its labels: it may be relabelled again. */
  restored(index: number): void {
    this.#relabelled.delete(index);
  }

  /** (d): the pod CIDR of another node moved to the next node's address as next hop. */
  routeMove(k: number): RouteMove {
    const others = this.size.nodes - 1;
    const i = 1 + ((k * 37) % others);
    const from = this.#via.get(i) ?? i;
    let to = 1 + (from % others);
    if (to === from) to = 1 + (to % others);
    return this.#moveRoute(i, from, to);
  }

  /** A routeMove undone: the route back at the next hop it had before. */
  routeMoveBack(move: RouteMove): RouteMove {
    if ((this.#via.get(move.node) ?? move.node) !== move.toNode)
      throw new Error(`${move.prefix} is no longer via ${move.to}`);
    return this.#moveRoute(move.node, move.toNode, move.fromNode);
  }

  #moveRoute(i: number, from: number, to: number): RouteMove {
    this.#via.set(i, to);
    const prefix = this.node(i).podCIDR;
    const hop = this.node(to).address;
    return {
      prefix,
      from: this.node(from).address,
      to: hop,
      route: { prefix, nextHop: hop },
      node: i,
      fromNode: from,
      toNode: to,
    };
  }

  /** The peer's table at the start: every other node's pod CIDR via that node. */
  peerRoutes(): PeerRoute[] {
    return Array.from({ length: this.size.nodes - 1 }, (_, i) => {
      const n = this.node(i + 1);
      return { prefix: n.podCIDR, nextHop: n.address };
    });
  }

  /** (e): a new policy (a policy index past the initial ones) that selects a pod of this node. */
  newPolicy(k: number, name = `added-policy-${k}`): RawObject {
    let q = this.#nextPolicy;
    while (!this.selectsLocalPod(q)) q++;
    this.#nextPolicy = q + 1;
    return this.policyObject(q, name);
  }

  /** Every object of the datastore at the start: the cluster and the BGPPeer for the peer. */
  objects(): RawObject[] {
    return [
      ...this.cluster.objects(),
      {
        apiVersion: 'margay.io/v1',
        kind: 'BGPPeer',
        metadata: { name: 'tor' },
        spec: { peerIP: PEER_ADDRESS, asNumber: SENDER_ASN },
      },
    ];
  }
}

// ---------------------------------------------------------------------------------------------
// Results

export interface EventFigures {
  readonly kind: Kind;
  readonly what: string;
  readonly latencyMs: number;
  /**
   * File datastore: how long the save itself took (writing the whole file, the rename), part of
   * `latencyMs`; undefined for the Kubernetes datastore and BGP changes.
   */
  readonly saveMs?: number;
  /** Agent CPU for the change, ms: its own and its waited-for children's (10 ms ticks). */
  readonly cpuMs: number;
  readonly childCpuMs: number;
  readonly routeLines: number;
  readonly iptablesBytes: number;
  readonly ipsetBytes: number;
  readonly passes: number;
  readonly rssMb: number;
}

export interface KindResult {
  readonly kind: Kind;
  readonly events: number;
  readonly latencyMs: Spread;
  /** The saves' share of the latency (file datastore), or null when no change was a save. */
  readonly saveMs?: Spread | null;
  /** Means per change. */
  readonly cpuMsPerEvent: number;
  readonly childCpuMsPerEvent: number;
  /** Median and largest per change. */
  readonly routeLines: { readonly median: number; readonly max: number };
  readonly iptablesBytes: { readonly median: number; readonly max: number };
  readonly ipsetBytes: { readonly median: number; readonly max: number };
  readonly healthzMs: Spread | null;
}

/** A change of the churn phase: the first of its pair (an add), or the second (its undo). */
export interface ChurnEventFigures extends EventFigures {
  readonly undo: boolean;
}

export interface ChurnResult {
  /** Changes done: adds and undos. */
  readonly changes: number;
  /** Latency of the first change of each pair, and of the second. */
  readonly addsMs: Spread | null;
  readonly undosMs: Spread | null;
  /** Means per change. */
  readonly cpuMsPerChange: number;
  readonly childCpuMsPerChange: number;
  /** RSS before the first change; after the last; the largest after any (or the start). */
  readonly rssStartMb: number;
  readonly rssEndMb: number;
  readonly rssPeakMb: number;
  /** Least-squares slope of RSS over the churn phase's changes, MB per 100 changes. */
  readonly rssSlopeMbPer100: number | null;
  readonly healthzMs: Spread | null;
  readonly events: readonly ChurnEventFigures[];
}

export interface RunResult {
  readonly bench: 'agent-scale';
  readonly version: Version;
  readonly commit: string;
  readonly datastore: DatastoreKind;
  readonly nodes: number;
  readonly pods: number;
  readonly policies: number;
  readonly localPods: number;
  readonly renderedPolicies: number;
  readonly fileBytes: number;
  readonly start: {
    /** Spawn → end of the pass that completed the programming. */
    readonly programmedS: number;
    /** Spawn → first answer of the REST API. */
    readonly apiS: number;
    /** Spawn → the BGP session Established (as the peer saw it). */
    readonly bgpS: number;
    readonly cpuS: number;
    readonly childCpuS: number;
    readonly rssMb: number;
    readonly iptablesBytes: number;
    readonly ipsetBytes: number;
    readonly routeLines: number;
    readonly remoteRoutes: number;
    readonly healthzMs: Spread | null;
  };
  /** With `--trace-gc`: the main thread's major collections after the start; null without. */
  readonly gc?: MajorCollections | null;
  readonly poll: {
    readonly intervalMs: number;
    readonly statusBytes: number;
    readonly responseMs: number;
    /** Agent CPU per /v1/status request, ms (the probes' share over the same time taken out). */
    readonly agentCpuMs: number;
    /** Agent CPU of the /healthz probes alone, ms per second. */
    readonly probeCpuMsPerS: number;
  };
  readonly memory: {
    readonly idleMb: number;
    readonly idleSettled: boolean;
    readonly afterMb: number;
    readonly afterSettled: boolean;
    readonly peakMb: number;
    /** Least-squares slope of RSS over the changes, MB per 100 changes. */
    readonly slopeMbPer100: number | null;
    /** The memory limit of the agent's cgroup (`--memory-limit`), MB; null without one. */
    readonly limitMb: number | null;
    /** The V8 heap limit the agent reports (margay_process_heap_limit_bytes), MB. */
    readonly heapLimitMb: number | null;
    /** Of the cgroup: peak working set seen at the end, and processes the OOM killer ended. */
    readonly cgroupPeakMb: number | null;
    readonly oomKills: number | null;
  };
  readonly eventLoop: {
    readonly healthzMs: Spread | null;
    /** Failed /healthz probes after the API first answered. */
    readonly healthzFailures: number;
    /** The agent's margay_event_loop_delay_seconds over its life, ms. */
    readonly metricMs: { readonly p50?: number; readonly p99?: number; readonly max?: number };
  };
  readonly kinds: readonly KindResult[];
  readonly events: readonly EventFigures[];
  /** The churn phase (`--churn`); null without one. */
  readonly churn: ChurnResult | null;
  readonly host: { readonly loadavg1: number };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function summariseKind(
  kind: Kind,
  events: readonly EventFigures[],
  healthzMs: Spread | null,
): KindResult {
  const mean = (f: (e: EventFigures) => number) =>
    round1(events.reduce((s, e) => s + f(e), 0) / events.length);
  const mm = (f: (e: EventFigures) => number) => ({
    median: median(events.map(f)),
    max: Math.max(...events.map(f)),
  });
  return {
    kind,
    events: events.length,
    latencyMs: spread(events.map((e) => e.latencyMs))!,
    saveMs: spread(events.flatMap((e) => (e.saveMs === undefined ? [] : [e.saveMs]))),
    cpuMsPerEvent: mean((e) => e.cpuMs),
    childCpuMsPerEvent: mean((e) => e.childCpuMs),
    routeLines: mm((e) => e.routeLines),
    iptablesBytes: mm((e) => e.iptablesBytes),
    ipsetBytes: mm((e) => e.ipsetBytes),
    healthzMs,
  };
}

export function summariseChurn(
  events: readonly ChurnEventFigures[],
  rssStartMb: number,
  healthzMs: Spread | null,
): ChurnResult {
  if (events.length === 0) throw new Error('a churn phase of no changes');
  const mean = (f: (e: EventFigures) => number) =>
    round1(events.reduce((s, e) => s + f(e), 0) / events.length);
  const rssSlope = slope(events.map((e, i) => ({ x: i, y: e.rssMb })));
  return {
    changes: events.length,
    addsMs: spread(events.filter((e) => !e.undo).map((e) => e.latencyMs)),
    undosMs: spread(events.filter((e) => e.undo).map((e) => e.latencyMs)),
    cpuMsPerChange: mean((e) => e.cpuMs),
    childCpuMsPerChange: mean((e) => e.childCpuMs),
    rssStartMb,
    rssEndMb: events[events.length - 1]!.rssMb,
    rssPeakMb: Math.max(rssStartMb, ...events.map((e) => e.rssMb)),
    rssSlopeMbPer100: Number.isNaN(rssSlope) ? null : round1(rssSlope * 100),
    healthzMs,
    events,
  };
}

const spreadText = (s: Spread | null): string => (s === null ? '-' : `${s.p50}/${s.p99}/${s.max}`);
const mmText = (m: { median: number; max: number }): string =>
  m.median === m.max ? String(m.max) : `${m.median} (max ${m.max})`;

/**
 * The tables of one size: one row per run, then one row per run and kind, then one row per run
 * with a churn phase.
 */
export function renderTables(runs: readonly RunResult[]): string {
  if (runs.length === 0) return '';
  const r0 = runs[0]!;
  const name = (r: RunResult) => `${r.datastore} ${r.version} ${r.commit}`;
  const runRows = [
    [
      'run',
      'start s',
      'start RSS MB',
      'idle MB',
      'after MB',
      'peak MB',
      'RSS MB/100 ev',
      'healthz ms p50/p99/max',
      'loop delay ms p99/max',
      'status poll',
    ],
    ...runs.map((r) => [
      name(r),
      String(r.start.programmedS),
      String(r.start.rssMb),
      `${r.memory.idleMb}${r.memory.idleSettled ? '' : '*'}`,
      `${r.memory.afterMb}${r.memory.afterSettled ? '' : '*'}`,
      String(r.memory.peakMb),
      r.memory.slopeMbPer100 === null ? '-' : String(r.memory.slopeMbPer100),
      `${spreadText(r.eventLoop.healthzMs)}${r.eventLoop.healthzFailures > 0 ? ` (${r.eventLoop.healthzFailures} failed)` : ''}`,
      `${r.eventLoop.metricMs.p99 ?? '-'}/${r.eventLoop.metricMs.max ?? '-'}`,
      `${r.poll.responseMs} ms, ${r.poll.agentCpuMs} ms CPU, ${r.poll.statusBytes} B`,
    ]),
  ];
  const kindRows = [
    [
      'change',
      'run',
      'n',
      'p50 ms',
      'p99 ms',
      'max ms',
      'save ms p50/p99',
      'CPU ms/ev (+children)',
      'ip route lines',
      'iptables B',
      'ipset B',
      'healthz ms p50/p99/max',
    ],
  ];
  for (const kind of KINDS) {
    for (const r of runs) {
      const k = r.kinds.find((x) => x.kind === kind);
      if (k === undefined) continue;
      kindRows.push([
        `${kind} ${KIND_NAMES[kind]}`,
        name(r),
        String(k.events),
        String(k.latencyMs.p50),
        String(k.latencyMs.p99),
        String(k.latencyMs.max),
        k.saveMs ? `${k.saveMs.p50}/${k.saveMs.p99}` : '-',
        `${k.cpuMsPerEvent} (+${k.childCpuMsPerEvent})`,
        mmText(k.routeLines),
        mmText(k.iptablesBytes),
        mmText(k.ipsetBytes),
        spreadText(k.healthzMs),
      ]);
    }
  }
  // Results of runs without a churn phase (null), or from before there was one (no field).
  const churned = runs.flatMap((r) => (r.churn ? [{ r, c: r.churn }] : []));
  const churnRows = [
    [
      'churn run',
      'changes',
      'adds ms p50/p99/max',
      'undos ms p50/p99/max',
      'CPU ms/change (+children)',
      'RSS MB start',
      'end',
      'peak',
      'RSS MB/100 changes',
      'healthz ms p50/p99/max',
    ],
    ...churned.map(({ r, c }) => {
      return [
        name(r),
        String(c.changes),
        spreadText(c.addsMs),
        spreadText(c.undosMs),
        `${c.cpuMsPerChange} (+${c.childCpuMsPerChange})`,
        String(c.rssStartMb),
        String(c.rssEndMb),
        String(c.rssPeakMb),
        c.rssSlopeMbPer100 === null ? '-' : String(c.rssSlopeMbPer100),
        spreadText(c.healthzMs),
      ];
    }),
  ];
  return (
    `agent-scale ${r0.nodes} nodes / ${r0.pods} pods / ${r0.policies} policies ` +
    `(${r0.localPods} local pods, ${r0.renderedPolicies} policies select one, ` +
    `${(r0.fileBytes / 2 ** 20).toFixed(1)} MiB of objects)\n` +
    table(runRows) +
    '(* not settled within 60 s)\n' +
    table(kindRows) +
    (churned.length === 0 ? '' : table(churnRows))
  );
}

// ---------------------------------------------------------------------------------------------
// The processes a run talks to

/** A helper process that answers JSON lines; requests carry an `id`, the rest are events. */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

class LineProcess<Req extends { id: number }, Reply extends object> {
  readonly proc: Spawned;
  readonly #pending = new Map<number, (r: Reply) => void>();
  readonly #listeners = new Set<(e: Reply) => void>();
  #nextId = 1;

  constructor(
    teardown: Teardown,
    what: string,
    argv: readonly string[],
    opts: { netns: string; logFile: string },
  ) {
    this.proc = spawnTracked(teardown, what, argv, {
      netns: opts.netns,
      logFile: opts.logFile,
      stdinPipe: true,
      onLine: (line) => {
        let msg: Reply;
        try {
          msg = JSON.parse(line) as Reply;
        } catch {
          return;
        }
        const id = 'id' in msg && typeof msg.id === 'number' ? msg.id : undefined;
        if (id !== undefined && this.#pending.has(id)) {
          const resolve = this.#pending.get(id)!;
          this.#pending.delete(id);
          resolve(msg);
        } else for (const l of this.#listeners) l(msg);
      },
    });
  }

  on(listener: (e: Reply) => void): void {
    this.#listeners.add(listener);
  }

  /** Waits for the first event that `pick` accepts (it may already be in `seen`). */
  waitEvent<T>(what: string, pick: (e: Reply) => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#listeners.delete(listener);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const listener = (e: Reply) => {
        const v = pick(e);
        if (v === undefined) return;
        clearTimeout(timer);
        this.#listeners.delete(listener);
        resolve(v);
      };
      this.#listeners.add(listener);
      void this.proc.exited.then(() => {
        clearTimeout(timer);
        this.#listeners.delete(listener);
        reject(new Error(`${what}: the process exited`));
      });
    });
  }

  request(req: WithoutId<Req>): Promise<Reply> {
    if (this.proc.hasExited()) return Promise.reject(new Error('helper process exited'));
    const id = this.#nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.#pending.set(id, resolve);
      void this.proc.exited.then(() => {
        if (this.#pending.delete(id)) reject(new Error('helper process exited'));
      });
      this.proc.child.stdin!.write(`${JSON.stringify({ ...req, id })}\n`);
    });
  }
}

/** What the bench reads of /v1/status: only fields commit 307eba5 already has. */
interface AgentStatus {
  readonly ready: boolean;
  readonly peers: { readonly total: number; readonly established: number };
  readonly problems: readonly string[];
  readonly dataplane: {
    readonly ready: boolean;
    readonly applying: boolean;
    readonly pending: boolean;
    readonly applies: number;
    readonly lastSuccessAt?: number;
    readonly consecutiveFailures: number;
    readonly lastError?: unknown;
    readonly backend?: 'nft' | 'legacy';
    readonly endpointsNotWired: readonly string[];
    readonly counts: { readonly routes: number; readonly routesProgrammed: number };
    readonly io: {
      readonly routeLinesWritten: number;
      readonly iptablesBytesWritten: number;
      readonly ipsetBytesWritten: number;
    };
  } | null;
}

class Client {
  readonly #lp: LineProcess<ClientRequest, ClientReply | (ProbeSample & { id?: undefined })>;
  readonly probes: ProbeSample[] = [];

  constructor(teardown: Teardown, netns: string, logFile: string) {
    this.#lp = new LineProcess(
      teardown,
      'agent-scale client',
      [
        process.execPath,
        CLIENT_PATH,
        '--probe',
        `${API}/healthz`,
        '--interval-ms',
        String(PROBE_INTERVAL_MS),
      ],
      { netns, logFile },
    );
    this.#lp.on((e) => {
      if ('event' in e && e.event === 'probe') this.probes.push(e);
    });
  }

  async request(req: Omit<ClientRequest, 'id'>): Promise<Extract<ClientReply, { ok: true }>> {
    const r = (await this.#lp.request(req)) as ClientReply;
    if (!r.ok) throw new Error(`${req.method} ${req.url}: ${r.error}`);
    return r;
  }

  async get(path: string, channel = 'status'): Promise<Extract<ClientReply, { ok: true }>> {
    const r = await this.request({ channel, method: 'GET', url: `${API}${path}`, timeoutMs: 600_000 });
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.body.slice(0, 300)}`);
    return r;
  }

  async status(): Promise<AgentStatus> {
    return JSON.parse((await this.get('/v1/status')).body) as AgentStatus;
  }
}

class Peer {
  readonly #lp: LineProcess<PeerCommand, PeerEvent>;
  /** Wall clock of the first session's Established, as the peer saw it. */
  establishedAt: number | undefined;

  constructor(teardown: Teardown, netns: string, logFile: string) {
    this.#lp = new LineProcess(
      teardown,
      'agent-scale BGP peer',
      [process.execPath, PEER_PATH, '--listen', PEER_ADDRESS],
      { netns, logFile },
    );
    this.#lp.on((e) => {
      if (e.event === 'established') this.establishedAt ??= e.at;
    });
  }

  ready(): Promise<true> {
    return this.#lp.waitEvent(
      'the BGP peer to listen',
      (e) => (e.event === 'ready' ? true : undefined),
      30_000,
    );
  }

  /** Sends the routes (at once while a session is up); resolves with the send's wall clock. */
  async set(routes: readonly PeerRoute[]): Promise<number | null> {
    const e = await this.#lp.request({ op: 'set', routes });
    if (e.event === 'error') throw new Error(`BGP peer: ${e.message}`);
    if (e.event !== 'sent') throw new Error(`BGP peer: unexpected ${JSON.stringify(e)}`);
    return e.at;
  }
}

// ---------------------------------------------------------------------------------------------
// The kernel, read from the host with `ip -n` and `ip netns exec`

async function routeLine(ns: string, prefix: string): Promise<string> {
  return (await run(['ip', '-n', ns, '-4', 'route', 'show', 'exact', prefix])).stdout.trim();
}

async function ipsetSave(ns: string): Promise<string> {
  return (await run(['ip', 'netns', 'exec', ns, 'ipset', 'save'], { timeoutMs: 60_000 })).stdout;
}

async function ipsetTest(ns: string, set: string, member: string): Promise<boolean> {
  try {
    await run(['ip', 'netns', 'exec', ns, 'ipset', 'test', set, member]);
    return true;
  } catch {
    return false;
  }
}

async function filterTable(ns: string, backend: 'nft' | 'legacy'): Promise<string> {
  const save = backend === 'nft' ? 'iptables-nft-save' : 'iptables-legacy-save';
  return (await run(['ip', 'netns', 'exec', ns, save, '-t', 'filter'], { timeoutMs: 60_000 })).stdout;
}

/** Routes of protocol 109 through a gateway (the remote pod CIDRs) and on a device only (pods). */
async function protoRoutes(ns: string): Promise<{ via: number; dev: number }> {
  const lines = (await run(['ip', '-n', ns, '-4', 'route', 'show', 'proto', '109'])).stdout
    .split('\n')
    .filter((l) => l.trim() !== '');
  const via = lines.filter((l) => l.includes(' via ')).length;
  const dev = lines.filter((l) => !l.includes(' via ') && !l.startsWith('blackhole')).length;
  return { via, dev };
}

// ---------------------------------------------------------------------------------------------
// One run

type From = 'dist' | 'src';

interface RunOptions {
  readonly version: Version;
  readonly code: CodeVersion;
  readonly datastore: DatastoreKind;
  readonly events: number;
  readonly kinds: readonly Kind[];
  readonly pollMs: number;
  readonly gapMs: number;
  readonly timeoutMs: number;
  /** Where the agent writes a V8 CPU profile when it exits (`--cpu-prof DIR`); none by default. */
  readonly cpuProfDir: string | undefined;
  /** Where the agent's log, with V8's --trace-gc lines, is kept (`--trace-gc DIR`); none by default. */
  readonly traceGcDir: string | undefined;
  /** The agent runs in a memory cgroup with this limit (`--memory-limit`), as under a pod limit. */
  readonly memoryLimitBytes: number | undefined;
  /** The build (dist/src/main.js, as installed and in the image) or the .ts sources (`--from`). */
  readonly from: From;
  /** Changes of the churn phase after the kinds (`--churn`, even): pairs of a change and its undo. */
  readonly churn: number;
  /**
   * Node options on the agent's command line (`--node-options`), e.g. "--max-semi-space-size=8";
   * a heap flag given here wins over the agent's own rule (src/heap.ts), as a user's would.
   */
  readonly nodeOptions: readonly string[];
}

/**
 * The datastore file, one YAML document per object, so a change renders one object. The objects
 * are grouped by kind (kinds in the order first put, objects of a kind likewise), as a writer that
 * renders the cluster kind by kind does: a new pod goes after the last pod, not at the end of the
 * file. So a deleted object is never the file's last document (the BGPPeer is): a text that is the
 * one in force cut short is what a file read halfway looks like, and the file datastore applies
 * such a deletion only once it has lasted (src/datastore/file/sudden-loss.ts).
 */
class DatastoreFile {
  readonly path: string;
  /** Each object's document by kind, then by namespace/name (Maps keep the order first put). */
  readonly #docs = new Map<string, Map<string, string>>();

  constructor(path: string, objects: readonly RawObject[]) {
    this.path = path;
    for (const o of objects) this.put(o);
  }

  static #name(o: RawObject): string {
    return `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  }

  put(o: RawObject): void {
    let ofKind = this.#docs.get(o.kind);
    if (ofKind === undefined) {
      ofKind = new Map();
      this.#docs.set(o.kind, ofKind);
    }
    ofKind.set(DatastoreFile.#name(o), `---\n${stringify(o, { lineWidth: 0 })}`);
  }

  remove(o: RawObject): void {
    if (!this.#docs.get(o.kind)?.delete(DatastoreFile.#name(o)))
      throw new Error(`${o.kind} ${DatastoreFile.#name(o)} is not in the file`);
  }

  text(): string {
    const docs = [...this.#docs.values()].flatMap((ofKind) => [...ofKind.values()]);
    return `# agent-scale benchmark cluster\n${docs.join('')}`;
  }

  /** A save: the whole file under a temporary name in the same directory, renamed over the file. */
  async save(text: string): Promise<void> {
    const tmp = `${this.path}.tmp`;
    await writeFile(tmp, text);
    await rename(tmp, this.path);
  }
}

async function cpuTicks(pid: number): Promise<CpuTicks> {
  return parseProcStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
}

async function memory(pid: number): Promise<{ rssMb: number; hwmMb: number }> {
  const m = parseProcStatus(await readFile(`/proc/${pid}/status`, 'utf8'));
  return { rssMb: round1(m.rssKb / 1024), hwmMb: round1(m.hwmKb / 1024) };
}

const TICK_MS = 10; // 1000 / sysconf(_SC_CLK_TCK)

export async function runAgentScale(size: ClusterSize, opts: RunOptions): Promise<RunResult> {
  const load = loadavg()[0]!;
  const label = `agent-scale ${size.nodes}/${size.pods}/${size.policies} ${opts.datastore} ${opts.version}`;
  const say = (text: string) => process.stderr.write(`${label}: ${text}\n`);
  const teardown = new Teardown();
  let failure: unknown;
  let result: RunResult | undefined;
  /** The agent's log, read into the failure message when the run fails (the directory goes). */
  let agentLog: string | undefined;
  try {
    const scenario = new Scenario(size);
    const dir = await mkdtemp(join(tmpdir(), `${RUN_PREFIX}agent-scale-`));
    teardown.add(`directory ${dir}`, () => rm(dir, { recursive: true, force: true }));

    // The two namespaces and the link between them.
    const ns = `${RUN_PREFIX}as-node`;
    const peerNs = `${RUN_PREFIX}as-peer`;
    for (const n of [ns, peerNs]) {
      await run(['ip', 'netns', 'add', n]);
      teardown.add(`netns ${n}`, async () => {
        await run(['ip', 'netns', 'del', n]);
      });
      await run(['ip', '-n', n, 'link', 'set', 'lo', 'up']);
    }
    await run([
      'ip',
      '-n',
      ns,
      'link',
      'add',
      'eth0',
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      peerNs,
    ]);
    const self = scenario.cluster.node(SELF);
    await run(['ip', '-n', ns, 'addr', 'add', self.ipv4, 'dev', 'eth0']);
    await run(['ip', '-n', peerNs, 'addr', 'add', `${PEER_ADDRESS}/16`, 'dev', 'eth0']);
    for (const n of [ns, peerNs]) await run(['ip', '-n', n, 'link', 'set', 'eth0', 'up']);

    // The host side of every local pod's veth, as the CNI plugin leaves it.
    let vethSerial = 0;
    const makeVeths = async (pods: readonly ClusterPod[]) => {
      const lines = pods.flatMap((p) => {
        const host = workloadIfaceName(p.namespace, p.name);
        const peer = `mgbp${vethSerial++}`;
        return [`link add ${host} type veth peer name ${peer}`, `link set ${host} up`, `link set ${peer} up`];
      });
      if (lines.length > 0) {
        const path = join(dir, `veths-${vethSerial}.batch`);
        await writeFile(path, `${lines.join('\n')}\n`);
        await run(['ip', '-n', ns, '-batch', path]);
      }
    };
    await makeVeths(scenario.localPods);

    // The datastore.
    const objects = scenario.objects();
    const file = new DatastoreFile(join(dir, 'cluster.yaml'), objects);
    const text = file.text();
    await file.save(text);
    let kubeServer = '';
    const configPath = join(dir, 'agent.yaml');
    let datastore: Record<string, string>;
    if (opts.datastore === 'k8s') {
      const kubeconfig = join(dir, 'kubeconfig.yaml');
      const log = join(dir, 'kube-apiserver.log');
      const server = spawnTracked(
        teardown,
        'fake kube-apiserver',
        [process.execPath, FAKE_API_SERVER_PATH, '--objects', file.path, '--kubeconfig', kubeconfig],
        { netns: ns, logFile: log },
      );
      kubeServer = await waitFor(
        'the fake kube-apiserver',
        async () => {
          if (server.hasExited())
            throw new GiveUpError(`fake kube-apiserver exited: ${await readFile(log, 'utf8')}`);
          const t = await readFile(log, 'utf8');
          return /ready (\S+)/.exec(t)?.[1];
        },
        { timeoutMs: 300_000, intervalMs: 100 },
      );
      datastore = { type: 'kubernetes', kubeconfig };
    } else {
      datastore = { type: 'file', path: file.path };
    }
    await writeFile(
      configPath,
      stringify({
        nodeName: self.name,
        datastore,
        api: { listen: '127.0.0.1:9099' },
        bgp: { enabled: true },
        ipv4Autodetection: 'kubernetes-internal-ip',
        dataplane: { resyncIntervalSeconds: 3600 },
      }),
    );

    const peer = new Peer(teardown, peerNs, join(dir, 'peer.log'));
    await peer.ready();
    await peer.set(scenario.peerRoutes());
    const client = new Client(teardown, ns, join(dir, 'client.log'));

    // The agent, as the product runs it.
    agentLog =
      opts.traceGcDir === undefined
        ? join(dir, 'agent.log')
        : join(opts.traceGcDir, `agent-${size.nodes}-${opts.datastore}-${opts.version}-${Date.now()}.log`);
    const logPath = agentLog;
    const node = join(opts.code.dir, 'node_modules', '.bin', 'node');
    const spawnedAt = Date.now();
    const cgroup =
      opts.memoryLimitBytes === undefined
        ? undefined
        : createLimitedCgroup('margay-agent-scale', opts.memoryLimitBytes);
    if (cgroup) teardown.add(`cgroup ${cgroup.dir}`, () => cgroup.remove());
    const agentArgv = [
      node,
      ...(opts.cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`]),
      ...(opts.traceGcDir === undefined ? [] : ['--trace-gc']),
      ...opts.nodeOptions,
      opts.from === 'dist'
        ? join(opts.code.dir, 'dist', 'src', 'main.js')
        : join(opts.code.dir, 'src', 'main.ts'),
      'agent',
      '--config',
      configPath,
    ];
    // In a cgroup, the agent enters its namespace with nsenter rather than `ip netns exec`, whose
    // own sysfs over /sys would hide /sys/fs/cgroup and so the limit (as in soak.ts).
    const agent = cgroup
      ? spawnTracked(
          teardown,
          'margay agent',
          ['nsenter', `--net=/run/netns/${ns}`, '--', ...cgroup.wrap(agentArgv)],
          { logFile: logPath, cwd: opts.code.dir },
        )
      : spawnTracked(teardown, 'margay agent', agentArgv, {
          netns: ns,
          logFile: logPath,
          cwd: opts.code.dir,
        });
    const pid = agent.pid;
    const cpuStart = await cpuTicks(pid);
    const giveUpIfExited = async () => {
      if (agent.hasExited())
        throw new GiveUpError(`the agent exited: ${(await readFile(logPath, 'utf8')).slice(-2000)}`);
    };
    say(`agent started (pid ${pid}), waiting for it to program everything`);

    const expectedRemote = size.nodes - 1;
    let apiAt: number | undefined;
    const programmed = await waitFor(
      'the agent to program every route and policy',
      async () => {
        await giveUpIfExited();
        const s = await client.status();
        apiAt ??= Date.now();
        const dp = s.dataplane;
        if (dp === null) throw new GiveUpError('the agent has no dataplane');
        if (
          !s.ready ||
          !dp.ready ||
          dp.applying ||
          dp.pending ||
          dp.consecutiveFailures > 0 ||
          dp.endpointsNotWired.length > 0 ||
          s.peers.established < 1 ||
          dp.counts.routesProgrammed < 1 + scenario.localPods.length + expectedRemote
        )
          return undefined;
        const kernel = await protoRoutes(ns);
        if (kernel.via < expectedRemote || kernel.dev < scenario.localPods.length) return undefined;
        const again = await client.status();
        if (again.dataplane?.applies !== dp.applies) return undefined;
        return { status: s, kernel };
      },
      { timeoutMs: START_TIMEOUT_MS, intervalMs: 50 },
    );
    const startDp = programmed.status.dataplane!;
    const programmedAt = startDp.lastSuccessAt!;
    const cpuProgrammed = await cpuTicks(pid);
    const memProgrammed = await memory(pid);
    say(
      `programmed in ${((programmedAt - spawnedAt) / 1000).toFixed(1)} s ` +
        `(BGP session up after ${(((peer.establishedAt ?? Number.NaN) - spawnedAt) / 1000).toFixed(1)} s)`,
    );

    // Idle, then the cost of one status poll.
    const idle = await settleIdle([pid], { timeoutMs: 60_000 });
    const idleMem = await memory(pid);
    const probeWindowMs = 2000;
    let c0 = await procStats(pid);
    await sleep(probeWindowMs);
    let c1 = await procStats(pid);
    const probeCpuMsPerS = ((c1.cpuSeconds - c0.cpuSeconds) * 1000) / (probeWindowMs / 1000);
    const polls = 100;
    let bytes = 0;
    let responseMs = 0;
    c0 = await procStats(pid);
    const p0 = performance.now();
    for (let i = 0; i < polls; i++) {
      const r = await client.get('/v1/status');
      bytes = Buffer.byteLength(r.body);
      responseMs += r.doneAt - r.sentAt;
    }
    const pollWindowS = (performance.now() - p0) / 1000;
    c1 = await procStats(pid);
    const pollAgentCpuMs = Math.max(
      0,
      ((c1.cpuSeconds - c0.cpuSeconds) * 1000 - probeCpuMsPerS * pollWindowS) / polls,
    );

    // The changes. Each is prepared outside the timed path: what changes, the write that makes
    // it, and how the kernel shows it; `after` (the scenario's bookkeeping) runs once the kernel
    // has it.
    interface Change {
      readonly what: string;
      /** Makes the change; resolves with the wall clock of the write's start. */
      readonly write: () => Promise<number>;
      /** The kernel has the change (true), or what it shows instead. */
      readonly check: () => Promise<true | string>;
      readonly after?: () => Promise<void>;
    }
    const kube = async (method: string, path: string, body?: unknown, contentType = 'application/json') => {
      const r = await client.request({
        channel: 'kube',
        method,
        url: `${kubeServer}${path}`,
        headers: { 'Content-Type': contentType, Authorization: `Bearer ${FAKE_TOKEN}` },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        timeoutMs: 60_000,
      });
      if (r.status !== 200 && r.status !== 201)
        throw new Error(`${method} ${path}: ${r.status} ${r.body.slice(0, 300)}`);
      return r.sentAt;
    };
    /** How long the last save took, for the change that made it. */
    let lastSaveMs: number | undefined;
    const saveFile = async () => {
      const next = file.text();
      const start = Date.now();
      await file.save(next);
      lastSaveMs = Date.now() - start;
      return start;
    };
    const podsPath = (namespace: string) => `/api/v1/namespaces/${namespace}/pods`;
    const policiesPath = (namespace: string) =>
      `/apis/networking.k8s.io/v1/namespaces/${namespace}/networkpolicies`;
    // The writes: the file changed here and saved whole by the write, or one API request.
    const create = (o: RawObject, collection: string): (() => Promise<number>) => {
      if (opts.datastore === 'k8s') return () => kube('POST', collection, o);
      file.put(o);
      return saveFile;
    };
    const remove = (o: RawObject, collection: string): (() => Promise<number>) => {
      if (opts.datastore === 'k8s') return () => kube('DELETE', `${collection}/${o.metadata.name}`);
      file.remove(o);
      return saveFile;
    };
    const relabelWrite = (from: ClusterPod, to: ClusterPod): (() => Promise<number>) => {
      if (opts.datastore === 'file') {
        file.put(podObject(to));
        return saveFile;
      }
      // A merge patch sets the labels given and removes those set to null.
      const labels: Record<string, string | null> = { ...to.labels };
      for (const key of Object.keys(from.labels)) if (!(key in to.labels)) labels[key] = null;
      return () =>
        kube(
          'PATCH',
          `${podsPath(to.namespace)}/${to.name}`,
          { metadata: { labels } },
          'application/merge-patch+json',
        );
    };
    let backend = startDp.backend ?? 'nft';
    const podRoute = async (ip: string) => routeLine(ns, `${ip}/32`);
    const policyRules = async (id: string): Promise<boolean> => {
      const escaped = id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      return new RegExp(`${escaped}(?![\\w.-])`).test(await filterTable(ns, backend));
    };

    // (a), (b): a pod added; its veth first for a pod of this node.
    const podAdded = async (kind: 'a' | 'b', pod: ClusterPod): Promise<Change> => {
      const what = `pod ${pod.namespace}/${pod.name} on ${pod.node} (${pod.ipv4})`;
      const ip = pod.ipv4!;
      if (kind === 'a') await makeVeths([pod]);
      else if (setsHolding(await ipsetSave(ns), ip).size > 0)
        throw new Error(`${what}: ${ip} is in an ipset already`);
      const write = create(podObject(pod), podsPath(pod.namespace));
      if (kind === 'a') {
        const veth = workloadIfaceName(pod.namespace, pod.name);
        return {
          what,
          write,
          check: async () => {
            const line = await podRoute(ip);
            return line.includes(`dev ${veth}`) || `route ${ip}/32: "${line}"`;
          },
        };
      }
      return {
        what,
        write,
        check: async () => {
          const [held] = setsHolding(await ipsetSave(ns), ip);
          if (held === undefined) return `no ipset holds ${ip}`;
          return (await ipsetTest(ns, ...held)) || `ipset test ${held.join(' ')} fails`;
        },
      };
    };
    // (a), (b) undone: the pod deleted. A local pod's veth goes first, as the CNI plugin's DEL
    // removes it before the pod object goes, and the kernel drops the route with it: a pod deleted
    // while its veth still exists keeps its route for the dataplane's workload grace period
    // (felix/dataplane/routes/route-table.ts), and a timer would be measured instead of the agent.
    // So the check is the agent's own work as well: no rule names the veth any more.
    const podDeleted = async (kind: 'a' | 'b', pod: ClusterPod): Promise<Change> => {
      const ip = pod.ipv4!;
      const write = remove(podObject(pod), podsPath(pod.namespace));
      const freed = async () => scenario.podDeleted(pod.name);
      if (kind === 'a') {
        const veth = workloadIfaceName(pod.namespace, pod.name);
        await run(['ip', '-n', ns, 'link', 'del', veth]);
        await dataplaneIdle();
        const named = new RegExp(`-[io] ${veth}(?!\\S)`);
        return {
          what: `pod ${pod.namespace}/${pod.name} on ${pod.node} deleted (${ip})`,
          write,
          check: async () => {
            const line = await podRoute(ip);
            if (line !== '') return `route ${ip}/32: "${line}"`;
            return (
              !named.test(await filterTable(ns, backend)) || `iptables-save -t filter still names ${veth}`
            );
          },
          after: freed,
        };
      }
      return {
        what: `pod ${pod.namespace}/${pod.name} on ${pod.node} deleted (${ip})`,
        write,
        check: async () => {
          const held = [...setsHolding(await ipsetSave(ns), ip).keys()];
          return held.length === 0 || `${ip} is still in ${held.join(', ')}`;
        },
        after: freed,
      };
    };
    // (c): a pod relabelled so a rendered policy allows it: its address in an ipset it was not in.
    const relabelled = async (before: ClusterPod, after: ClusterPod) => {
      const ip = before.ipv4!;
      const had = setsHolding(await ipsetSave(ns), ip);
      const change: Change = {
        what: `pod ${after.namespace}/${after.name} on ${after.node} labels ${JSON.stringify(after.labels)}`,
        write: relabelWrite(before, after),
        check: async () => {
          const now = setsHolding(await ipsetSave(ns), ip);
          const added = [...now].find(([set]) => !had.has(set));
          if (added === undefined)
            return `${ip} is in no new ipset (in ${[...now.keys()].join(', ') || 'none'})`;
          return (await ipsetTest(ns, ...added)) || `ipset test ${added.join(' ')} fails`;
        },
      };
      return { change, had };
    };
    // (c) undone: the labels restored; the sets the relabel put the address in no longer have it.
    const labelsRestored = async (
      before: ClusterPod,
      after: ClusterPod,
      had: ReadonlyMap<string, string>,
      index: number,
    ): Promise<Change> => {
      const ip = before.ipv4!;
      const gained = [...setsHolding(await ipsetSave(ns), ip).keys()].filter((set) => !had.has(set));
      if (gained.length === 0) throw new Error(`pod ${before.name}: ${ip} is in no set the relabel added`);
      return {
        what: `pod ${before.namespace}/${before.name} on ${before.node} labels restored ${JSON.stringify(before.labels)}`,
        write: relabelWrite(after, before),
        check: async () => {
          const now = setsHolding(await ipsetSave(ns), ip);
          const still = gained.filter((set) => now.has(set));
          return still.length === 0 || `${ip} is still in ${still.join(', ')}`;
        },
        after: async () => scenario.restored(index),
      };
    };
    // (d) and its undo: a peer route to another next hop, an UPDATE of the peer.
    const routeMoved = (move: RouteMove): Change => {
      const what = `${move.prefix} via ${move.from} → via ${move.to}`;
      return {
        what,
        write: async () => {
          const at = await peer.set([move.route]);
          if (at === null) throw new Error(`${what}: the BGP session is down`);
          return at;
        },
        check: async () => {
          const line = await routeLine(ns, move.prefix);
          return line.includes(`via ${move.to} `) || `route ${move.prefix}: "${line}"`;
        },
      };
    };
    // (e): a NetworkPolicy selecting a pod of this node added, then (undone) deleted.
    const policyId = (policy: RawObject) => `${policy.metadata.namespace}/${policy.metadata.name}`;
    const policyAdded = (policy: RawObject): Change => {
      const id = policyId(policy);
      return {
        what: `NetworkPolicy ${id}`,
        write: create(policy, policiesPath(policy.metadata.namespace!)),
        check: async () => (await policyRules(id)) || `iptables-save -t filter does not name ${id}`,
      };
    };
    const policyDeleted = (policy: RawObject): Change => {
      const id = policyId(policy);
      return {
        what: `NetworkPolicy ${id} deleted`,
        write: remove(policy, policiesPath(policy.metadata.namespace!)),
        check: async () => !(await policyRules(id)) || `iptables-save -t filter still names ${id}`,
      };
    };

    /** The k-th change of the kinds phase. */
    const kindChange = async (kind: Kind, k: number): Promise<Change> => {
      if (kind === 'a') return podAdded('a', scenario.localPod(k));
      if (kind === 'b') return podAdded('b', scenario.remotePod(k));
      if (kind === 'c') {
        const { before, after } = scenario.relabel(k);
        return (await relabelled(before, after)).change;
      }
      if (kind === 'd') return routeMoved(scenario.routeMove(k));
      return policyAdded(scenario.newPolicy(k));
    };

    /** The p-th pair of the churn phase: its change, and the undo, prepared once that is in. */
    const churnPair = async (
      kind: Kind,
      p: number,
    ): Promise<{ change: Change; undo: () => Promise<Change> }> => {
      if (kind === 'a' || kind === 'b') {
        const pod =
          kind === 'a'
            ? scenario.localPod(p, `churn-local-${p}`)
            : scenario.remotePod(p, `churn-remote-${p}`);
        return { change: await podAdded(kind, pod), undo: () => podDeleted(kind, pod) };
      }
      if (kind === 'c') {
        const { before, after, index } = scenario.relabel(p);
        const { change, had } = await relabelled(before, after);
        return { change, undo: () => labelsRestored(before, after, had, index) };
      }
      if (kind === 'd') {
        const move = scenario.routeMove(p);
        return { change: routeMoved(move), undo: async () => routeMoved(scenario.routeMoveBack(move)) };
      }
      const policy = scenario.newPolicy(p, `churn-policy-${p}`);
      return { change: policyAdded(policy), undo: async () => policyDeleted(policy) };
    };

    /**
     * One change, timed: from the start of its write to the end of the dataplane pass after which
     * the kernel has it (the last pass: the status read again shows no further one).
     */
    const measure = async (label: string, kind: Kind, change: Change): Promise<EventFigures> => {
      const { what } = change;
      const s0 = await client.status();
      const dp0 = s0.dataplane!;
      const cpu0 = await cpuTicks(pid);
      lastSaveMs = undefined;
      const start = await change.write();
      const saveMs = lastSaveMs;
      let seen = dp0.applies;
      let passes = 0;
      const deadline = Date.now() + opts.timeoutMs;
      let end: { at: number; dp: NonNullable<AgentStatus['dataplane']> } | undefined;
      let seenInKernel = 'no dataplane pass yet';
      while (end === undefined) {
        await giveUpIfExited();
        const s = await client.status();
        const dp = s.dataplane!;
        if (Date.now() > deadline)
          throw new Error(
            `${label} ${what}: not in the kernel within ${opts.timeoutMs} ms: ${seenInKernel}; ` +
              `${passes} passes, applying ${dp.applying}, pending ${dp.pending}, problems ${JSON.stringify(s.problems)}`,
          );
        if (dp.consecutiveFailures > 0)
          throw new Error(`${label} ${what}: dataplane pass failed: ${JSON.stringify(dp.lastError)}`);
        if (dp.applies > seen && !dp.applying && !dp.pending) {
          passes += dp.applies - seen;
          seen = dp.applies;
          const seenNow = await change.check();
          if (seenNow === true) {
            // The pass whose end is taken must be the last: read the status once more.
            const again = (await client.status()).dataplane!;
            if (again.applies === dp.applies && !again.applying && !again.pending)
              end = { at: dp.lastSuccessAt!, dp };
            continue;
          }
          seenInKernel = seenNow;
        }
        await sleep(opts.pollMs);
      }
      const cpu1 = await cpuTicks(pid);
      const mem = await memory(pid);
      backend = end.dp.backend ?? backend;
      return {
        kind,
        what,
        latencyMs: end.at - start,
        ...(saveMs === undefined ? {} : { saveMs }),
        cpuMs: (cpu1.self - cpu0.self) * TICK_MS,
        childCpuMs: (cpu1.children - cpu0.children) * TICK_MS,
        routeLines: end.dp.io.routeLinesWritten - dp0.io.routeLinesWritten,
        iptablesBytes: end.dp.io.iptablesBytesWritten - dp0.io.iptablesBytesWritten,
        ipsetBytes: end.dp.io.ipsetBytesWritten - dp0.io.ipsetBytesWritten,
        passes,
        rssMb: mem.rssMb,
      };
    };
    /** Until the dataplane is idle (after a veth's removal, which may start a pass). */
    const dataplaneIdle = () =>
      waitFor(
        'the dataplane to be idle',
        async () => {
          await giveUpIfExited();
          const dp = (await client.status()).dataplane!;
          if (dp.applying || dp.pending) return undefined;
          const again = (await client.status()).dataplane!;
          return again.applies === dp.applies && !again.applying && !again.pending ? true : undefined;
        },
        { timeoutMs: opts.timeoutMs, intervalMs: opts.pollMs },
      );

    const events: EventFigures[] = [];
    const kindWindows = new Map<Kind, { from: number; to: number }>();
    let serial = 0;
    for (const kind of opts.kinds) {
      const from = Date.now();
      for (let e = 0; e < opts.events; e++) {
        const fig = await measure(kind, kind, await kindChange(kind, serial++));
        events.push(fig);
        say(`${kind} ${e + 1}/${opts.events} ${fig.latencyMs} ms (${fig.what})`);
        await sleep(opts.gapMs);
      }
      kindWindows.set(kind, { from, to: Date.now() });
    }

    // The churn phase: pairs of a change and its undo, rotating over the kinds, so the cluster
    // is as it was after each pair.
    const churnEvents: ChurnEventFigures[] = [];
    let churnWindow: { from: number; to: number; rssStartMb: number } | undefined;
    if (opts.churn > 0) {
      const from = Date.now();
      const rssStartMb = (await memory(pid)).rssMb;
      for (let p = 0; p < opts.churn / 2; p++) {
        const kind = opts.kinds[p % opts.kinds.length]!;
        const pair = await churnPair(kind, p);
        for (const undo of [false, true]) {
          const change = undo ? await pair.undo() : pair.change;
          const fig = await measure(`churn ${kind}`, kind, change);
          churnEvents.push({ ...fig, undo });
          say(`churn ${kind} ${churnEvents.length}/${opts.churn} ${fig.latencyMs} ms (${fig.what})`);
          await change.after?.();
          await sleep(opts.gapMs);
        }
      }
      churnWindow = { from, to: Date.now(), rssStartMb };
    }

    // After the changes: idle memory, peak, the agent's own event-loop figures.
    const after = await settleIdle([pid], { timeoutMs: 60_000 });
    const afterMem = await memory(pid);
    const metrics = (await client.get('/metrics')).body;
    const eld = (q: string) => {
      const v = metricValue(metrics, `margay_event_loop_delay_seconds{quantile="${q}"}`);
      return v === undefined ? undefined : round1(v * 1000);
    };
    const endAt = Date.now();

    const apiFirst = client.probes.find((p) => p.status === 200)?.at ?? apiAt ?? spawnedAt;
    const answered = client.probes.filter((p) => p.at >= apiFirst && p.at <= endAt);
    const probeSpread = (from: number, to: number) =>
      spread(answered.filter((p) => p.at >= from && p.at <= to && p.status === 200).map((p) => p.ms));
    const kinds = opts.kinds.map((kind) => {
      const w = kindWindows.get(kind)!;
      return summariseKind(
        kind,
        events.filter((e) => e.kind === kind),
        probeSpread(w.from, w.to),
      );
    });
    const rssSlope = slope(events.map((e, i) => ({ x: i, y: e.rssMb })));
    result = {
      bench: 'agent-scale',
      version: opts.version,
      commit: opts.code.commit,
      datastore: opts.datastore,
      ...size,
      localPods: scenario.localPods.length,
      renderedPolicies: scenario.renderedPolicies.length,
      fileBytes: Buffer.byteLength(text),
      start: {
        programmedS: seconds(programmedAt - spawnedAt),
        apiS: seconds(apiFirst - spawnedAt),
        bgpS: seconds((peer.establishedAt ?? Number.NaN) - spawnedAt),
        cpuS: seconds((cpuProgrammed.self - cpuStart.self) * TICK_MS),
        childCpuS: seconds((cpuProgrammed.children - cpuStart.children) * TICK_MS),
        rssMb: memProgrammed.rssMb,
        iptablesBytes: startDp.io.iptablesBytesWritten,
        ipsetBytes: startDp.io.ipsetBytesWritten,
        routeLines: startDp.io.routeLinesWritten,
        remoteRoutes: programmed.kernel.via,
        healthzMs: probeSpread(apiFirst, programmedAt),
      },
      poll: {
        intervalMs: opts.pollMs,
        statusBytes: bytes,
        responseMs: round1(responseMs / polls),
        agentCpuMs: Math.round(pollAgentCpuMs * 100) / 100,
        probeCpuMsPerS: round1(probeCpuMsPerS),
      },
      memory: {
        idleMb: idleMem.rssMb,
        idleSettled: idle.settled,
        afterMb: afterMem.rssMb,
        afterSettled: after.settled,
        peakMb: afterMem.hwmMb,
        slopeMbPer100: Number.isNaN(rssSlope) ? null : round1(rssSlope * 100),
        limitMb: opts.memoryLimitBytes === undefined ? null : round1(opts.memoryLimitBytes / 2 ** 20),
        heapLimitMb: (() => {
          const v = metricValue(metrics, 'margay_process_heap_limit_bytes');
          return v === undefined ? null : round1(v / 2 ** 20);
        })(),
        cgroupPeakMb:
          cgroup?.memory().peakBytes === undefined ? null : round1(cgroup.memory().peakBytes! / 2 ** 20),
        oomKills: cgroup === undefined ? null : cgroup.memory().oomKills,
      },
      eventLoop: {
        healthzMs: spread(answered.filter((p) => p.status === 200).map((p) => p.ms)),
        healthzFailures: answered.filter((p) => p.status !== 200).length,
        metricMs: { p50: eld('0.5'), p99: eld('0.99'), max: eld('1') },
      },
      kinds,
      events,
      churn:
        churnWindow === undefined
          ? null
          : summariseChurn(
              churnEvents,
              churnWindow.rssStartMb,
              probeSpread(churnWindow.from, churnWindow.to),
            ),
      gc:
        opts.traceGcDir === undefined
          ? null
          : majorCollections(await readFile(logPath, 'utf8'), programmedAt - spawnedAt),
      host: { loadavg1: Math.round(load * 100) / 100 },
    };
    if (result.gc) {
      const ms = result.gc.mainThreadMs;
      say(
        `${result.gc.count} major collections of the main thread after the start` +
          (ms ? `, each ${ms.p50} ms of its time at p50, ${ms.max} ms at most` : '') +
          ` (log: ${logPath})`,
      );
    }
  } catch (err) {
    failure = err;
    if (agentLog !== undefined) {
      const tail = await readFile(agentLog, 'utf8').then(
        (t) => t.slice(-1500),
        () => '(no log)',
      );
      failure = new Error(`${(err as Error).message}\nthe agent's log ends:\n${tail}`, { cause: err });
    }
  }
  await teardown.finish(failure);
  return result!;
}

export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      sizes: { type: 'string', default: '100/3000/100,1000/30000/1000' },
      events: { type: 'string', default: '100' },
      kinds: { type: 'string', default: KINDS.join(',') },
      datastores: { type: 'string', default: DATASTORES.join(',') },
      code: { type: 'string', default: ROOT },
      baseline: { type: 'string', default: DEFAULT_BASELINE },
      'baseline-events': { type: 'string' },
      versions: { type: 'string', default: VERSIONS.join(',') },
      'poll-ms': { type: 'string', default: '25' },
      'gap-ms': { type: 'string', default: '100' },
      'timeout-s': { type: 'string', default: '300' },
      'cpu-prof': { type: 'string' },
      'trace-gc': { type: 'string' },
      'memory-limit': { type: 'string' },
      from: { type: 'string', default: 'dist' },
      churn: { type: 'string', default: '0' },
      'node-options': { type: 'string', default: '' },
    },
  });
  const from = values.from as From;
  if (from !== 'dist' && from !== 'src') throw new Error('--from must be dist or src');
  if (process.getuid?.() !== 0) throw new Error('agent-scale needs root (network namespaces)');
  const positive = (flag: string, text: string, min = 1): number => {
    const v = Number(text);
    if (!Number.isInteger(v) || v < min) throw new Error(`--${flag} must be an integer ≥ ${min}`);
    return v;
  };
  const sizes = parseSizes(values.sizes);
  const events = positive('events', values.events);
  const baselineEvents = positive('baseline-events', values['baseline-events'] ?? values.events);
  const kinds = parseList('kinds', values.kinds, KINDS);
  const datastores = parseList('datastores', values.datastores, DATASTORES);
  const which = parseList('versions', values.versions, VERSIONS);
  const churn = positive('churn', values.churn, 0);
  if (churn % 2 !== 0) throw new Error('--churn must be even: its changes come in pairs');
  const nodeOptions = values['node-options'].split(/\s+/).filter((o) => o !== '');
  if (nodeOptions.some((o) => !o.startsWith('--')))
    throw new Error('--node-options takes Node options, e.g. --node-options=--max-semi-space-size=8');
  const common = {
    kinds,
    pollMs: positive('poll-ms', values['poll-ms']),
    gapMs: positive('gap-ms', values['gap-ms'], 0),
    timeoutMs: positive('timeout-s', values['timeout-s']) * 1000,
    cpuProfDir: values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']),
    traceGcDir: values['trace-gc'] === undefined ? undefined : resolve(values['trace-gc']),
    memoryLimitBytes:
      values['memory-limit'] === undefined ? undefined : quantityBytes(values['memory-limit']),
    from,
    churn,
    nodeOptions,
  };

  const teardown = new Teardown();
  let failure: unknown;
  try {
    const versions: { version: Version; code: CodeVersion; events: number }[] = [];
    if (which.includes('new')) {
      if (from === 'dist') requireFreshBuild(values.code);
      versions.push({ version: 'new', code: await describeCheckout(values.code), events });
    }
    if (which.includes('baseline') && values.baseline !== 'none') {
      const code = await addWorktree(teardown, ROOT, values.baseline);
      if (from === 'dist') {
        process.stderr.write(`agent-scale: building ${code.commit} (tsc) for the baseline\n`);
        await buildCheckout(code.dir);
      }
      versions.push({ version: 'baseline', code, events: baselineEvents });
    }
    for (const size of sizes) {
      const runs: RunResult[] = [];
      for (const datastore of datastores) {
        for (const v of versions) {
          const r = await runAgentScale(size, { ...common, ...v, datastore });
          process.stdout.write(`${JSON.stringify(r)}\n`);
          runs.push(r);
        }
      }
      process.stderr.write(renderTables(runs));
    }
  } catch (err) {
    failure = err;
  }
  await teardown.finish(failure);
  return 0;
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
