// `npm run bench -- soak [--minutes 10] [--routes 1000] [--from dist|src] [--memory-limit 256Mi|none]
// [--node-options "--max-semi-space-size=4"]`: what session churn does to the memory of `margay
// speaker`, over minutes, with BIRD through the same churn as the reference.
//
// Two pairs of namespaces this run creates. In one, `margay speaker` listens on 192.0.2.2 with one
// passive peer, 192.0.2.1; in the other, BIRD does the same. In the other namespace of each pair a
// churning peer (bgp/churn.ts, a raw BGP sender of our own) loops for the given minutes: connect,
// OPEN, Established, N routes in UPDATEs and End-of-RIB; wait until the receiver has accepted all
// N (the speaker's /v1/bgp/peers, BIRD's `show protocols all`); drop the session, every other
// cycle with a Cease NOTIFICATION and otherwise with a plain TCP close; wait until the receiver
// has seen the session go down; repeat. Both churns run at the same time, each as fast as its
// receiver goes.
//
// The speaker runs as the chart runs it: in a memory cgroup of its own (a child of this process's)
// limited to the chart's `resources.limits.memory` (charts/margay/values.yaml), unless
// `--memory-limit` names another limit or `none`. It then sets its heap limits from that limit
// itself (src/heap.ts). `--node-options` are Node options for the speaker only, e.g. a
// semi-space size to compare with the one the speaker would choose (an option given wins over
// the speaker's own, as a user's NODE_OPTIONS would).
//
// Every 5 s: the speaker's resident set (VmRSS), its peak (VmHWM), its split into anonymous memory
// and file pages, the V8 heap in use (/metrics), the cgroup's working set (usage less inactive
// file pages: what the kubelet compares with the requests and the limit), the p99 event-loop delay
// from its /metrics (over the process's life, so the worst sample is the last one that grew),
// whether /healthz answers 200, and BIRD's resident set. Reported: cycles per receiver, the
// speaker's RSS at the start of the churn, after 1 min, at the end and its peak, the slope of RSS
// over the last half of the run (MB per minute: a leak keeps a slope, a plateau has none), the
// same for the working set with the cgroup's peak usage and OOM kills, the heap limit the speaker
// reports and the peak of the heap in use, the worst p99 event-loop delay of the samples taken
// during the churn (the first, taken as the churn starts, carries the start-up's), and whether
// the speaker was alive and /healthz answered at the end.
//
// `--from dist` (the default) runs the build, `node dist/src/main.js`, as the container image
// does, and refuses a build older than the sources (run `npm run build`); `--from src` runs the
// .ts sources through Node's type stripping.
//
// Output: one JSON line on stdout, a table on stderr. Everything this run creates (namespaces,
// processes by PID, temporary files) is removed at the end, on failure and on SIGINT too.

import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { type CgroupMemory, createLimitedCgroup, quantityBytes } from '../support/cgroup.ts';
import { BirdControl, parseBgpState, parseImported } from './bgp/birdc.ts';
import type { ChurnCommand, ChurnEvent } from './bgp/churn.ts';
import { SENDER_ASN } from './bgp/feed.ts';
import { type Probe, startProbe } from './bgp/probe-client.ts';
import { staleBuildFile } from './lib/build.ts';
import { createNsPair, type NsPair } from './lib/netns.ts';
import { GiveUpError, sleep, waitFor } from './lib/poll.ts';
import { type Memory, memoryOf, spawnTracked, table } from './lib/proc.ts';
import { Teardown } from './lib/teardown.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHURN_PATH = fileURLToPath(new URL('./bgp/churn.ts', import.meta.url));
const SPEAKER_ASN = 64_512;
const BIRD_ASN = 64_513;
const API = 'http://127.0.0.1:9099';
const SAMPLE_MS = 5000;
/** A cycle step that takes longer than this fails the cycle. */
const STEP_TIMEOUT_MS = 30_000;
/** This many failed cycles in a row end the run: the receiver no longer takes sessions. */
const MAX_FAILED_IN_A_ROW = 5;

type From = 'dist' | 'src';

const round = (v: number, digits = 1): number => Math.round(v * 10 ** digits) / 10 ** digits;
const mb = (bytes: number): number => round(bytes / 2 ** 20, 1);

/** A sample value from Prometheus text, e.g. `name{quantile="0.99"}`; undefined when absent. */
export function metricValue(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) {
      const v = Number(
        line
          .slice(series.length + 1)
          .trim()
          .split(' ')[0],
      );
      return Number.isFinite(v) ? v : undefined;
    }
  }
  return undefined;
}

