// Benchmark: one pod label change through the policy renderer (felix/calc) and the ipset/iptables
// writers, in a network namespace created for the run. The cluster has P policies over E pods (20
// namespaces, 50 apps); this node runs `localPods` of them (a node's pods, not the cluster's:
// kubelet's default maxPods is 110). After the full program, one local pod changes its `app` label,
// moving it between target, peer and named-port sets of many policies; the figures are the bytes
// written and commands run by that apply (ipset and iptables separately) and the milliseconds to
// render and to apply. Target: only the ipsets whose members change are written — zero iptables
// bytes. (A set emptied or rewritten by a swap counts its whole content, so the target is on sets.)
// The same change through the whole agent (datastore, calculation, Dataplane) is measured by
// policy-path.ts.
//
// Usage: node test/bench/dataplane-policy.ts [--policies 1000] [--pods 5000] [--local-pods 250]
// Prints one JSON line. Runs only inside the namespace it creates (`mgyb-<pid>-policy`), removed
// on every exit path (normal end, error, SIGINT/SIGTERM through the shared Teardown).
import { renderPolicy } from '../../felix/calc/render-policy.ts';
import { applyAll } from '../../felix/dataplane/apply.ts';
import { run } from '../../felix/dataplane/exec.ts';
import { IpsetWriter } from '../../felix/dataplane/ipsets/writer.ts';
import { detectBackend } from '../../felix/dataplane/iptables/backend.ts';
import { IptablesWriter } from '../../felix/dataplane/iptables/writer.ts';
import { tempIpsetName } from '../../felix/model/ipsets.ts';
import type { NetworkPolicy, PolicyInput, PolicyNamespace, PolicyPod } from '../../felix/model/policy.ts';
import { Teardown } from './lib/teardown.ts';

export interface PolicyBenchOptions {
  readonly policies?: number;
  readonly pods?: number;
  /** Pods on the node under test (they get endpoint chains); default 250. */
  readonly localPods?: number;
}

export interface PolicyLabelChangeResult {
  readonly bench: 'dataplane-policy-label-change';
  readonly policies: number;
  readonly pods: number;
  readonly localPods: number;
  readonly fullProgram: {
    readonly ms: number;
    readonly renderMs: number;
    readonly iptablesBytes: number;
    readonly ipsetBytes: number;
    readonly chains: number;
    readonly rules: number;
    readonly ipsets: number;
    readonly ipsetEntries: number;
  };
  readonly labelChange: {
    readonly pod: string;
    readonly from: string;
    readonly to: string;
    readonly renderMs: number;
    readonly applyMs: number;
    readonly iptablesBytes: number;
    readonly iptablesCommands: number;
    readonly ipsetBytes: number;
    readonly ipsetCommands: number;
    readonly ipsetEntriesAdded: number;
    readonly ipsetEntriesDeleted: number;
    readonly ipsetsTouched: number;
    /** ipset entries whose membership changed between the two renders (what "affected" means). */
    readonly affectedEntries: number;
    /** The sets the change's restore input names, and whether each is one whose members changed. */
    readonly ipsetSetsWritten: readonly string[];
    readonly onlyAffectedSetsWritten: boolean;
  };
}

const NAMESPACES = 20;
const APPS = 50;

function podIp(i: number): string {
  return `10.244.${Math.floor(i / 250)}.${(i % 250) + 1}`;
}

/** The app whose pods policy j allows ingress from (a pod selector in the policy's namespace). */
export function syntheticPeerApp(j: number, apps: number): number {
  return (7 * j + 3) % apps;
}

/**
 * Policy j of a synthetic cluster whose pods carry `app: app-0 … app-(apps-1)` and `tier`: it
 * selects app j mod apps; ingress from app syntheticPeerApp(j) of its namespace and from front/mid pods of `env: prod`
 * namespaces on TCP 80, the named port `http` and 9000-9100, and from 192.0.2.0/24 less a /25 on
 * UDP 53; every fourth policy also has an egress rule to its team's namespaces on the named port
 * `dns`.
 */
