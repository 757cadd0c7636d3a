// NetworkPolicy with real traffic: two "nodes" (network namespaces joined by a veth, 192.0.2.0/24 +
// 2001:db8:ff::/64, plain routes to each other's pod CIDR, no default route) with three pods each
// (one namespace per pod, wired by the workload plumbing: veth, /32 and /128 routes, link-local
// gateway), dual-stack. Each pod runs one small Node process that is both the TCP/UDP echo server
// on every port a scenario probes and the client the test drives over stdin; the node namespaces
// run one too (the "host", for kubelet-probe traffic).
//
// For every scenario the policies are rendered per node by felix/calc, written with the real
// ipset and iptables writers in the fixed apply order, conntrack is flushed (so no UDP flow of an
// earlier scenario can answer for this one), and then the full matrix — every ordered pod pair,
// host → every pod, each probe of the scenario, IPv4 and IPv6 — runs in parallel. Each result
// must equal what the Kubernetes semantics say, written out per scenario below as plain
// predicates over the pods (never by consulting the renderer).
//
// Only namespaces this file creates (`mgyp-<pid>-…`) are touched; every process is ended by PID and
// every namespace deleted in afterAll, also on failure (and by the lab's exit hook on a crash).
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderPolicy } from '../../felix/calc/render-policy.ts';
import { applyAll } from '../../felix/dataplane/apply.ts';
import { IpsetWriter } from '../../felix/dataplane/ipsets/writer.ts';
import { detectBackend } from '../../felix/dataplane/iptables/backend.ts';
import { IptablesWriter } from '../../felix/dataplane/iptables/writer.ts';
import { Netlink } from '../../felix/dataplane/netlink/netlink.ts';
import { RouteTable } from '../../felix/dataplane/routes/route-table.ts';
import { podGatewayAnchorRoute, wirePod } from '../../felix/dataplane/workload/veth.ts';
import { workloadIfaceName } from '../../felix/model/endpoints.ts';
import type { NetworkPolicy, PolicyNamespace, PolicyPod } from '../../felix/model/policy.ts';
import type { RouteSpec } from '../../felix/model/routes.ts';
import { Lab } from './lib/lab.ts';

const isRoot = process.getuid?.() === 0;

// ---------------------------------------------------------------------------------------------
// The cluster.

type NodeName = 'node-1' | 'node-2';
interface PodDef {
  readonly key: string;
  readonly namespace: 'prod' | 'dev';
  readonly name: string;
  readonly node: NodeName;
  readonly labels: Record<string, string>;
  readonly ip4: string;
  readonly ip6: string;
  /** Named container ports: name → [protocol, port]. */
  readonly named: Record<string, ['TCP' | 'UDP', number]>;
}

const PODS: readonly PodDef[] = [
  {
    key: 'web1',
    namespace: 'prod',
    name: 'web-1',
    node: 'node-1',
    labels: { app: 'web', tier: 'front' },
    ip4: '10.244.1.10',
    ip6: '2001:db8:a01::10',
    named: { http: ['TCP', 80], dns: ['UDP', 53] },
  },
  {
    key: 'db1',
    namespace: 'prod',
    name: 'db-1',
    node: 'node-1',
    labels: { app: 'db' },
    ip4: '10.244.1.11',
    ip6: '2001:db8:a01::11',
    named: { pg: ['TCP', 5432] },
  },
  {
    key: 'tool1',
    namespace: 'dev',
    name: 'tool-1',
    node: 'node-1',
    labels: { app: 'tool', team: 'x' },
    ip4: '10.244.1.12',
    ip6: '2001:db8:a01::12',
    named: {},
  },
  {
    key: 'web2',
    namespace: 'prod',
    name: 'web-2',
    node: 'node-2',
    labels: { app: 'web', tier: 'front' },
    ip4: '10.244.2.10',
    ip6: '2001:db8:a02::10',
    named: { http: ['TCP', 8080] },
  },
  {
    key: 'api2',
    namespace: 'prod',
    name: 'api-2',
    node: 'node-2',
    labels: { app: 'api' },
    ip4: '10.244.2.11',
    ip6: '2001:db8:a02::11',
    named: {},
  },
  {
    key: 'tool2',
    namespace: 'dev',
    name: 'tool-2',
    node: 'node-2',
    labels: { app: 'tool' },
    ip4: '10.244.2.12',
    ip6: '2001:db8:a02::12',
    named: {},
  },
];

