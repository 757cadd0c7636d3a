// `npm run bench -- dataplane`: the dataplane writers against the raw tools, in one JSON line
// (stdout), with a human summary on stderr. It runs, in network namespaces it creates and removes:
//   1. routes: install and remove 10k and 100k routes with the RouteTable reconciler against raw
//      `ip -batch` of the same lines, through one process and through two concurrent processes
//      with the reconciler's partition of the lines; the ratios are the median over `--rounds`
//      rounds (default 5, after a warm-up) of the ratios within a round (dataplane-routes.ts);
//   2. iptables/ipsets, synthetic: P policies × E pods in Felix's layout, writers vs a raw
//      `ipset restore` + `iptables-nft-restore` of the very same text (dataplane-iptables.ts);
//   3. iptables/ipsets, rendered: the NetworkPolicy renderer's output (felix/calc renderPolicy) for
//      the cluster of dataplane-policy.ts (P policies, E pods, `--local-pods` on the node), writers
//      (ipsets → iptables v4 → v6 → ipset deletions) vs raw `ipset restore` + `iptables-nft-restore`
//      + `ip6tables-nft-restore` of the text the writers send, alternating, medians, each in a fresh
//      namespace; the writer must send exactly the raw text's bytes;
//   4. one pod label change through the real renderer and writers: bytes, commands, ms; the target
//      is zero iptables bytes and only the ipsets whose members change (dataplane-policy.ts).
// Targets: each ratio ≤ 1.2 (routes: judged against one raw process and against two); the label
// change writes only the affected sets. The whole agent path, datastore change to kernel, is
// the policy-path benchmark (policy-path.ts).
//
// Flags: --counts 10000,100000  --rounds 5  --policies 1000  --pods 5000  --local-pods 250
//        --only routes,iptables,policy,label   (default all)
import { loadavg } from 'node:os';
import { renderPolicy } from '../../felix/calc/render-policy.ts';
import { run } from '../../felix/dataplane/exec.ts';
import { IpsetWriter } from '../../felix/dataplane/ipsets/writer.ts';
import { IptablesWriter } from '../../felix/dataplane/iptables/writer.ts';
import { runDataplaneIptablesBench } from './dataplane-iptables.ts';
import { runPolicyLabelChangeBench, syntheticCluster } from './dataplane-policy.ts';
import { runDataplaneRoutesBench } from './dataplane-routes.ts';
import { Teardown } from './lib/teardown.ts';

const TARGET_RATIO = 1.2;

function flag(argv: readonly string[], name: string, fallback: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
}

