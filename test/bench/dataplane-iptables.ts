// Benchmark: program P policies over E pods with the iptables/ipset writers, against a raw
// `ipset restore` + `iptables-nft-restore --noflush` of the very same text, each in a fresh network
// namespace (target: at most 1.2× the raw tools). Then one pod label change (the pod moves from one
// selector ipset to another): bytes written, commands run, milliseconds — it must touch only the two
// ipset entries. Prints one JSON line.
//
// The ruleset is synthetic, in Felix's layout (dataplane.ts item 3 takes the renderer's own output):
//   filter FORWARD → mgy-FORWARD: conntrack accept, then per pod `-o <veth> -g mgy-tw-<pod>` and
//   `-i <veth> -g mgy-fw-<pod>`; per pod to-workload chain: clear mark, one jump per policy that
//   selects the pod, return on mark, drop; per pod from-workload chain: clear mark, accept; per
//   policy chain: TCP ports from the peer selector's ipset and UDP 53, each setting the accept mark.
//   Policy i selects app (i mod apps) and allows from app (7i mod apps); one hash:ip set per app.
//
// Usage: node test/bench/dataplane-iptables.ts --policies 1000 --pods 5000 [--repeat 2]
// Raw and writer runs alternate (--repeat pairs) and the best of each is compared.
// Runs only inside namespaces it creates (`mgyi-<pid>-bench-…`), removed on every exit path.
import { execFileSync } from 'node:child_process';
import { run } from '../../felix/dataplane/exec.ts';
import { IpsetWriter } from '../../felix/dataplane/ipsets/writer.ts';
import { IptablesWriter } from '../../felix/dataplane/iptables/writer.ts';
import type { IpSet } from '../../felix/model/ipsets.ts';
import { ipsetName } from '../../felix/model/ipsets.ts';
import type { Chain, TableState } from '../../felix/model/iptables.ts';
import { chainName } from '../../felix/model/iptables.ts';

const MARK = 0x10000;

interface Synthetic {
  readonly tables: TableState[];
  readonly ipsets: IpSet[];
  readonly podIp: (pod: number) => string;
  readonly appOf: (pod: number) => number;
  readonly setOfApp: (app: number) => string;
}

function podIp(pod: number): string {
  return `10.244.${Math.floor(pod / 250)}.${(pod % 250) + 1}`;
}