const NODES: Record<
  NodeName,
  { ip4: string; ip6: string; peer: NodeName; podCidr4: string; podCidr6: string }
> = {
  'node-1': {
    ip4: '192.0.2.1',
    ip6: '2001:db8:ff::1',
    peer: 'node-2',
    podCidr4: '10.244.1.0/24',
    podCidr6: '2001:db8:a01::/48',
  },
  'node-2': {
    ip4: '192.0.2.2',
    ip6: '2001:db8:ff::2',
    peer: 'node-1',
    podCidr4: '10.244.2.0/24',
    podCidr6: '2001:db8:a02::/48',
  },
};

const NAMESPACES: PolicyNamespace[] = [
  { name: 'prod', labels: { env: 'prod' } },
  { name: 'dev', labels: { env: 'dev' } },
];

const TCP_PORTS = [80, 5432, 8080, 9000, 9001, 9002];
const UDP_PORTS = [53, 9000, 9001, 9002];

function policyPods(defs: readonly PodDef[]): PolicyPod[] {
  return defs.map((p) => ({
    namespace: p.namespace,
    name: p.name,
    nodeName: p.node,
    labels: p.labels,
    ipv4: [p.ip4],
    ipv6: [p.ip6],
    ports: Object.entries(p.named).map(([name, [protocol, containerPort]]) => ({
      name,
      protocol,
      containerPort,
    })),
  }));
}

// ---------------------------------------------------------------------------------------------
// Scenarios: policies, probes, and what Kubernetes says.

interface Probe {
  readonly proto: 'tcp' | 'udp';
  readonly port: number;
}
type Src =
  | { readonly kind: 'pod'; readonly pod: PodDef }
  | { readonly kind: 'host'; readonly node: NodeName };
/** Whether the packet src → dst:probe is allowed by the policies of one side (true = allowed). */
type Verdict = (src: Src, dst: PodDef, probe: Probe) => boolean;

interface Scenario {
  readonly name: string;
  readonly policies: NetworkPolicy[];
  readonly probes: readonly Probe[];
  /** Ingress side (the destination pod's policies); default open. */
  readonly ingress?: Verdict;
  /** Egress side (the source pod's policies; never consulted for a host source); default open. */
  readonly egress?: (src: PodDef, dst: PodDef, probe: Probe) => boolean;
  /** Pods as they are in this scenario (default PODS). */
  readonly pods?: readonly PodDef[];
  /** Checked after the apply: e.g. that a label change wrote no iptables bytes. */
  readonly afterApply?: (reports: ApplyReport[]) => void;
}

const tcp = (port: number): Probe => ({ proto: 'tcp', port });
const udp = (port: number): Probe => ({ proto: 'udp', port });
const podOf = (s: Src): PodDef | undefined => (s.kind === 'pod' ? s.pod : undefined);
const isNamed = (dst: PodDef, name: string, p: Probe): boolean => {
  const np = dst.named[name];
  return np !== undefined && np[0].toLowerCase() === p.proto && np[1] === p.port;
};

function policy(namespace: string, name: string, spec: NetworkPolicy['spec']): NetworkPolicy {
  return { namespace, name, spec };
}

const relabeledApi2 = PODS.map((p) =>
  p.key === 'api2' ? { ...p, labels: { ...p.labels, tier: 'front' } } : p,
);

const DB_FROM_FRONT = policy('prod', 'db-from-front', {
  podSelector: { matchLabels: { app: 'db' } },
  ingress: [
    { from: [{ podSelector: { matchLabels: { tier: 'front' } } }], ports: [{ protocol: 'TCP', port: 5432 }] },
  ],
});
const dbFromFront: Verdict = (src, dst, p) =>
  dst.labels.app !== 'db' ||
  (podOf(src)?.namespace === 'prod' &&
    podOf(src)?.labels.tier === 'front' &&
    p.proto === 'tcp' &&
    p.port === 5432);

