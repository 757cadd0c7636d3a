// The lab's state file: how `margay lab status|apply|delete|exec|probe|down` (separate processes,
// later) find the lab `margay lab up` built. It is written before the first namespace is created
// and rewritten after every step, so even a `lab up` killed half-way leaves enough for `lab down`:
// the prefix (every namespace starts with it) and the PID of every process started so far.
//
// Location: $MARGAY_LAB_STATE_DIR, else /run/margay-lab when writable (root), else
// $TMPDIR/margay-lab; the file is `state.json` there. One lab per state directory.
//
// Processes are recorded with their kernel start time (/proc/PID/stat field 22), so a PID that was
// recycled after a crash or reboot is never signalled: `stopRecorded` checks it first.
import { accessSync, constants, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LabPort, TorKind } from './topology.ts';

export const STATE_VERSION = 1;

export interface ProcessRecord {
  readonly pid: number;
  /** /proc/PID/stat starttime (clock ticks since boot), as text. */
  readonly startTime: string;
  readonly argv: readonly string[];
  readonly logFile: string;
}

export interface NodeRecord {
  readonly name: string;
  readonly index: number;
  readonly subnet: 1 | 2;
  readonly ns: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ipv4: string;
  readonly ipv6?: string;
  readonly podCIDRv4: string;
  readonly podCIDRv6?: string;
  readonly isRouteReflector: boolean;
  readonly configPath: string;
  agent?: ProcessRecord;
}

export interface PodRecord {
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  readonly ns: string;
  readonly hostIface: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ports: readonly LabPort[];
  readonly ipv4: string;
  readonly ipv6?: string;
  listener?: ProcessRecord;
}

export interface RouterRecord {
  readonly ns: string;
  readonly interfaces: readonly { ifname: string; subnet: 1 | 2; ipv4: string; ipv6?: string }[];
  readonly tor: TorKind;
  readonly torAsNumber: number;
  /** BIRD control socket, FRR vty dir, GoBGP API port: how to query the ToR. */
  torSocket?: string;
  torDir?: string;
  torApiPort?: number;
  torConfigPath?: string;
  torProcesses: ProcessRecord[];
}

export interface LabState {
  readonly version: typeof STATE_VERSION;
  readonly prefix: string;
  /** The lab's files: datastore, agent configs, logs. */
  readonly dir: string;
  readonly datastorePath: string;
  readonly createdAt: string;
  /** building → ready, or failed (kept with --keep); down removes the file. */
  phase: 'building' | 'ready' | 'failed';
  readonly asNumber: number;
  readonly ipv6: boolean;
  readonly subnets: 1 | 2;
  readonly routeReflectors: number;
  /** Underlay segments: bridge namespace per subnet. */
  readonly segments: { subnet: 1 | 2; ns: string }[];
  router?: RouterRecord;
  nodes: NodeRecord[];
  pods: PodRecord[];
  /** Every namespace created, in creation order. */
  namespaces: string[];
}

export function defaultStateDir(): string {
  const env = process.env.MARGAY_LAB_STATE_DIR;
  if (env !== undefined && env !== '') return env;
  try {
    accessSync('/run', constants.W_OK);
    return '/run/margay-lab';
  } catch {
    return join(tmpdir(), 'margay-lab');
  }
}

export function statePath(stateDir: string): string {
  return join(stateDir, 'state.json');
}

export function readState(stateDir: string): LabState | undefined {
  let text: string;
  try {
    text = readFileSync(statePath(stateDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const state = JSON.parse(text) as LabState;
  if (state.version !== STATE_VERSION)
    throw new Error(
      `${statePath(stateDir)}: state version ${String(state.version)}, expected ${STATE_VERSION}`,
    );
  return state;
}

/** Atomic: write a temp file and rename it over the old one. */
export function writeState(stateDir: string, state: LabState): void {
  mkdirSync(stateDir, { recursive: true });
  const path = statePath(stateDir);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, path);
}

export function removeState(stateDir: string): void {
  rmSync(statePath(stateDir), { force: true });
}

/** The kernel start time of PID, or undefined when it does not exist. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may contain spaces and parentheses: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19]; // field 22 overall
  } catch {
    return undefined;
  }
}

export function processRecord(p: { pid: number; argv: readonly string[]; logFile: string }): ProcessRecord {
  return { pid: p.pid, startTime: processStartTime(p.pid) ?? '?', argv: p.argv, logFile: p.logFile };
}

/** Alive and still the process we started (same start time). */
export function isRecordedAlive(r: ProcessRecord): boolean {
  const now = processStartTime(r.pid);
  if (now === undefined) return false;
  // A zombie (our own un-reaped child) counts as gone.
  try {
    const state = readFileSync(`/proc/${r.pid}/stat`, 'utf8');
    if (state.slice(state.lastIndexOf(')') + 2).startsWith('Z')) return false;
  } catch {
    return false;
  }
  return now === r.startTime;
}

/**
 * SIGTERM the recorded process's group (it leads one: spawnIn starts it detached), wait up to
 * `graceMs`, then SIGKILL. Does nothing when the PID is gone or belongs to another process now.
 */
export async function stopRecorded(r: ProcessRecord, graceMs = 3_000): Promise<void> {
  if (!isRecordedAlive(r)) return;
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-r.pid, sig);
    } catch {
      try {
        process.kill(r.pid, sig);
      } catch {
        // gone
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && isRecordedAlive(r)) await new Promise((res) => setTimeout(res, 50));
  if (isRecordedAlive(r)) signal('SIGKILL');
  const killDeadline = Date.now() + 2_000;
  while (Date.now() < killDeadline && isRecordedAlive(r)) await new Promise((res) => setTimeout(res, 20));
}