export function syntheticState(policies: number, pods: number): Synthetic {
  const apps = Math.max(1, Math.min(200, Math.ceil(pods / 25)));
  const appOf = (pod: number) => pod % apps;
  const setOfApp = (app: number) => ipsetName('s', `app == app-${app}`, 'hash:ip', 'inet');
  const ipsets: IpSet[] = [];
  const members: string[][] = Array.from({ length: apps }, () => []);
  for (let p = 0; p < pods; p++) members[appOf(p)]!.push(podIp(p));
  for (let a = 0; a < apps; a++) {
    ipsets.push({
      name: setOfApp(a),
      type: 'hash:ip',
      family: 'inet',
      members: members[a]!,
      origin: `app-${a}`,
    });
  }
  const policyChains: Chain[] = [];
  const policiesOfApp: string[][] = Array.from({ length: apps }, () => []);
  for (let i = 0; i < policies; i++) {
    const name = chainName('pi', `default/policy-${i}`);
    policiesOfApp[i % apps]!.push(name);
    const from = setOfApp((7 * i) % apps);
    policyChains.push({
      name,
      rules: [
        {
          match: [
            '-p',
            'tcp',
            '-m',
            'set',
            '--match-set',
            from,
            'src',
            '-m',
            'multiport',
            '--dports',
            `80,${8000 + (i % 100)}`,
          ],
          action: { type: 'setMark', mark: MARK, mask: MARK },
          comment: `policy default/policy-${i} ingress[0]`,
        },
        {
          match: ['-p', 'udp', '-m', 'set', '--match-set', from, 'src', '--dport', '53'],
          action: { type: 'setMark', mark: MARK, mask: MARK },
          comment: `policy default/policy-${i} ingress[1]`,
        },
      ],
    });
  }
  const forward: Chain = {
    name: 'mgy-FORWARD',
    rules: [
      {
        match: ['-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED'],
        action: { type: 'accept' },
        comment: 'return traffic',
      },
      ...Array.from({ length: pods }, (_, p) => {
        const veth = `mgy${p.toString(16).padStart(11, '0')}`;
        return [
          {
            match: ['-o', veth],
            action: { type: 'goto' as const, chain: chainName('tw', `pod-${p}`) },
            comment: `to workload default/pod-${p}`,
          },
          {
            match: ['-i', veth],
            action: { type: 'goto' as const, chain: chainName('fw', `pod-${p}`) },
            comment: `from workload default/pod-${p}`,
          },
        ];
      }).flat(),
    ],
  };
  const podChains: Chain[] = [];
  for (let p = 0; p < pods; p++) {
    const selecting = policiesOfApp[appOf(p)]!;
    podChains.push({
      name: chainName('tw', `pod-${p}`),
      rules: [
        { match: [], action: { type: 'setMark', mark: 0, mask: MARK }, comment: 'clear policy mark' },
        ...selecting.map((chain) => ({
          match: [],
          action: { type: 'jump' as const, chain },
          comment: chain,
        })),
        ...(selecting.length > 0
          ? [
              {
                match: ['-m', 'mark', '--mark', `0x${MARK.toString(16)}/0x${MARK.toString(16)}`],
                action: { type: 'return' as const },
              },
              { match: [], action: { type: 'drop' as const }, comment: 'default deny' },
            ]
          : [{ match: [], action: { type: 'accept' as const }, comment: 'no policy selects the pod' }]),
      ],
    });
    podChains.push({
      name: chainName('fw', `pod-${p}`),
      rules: [
        { match: [], action: { type: 'setMark', mark: 0, mask: MARK }, comment: 'clear policy mark' },
        { match: [], action: { type: 'accept' }, comment: 'no egress policy' },
      ],
    });
  }
  return {
    tables: [
      {
        table: 'filter',
        chains: [forward, ...policyChains, ...podChains],
        jumps: [{ from: 'FORWARD', to: 'mgy-FORWARD' }],
      },
    ],
    ipsets,
    podIp,
    appOf,
    setOfApp,
  };
}

// Namespaces alive right now, removed by exact name on SIGINT/SIGTERM as well as in `finally`.
const live = new Set<string>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const ns of live) execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

async function withNamespace<T>(label: string, fn: (ns: string) => Promise<T>): Promise<T> {
  const ns = `mgyi-${process.pid}-bench-${label}`;
  await run({ argv: ['ip', 'netns', 'add', ns] });
  live.add(ns);
  try {
    return await fn(ns);
  } finally {
    await run({ argv: ['ip', 'netns', 'del', ns], allowFailure: true });
    live.delete(ns);
  }
}

const seconds = (ms: number) => Math.round(ms) / 1000;