const SCENARIOS: Scenario[] = [
  { name: 'no policy: everything open', policies: [], probes: [tcp(80), udp(53)] },
  {
    name: 'deny-all ingress in prod (return traffic of prod → dev still flows)',
    policies: [policy('prod', 'deny-all', { podSelector: {}, policyTypes: ['Ingress'] })],
    probes: [tcp(80), udp(53)],
    ingress: (_s, dst) => dst.namespace !== 'prod',
  },
  {
    name: 'allow from label: db accepts TCP 5432 from tier=front of its namespace only',
    policies: [DB_FROM_FRONT],
    probes: [tcp(5432), tcp(80), udp(53)],
    ingress: dbFromFront,
  },
  {
    name: 'label change: api-2 gets tier=front and reaches db (ipset members only, no iptables write)',
    policies: [DB_FROM_FRONT],
    pods: relabeledApi2,
    probes: [tcp(5432), udp(53)],
    ingress: dbFromFront,
    afterApply: (reports) => {
      for (const r of reports) expect(r.iptablesBytes, `${r.node} iptables bytes for a label change`).toBe(0);
      expect(reports.reduce((n, r) => n + r.ipsetBytes, 0)).toBeGreaterThan(0);
    },
  },
  {
    name: 'namespaceSelector: alone, and AND-ed with podSelector in one peer',
    policies: [
      policy('prod', 'api-from-dev-team', {
        podSelector: { matchLabels: { app: 'api' } },
        ingress: [
          {
            from: [
              {
                namespaceSelector: { matchLabels: { env: 'dev' } },
                podSelector: { matchExpressions: [{ key: 'team', operator: 'Exists' }] },
              },
            ],
          },
        ],
      }),
      policy('dev', 'from-prod', {
        podSelector: {},
        ingress: [
          {
            from: [
              { namespaceSelector: { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] } },
            ],
          },
        ],
      }),
    ],
    probes: [tcp(80), udp(53)],
    ingress: (src, dst) => {
      const s = podOf(src);
      if (dst.labels.app === 'api') return s?.namespace === 'dev' && s.labels.team !== undefined;
      if (dst.namespace === 'dev') return s?.namespace === 'prod';
      return true;
    },
  },
  {
    name: 'named port: "http" is 80 on web-1 and 8080 on web-2 (resolved per target pod)',
    policies: [
      policy('prod', 'web-http', {
        podSelector: { matchLabels: { app: 'web' } },
        ingress: [{ ports: [{ port: 'http' }] }],
      }),
    ],
    probes: [tcp(80), tcp(8080), udp(53)],
    ingress: (_s, dst, p) => dst.labels.app !== 'web' || isNamed(dst, 'http', p),
  },
  {
    name: 'endPort range: TCP 9000-9001 and UDP 9002 to api',
    policies: [
      policy('prod', 'api-range', {
        podSelector: { matchLabels: { app: 'api' } },
        ingress: [
          {
            ports: [
              { protocol: 'TCP', port: 9000, endPort: 9001 },
              { protocol: 'UDP', port: 9002 },
            ],
          },
        ],
      }),
    ],
    probes: [tcp(9000), tcp(9001), tcp(9002), udp(9001), udp(9002)],
    ingress: (_s, dst, p) =>
      dst.labels.app !== 'api' ||
      (p.proto === 'tcp' && p.port >= 9000 && p.port <= 9001) ||
      (p.proto === 'udp' && p.port === 9002),
  },
  {
    name: 'ipBlock with except: db accepts node-1 pod addresses, not node-2 (IPv4 and IPv6 blocks)',
    policies: [
      policy('prod', 'db-blocks', {
        podSelector: { matchLabels: { app: 'db' } },
        ingress: [
          {
            from: [
              { ipBlock: { cidr: '10.244.0.0/16', except: ['10.244.2.0/24'] } },
              { ipBlock: { cidr: '2001:db8:a00::/40', except: ['2001:db8:a02::/48'] } },
            ],
          },
        ],
      }),
    ],
    probes: [tcp(80), udp(53)],
    ingress: (src, dst) => dst.labels.app !== 'db' || (src.kind === 'pod' && src.pod.node === 'node-1'),
  },
  {
    name: 'egress-only: tools reach named port http of prod pods and UDP 53 anywhere; their ingress stays open',
    policies: [
      policy('dev', 'tools-egress', {
        podSelector: { matchLabels: { app: 'tool' } },
        policyTypes: ['Egress'],
        egress: [
          {
            to: [{ namespaceSelector: { matchLabels: { env: 'prod' } }, podSelector: {} }],
            ports: [{ port: 'http' }],
          },
          { ports: [{ protocol: 'UDP', port: 53 }] },
        ],
      }),
    ],
    probes: [tcp(80), tcp(8080), udp(53)],
    egress: (src, dst, p) =>
      src.labels.app !== 'tool' ||
      (dst.namespace === 'prod' && isNamed(dst, 'http', p)) ||
      (p.proto === 'udp' && p.port === 53),
  },
  {
    name: 'multiple policies on one pod add up',
    policies: [
      policy('prod', 'web-from-api', {
        podSelector: { matchLabels: { app: 'web' } },
        ingress: [{ from: [{ podSelector: { matchLabels: { app: 'api' } } }] }],
      }),
      policy('prod', 'front-dns-from-dev', {
        podSelector: { matchLabels: { tier: 'front' } },
        ingress: [
          {
            from: [{ namespaceSelector: { matchLabels: { env: 'dev' } } }],
            ports: [{ protocol: 'UDP', port: 53 }],
          },
        ],
      }),
    ],
    probes: [tcp(80), udp(53)],
    ingress: (src, dst, p) => {
      const s = podOf(src);
      if (dst.labels.app !== 'web') return true;
      return (
        (s?.namespace === 'prod' && s.labels.app === 'api') ||
        (s?.namespace === 'dev' && p.proto === 'udp' && p.port === 53)
      );
    },
  },
  {
    name: 'host → local pod always allowed, even with every pod isolated both ways',
    policies: ['prod', 'dev'].map((ns) =>
      policy(ns, 'deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
    ),
    probes: [tcp(80), udp(53)],
    ingress: () => false,
    egress: () => false,
  },
];