export function syntheticPolicySpec(j: number, apps: number): NetworkPolicy['spec'] {
  return {
    podSelector: { matchLabels: { app: `app-${j % apps}` } },
    ingress: [
      {
        from: [
          { podSelector: { matchLabels: { app: `app-${syntheticPeerApp(j, apps)}` } } },
          {
            namespaceSelector: { matchLabels: { env: 'prod' } },
            podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'mid'] }] },
          },
        ],
        ports: [
          { protocol: 'TCP', port: 80 },
          { port: 'http' },
          { protocol: 'TCP', port: 9000, endPort: 9100 },
        ],
      },
      {
        from: [{ ipBlock: { cidr: '192.0.2.0/24', except: ['192.0.2.128/25'] } }],
        ports: [{ protocol: 'UDP', port: 53 }],
      },
    ],
    ...(j % 4 === 0
      ? {
          egress: [
            {
              to: [{ namespaceSelector: { matchLabels: { team: `t${j % 5}` } } }],
              ports: [{ port: 'dns', protocol: 'UDP' }],
            },
          ],
        }
      : {}),
  };
}

/** Pods 0..localPods-1 are on `node-0`; the rest are spread over other nodes. */
export function syntheticCluster(policies: number, pods: number, localPods: number): PolicyInput {
  const namespaces: PolicyNamespace[] = Array.from({ length: NAMESPACES }, (_, i) => ({
    name: `ns-${i}`,
    labels: { env: i % 2 === 0 ? 'prod' : 'dev', team: `t${i % 5}` },
  }));
  const podList: PolicyPod[] = Array.from({ length: pods }, (_, i) => ({
    namespace: `ns-${i % NAMESPACES}`,
    name: `pod-${i}`,
    nodeName: i < localPods ? 'node-0' : `node-${1 + (i % 40)}`,
    labels: { app: `app-${i % APPS}`, tier: ['front', 'mid', 'back'][i % 3]! },
    ipv4: [podIp(i)],
    ports: [
      { name: 'http', containerPort: 8000 + (i % 7) },
      { name: 'dns', containerPort: 53, protocol: 'UDP' },
    ],
  }));
  const policyList: NetworkPolicy[] = Array.from({ length: policies }, (_, j) => ({
    namespace: `ns-${j % NAMESPACES}`,
    name: `policy-${j}`,
    spec: syntheticPolicySpec(j, APPS),
  }));
  return { nodeName: 'node-0', namespaces, pods: podList, policies: policyList };
}

function entryKeys(sets: readonly { name: string; members: readonly string[] }[]): Set<string> {
  const out = new Set<string>();
  for (const s of sets) for (const m of s.members) out.add(`${s.name} ${m}`);
  return out;
}

