// Continuous pod-to-pod probes: one `echo-main.ts watch` process per source pod probing every other
// pod listening on the port, each pair on its own every `intervalMs`, until stopped. It answers
// "did any connection fail while something happened" (an agent killed and restarted, a policy
// applied), which a matrix taken before and after cannot: a gap of a few hundred milliseconds
// between two matrices goes unseen.
//
// The processes run in the pod namespaces (the path real pod traffic takes) and write one JSON
// line per result into a log in the lab dir; `results()` reads those logs. They are not recorded
// in the state file: `stop()` ends them, and `lab down` kills whatever is left in the namespaces.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ECHO_MAIN, listenerPorts } from './build.ts';
import { formatTarget, formatTargetArg, type ProbeOutcome, type ProbeTarget } from './echo.ts';
import { type ProcessHandle, spawnIn } from './netns.ts';
import type { LabState, PodRecord } from './state.ts';
import { parsePortSpec } from './traffic.ts';
import { waitFor } from './wait.ts';

export interface LoopResult {
  /** Start of the probe, ms since the epoch. */
  readonly t: number;
  /** "ns/name" of the source and destination pods. */
  readonly from: string;
  readonly to: string;
  readonly outcome: ProbeOutcome;
  readonly detail?: string;
  readonly ms: number;
}

export interface ProbeLoopOptions {
  /** "8080/tcp". */
  readonly port: string;
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
  readonly family?: 4 | 6;
  /** Source pods; default every pod. */
  readonly from?: readonly PodRecord[];
  /** Probe from this namespace instead of pods, e.g. the ToR's; results name it `id`. */
  readonly fromNamespace?: { readonly ns: string; readonly id: string };
}

export interface ProbeLoop {
  /** Every result so far, in start order. */
  results(): LoopResult[];
  /** The source→destination pairs probed. */
  readonly pairs: readonly { from: string; to: string }[];
  stop(): Promise<void>;
}

const podId = (p: PodRecord): string => `${p.namespace}/${p.name}`;

/** Start the loops; resolves once every process has started probing. */
export async function startProbeLoop(state: LabState, o: ProbeLoopOptions): Promise<ProbeLoop> {
  const { port, protocol } = parsePortSpec(o.port);
  const family = o.family ?? 4;
  const dests = state.pods.filter((p) => listenerPorts(p.ports).includes(port));
  const sources: readonly { ns: string; id: string; pod?: PodRecord }[] =
    o.fromNamespace !== undefined
      ? [o.fromNamespace]
      : (o.from ?? state.pods).map((p) => ({ ns: p.ns, id: podId(p), pod: p }));
  const procs: { handle: ProcessHandle; from: string; byTarget: Map<string, string> }[] = [];
  const pairs: { from: string; to: string }[] = [];
  const stamp = Date.now().toString(36);
  for (const src of sources) {
    const targets: ProbeTarget[] = [];
    const byTarget = new Map<string, string>();
    for (const d of dests) {
      if (d === src.pod) continue;
      const address = family === 6 ? d.ipv6 : d.ipv4;
      if (address === undefined) continue;
      const t: ProbeTarget = { address, port, protocol, expect: podId(d) };
      targets.push(t);
      byTarget.set(formatTarget(t), podId(d));
      pairs.push({ from: src.id, to: podId(d) });
    }
    if (targets.length === 0) continue;
    const handle = spawnIn(
      src.ns,
      [
        process.execPath,
        ECHO_MAIN,
        'watch',
        String(o.intervalMs ?? 100),
        String(o.timeoutMs ?? 1_000),
        ...targets.map(formatTargetArg),
      ],
      { logFile: join(state.dir, `watch-${src.id.replace('/', '.')}-${stamp}.log`) },
    );
    procs.push({ handle, from: src.id, byTarget });
  }
  const read = (p: (typeof procs)[number]): LoopResult[] => {
    let text: string;
    try {
      text = readFileSync(p.handle.logFile, 'utf8');
    } catch {
      return [];
    }
    const out: LoopResult[] = [];
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      let r: { t: number; target: string; outcome: ProbeOutcome; detail?: string; ms: number };
      try {
        r = JSON.parse(line);
      } catch {
        continue; // a line being written
      }
      out.push({
        t: r.t,
        from: p.from,
        to: p.byTarget.get(r.target) ?? r.target,
        outcome: r.outcome,
        ...(r.detail !== undefined ? { detail: r.detail } : {}),
        ms: r.ms,
      });
    }
    return out;
  };
  const loop: ProbeLoop = {
    pairs,
    results: () => procs.flatMap(read).sort((a, b) => a.t - b.t),
    stop: async () => {
      await Promise.all(procs.map((p) => p.handle.stop(3_000)));
    },
  };
  try {
    await waitFor(
      () => {
        const dead = procs.find((p) => p.handle.exitStatus() !== undefined);
        if (dead) throw new Error(`probe loop in ${dead.from} exited; log ${dead.handle.logFile}`);
        return procs.every((p) => read(p).length > 0);
      },
      { describe: 'every probe loop to report a first result', timeoutMs: 15_000, intervalMs: 50 },
    );
  } catch (err) {
    await loop.stop();
    throw err;
  }
  return loop;
}
