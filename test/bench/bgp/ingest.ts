// `npm run bench -- bgp-ingest`: how fast a receiver takes a full feed into its Loc-RIB, in a process
// that has just started (cold) and in one that has already taken a session (warm). For each N and
// each receiver, in a fresh pair of namespaces with a fresh receiver:
//   cold: once the receiver is idle, the blaster (our own pre-encoding sender, never the bottleneck)
//         connects, and the time from Established (as the sender sees it) to all N prefixes in the
//         receiver's Loc-RIB is measured by polling the receiver; then the table is verified to hold
//         exactly N.
//   warm: the blaster ends the session (Cease, close), the receiver drops the routes, and once it is
//         idle again a new blaster sends the same feed over a second session into the same process,
//         measured the same way. A daemon restarts rarely and its sessions reset more often, so this
//         is what a user mostly gets; the cold figure is what the first session after a start gets.
// Before each session the bench waits for the receiver to settle idle (lib/proc.ts settleIdle), then
// reads its RSS and CPU time and resets its peak RSS (VmHWM); after the session it reads them again.
// bytesPerPrefix is (peak RSS during the session − the idle RSS before it) / N, so a process's fixed
// cost does not decide the per-prefix comparison, and the idle RSS itself is reported beside it.
//
// Output: one JSON line per N on stdout, tables on stderr. Receivers run one after another, never
// together, so they do not compete for the two cores; other work on the machine still can — the JSON
// carries the load average at the start of each N.
//
// Rounds (`--rounds`, default 3): every receiver runs once per round (cold, then warm), the order
// rotating from round to round, and each figure is the median over rounds. The ratios to another
// receiver are the median over rounds of the ratio *within* a round: the runs of one round are
// seconds apart and share the machine's state, while a shared machine's speed drifts between
// minutes, so one round's pair says more than a pair of medians from different rounds; the ratio of
// the medians is reported as well. The event-loop delay target is judged on the worst round (Margay's
// histogram runs from the process start, so the warm figure covers both sessions).
//
// Targets: Margay within 1.5× BIRD for a full table (1M) cold and for 100k warm (JUDGED); faster than
// FRR and GoBGP; bytes per prefix within 2× BIRD's; p99 event-loop delay under 50 ms.

import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createNsPair, type NsPair, RUN_PREFIX } from '../lib/netns.ts';
import { sleep, waitFor } from '../lib/poll.ts';
import { type ProcStats, procStats, resetPeakRss, settleIdle } from '../lib/proc.ts';
import { Teardown } from '../lib/teardown.ts';
import { type BlasterProcess, startBlasterProcess } from './blaster-process.ts';
import { MAX_PREFIXES, RECEIVER_ASN, SENDER_ASN } from './feed.ts';
import { birdDriver } from './receivers/bird.ts';
import { frrDriver } from './receivers/frr.ts';
import { gobgpDriver } from './receivers/gobgp.ts';
import { margayDriver } from './receivers/margay.ts';
import {
  RECEIVER_NAMES,
  type ReceiverDriver,
  type ReceiverName,
  type StartedReceiver,
} from './receivers/types.ts';

const DRIVERS: Record<ReceiverName, ReceiverDriver> = {
  bird: birdDriver,
  gobgp: gobgpDriver,
  frr: frrDriver,
  margay: margayDriver,
};

const MB = 2 ** 20;

export interface ReceiverResult {
  readonly seconds: number;
  readonly peakRssMb: number;
  readonly bytesPerPrefix: number;
  readonly baselineRssMb: number;
  readonly cpuSeconds: number;
  /** The main thread's CPU seconds over the same span (a Node receiver's event loop). */
  readonly mainThreadCpuSeconds: number;
  /** Established → last byte handed to the socket, as the blaster saw it. */
  readonly senderSeconds: number;
  readonly polls: number;
  /** Gap between the last poll below N and the one that saw N: the resolution of `seconds`. */
  readonly resolutionMs: number;
  /** How long the receiver took to be idle before the session, and whether it got there (1/0). */
  readonly settleMs: number;
  readonly settled: number;
  readonly [extra: string]: number | string;
}