export async function runDataplaneIptablesBench(opts: {
  policies: number;
  pods: number;
  /** Raw/writer run pairs (default 2); the best of each is compared. */
  repeat?: number;
}): Promise<object> {
  const state = syntheticState(opts.policies, opts.pods);

  // The exact text our writer sends to an empty kernel (rendered outside the timed region).
  const dryIptables = new IptablesWriter({
    family: 'inet',
    backend: 'nft',
    run: async () => ({ stdout: '', stderr: '', code: 0 }),
  });
  dryIptables.setDesired(state.tables);
  const iptablesText = dryIptables.pendingInput();
  const dryIpsets = new IpsetWriter();
  dryIpsets.setDesired(state.ipsets);
  const ipsetText = dryIpsets.pendingUpdates();

  const rawOnce = () =>
    withNamespace('raw', async (ns) => {
      const t0 = performance.now();
      await run({ argv: ['ipset', 'restore', '-exist'], input: ipsetText, netns: ns, timeoutMs: 600_000 });
      await run({
        argv: ['iptables-nft-restore', '--noflush'],
        input: iptablesText,
        netns: ns,
        timeoutMs: 600_000,
      });
      return performance.now() - t0;
    });

  const writerOnce = () =>
    withNamespace('writer', async (ns) => {
      const ipsets = new IpsetWriter({ netns: ns });
      const v4 = new IptablesWriter({ family: 'inet', backend: 'nft', netns: ns });
      const t0 = performance.now();
      ipsets.setDesired(state.ipsets);
      v4.setDesired(state.tables);
      await ipsets.applyUpdates();
      const r = await v4.apply();
      await ipsets.applyDeletions();
      const writerMs = performance.now() - t0;

      // A drift-free resync: one iptables-save of the whole ruleset, parsed and compared.
      const t1 = performance.now();
      const resync = await v4.resync();
      const resyncMs = performance.now() - t1;
      if (resync.bytesWritten !== 0) throw new Error(`resync after apply wrote ${resync.bytesWritten} bytes`);

      // One pod label change: pod 0 moves from its app's set to the next app's set.
      const pod = 0;
      const from = state.setOfApp(state.appOf(pod));
      const to = state.setOfApp(state.appOf(pod) + 1);
      const moved = state.ipsets.map((s) =>
        s.name === from
          ? { ...s, members: s.members.filter((m) => m !== state.podIp(pod)) }
          : s.name === to
            ? { ...s, members: [...s.members, state.podIp(pod)] }
            : s,
      );
      const before = {
        ...ipsets.stats,
        iptablesCommands: v4.stats.commandsRun,
        iptablesBytes: v4.stats.bytesWritten,
      };
      const t2 = performance.now();
      ipsets.setDesired(moved);
      await ipsets.applyUpdates();
      const t3 = performance.now();
      v4.setDesired(state.tables);
      await v4.apply();
      const t4 = performance.now();
      await ipsets.applyDeletions();
      const labelMs = performance.now() - t2;
      const saved = (await run({ argv: ['ipset', 'save', to], netns: ns })).stdout;
      if (!saved.includes(`add ${to} ${state.podIp(pod)}`))
        throw new Error('label change did not reach the kernel');
      return {
        writerMs,
        bytesWritten: r.bytesWritten,
        resyncMs,
        labelChange: {
          bytesWritten:
            ipsets.stats.bytesWritten - before.bytesWritten + (v4.stats.bytesWritten - before.iptablesBytes),
          commandsRun:
            ipsets.stats.commandsRun - before.commandsRun + (v4.stats.commandsRun - before.iptablesCommands),
          entriesChanged:
            ipsets.stats.entriesAdded -
            before.entriesAdded +
            (ipsets.stats.entriesDeleted - before.entriesDeleted),
          ms: Math.round(labelMs * 10) / 10,
          ipsetMs: Math.round((t3 - t2) * 10) / 10,
          iptablesMs: Math.round((t4 - t3) * 10) / 10,
        },
      };
    });

  // Alternate raw and writer runs and keep the best of each, so neither pays alone for a cold
  // kernel or a cold JIT.
  const rawSamples: number[] = [];
  const writerSamples: number[] = [];
  let ours: Awaited<ReturnType<typeof writerOnce>> | undefined;
  for (let i = 0; i < Math.max(1, opts.repeat ?? 2); i++) {
    rawSamples.push(await rawOnce());
    const w = await writerOnce();
    writerSamples.push(w.writerMs);
    ours = w;
  }
  const rawMs = Math.min(...rawSamples);
  const writerMs = Math.min(...writerSamples);

  const rules = iptablesText.split('\n').filter((l) => l.startsWith('-A ') || l.startsWith('-I ')).length;
  return {
    bench: 'dataplane-iptables',
    policies: opts.policies,
    pods: opts.pods,
    rules,
    chains: iptablesText.split('\n').filter((l) => l.startsWith(':')).length,
    ipsets: state.ipsets.length,
    ipsetEntries: state.ipsets.reduce((n, s) => n + s.members.length, 0),
    restoreBytes: Buffer.byteLength(iptablesText) + Buffer.byteLength(ipsetText),
    rawSeconds: seconds(rawMs),
    writerSeconds: seconds(writerMs),
    ratio: Math.round((writerMs / rawMs) * 100) / 100,
    samples: { rawSeconds: rawSamples.map(seconds), writerSeconds: writerSamples.map(seconds) },
    writerBytesMatchRaw: ours!.bytesWritten === Buffer.byteLength(iptablesText),
    resyncSeconds: seconds(ours!.resyncMs),
    labelChange: ours!.labelChange,
  };
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
  const result = await runDataplaneIptablesBench({
    policies: flag(argv, 'policies', 1000),
    pods: flag(argv, 'pods', 5000),
    repeat: flag(argv, 'repeat', 2),
  });
  console.log(JSON.stringify(result));
}