// ---------------------------------------------------------------------------------------------
// The per-namespace agent: echo servers + a prober driven by JSON lines on stdin.

const AGENT = String.raw`
const net = require('node:net');
const dgram = require('node:dgram');
const readline = require('node:readline');
const tcpPorts = JSON.parse(process.argv[1]);
const udpPorts = JSON.parse(process.argv[2]);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
let pending = tcpPorts.length + udpPorts.length;
const ready = () => { if (--pending <= 0) out({ ready: true }); };
if (pending === 0) { pending = 1; ready(); }
for (const port of tcpPorts) {
  const s = net.createServer((c) => { c.on('error', () => {}); c.on('data', (d) => c.end(d)); });
  s.on('error', (e) => { out({ fatal: 'tcp ' + port + ': ' + e.message }); process.exit(1); });
  s.listen({ port, host: '::', ipv6Only: false }, ready);
}
for (const port of udpPorts) {
  const s = dgram.createSocket({ type: 'udp6', ipv6Only: false });
  s.on('error', (e) => { out({ fatal: 'udp ' + port + ': ' + e.message }); process.exit(1); });
  s.on('message', (m, r) => s.send(m, r.port, r.address));
  s.bind(port, '::', ready);
}
function probe(q) {
  return new Promise((resolve) => {
    const token = 'probe-' + q.id;
    let done = false;
    let cleanup = () => {};
    const finish = (ok, why) => { if (done) return; done = true; clearTimeout(timer); cleanup(); resolve({ id: q.id, ok, why }); };
    const timer = setTimeout(() => finish(false, 'timeout'), q.timeoutMs);
    if (q.proto === 'tcp') {
      const c = net.connect({ host: q.host, port: q.port });
      cleanup = () => c.destroy();
      c.on('connect', () => c.write(token));
      let got = '';
      c.on('data', (d) => { got += d; if (got === token) finish(true, 'echo'); });
      c.on('error', (e) => finish(false, e.code || e.message));
    } else {
      const s = dgram.createSocket(q.host.includes(':') ? 'udp6' : 'udp4');
      cleanup = () => s.close();
      s.on('message', (m) => { if (String(m) === token) finish(true, 'echo'); });
      s.on('error', (e) => finish(false, e.code || e.message));
      s.send(token, q.port, q.host);
    }
  });
}
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const q = JSON.parse(line);
  probe(q).then(out);
});
`;

interface ProbeResult {
  readonly ok: boolean;
  readonly why: string;
}

class Agent {
  readonly child: ChildProcess;
  readonly #waiting = new Map<number, (r: ProbeResult) => void>();
  #next = 0;
  readonly ready: Promise<void>;