function intFlag(argv: readonly string[], name: string, fallback: number): number {
  const v = Number(flag(argv, name, String(fallback)));
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} needs a positive integer`);
  return v;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;
const r2 = (x: number) => Math.round(x * 100) / 100;

export interface RealPolicyFigures {
  readonly policies: number;
  readonly pods: number;
  readonly localPods: number;
  readonly rules: number;
  readonly chains: number;
  readonly ipsets: number;
  readonly ipsetEntries: number;
  readonly restoreBytes: number;
  readonly rawSeconds: number;
  readonly writerSeconds: number;
  readonly ratio: number;
  readonly samples: { readonly rawSeconds: number[]; readonly writerSeconds: number[] };
  readonly writerBytesMatchRaw: boolean;
}

/** Writers vs raw restore of the renderer's output (see the file comment, item 3). */
export async function runRealPolicyBench(opts: {
  policies: number;
  pods: number;
  localPods: number;
  rounds: number;
}): Promise<RealPolicyFigures> {
  const render = renderPolicy(syntheticCluster(opts.policies, opts.pods, opts.localPods));
  // The exact text the writers send to an empty kernel, rendered outside any timed region.
  const noKernel = async () => ({ stdout: '', stderr: '', code: 0 });
  const dry = (family: 'inet' | 'inet6') => {
    const w = new IptablesWriter({ family, backend: 'nft', run: noKernel });
    w.setDesired(render.iptables[family]);
    return w.pendingInput();
  };
  const v4Text = dry('inet');
  const v6Text = dry('inet6');
  const dryIpsets = new IpsetWriter({ run: noKernel });
  dryIpsets.setDesired(render.ipsets);
  const ipsetText = dryIpsets.pendingUpdates();

  const teardown = new Teardown();
  let k = 0;
  const inFreshNamespace = async (fn: (ns: string) => Promise<number>): Promise<number> => {
    const ns = `mgyb-${process.pid}-realpol${k++}`;
    await run({ argv: ['ip', 'netns', 'add', ns] });
    teardown.add(`netns ${ns}`, async () => {
      await run({ argv: ['ip', 'netns', 'del', ns], allowFailure: true });
    });
    try {
      return await fn(ns);
    } finally {
      await run({ argv: ['ip', 'netns', 'del', ns], allowFailure: true });
    }
  };
  const raw = () =>
    inFreshNamespace(async (ns) => {
      const t0 = performance.now();
      await run({ argv: ['ipset', 'restore', '-exist'], input: ipsetText, netns: ns, timeoutMs: 600_000 });
      await run({
        argv: ['iptables-nft-restore', '--noflush'],
        input: v4Text,
        netns: ns,
        timeoutMs: 600_000,
      });
      await run({
        argv: ['ip6tables-nft-restore', '--noflush'],
        input: v6Text,
        netns: ns,
        timeoutMs: 600_000,
      });
      return performance.now() - t0;
    });
  let writerBytes = 0;
  const writers = () =>
    inFreshNamespace(async (ns) => {
      const ipsets = new IpsetWriter({ netns: ns });
      const v4 = new IptablesWriter({ family: 'inet', backend: 'nft', netns: ns });
      const v6 = new IptablesWriter({ family: 'inet6', backend: 'nft', netns: ns });
      const t0 = performance.now();
      ipsets.setDesired(render.ipsets);
      v4.setDesired(render.iptables.inet);
      v6.setDesired(render.iptables.inet6);
      await ipsets.applyUpdates();
      const a = await v4.apply();
      const b = await v6.apply();
      await ipsets.applyDeletions();
      const ms = performance.now() - t0;
      writerBytes = a.bytesWritten + b.bytesWritten;
      const check = await v4.resync();
      if (check.bytesWritten !== 0)
        throw new Error(`resync after the real-policy apply wrote ${check.bytesWritten} bytes`);
      return ms;
    });
  try {
    await raw(); // warm-up (kernel modules, page cache), not reported
    await writers();
    const rawMs: number[] = [];
    const writerMs: number[] = [];
    for (let i = 0; i < opts.rounds; i++) {
      // Alternate which goes first, so neither always runs right after the other's teardown.
      if (i % 2 === 0) {
        rawMs.push(await raw());
        writerMs.push(await writers());
      } else {
        writerMs.push(await writers());
        rawMs.push(await raw());
      }
    }
    const chains = [...render.iptables.inet, ...render.iptables.inet6].flatMap((t) => t.chains);
    const text = v4Text + v6Text;
    return {
      policies: opts.policies,
      pods: opts.pods,
      localPods: opts.localPods,
      rules: text.split('\n').filter((l) => l.startsWith('-A ') || l.startsWith('-I ')).length,
      chains: chains.length,
      ipsets: render.ipsets.length,
      ipsetEntries: render.ipsets.reduce((n, s) => n + s.members.length, 0),
      restoreBytes: Buffer.byteLength(text) + Buffer.byteLength(ipsetText),
      rawSeconds: r3(median(rawMs) / 1000),
      writerSeconds: r3(median(writerMs) / 1000),
      ratio: r3(median(writerMs) / median(rawMs)),
      samples: {
        rawSeconds: rawMs.map((x) => r3(x / 1000)),
        writerSeconds: writerMs.map((x) => r3(x / 1000)),
      },
      writerBytesMatchRaw: writerBytes === Buffer.byteLength(text),
    };
  } finally {
    const failures = await teardown.run();
    if (failures.length > 0) process.stderr.write(`teardown: ${failures.join('; ')}\n`);
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  if (process.getuid?.() !== 0) {
    process.stderr.write('dataplane bench: needs root (it creates network namespaces)\n');
    return 2;
  }
  const only = new Set(flag(argv, 'only', 'routes,iptables,policy,label').split(','));
  const counts = flag(argv, 'counts', '10000,100000').split(',').map(Number);
  if (counts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('bad --counts');
  const rounds = intFlag(argv, 'rounds', 5);
  const policies = intFlag(argv, 'policies', 1000);
  const pods = intFlag(argv, 'pods', 5000);
  const localPods = intFlag(argv, 'local-pods', 250);
  const out: Record<string, unknown> = { bench: 'dataplane', targetRatio: TARGET_RATIO, rounds };
  // The machine may be shared: its load at the start and at the end of the run.
  const loadAtStart = loadavg()[0]!;
  const verdicts: Record<string, boolean> = {};

  if (only.has('routes')) {
    const r = await runDataplaneRoutesBench({ counts, rounds });
    out.routes = r.results;
    for (const f of r.results) {
      verdicts[`routes${f.count}.install.vsRaw1`] = f.installVsRaw1 <= TARGET_RATIO;
      verdicts[`routes${f.count}.install.vsRaw2`] = f.installVsRaw2 <= TARGET_RATIO;
      verdicts[`routes${f.count}.remove.vsRaw1`] = f.removeVsRaw1 <= TARGET_RATIO;
      verdicts[`routes${f.count}.remove.vsRaw2`] = f.removeVsRaw2 <= TARGET_RATIO;
    }
  }
  if (only.has('iptables')) {
    const r = (await runDataplaneIptablesBench({
      policies,
      pods,
      repeat: Math.max(2, Math.ceil(rounds / 2)),
    })) as {
      ratio: number;
    };
    out.iptablesSynthetic = r;
    verdicts.iptablesSynthetic = r.ratio <= TARGET_RATIO;
  }
  if (only.has('policy')) {
    const r = await runRealPolicyBench({ policies, pods, localPods, rounds });
    out.iptablesRealPolicy = r;
    verdicts.iptablesRealPolicy = r.ratio <= TARGET_RATIO && r.writerBytesMatchRaw;
  }
  if (only.has('label')) {
    const r = await runPolicyLabelChangeBench({ policies, pods, localPods });
    out.labelChange = r;
    const lc = r.labelChange;
    verdicts.labelChange = lc.iptablesBytes === 0 && lc.onlyAffectedSetsWritten;
  }
  out.meetsTargets = verdicts;
  out.host = { loadavg1Start: r2(loadAtStart), loadavg1End: r2(loadavg()[0]!) };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  for (const [k, v] of Object.entries(verdicts)) process.stderr.write(`${v ? 'ok  ' : 'MISS'} ${k}\n`);
  return 0;
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