/** A fresh process's first session, and a second session into the same process. */
export const PHASES = ['cold', 'warm'] as const;
export type Phase = (typeof PHASES)[number];

export interface ReceiverFailure {
  readonly error: string;
}

function isFailure(r: RoundsOutcome): r is ReceiverFailure {
  return 'error' in r;
}

export interface IngestOptions {
  readonly n: number;
  readonly attrSets: number;
  readonly timeoutMs: number;
  readonly startTimeoutMs: number;
}

const round = (v: number, digits: number): number => Math.round(v * 10 ** digits) / 10 ** digits;

const MAX_TIGHT_POLL_MS = 100;
const MAX_PREDICTIVE_POLL_MS = 2000;

interface PollPoint {
  readonly t: bigint;
  readonly count: number;
}

/**
 * The wait before the next poll. `tight`: about 1% of the time so far, so polling costs about 1% and
 * resolves the end to about 1%. `predictive`: a quarter of the time so far (early rate estimates are
 * unreliable), but no more than half the remaining time predicted from the rate between the last two
 * polls, so a receiver for which a poll is expensive sees few polls, dense only near the end.
 */
export function pollWaitMs(
  strategy: 'tight' | 'predictive',
  opts: { n: number; minMs: number; start: bigint; prev: PollPoint | undefined; last: PollPoint },
): number {
  const elapsedMs = Number(opts.last.t - opts.start) / 1e6;
  if (strategy === 'tight') return Math.min(MAX_TIGHT_POLL_MS, Math.max(opts.minMs, elapsedMs * 0.01));
  const { prev, last } = opts;
  let wait = elapsedMs * 0.25;
  if (prev && last.count > prev.count) {
    const perMs = (last.count - prev.count) / (Number(last.t - prev.t) / 1e6);
    wait = Math.min(wait, ((opts.n - last.count) / perMs) * 0.5);
  }
  return Math.min(MAX_PREDICTIVE_POLL_MS, Math.max(opts.minMs, wait));
}

/** One session's figures, and the sender that fed it (still connected). */
interface Session {
  readonly result: ReceiverResult;
  readonly blaster: BlasterProcess;
}

/**
 * One session into a running receiver: wait for it to be idle, then take the baseline (RSS, CPU; the
 * peak RSS is reset to the current RSS), connect a sender (again if the receiver turns the first
 * attempts away, as a daemon may for a moment after a session ended), and poll the Loc-RIB count
 * from Established until it reaches N.
 */
