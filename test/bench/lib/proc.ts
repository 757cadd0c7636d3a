// Processes a benchmark starts: spawned (optionally inside a network namespace with `ip netns exec`,
// which execs in place, so the PID we hold is the daemon's own), ended by that PID in teardown, and
// measured through /proc/PID.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { sleep } from './poll.ts';
import type { Teardown } from './teardown.ts';

const execFileP = promisify(execFile);

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a short command to completion; throws with its stderr when it fails. */
export async function run(argv: readonly string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
  const [cmd, ...args] = argv;
  try {
    const r = await execFileP(cmd!, args, { timeout: opts.timeoutMs ?? 10_000, maxBuffer: 64 << 20 });
    return { stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`${argv.join(' ')}: ${(e.stderr ?? '').trim() || e.message}`, { cause: err });
  }
}

export interface Spawned {
  readonly pid: number;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  hasExited(): boolean;
  /** SIGTERM, then SIGKILL if it is still there after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  readonly netns?: string;
  /** Where stdout/stderr go, unless `onLine` takes stdout. */
  readonly logFile?: string;
  /** Called for each stdout line (stderr still goes to `logFile`). */
  readonly onLine?: (line: string) => void;
  /** Keep stdin as a pipe (closing it is a stop signal for our own helpers). */
  readonly stdinPipe?: boolean;
  readonly cwd?: string;
}

export function spawnTracked(
  teardown: Teardown,
  what: string,
  argv: readonly string[],
  opts: SpawnOptions = {},
): Spawned {
  const full = opts.netns ? ['ip', 'netns', 'exec', opts.netns, ...argv] : [...argv];
  const child = spawn(full[0]!, full.slice(1), {
    stdio: [opts.stdinPipe ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    cwd: opts.cwd,
  });
  if (child.pid === undefined) throw new Error(`could not start ${what} (${full[0]})`);
  const pid = child.pid;
  let hasExited = false;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      hasExited = true;
      resolve(code);
    });
    child.once('error', () => {
      hasExited = true;
      resolve(null);
    });
  });
  if (opts.logFile) {
    const log = createWriteStream(opts.logFile, { flags: 'a' });
    child.stderr!.pipe(log);
    if (!opts.onLine) child.stdout!.pipe(log);
  } else {
    child.stderr!.resume();
    if (!opts.onLine) child.stdout!.resume();
  }
  if (opts.onLine) {
    const onLine = opts.onLine;
    createInterface({ input: child.stdout! }).on('line', onLine);
  }

  const stop = async (graceMs = 3000): Promise<void> => {
    if (hasExited) return;
    if (child.stdin && !child.stdin.destroyed) child.stdin.end();
    child.kill('SIGTERM');
    const timedOut = await Promise.race([exited.then(() => false), sleep(graceMs).then(() => true)]);
    if (timedOut && !hasExited) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  teardown.add(`${what} (pid ${pid})`, () => stop());
  return { pid, child, exited, hasExited: () => hasExited, stop };
}

export interface ProcStats {
  /** Peak resident set size (VmHWM), bytes. */
  readonly peakRssBytes: number;
  readonly rssBytes: number;
  /**
   * CPU time, seconds: the sum over the live threads of the scheduler's run time
   * (/proc/PID/task/TID/schedstat, nanoseconds), or utime + stime (10 ms ticks) where the kernel
   * keeps no schedstat. Ticks are too coarse for a run of a few tens of ms; a thread that exited in between is
   * not counted (the receivers' threads live as long as they do).
   */
  readonly cpuSeconds: number;
  /** The main thread's share of cpuSeconds (the event loop, for a Node process). */
  readonly mainThreadCpuSeconds: number;
}