  constructor(ns: string, tcpPorts: readonly number[], udpPorts: readonly number[]) {
    this.child = spawn(
      'ip',
      [
        'netns',
        'exec',
        ns,
        process.execPath,
        '-e',
        AGENT,
        JSON.stringify(tcpPorts),
        JSON.stringify(udpPorts),
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let stderr = '';
    this.child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    this.ready = new Promise((resolve, reject) => {
      const deadline = setTimeout(
        () => reject(new Error(`agent in ${ns} not ready after 10 s: ${stderr}`)),
        10_000,
      );
      this.child.once('exit', (code) => reject(new Error(`agent in ${ns} exited ${code}: ${stderr}`)));
      createInterface({ input: this.child.stdout! }).on('line', (line) => {
        const m = JSON.parse(line) as {
          ready?: boolean;
          fatal?: string;
          id?: number;
          ok?: boolean;
          why?: string;
        };
        if (m.ready) {
          clearTimeout(deadline);
          resolve();
        } else if (m.fatal !== undefined) reject(new Error(`agent in ${ns}: ${m.fatal}`));
        else if (m.id !== undefined) {
          this.#waiting.get(m.id)?.({ ok: m.ok === true, why: m.why ?? '' });
          this.#waiting.delete(m.id);
        }
      });
    });
  }

  probe(host: string, p: Probe, timeoutMs: number): Promise<ProbeResult> {
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      this.child.stdin!.write(`${JSON.stringify({ id, host, proto: p.proto, port: p.port, timeoutMs })}\n`);
    });
  }