async function runSession(
  phase: Phase,
  receiver: StartedReceiver,
  env: { teardown: Teardown; ns: NsPair; dir: string },
  opts: IngestOptions,
): Promise<Session> {
  const settle = await settleIdle(receiver.pids);
  for (const pid of receiver.pids) await resetPeakRss(pid);
  const baseline = await Promise.all(receiver.pids.map(procStats));
  await receiver.beforeSession?.();

  // The timer is cleared as soon as `p` settles: a pending one would hold the bench's exit.
  const withDeadline = async <T>(p: Promise<T>, ms: number, what: string): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), ms);
    });
    try {
      const v = await Promise.race([p, late]);
      if (v === 'late')
        throw new Error(`no ${what} within ${ms} ms; receiver log: ${await receiver.logTail()}`);
      return v as T;
    } finally {
      clearTimeout(timer);
    }
  };
  const connectBy = Date.now() + opts.startTimeoutMs;
  let blaster: BlasterProcess;
  let established: bigint;
  for (let attempt = 1; ; attempt++) {
    blaster = startBlasterProcess(env.teardown, {
      netns: env.ns.sender,
      n: opts.n,
      attrSets: opts.attrSets,
      localAddress: env.ns.senderAddress,
      peerAddress: env.ns.receiverAddress,
      asn: SENDER_ASN,
      logFile: join(env.dir, `blaster-${phase}-${attempt}.log`),
      connectTimeoutMs: opts.startTimeoutMs,
    });
    await withDeadline(blaster.encoded, 60_000, 'encoded feed from the blaster');
    try {
      established = await withDeadline(
        blaster.established,
        Math.max(1, connectBy - Date.now()),
        `Established ${phase} session`,
      );
      break;
    } catch (err) {
      await blaster.proc.stop();
      if (Date.now() >= connectBy) throw err;
      await sleep(250);
    }
  }

  // Poll the Loc-RIB count until it reaches N.
  const deadline = established + BigInt(opts.timeoutMs) * 1_000_000n;
  let polls = 0;
  let lastBelow = established;
  let count = 0;
  let doneAt = 0n;
  let prev: PollPoint | undefined;
  for (;;) {
    count = await receiver.count();
    const t = process.hrtime.bigint();
    polls++;
    if (count >= opts.n) {
      doneAt = t;
      break;
    }
    lastBelow = t;
    if (blaster.error()) throw new Error(`${blaster.error()} (receiver has ${count} of ${opts.n})`);
    if (t > deadline) {
      throw new Error(
        `timed out after ${opts.timeoutMs} ms with ${count} of ${opts.n}: ${await receiver.logTail()}`,
      );
    }
    const last = { t, count };
    const min = receiver.minPollMs;
    await sleep(pollWaitMs(receiver.pollStrategy, { n: opts.n, minMs: min, start: established, prev, last }));
    prev = last;
  }
  const after = await Promise.all(receiver.pids.map(procStats));
  if (count > opts.n) throw new Error(`receiver counts ${count} prefixes, more than the ${opts.n} sent`);
  await receiver.verify();
  const sent = await withDeadline(blaster.sent, 5000, 'end of sending');
  const peak = after.reduce((s, x) => s + x.peakRssBytes, 0);
  const base = baseline.reduce((s, x) => s + x.rssBytes, 0);
  const sum = (xs: readonly ProcStats[], f: (x: ProcStats) => number): number =>
    xs.reduce((s, x) => s + f(x), 0);
  const cpu = sum(after, (x) => x.cpuSeconds) - sum(baseline, (x) => x.cpuSeconds);
  const mainCpu = sum(after, (x) => x.mainThreadCpuSeconds) - sum(baseline, (x) => x.mainThreadCpuSeconds);
  const extras = receiver.extras ? await receiver.extras() : {};
  return {
    blaster,
    result: {
      seconds: round(Number(doneAt - established) / 1e9, 4),
      peakRssMb: round(peak / MB, 1),
      bytesPerPrefix: Math.round((peak - base) / opts.n),
      baselineRssMb: round(base / MB, 1),
      cpuSeconds: round(cpu, 4),
      mainThreadCpuSeconds: round(mainCpu, 4),
      senderSeconds: round(Number(sent - established) / 1e9, 4),
      polls,
      resolutionMs: round(Number(doneAt - lastBelow) / 1e6, 1),
      settleMs: settle.ms,
      settled: settle.settled ? 1 : 0,
      pollMethod: receiver.pollMethod,
      ...extras,
    },
  };
}

/** The cold and the warm session of one fresh receiver; `warm` is an error when only it failed. */
export interface ReceiverSessions {
  readonly cold: ReceiverResult;
  readonly warm: ReceiverResult | ReceiverFailure;
}