/**
 * The worst p99 event-loop delay of the samples taken during the churn. The first sample is taken
 * as the churn starts, a second after the speaker started, and its p99 is the start-up's.
 */
export function worstChurnP99(p99s: readonly (number | undefined)[]): number | undefined {
  const during = p99s.slice(1).filter((v): v is number => v !== undefined);
  return during.length > 0 ? Math.max(...during) : undefined;
}

/** The chart's `resources.limits.memory` in bytes; undefined when the chart sets none. */
export function chartMemoryLimit(valuesYaml: string): number | undefined {
  const values = parseYaml(valuesYaml) as { resources?: { limits?: { memory?: string | number } } };
  const limit = values.resources?.limits?.memory;
  return limit === undefined ? undefined : quantityBytes(limit);
}

/** Least-squares slope of y over x. */
export function slope(points: readonly { readonly x: number; readonly y: number }[]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

/** The churning peer as a process in `netns`: one command at a time, its answer as a promise. */
interface ChurnPeer {
  command(cmd: ChurnCommand): Promise<ChurnEvent>;
}

async function startChurnPeer(
  teardown: Teardown,
  ns: NsPair,
  routes: number,
  logFile: string,
): Promise<ChurnPeer> {
  const waiting: ((e: ChurnEvent) => void)[] = [];
  const proc = spawnTracked(
    teardown,
    'churn peer',
    [
      process.execPath,
      CHURN_PATH,
      '--n',
      String(routes),
      '--local',
      ns.senderAddress,
      '--peer',
      ns.receiverAddress,
    ],
    {
      netns: ns.sender,
      stdinPipe: true,
      logFile,
      onLine: (line) => {
        let e: ChurnEvent;
        try {
          e = JSON.parse(line) as ChurnEvent;
        } catch {
          return;
        }
        waiting.shift()?.(e);
      },
    },
  );
  void proc.exited.then(() => {
    for (const w of waiting.splice(0)) w({ event: 'error', message: 'churn peer exited' });
  });
  const next = (): Promise<ChurnEvent> =>
    proc.hasExited()
      ? Promise.resolve({ event: 'error', message: 'churn peer exited' })
      : new Promise((resolve) => waiting.push(resolve));
  const ready = await next();
  if (ready.event !== 'ready') throw new Error(`churn peer: ${JSON.stringify(ready)}`);
  return {
    command(cmd) {
      const answer = next();
      proc.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
      return answer;
    },
  };
}

/** What the churn loop needs to know of a receiver's view of its one session. */
interface Receiver {
  readonly name: string;
  /** The session is Established and all `routes` are accepted. */
  accepted(routes: number): Promise<boolean>;
  /**
   * The session is no longer Established and its routes are gone, so the next cycle's count
   * starts from zero.
   */
  down(): Promise<boolean>;
}

interface ChurnResult {
  cycles: number;
  failed: number;
  lastError?: string;
}

/** Cycles until `until` (a performance.now() time); see the header for what one cycle is. */
async function churn(
  peer: ChurnPeer,
  receiver: Receiver,
  routes: number,
  until: number,
  stopped: () => boolean,
): Promise<ChurnResult> {
  const result: ChurnResult = { cycles: 0, failed: 0 };
  let inARow = 0;
  const step = async (cmd: ChurnCommand): Promise<void> => {
    const e = await Promise.race([
      peer.command(cmd),
      sleep(STEP_TIMEOUT_MS).then((): ChurnEvent => ({ event: 'error', message: `${cmd.op}: no answer` })),
    ]);
    if (e.event === 'error') throw new Error(`${cmd.op}: ${e.message}`);
  };
  while (performance.now() < until && !stopped()) {
    try {
      await step({ op: 'up' });
      await waitFor(
        `${receiver.name} to accept ${routes} routes`,
        () => receiver.accepted(routes) || undefined,
        {
          timeoutMs: STEP_TIMEOUT_MS,
          intervalMs: 10,
        },
      );
      await step({ op: 'drop', how: result.cycles % 2 === 0 ? 'cease' : 'close' });
      await waitFor(`${receiver.name} to see the session down`, () => receiver.down() || undefined, {
        timeoutMs: STEP_TIMEOUT_MS,
        intervalMs: 10,
      });
      result.cycles++;
      inARow = 0;
    } catch (err) {
      result.failed++;
      result.lastError = err instanceof Error ? err.message : String(err);
      if (++inARow >= MAX_FAILED_IN_A_ROW)
        throw new Error(`${receiver.name}: ${inARow} cycles failed in a row, the last: ${result.lastError}`);
      // The next cycle starts from a dropped session either way.
      await peer.command({ op: 'drop', how: 'close' });
      await sleep(1000);
    }
  }
  return result;
}

interface Sample {
  /** Seconds since the churn started. */
  readonly t: number;
  readonly speaker: Memory;
  readonly bird: Memory;
  readonly p99Ms: number | undefined;
  /** V8 heap in use (margay_process_heap_used_bytes), MB. */
  readonly heapUsedMb: number | undefined;
  readonly cgroup: CgroupMemory | undefined;
  readonly healthz: number;
  readonly cycles: number;
  readonly birdCycles: number;
}

async function statusOf(probe: Probe, url: string): Promise<number> {
  try {
    return (await probe.http(url, 2000)).status;
  } catch {
    return 0;
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      minutes: { type: 'string', default: '10' },
      routes: { type: 'string', default: '1000' },
      from: { type: 'string', default: 'dist' },
      'node-options': { type: 'string', default: '' },
      'memory-limit': { type: 'string' },
    },
  });
  const memoryLimit =
    values['memory-limit'] === 'none'
      ? undefined
      : values['memory-limit'] !== undefined
        ? quantityBytes(values['memory-limit'])
        : chartMemoryLimit(readFileSync(join(ROOT, 'charts/margay/values.yaml'), 'utf8'));
  const nodeOptions = values['node-options'].split(/\s+/).filter((o) => o !== '');
  if (nodeOptions.some((o) => !o.startsWith('--')))
    throw new Error('--node-options takes Node options, e.g. "--max-semi-space-size=8"');
  const from = values.from as From;
  if (from !== 'dist' && from !== 'src') throw new Error('--from must be dist or src');
  const minutes = Number(values.minutes);
  if (!Number.isFinite(minutes) || minutes <= 0) throw new Error('--minutes must be a positive number');
  const routes = Number(values.routes);
  if (!Number.isInteger(routes) || routes < 1 || routes > 1_000_000)
    throw new Error('--routes must be an integer 1..1000000');
  if (process.getuid?.() !== 0) throw new Error('soak needs root (network namespaces)');
  if (from === 'dist') {
    const stale = staleBuildFile(ROOT);
    if (stale)
      throw new Error(`dist/ is missing or older than ${stale}: run npm run build (or use --from src)`);
  }
  const main = from === 'dist' ? join(ROOT, 'dist', 'src', 'main.js') : join(ROOT, 'src', 'main.ts');

  const teardown = new Teardown();
  let failure: unknown;
  let line: Record<string, unknown> = {};
  let human = '';
  try {
    const dir = await mkdtemp(join(tmpdir(), 'margay-soak-'));
    teardown.add(`temporary directory ${dir}`, () => rm(dir, { recursive: true, force: true }));

    // margay speaker, its churning peer and a probe in its namespace for the REST API.
    const sp = await createNsPair(teardown, 'soak');
    const conf = join(dir, 'speaker.yaml');
    await writeFile(
      conf,
      `asn: ${SPEAKER_ASN}
routerId: ${sp.receiverAddress}
listen: { address: ${sp.receiverAddress}, port: 179 }
api: { listen: "127.0.0.1:9099" }
peers:
  - { address: ${sp.senderAddress}, asn: ${SENDER_ASN}, passive: true }
`,
    );
    const speakerLog = join(dir, 'speaker.log');
    const cgroup = memoryLimit === undefined ? undefined : createLimitedCgroup('margay-soak', memoryLimit);
    if (cgroup) teardown.add(`cgroup ${cgroup.dir}`, () => cgroup.remove());
    const speakerArgv = [process.execPath, ...nodeOptions, main, 'speaker', '--config', conf];
    // In its cgroup, the speaker enters its namespace with nsenter rather than `ip netns exec`,
    // which mounts a sysfs of its own over /sys and so hides /sys/fs/cgroup: neither the speaker
    // nor Node would see the memory limit. nsenter and sh exec in place, so the PID stays the
    // speaker's.
    const speaker = cgroup
      ? spawnTracked(
          teardown,
          'margay speaker',
          ['nsenter', `--net=/run/netns/${sp.receiver}`, '--', ...cgroup.wrap(speakerArgv)],
          { logFile: speakerLog },
        )
      : spawnTracked(teardown, 'margay speaker', speakerArgv, { netns: sp.receiver, logFile: speakerLog });
    const probe = startProbe(teardown, sp.receiver, join(dir, 'probe.log'));
    await waitFor(
      'margay speaker /readyz',
      async () => {
        if (speaker.hasExited())
          throw new GiveUpError(`margay speaker exited: ${(await readFile(speakerLog, 'utf8')).slice(-500)}`);
        return (await statusOf(probe, `${API}/readyz`)) === 200 ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 50 },
    );

    // BIRD, in the same setting: one passive session with its churning peer.
    const bp = await createNsPair(teardown, 'soakbird');
    const birdConf = join(dir, 'bird.conf');
    const birdCtl = join(dir, 'bird.ctl');
    // `error wait time 1, 1`: BIRD otherwise holds a peer that closed the session off for up to
    // minutes, growing with every close; the churn wants each receiver to take the next session
    // as soon as it can.
    await writeFile(
      birdConf,
      `log stderr { warning, error, fatal, bug };
router id ${bp.receiverAddress};
protocol device { scan time 60; }
protocol bgp churn {
  local ${bp.receiverAddress} as ${BIRD_ASN};
  neighbor ${bp.senderAddress} as ${SENDER_ASN};
  passive on;
  error wait time 1, 1;
  ipv4 { import all; export none; };
}
`,
    );
    const birdLog = join(dir, 'bird.log');
    const bird = spawnTracked(
      teardown,
      'bird',
      ['bird', '-f', '-c', birdConf, '-s', birdCtl, '-P', join(dir, 'bird.pid')],
      { netns: bp.receiver, logFile: birdLog },
    );
    const birdc = await waitFor(
      'the BIRD control socket',
      async () => {
        if (bird.hasExited()) throw new GiveUpError(`bird exited: ${await readFile(birdLog, 'utf8')}`);
        return await BirdControl.connect(birdCtl);
      },
      { timeoutMs: 15_000, intervalMs: 50 },
    );
    teardown.add('BIRD control connection', () => birdc.close());

    const speakerPeer = await startChurnPeer(teardown, sp, routes, join(dir, 'churn-speaker.log'));
    const birdPeer = await startChurnPeer(teardown, bp, routes, join(dir, 'churn-bird.log'));

    const peerState = async (): Promise<{ state: string; accepted: number }> => {
      const r = await probe.http(`${API}/v1/bgp/peers`, 2000);
      if (r.status !== 200) throw new Error(`/v1/bgp/peers: ${r.status}`);
      const p = (JSON.parse(r.body) as { peers: { state: string; prefixes: { accepted: number } }[] })
        .peers[0];
      if (p === undefined) throw new Error('/v1/bgp/peers: no peer');
      return { state: p.state, accepted: p.prefixes.accepted };
    };
    const speakerReceiver: Receiver = {
      name: 'margay speaker',
      async accepted(n) {
        if (speaker.hasExited()) throw new GiveUpError('margay speaker exited');
        const p = await peerState();
        return p.state === 'Established' && p.accepted >= n;
      },
      async down() {
        if (speaker.hasExited()) throw new GiveUpError('margay speaker exited');
        const p = await peerState();
        return p.state !== 'Established' && p.accepted === 0;
      },
    };
    const birdReceiver: Receiver = {
      name: 'bird',
      async accepted(n) {
        if (bird.hasExited()) throw new GiveUpError('bird exited');
        const reply = await birdc.command('show protocols all churn');
        return parseBgpState(reply) === 'Established' && (parseImported(reply) ?? 0) >= n;
      },
      async down() {
        if (bird.hasExited()) throw new GiveUpError('bird exited');
        const reply = await birdc.command('show protocols all churn');
        return parseBgpState(reply) !== 'Established' && (parseImported(reply) ?? 0) === 0;
      },
    };

    const durationMs = minutes * 60_000;
    const t0 = performance.now();
    const until = t0 + durationMs;
    let stopped = false;
    const counters = { speaker: 0, bird: 0 };
    const countingPeer = (peer: ChurnPeer, key: 'speaker' | 'bird'): ChurnPeer => ({
      async command(cmd) {
        const e = await peer.command(cmd);
        if (cmd.op === 'drop' && e.event === 'dropped') counters[key]++;
        return e;
      },
    });
    const samples: Sample[] = [];
    let heapLimitBytes: number | undefined;
    const sample = async (): Promise<void> => {
      const metrics = await probe.http(`${API}/metrics`, 2000).catch(() => undefined);
      const p99 =
        metrics?.status === 200
          ? metricValue(metrics.body, 'margay_event_loop_delay_seconds{quantile="0.99"}')
          : undefined;
      if (metrics?.status === 200)
        heapLimitBytes = metricValue(metrics.body, 'margay_process_heap_limit_bytes');
      const heapUsed =
        metrics?.status === 200 ? metricValue(metrics.body, 'margay_process_heap_used_bytes') : undefined;
      samples.push({
        t: round((performance.now() - t0) / 1000, 1),
        speaker: await memoryOf(speaker.pid),
        bird: await memoryOf(bird.pid),
        p99Ms: p99 === undefined ? undefined : round(p99 * 1000, 2),
        heapUsedMb: heapUsed === undefined ? undefined : mb(heapUsed),
        cgroup: cgroup?.memory(),
        healthz: await statusOf(probe, `${API}/healthz`),
        cycles: counters.speaker,
        birdCycles: counters.bird,
      });
    };
    await sample();
    const sampler = (async () => {
      for (let k = 1; performance.now() < until && !stopped; k++) {
        await sleep(Math.max(0, t0 + k * SAMPLE_MS - performance.now()));
        if (speaker.hasExited() || bird.hasExited()) return;
        await sample();
        const s = samples[samples.length - 1]!;
        process.stderr.write(
          `  ${String(Math.round(s.t)).padStart(4)} s  speaker ${s.speaker.rssMb} MB (anon ${s.speaker.anonMb}${
            s.cgroup ? `, working set ${mb(s.cgroup.workingSetBytes)}` : ''
          })  p99 ${s.p99Ms} ms  cycles ${s.cycles}  |  bird ${s.bird.rssMb} MB  cycles ${s.birdCycles}\n`,
        );
      }
    })();
    const results = await Promise.allSettled([
      churn(countingPeer(speakerPeer, 'speaker'), speakerReceiver, routes, until, () => stopped),
      churn(countingPeer(birdPeer, 'bird'), birdReceiver, routes, until, () => stopped),
    ]);
    stopped = true;
    await sampler;
    const alive = !speaker.hasExited();
    const healthz = alive ? await statusOf(probe, `${API}/healthz`) : 0;
    // A closing sample, unless the sampler has just taken one.
    if (alive && performance.now() - t0 - (samples[samples.length - 1]?.t ?? 0) * 1000 > 1000) await sample();
    const failedChurn = results.find((r) => r.status === 'rejected');
    const speakerResult = results[0].status === 'fulfilled' ? results[0].value : undefined;
    const birdResult = results[1].status === 'fulfilled' ? results[1].value : undefined;

    const elapsedMin = (performance.now() - t0) / 60_000;
    const first = samples[0]!;
    const last = samples[samples.length - 1]!;
    const atMinute = samples.find((s) => s.t >= 60) ?? last;
    const lastHalf = samples.filter((s) => s.t >= (elapsedMin * 60) / 2);
    const slopeOf = (pick: (s: Sample) => number): number =>
      round(slope(lastHalf.map((s) => ({ x: s.t / 60, y: pick(s) }))), 2);
    const worstP99 = worstChurnP99(samples.map((s) => s.p99Ms));
    const summary = (pick: (s: Sample) => Memory) => ({
      startMb: pick(first).rssMb,
      after1MinMb: pick(atMinute).rssMb,
      endMb: pick(last).rssMb,
      peakMb: Math.max(...samples.map((s) => pick(s).rssMb)),
      hwmMb: pick(last).peakMb,
      endAnonMb: pick(last).anonMb,
      endFileMb: pick(last).fileMb,
      slopeLastHalfMbPerMin: slopeOf((s) => pick(s).rssMb),
    });
    line = {
      bench: 'soak',
      from,
      nodeOptions,
      memoryLimitMb: memoryLimit === undefined ? null : mb(memoryLimit),
      heapLimitMb: heapLimitBytes === undefined ? null : mb(heapLimitBytes),
      minutes: round(elapsedMin, 2),
      routes,
      sampleS: SAMPLE_MS / 1000,
      loadavg: loadavg().map((v) => round(v, 2)),
      speaker: {
        cycles: counters.speaker,
        failedCycles: speakerResult?.failed,
        ...summary((s) => s.speaker),
        anonSlopeLastHalfMbPerMin: slopeOf((s) => s.speaker.anonMb),
        worstP99EventLoopDelayMs: worstP99,
        heapUsedPeakMb: Math.max(...samples.map((s) => s.heapUsedMb ?? 0)),
        alive,
        healthzAtEnd: healthz,
        healthzFailedSamples: samples.filter((s) => s.healthz !== 200).length,
      },
      cgroup: cgroup
        ? {
            workingSetStartMb: mb(first.cgroup!.workingSetBytes),
            workingSetAfter1MinMb: mb(atMinute.cgroup!.workingSetBytes),
            workingSetEndMb: mb(last.cgroup!.workingSetBytes),
            workingSetPeakMb: Math.max(...samples.map((s) => mb(s.cgroup!.workingSetBytes))),
            workingSetSlopeLastHalfMbPerMin: slopeOf((s) => mb(s.cgroup!.workingSetBytes)),
            peakUsageMb: last.cgroup!.peakBytes === undefined ? null : mb(last.cgroup!.peakBytes),
            oomKills: cgroup.memory().oomKills,
          }
        : null,
      bird: {
        cycles: counters.bird,
        failedCycles: birdResult?.failed,
        alive: !bird.hasExited(),
        ...summary((s) => s.bird),
      },
      samples: samples.map((s) => [
        s.t,
        s.speaker.rssMb,
        s.speaker.anonMb,
        s.cgroup ? mb(s.cgroup.workingSetBytes) : null,
        s.heapUsedMb ?? null,
        s.p99Ms ?? null,
        s.bird.rssMb,
      ]),
    };
    if (failedChurn?.status === 'rejected') {
      line.error =
        failedChurn.reason instanceof Error ? failedChurn.reason.message : String(failedChurn.reason);
    }
    const sp1 = line.speaker as ReturnType<typeof summary> & { cycles: number };
    const bd = line.bird as ReturnType<typeof summary> & { cycles: number };
    const row = (name: string, m: ReturnType<typeof summary> & { cycles: number }, p99: string): string[] => [
      name,
      String(m.cycles),
      String(m.startMb),
      String(m.after1MinMb),
      String(m.endMb),
      String(m.peakMb),
      String(m.hwmMb),
      `${m.endAnonMb}/${m.endFileMb}`,
      String(m.slopeLastHalfMbPerMin),
      p99,
    ];
    const cg = line.cgroup as {
      workingSetEndMb: number;
      workingSetPeakMb: number;
      peakUsageMb: number | null;
      oomKills: number;
    } | null;
    human =
      `soak (${from}; ${round(elapsedMin, 1)} min; ${routes} routes per cycle; RSS in MB, slope over the last half in MB/min)\n` +
      table([
        [
          'receiver',
          'cycles',
          'RSS start',
          '1 min',
          'end',
          'peak',
          'VmHWM',
          'anon/file end',
          'slope',
          'p99 loop ms',
        ],
        row(`margay speaker (${from})`, sp1, String(worstP99 ?? '-')),
        row('bird', bd, '-'),
      ]) +
      `speaker memory limit ${memoryLimit === undefined ? 'none' : `${mb(memoryLimit)} MB`}, heap limit ${
        heapLimitBytes === undefined ? '-' : `${mb(heapLimitBytes)} MB`
      }, heap used peak ${Math.max(...samples.map((s) => s.heapUsedMb ?? 0))} MB${
        cg
          ? `; cgroup working set end ${cg.workingSetEndMb} MB, peak ${cg.workingSetPeakMb} MB, peak usage ${cg.peakUsageMb ?? '-'} MB, OOM kills ${cg.oomKills}`
          : ''
      }\n` +
      `speaker alive: ${alive}, /healthz at end: ${healthz}, /healthz failed samples: ${
        samples.filter((s) => s.healthz !== 200).length
      }, failed cycles: speaker ${speakerResult?.failed ?? '-'}, bird ${birdResult?.failed ?? '-'}\n` +
      (line.error ? `error: ${String(line.error)}\n` : '');
    if (!alive)
      failure = new Error(
        `margay speaker exited${cg && cg.oomKills > 0 ? ' (killed by the OOM killer of its cgroup)' : ''}: ${(
          await readFile(speakerLog, 'utf8')
        ).slice(-500)}`,
      );
  } catch (err) {
    failure = err;
  }
  await teardown.finish(failure);
  process.stdout.write(`${JSON.stringify(line)}\n`);
  process.stderr.write(human);
  return line.error ? 1 : 0;
}