/** Nanoseconds thread `tid` of `pid` has run, or undefined without schedstat. */
async function threadRunNs(pid: number, tid: string): Promise<number | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/task/${tid}/schedstat`, 'utf8');
    const ns = Number(text.split(' ')[0]);
    return Number.isFinite(ns) ? ns : undefined;
  } catch {
    return undefined; // the thread exited while we looked
  }
}

const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux

export async function procStats(pid: number): Promise<ProcStats> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m) throw new Error(`/proc/${pid}/status has no ${key}`);
    return Number(m[1]) * 1024;
  };
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15 (1-based).
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const tickSeconds = (Number(rest[11]) + Number(rest[12])) / CLOCK_TICKS;
  const main = await threadRunNs(pid, String(pid));
  if (main === undefined) {
    return {
      peakRssBytes: kb('VmHWM'),
      rssBytes: kb('VmRSS'),
      cpuSeconds: tickSeconds,
      mainThreadCpuSeconds: tickSeconds,
    };
  }
  const tids = await readdir(`/proc/${pid}/task`);
  let ns = 0;
  for (const tid of tids) ns += (tid === String(pid) ? main : await threadRunNs(pid, tid)) ?? 0;
  return {
    peakRssBytes: kb('VmHWM'),
    rssBytes: kb('VmRSS'),
    cpuSeconds: ns / 1e9,
    mainThreadCpuSeconds: main / 1e9,
  };
}

/**
 * Sets the peak RSS (VmHWM) of `pid` back to its current RSS (`/proc/PID/clear_refs` ← 5), so the
 * next peak read is the peak since now.
 */
export async function resetPeakRss(pid: number): Promise<void> {
  await writeFile(`/proc/${pid}/clear_refs`, '5');
}

export interface Settled {
  /** How long it took (or how long was waited when it did not settle). */
  readonly ms: number;
  readonly settled: boolean;
}

/**
 * Waits until the processes are idle: over the last `windowMs`, together they used less than 1% of
 * a core and their RSS moved by less than 1 MiB (a Node process that has just started still
 * compiles and collects; a daemon that has just dropped a table still frees it). Gives up after
 * `timeoutMs` and says so.
 */
export async function settleIdle(
  pids: readonly number[],
  opts: { windowMs?: number; stepMs?: number; timeoutMs?: number } = {},
): Promise<Settled> {
  const windowMs = opts.windowMs ?? 500;
  const stepMs = opts.stepMs ?? 100;
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const t0 = performance.now();
  const samples: { t: number; cpu: number; rss: number }[] = [];
  for (;;) {
    const stats = await Promise.all(pids.map(procStats));
    const t = performance.now();
    samples.push({
      t,
      cpu: stats.reduce((s, x) => s + x.cpuSeconds, 0),
      rss: stats.reduce((s, x) => s + x.rssBytes, 0),
    });
    const first = samples.find((s) => s.t >= t - windowMs - stepMs / 2);
    const last = samples[samples.length - 1]!;
    if (first !== undefined && last.t - first.t >= windowMs) {
      const window = samples.filter((s) => s.t >= first.t);
      const rss = window.map((s) => s.rss);
      const quiet =
        last.cpu - first.cpu < (0.01 * (last.t - first.t)) / 1000 &&
        Math.max(...rss) - Math.min(...rss) < 2 ** 20;
      if (quiet) return { ms: Math.round(t - t0), settled: true };
    }
    if (t - t0 > timeoutMs) return { ms: Math.round(t - t0), settled: false };
    await sleep(stepMs);
  }
}

/** A process's memory in MB: resident, peak resident, and the resident split into anon and file. */
export interface Memory {
  readonly rssMb: number;
  readonly peakMb: number;
  /** The process's own memory (heap, compiled code). */
  readonly anonMb: number;
  /** File pages: mostly the executable, shared with other processes running it. */
  readonly fileMb: number;
}

const mb1 = (kb: number): number => Math.round((kb / 1024) * 10) / 10;

/** VmRSS and VmHWM from /proc/PID/status, the anonymous part from /proc/PID/smaps_rollup. */
export async function memoryOf(pid: number): Promise<Memory> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (text: string, key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    if (!m) throw new Error(`/proc/${pid}: no ${key}`);
    return Number(m[1]);
  };
  const rss = kb(status, 'VmRSS');
  const anon = kb(rollup, 'Anonymous');
  return { rssMb: mb1(rss), peakMb: mb1(kb(status, 'VmHWM')), anonMb: mb1(anon), fileMb: mb1(rss - anon) };
}

/** Rows of cells as aligned columns, for a benchmark's table on stderr. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = (rows[0] ?? []).map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return `${rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ')).join('\n')}\n`;
}