export async function runPolicyLabelChangeBench(
  opts: PolicyBenchOptions = {},
): Promise<PolicyLabelChangeResult> {
  const policies = opts.policies ?? 1000;
  const pods = opts.pods ?? 5000;
  const localPods = Math.min(opts.localPods ?? 250, pods);
  const teardown = new Teardown();
  const ns = `mgyb-${process.pid}-policy`;
  try {
    await run({ argv: ['ip', 'netns', 'add', ns] });
    teardown.add(`netns ${ns}`, async () => {
      await run({ argv: ['ip', 'netns', 'del', ns], allowFailure: true });
    });
    const backend = (await detectBackend({ netns: ns })).backend;
    // Every ipset restore input, to see which sets a change writes.
    const ipsetInputs: string[] = [];
    const ipsets = new IpsetWriter({
      netns: ns,
      run: (c) => {
        if (c.input !== undefined) ipsetInputs.push(c.input);
        return run(c);
      },
    });
    const v4 = new IptablesWriter({ family: 'inet', backend, netns: ns });
    const v6 = new IptablesWriter({ family: 'inet6', backend, netns: ns });
    const parts = { ipsets, iptables: [v4, v6] };
    const iptBytes = () => v4.stats.bytesWritten + v6.stats.bytesWritten;
    const iptCommands = () => v4.stats.commandsRun + v6.stats.commandsRun;

    const input = syntheticCluster(policies, pods, localPods);
    let t = performance.now();
    const first = renderPolicy(input);
    const firstRenderMs = performance.now() - t;
    t = performance.now();
    ipsets.setDesired(first.ipsets);
    v4.setDesired(first.iptables.inet);
    v6.setDesired(first.iptables.inet6);
    await applyAll(parts, { retry: { maxAttempts: 1 } });
    const fullMs = performance.now() - t;
    const chains = [...first.iptables.inet, ...first.iptables.inet6].flatMap((s) => s.chains);
    const fullProgram = {
      ms: round(fullMs),
      renderMs: round(firstRenderMs),
      iptablesBytes: iptBytes(),
      ipsetBytes: ipsets.stats.bytesWritten,
      chains: chains.length,
      rules: chains.reduce((n, c) => n + c.rules.length, 0),
      ipsets: first.ipsets.length,
      ipsetEntries: first.ipsets.reduce((n, s) => n + s.members.length, 0),
    };

    // The label change: local pod 0 moves from app-0 to app-10 (policies target both in its namespace).
    const target = input.pods[0]!;
    const from = target.labels?.app ?? '';
    const to = `app-${(Number(from.slice(4)) + 10) % APPS}`;
    const changed: PolicyInput = {
      ...input,
      pods: input.pods.map((p, i) => (i === 0 ? { ...p, labels: { ...p.labels, app: to } } : p)),
    };
    t = performance.now();
    const second = renderPolicy(changed);
    const renderMs = performance.now() - t;
    const before = {
      ipt: iptBytes(),
      iptCmd: iptCommands(),
      ips: { ...ipsets.stats },
      inputs: ipsetInputs.length,
    };
    t = performance.now();
    ipsets.setDesired(second.ipsets);
    v4.setDesired(second.iptables.inet);
    v6.setDesired(second.iptables.inet6);
    await applyAll(parts, { retry: { maxAttempts: 1 } });
    const applyMs = performance.now() - t;
    const a = entryKeys(first.ipsets);
    const b = entryKeys(second.ipsets);
    const affected = [...a].filter((k) => !b.has(k)).length + [...b].filter((k) => !a.has(k)).length;
    const touched = new Set(
      [...a]
        .filter((k) => !b.has(k))
        .concat([...b].filter((k) => !a.has(k)))
        .map((k) => k.split(' ')[0]!),
    );
    // The sets named by the change's restore lines (add/del/create/destroy SET, swap TEMP SET); a
    // set rewritten through a swap shows as its temporary too.
    const written = new Set<string>();
    for (const input of ipsetInputs.slice(before.inputs)) {
      for (const line of input.split('\n')) {
        const parts = line.trim().split(/\s+/);
        if (parts.length < 2) continue;
        written.add(parts[1]!);
        if (parts[0] === 'swap' && parts[2] !== undefined) written.add(parts[2]);
      }
    }
    const allowed = new Set([...touched, ...[...touched].map(tempIpsetName)]);
    return {
      bench: 'dataplane-policy-label-change',
      policies,
      pods,
      localPods,
      fullProgram,
      labelChange: {
        pod: `${target.namespace}/${target.name}`,
        from: `app=${from}`,
        to: `app=${to}`,
        renderMs: round(renderMs),
        applyMs: round(applyMs),
        iptablesBytes: iptBytes() - before.ipt,
        iptablesCommands: iptCommands() - before.iptCmd,
        ipsetBytes: ipsets.stats.bytesWritten - before.ips.bytesWritten,
        ipsetCommands: ipsets.stats.commandsRun - before.ips.commandsRun,
        ipsetEntriesAdded: ipsets.stats.entriesAdded - before.ips.entriesAdded,
        ipsetEntriesDeleted: ipsets.stats.entriesDeleted - before.ips.entriesDeleted,
        ipsetsTouched: touched.size,
        affectedEntries: affected,
        ipsetSetsWritten: [...written].sort(),
        onlyAffectedSetsWritten: [...written].every((name) => allowed.has(name)),
      },
    };
  } finally {
    const failures = await teardown.run();
    if (failures.length > 0) process.stderr.write(`teardown: ${failures.join('; ')}\n`);
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

function flag(argv: readonly string[], name: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} needs a non-negative integer`);
  return v;
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  const result = await runPolicyLabelChangeBench({
    policies: flag(argv, 'policies', 1000),
    pods: flag(argv, 'pods', 5000),
    localPods: flag(argv, 'local-pods', 250),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