export async function measureReceiver(
  driver: ReceiverDriver,
  opts: IngestOptions,
): Promise<ReceiverSessions> {
  const teardown = new Teardown();
  let failure: unknown;
  let result: ReceiverSessions | undefined;
  try {
    const ns = await createNsPair(teardown, driver.name);
    const dir = await mkdtemp(join(tmpdir(), `${RUN_PREFIX}${driver.name}-`));
    teardown.add(`directory ${dir}`, () => rm(dir, { recursive: true, force: true }));
    const receiver = await driver.start({
      teardown,
      ns,
      dir,
      receiverAsn: RECEIVER_ASN,
      senderAsn: SENDER_ASN,
      startTimeoutMs: opts.startTimeoutMs,
      n: opts.n,
      attrSets: opts.attrSets,
    });
    const env = { teardown, ns, dir };
    const cold = await runSession('cold', receiver, env, opts);
    let warm: ReceiverResult | ReceiverFailure;
    try {
      // The sender ends the session (Cease, then close), the receiver drops its routes, and the
      // same feed comes again over a new session into the same process.
      await cold.blaster.proc.stop();
      await waitFor(
        "the first session's routes to leave the Loc-RIB",
        async () => ((await receiver.count()) === 0 ? true : undefined),
        { timeoutMs: opts.timeoutMs, intervalMs: 20 },
      );
      warm = (await runSession('warm', receiver, env, opts)).result;
    } catch (err) {
      warm = { error: `warm session: ${err instanceof Error ? err.message : String(err)}` };
    }
    result = { cold: cold.result, warm };
  } catch (err) {
    failure = err;
  }
  await teardown.finish(failure);
  return result!;
}

type Verdict = 'pass' | 'fail' | 'n/a';