  stop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

// ---------------------------------------------------------------------------------------------
// Lab setup and the apply of one scenario.

interface NodeRuntime {
  readonly name: NodeName;
  readonly ns: string;
  readonly ipsets: IpsetWriter;
  readonly v4: IptablesWriter;
  readonly v6: IptablesWriter;
  readonly agent: Agent;
}

interface ApplyReport {
  readonly node: NodeName;
  readonly iptablesBytes: number;
  readonly ipsetBytes: number;
}

const lab = isRoot ? new Lab({ prefix: `mgyp-${process.pid}-` }) : undefined;
const nodes = new Map<NodeName, NodeRuntime>();
const podAgents = new Map<string, Agent>();
const agents: Agent[] = [];

async function setUp(l: Lab): Promise<void> {
  const nsOf = new Map<NodeName, string>();
  for (const n of ['node-1', 'node-2'] as const)
    nsOf.set(n, await l.addNamespace(n === 'node-1' ? 'n1' : 'n2'));
  await l.connect(
    { ns: nsOf.get('node-1')!, ifname: 'eth0', ipv4: '192.0.2.1/24', ipv6: '2001:db8:ff::1/64' },
    { ns: nsOf.get('node-2')!, ifname: 'eth0', ipv4: '192.0.2.2/24', ipv6: '2001:db8:ff::2/64' },
  );
  const routes = new Map<NodeName, RouteSpec[]>();
  for (const [n, info] of Object.entries(NODES) as [NodeName, (typeof NODES)[NodeName]][]) {
    const peer = NODES[info.peer];
    routes.set(n, [
      podGatewayAnchorRoute('eth0'),
      { dst: peer.podCidr4, nextHops: [{ gateway: peer.ip4 }], reason: `pod CIDR of ${info.peer}` },
      { dst: peer.podCidr6, nextHops: [{ gateway: peer.ip6 }], reason: `pod CIDR of ${info.peer}` },
    ]);
  }
  for (const p of PODS) {
    const podNs = await l.addNamespace(`p-${p.key}`);
    const wired = await wirePod({
      hostNs: nsOf.get(p.node)!,
      podNs,
      ifaceName: workloadIfaceName(p.namespace, p.name),
      ipv4: p.ip4,
      ipv6: p.ip6,
      netlink: (netns) => new Netlink(netns === undefined ? {} : { netns }),
    });
    routes.get(p.node)!.push(...wired.routes);
    const agent = new Agent(podNs, TCP_PORTS, UDP_PORTS);
    agents.push(agent);
    podAgents.set(p.key, agent);
  }
  const backend = (await detectBackend({ netns: nsOf.get('node-1')! })).backend;
  for (const n of ['node-1', 'node-2'] as const) {
    const ns = nsOf.get(n)!;
    const table = new RouteTable({ netlink: new Netlink({ netns: ns }) });
    table.setDesired(routes.get(n)!);
    await table.apply();
    const agent = new Agent(ns, [], []);
    agents.push(agent);
    nodes.set(n, {
      name: n,
      ns,
      ipsets: new IpsetWriter({ netns: ns }),
      v4: new IptablesWriter({ family: 'inet', backend, netns: ns }),
      v6: new IptablesWriter({ family: 'inet6', backend, netns: ns }),
      agent,
    });
  }
  await Promise.all(agents.map((a) => a.ready));
}

async function program(policies: NetworkPolicy[], pods: readonly PodDef[]): Promise<ApplyReport[]> {
  const reports: ApplyReport[] = [];
  for (const node of nodes.values()) {
    const render = renderPolicy({
      nodeName: node.name,
      namespaces: NAMESPACES,
      pods: policyPods(pods),
      policies,
    });
    expect(render.explain.problems).toEqual([]);
    node.ipsets.setDesired(render.ipsets);
    node.v4.setDesired(render.iptables.inet);
    node.v6.setDesired(render.iptables.inet6);
    const ipsetBefore = node.ipsets.stats.bytesWritten;
    const iptBefore = node.v4.stats.bytesWritten + node.v6.stats.bytesWritten;
    await applyAll({ ipsets: node.ipsets, iptables: [node.v4, node.v6] }, { retry: { maxAttempts: 1 } });
    reports.push({
      node: node.name,
      iptablesBytes: node.v4.stats.bytesWritten + node.v6.stats.bytesWritten - iptBefore,
      ipsetBytes: node.ipsets.stats.bytesWritten - ipsetBefore,
    });
    // A new scenario must not ride on flows an earlier one let through.
    await lab!.exec(node.ns, ['conntrack', '-F'], { allowFailure: true });
  }
  return reports;
}

interface Case {
  readonly what: string;
  readonly run: () => Promise<ProbeResult>;
  readonly expected: boolean;
}

function cases(s: Scenario): Case[] {
  const pods = s.pods ?? PODS;
  const ingress = s.ingress ?? (() => true);
  const egress = s.egress ?? (() => true);
  const out: Case[] = [];
  for (const family of [4, 6] as const) {
    for (const dst of pods) {
      const addr = family === 4 ? dst.ip4 : dst.ip6;
      for (const p of s.probes) {
        for (const src of pods) {
          if (src.key === dst.key) continue;
          out.push({
            what: `IPv${family} ${src.key} → ${dst.key} ${p.proto}/${p.port}`,
            run: () => podAgents.get(src.key)!.probe(addr, p, PROBE_TIMEOUT_MS),
            expected: egress(src, dst, p) && ingress({ kind: 'pod', pod: src }, dst, p),
          });
        }
        for (const n of ['node-1', 'node-2'] as const) {
          const local = dst.node === n;
          out.push({
            what: `IPv${family} host ${n} → ${dst.key} ${p.proto}/${p.port}`,
            run: () => nodes.get(n)!.agent.probe(addr, p, PROBE_TIMEOUT_MS),
            // The node always reaches its own pods; another node's host is an ordinary source.
            expected: local || ingress({ kind: 'host', node: n }, dst, p),
          });
        }
      }
    }
  }
  return out;
}

const PROBE_TIMEOUT_MS = 1_500;

describe.skipIf(!isRoot)('NetworkPolicy with real traffic between two nodes × three pods (netns)', () => {
  beforeAll(async () => {
    try {
      await setUp(lab!);
    } catch (err) {
      for (const a of agents) a.stop();
      await lab!.teardown().catch(() => {});
      throw err;
    }
  }, 60_000);

  afterAll(async () => {
    for (const a of agents) a.stop();
    await lab?.teardown();
  }, 30_000);

  for (const s of SCENARIOS) {
    it(s.name, { timeout: 20_000 }, async () => {
      const reports = await program(s.policies, s.pods ?? PODS);
      s.afterApply?.(reports);
      const all = cases(s);
      const results = await Promise.all(all.map(async (c) => ({ c, r: await c.run() })));
      const wrong = results
        .filter(({ c, r }) => r.ok !== c.expected)
        .map(
          ({ c, r }) =>
            `${c.what}: expected ${c.expected ? 'allowed' : 'denied'}, got ${r.ok ? 'through' : `blocked (${r.why})`}`,
        );
      expect(wrong).toEqual([]);
      // Both outcomes occur in every scenario but the open one (the matrix is not vacuous).
      if (s.policies.length > 0) expect(new Set(all.map((c) => c.expected)).size).toBe(2);
    });
  }
});