function ratio(a: number | undefined, b: number | undefined): number | null {
  return a === undefined || b === undefined || b === 0 ? null : round(a / b, 3);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** One receiver over every round: its runs, and per numeric figure the median over them. */
export interface ReceiverRounds {
  readonly runs: readonly ReceiverResult[];
  readonly median: ReceiverResult;
}

/** The rounds of one receiver, or the first failure (a receiver failing in any round failed). */
export type RoundsOutcome = ReceiverRounds | ReceiverFailure;

export function combineRounds(runs: readonly ReceiverResult[]): ReceiverRounds {
  const first = runs[0];
  if (first === undefined) throw new Error('combineRounds: no runs');
  const med: Record<string, number | string> = {};
  for (const [k, v] of Object.entries(first)) {
    med[k] = typeof v === 'number' ? round(median(runs.map((r) => r[k] as number)), 4) : v;
  }
  return { runs, median: med as ReceiverResult };
}

/**
 * `a` against `b`: the median over rounds of a / b within each round, and the ratio of the two
 * medians (see the file header). null when either has no runs.
 */
export function pairedRatio(
  a: ReceiverRounds | undefined,
  b: ReceiverRounds | undefined,
  field: 'seconds' | 'bytesPerPrefix',
): { paired: number; ofMedians: number } | null {
  if (a === undefined || b === undefined) return null;
  const n = Math.min(a.runs.length, b.runs.length);
  const within: number[] = [];
  for (let r = 0; r < n; r++) {
    const x = ratio(a.runs[r]?.[field], b.runs[r]?.[field]);
    if (x !== null) within.push(x);
  }
  const ofMedians = ratio(a.median[field], b.median[field]);
  if (within.length === 0 || ofMedians === null) return null;
  return { paired: round(median(within), 3), ofMedians };
}

function verdict(value: number | null, ok: (v: number) => boolean): Verdict {
  return value === null ? 'n/a' : ok(value) ? 'pass' : 'fail';
}

export function summarise(results: Partial<Record<ReceiverName, RoundsOutcome>>) {
  const ok = (name: ReceiverName): ReceiverRounds | undefined => {
    const r = results[name];
    return r && !isFailure(r) ? r : undefined;
  };
  const m = ok('margay');
  const vs = (other: ReceiverName, field: 'seconds' | 'bytesPerPrefix' = 'seconds') =>
    pairedRatio(m, ok(other), field);
  const paired = {
    margayVsBird: vs('bird'),
    margayVsGobgp: vs('gobgp'),
    margayVsFrr: vs('frr'),
    rssPerPrefixVsBird: vs('bird', 'bytesPerPrefix'),
  };
  const ratios = Object.fromEntries(Object.entries(paired).map(([k, v]) => [k, v?.paired ?? null])) as Record<
    keyof typeof paired,
    number | null
  >;
  const ratiosOfMedians = Object.fromEntries(
    Object.entries(paired).map(([k, v]) => [k, v?.ofMedians ?? null]),
  ) as Record<keyof typeof paired, number | null>;
  const p99s = (m?.runs ?? []).map((r) => r.p99EventLoopDelayMs).filter((v) => typeof v === 'number');
  const p99 = p99s.length > 0 ? Math.max(...p99s) : null;
  const targets = {
    fasterThanGobgp: verdict(ratios.margayVsGobgp, (v) => v < 1),
    fasterThanFrr: verdict(ratios.margayVsFrr, (v) => v < 1),
    within1_5xOfBird: verdict(ratios.margayVsBird, (v) => v <= 1.5),
    rssPerPrefixWithin2xOfBird: verdict(ratios.rssPerPrefixVsBird, (v) => v <= 2),
    p99EventLoopDelayUnder50ms: verdict(p99, (v) => v < 50),
  };
  return { ratios, ratiosOfMedians, worstP99EventLoopDelayMs: p99, targets };
}

/**
 * Where "within 1.5× BIRD" is the target: a full table into a fresh process, and a 100k feed into a
 * process that has already taken a session. A fresh Node process's first 100k prefixes run largely
 * before its code is optimised, so that figure is reported as it is, not judged.
 */
export const JUDGED: readonly { readonly n: number; readonly phase: Phase }[] = [
  { n: 1_000_000, phase: 'cold' },
  { n: 100_000, phase: 'warm' },
];

export function isJudged(n: number, phase: Phase): boolean {
  return JUDGED.some((j) => j.n === n && j.phase === phase);
}

function table(n: number, phase: Phase, results: Partial<Record<ReceiverName, RoundsOutcome>>): string {
  const head = [
    'receiver',
    'seconds',
    'idle RSS MB',
    'peak RSS MB',
    'bytes/prefix',
    'CPU s',
    'sender s',
    'polls',
    'notes',
  ];
  const rows: string[][] = [head];
  for (const [name, outcome] of Object.entries(results)) {
    if (!outcome) continue;
    if (isFailure(outcome)) {
      rows.push([
        name,
        ...head.slice(2).map(() => '-'),
        `ERROR: ${outcome.error.split('\n')[0]!.slice(0, 160)}`,
      ]);
      continue;
    }
    const r = outcome.median;
    const notes: string[] = [`±${r.resolutionMs} ms`];
    if (outcome.runs.length > 1)
      notes.push(`runs ${outcome.runs.map((x) => x.seconds.toFixed(3)).join(' ')} s`);
    if (typeof r.p99EventLoopDelayMs === 'number')
      notes.push(`p99 event-loop delay ${r.p99EventLoopDelayMs} ms`);
    if (typeof r.zebraPeakRssMb === 'number') notes.push(`+ zebra ${r.zebraPeakRssMb} MB`);
    if (outcome.runs.some((x) => x.settled === 0)) notes.push('did not settle idle before a session');
    rows.push([
      name,
      r.seconds.toFixed(3),
      r.baselineRssMb.toFixed(1),
      r.peakRssMb.toFixed(1),
      String(r.bytesPerPrefix),
      r.cpuSeconds.toFixed(3),
      r.senderSeconds.toFixed(3),
      String(r.polls),
      notes.join(', '),
    ]);
  }
  const widths = head.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const lines = rows.map((row) =>
    row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  '),
  );
  return `bgp-ingest N=${n.toLocaleString('en-US')} ${phase} (medians)\n${lines.join('\n')}\n`;
}

export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      n: { type: 'string', default: '100000,1000000' },
      receivers: { type: 'string', default: RECEIVER_NAMES.join(',') },
      'attr-sets': { type: 'string', default: '1000' },
      'timeout-s': { type: 'string', default: '300' },
      'start-timeout-s': { type: 'string', default: '30' },
      rounds: { type: 'string', default: '3' },
    },
  });
  const ns = values.n.split(',').map((s) => Number(s.trim()));
  for (const n of ns) {
    if (!Number.isInteger(n) || n < 1 || n > MAX_PREFIXES)
      throw new Error(`--n: ${n} is not 1..${MAX_PREFIXES}`);
  }
  const names = values.receivers.split(',').map((s) => s.trim()) as ReceiverName[];
  for (const name of names) {
    if (!RECEIVER_NAMES.includes(name))
      throw new Error(`--receivers: unknown "${name}" (${RECEIVER_NAMES.join(', ')})`);
  }
  const attrSets = Number(values['attr-sets']);
  if (!Number.isInteger(attrSets) || attrSets < 1) throw new Error('--attr-sets must be a positive integer');
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive integer');
  if (process.getuid?.() !== 0) throw new Error('bgp-ingest needs root (network namespaces)');
  const opts = {
    attrSets,
    timeoutMs: Number(values['timeout-s']) * 1000,
    startTimeoutMs: Number(values['start-timeout-s']) * 1000,
  };

  let failed = false;
  for (const n of ns) {
    const load = loadavg()[0]!;
    const runs = Object.fromEntries(
      PHASES.map((phase) => [
        phase,
        new Map<ReceiverName, ReceiverResult[]>(names.map((name) => [name, []])),
      ]),
    ) as Record<Phase, Map<ReceiverName, ReceiverResult[]>>;
    const failures: Record<Phase, Partial<Record<ReceiverName, ReceiverFailure>>> = { cold: {}, warm: {} };
    for (let r = 0; r < rounds; r++) {
      // The order rotates, so no receiver always runs first (or right after another).
      const order = names.map((_, k) => names[(k + r) % names.length] as ReceiverName);
      for (const name of order) {
        if (failures.cold[name] !== undefined) continue;
        process.stderr.write(`bgp-ingest: N=${n} round ${r + 1}/${rounds} ${name}…\n`);
        try {
          const m = await measureReceiver(DRIVERS[name], { ...opts, n });
          runs.cold.get(name)!.push(m.cold);
          if ('error' in m.warm) {
            failed = true;
            failures.warm[name] ??= { error: `round ${r + 1}: ${m.warm.error}` };
          } else if (failures.warm[name] === undefined) runs.warm.get(name)!.push(m.warm);
        } catch (err) {
          failed = true;
          const error = `round ${r + 1}: ${err instanceof Error ? err.message : String(err)}`;
          failures.cold[name] = { error };
          failures.warm[name] ??= { error };
        }
      }
    }
    const line: Record<string, unknown> = { bench: 'bgp-ingest', n, attrSets, rounds };
    const judged: Record<string, unknown> = {};
    for (const phase of PHASES) {
      const results: Partial<Record<ReceiverName, RoundsOutcome>> = {};
      for (const name of names) {
        const got = runs[phase].get(name)!;
        results[name] = failures[phase][name] ?? (got.length > 0 ? combineRounds(got) : { error: 'no run' });
      }
      const summary = summarise(results);
      line[phase] = { results, ...summary };
      if (isJudged(n, phase)) {
        judged[phase] = {
          target: 'margay within 1.5x BIRD (median of the ratios within rounds)',
          ratio: summary.ratios.margayVsBird,
          verdict: summary.targets.within1_5xOfBird,
        };
      }
      process.stderr.write(table(n, phase, results));
      process.stderr.write(
        `${phase} ratios (median within rounds): ${JSON.stringify(summary.ratios)}\n${phase} targets: ${JSON.stringify(summary.targets)}\n`,
      );
    }
    // The idle process before its first session, beside BIRD's.
    const idle = (name: ReceiverName) => {
      const got = runs.cold.get(name);
      return got && got.length > 0 ? round(median(got.map((x) => x.baselineRssMb)), 1) : null;
    };
    const margayIdle = idle('margay');
    const birdIdle = idle('bird');
    line.idleRssMb = {
      margay: margayIdle,
      bird: birdIdle,
      ratio: margayIdle !== null && birdIdle !== null ? round(margayIdle / birdIdle, 1) : null,
    };
    line.judged = judged;
    line.host = { loadavg1: round(load, 2) };
    process.stdout.write(`${JSON.stringify(line)}\n`);
    process.stderr.write(
      `idle RSS MB: ${JSON.stringify(line.idleRssMb)}; judged: ${JSON.stringify(judged)}\n`,
    );
  }
  return failed ? 1 : 0;
}
