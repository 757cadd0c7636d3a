// V8 heap limits of the two long-lived daemons, `margay agent` and `margay speaker`, from the
// memory limit of the cgroup they run in (in Kubernetes, the container's resources.limits.memory).
//
// The rule, for each flag the user has not given (on node's command line or in NODE_OPTIONS):
//
// - `--max-old-space-size`: half the memory limit, when there is a limit (at least 16 MiB, as V8
//   reads 0 as "no limit"). Node sizes the heap from the cgroup limit by itself, and V8 then plans
//   about half of it for the old generation too, but never less than 256 MiB on 64-bit: a
//   container limited to 256 MiB or less gets a heap limit above its memory limit, and the kernel
//   kills it before V8 collects hard. The rule keeps the half, without the floor, and does not
//   leave it to the V8 version in the image. The other half is for what is not old space: the
//   young generation, compiled code, the pages of the node binary, buffers outside the heap.
//   Without a limit, V8's own sizing from the machine's memory stays.
//
// - `--max-semi-space-size`: SEMI_SPACE_MB, with or without a limit. V8 grows each of the two
//   semi-spaces of the young generation up to a maximum that rises with the memory it sizes the
//   heap from, to tens of MiB on a machine or container with a few GiB. Session churn allocates
//   short-lived objects without pause (every OPEN, UPDATE and withdrawal), so the young generation
//   grows to that maximum and stays there: resident memory that rises in steps and is never
//   returned. A small semi-space holds that memory down, and each scavenge copies less, so each
//   pause of the event loop (which holds every session's keepalives) is shorter; the cost is more
//   scavenges, more CPU in all, and more objects promoted to old space. The soak benchmark
//   (test/bench/soak.ts) compares sizes; test/bench/RESULTS.md has the figures.
//
// Node reads heap flags only when it starts, so a daemon without them replaces itself
// (process.execve: the same PID, so a container's PID 1 stays PID 1, with the same stdio and
// environment) with the same command and the flags added; the new process finds them in its
// process.execArgv and goes on. Nodes without process.execve run with V8's defaults.
import { readFileSync } from 'node:fs';
import { flushCompileCache } from 'node:module';
import { totalmem } from 'node:os';
import { dirname } from 'node:path';
import { log } from './log.ts';

/** The old generation's share of the memory limit. */
export const OLD_SPACE_SHARE = 0.5;
/** V8 reads `--max-old-space-size=0` as no limit; a limit this small is a mistake anyway. */
export const MIN_OLD_SPACE_MB = 16;
/** Each of the young generation's two semi-spaces, MiB. */
export const SEMI_SPACE_MB = 2;

const MiB = 1024 * 1024;

/** Reads a file, or undefined when it cannot be read. Parameter of the functions below for tests. */
export type ReadFile = (path: string) => string | undefined;

const readOrUndefined: ReadFile = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

export interface MemoryCgroup {
  /** 1: the `memory` hierarchy of cgroup v1 (memory.limit_in_bytes); 2: cgroup v2 (memory.max). */
  readonly version: 1 | 2;
  /** This process's cgroup directory. */
  readonly dir: string;
  /** Where the hierarchy is mounted: the top of what this process can see of it. */
  readonly mountPoint: string;
}

/** `\040` and the like in /proc/self/mountinfo paths. */
const unescapeMountPath = (p: string): string =>
  p.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));

/**
 * The cgroups this process is in that can carry a memory limit: the cgroup v1 `memory` hierarchy,
 * the cgroup v2 hierarchy, or both on a hybrid system (where only one of them has the memory
 * controller; the other has no limit files). The path in /proc/self/cgroup is relative to the
 * hierarchy's root, and the mount (from /proc/self/mountinfo) may show only a subtree of it, as
 * in a container without a cgroup namespace, whose /sys/fs/cgroup/memory is its own cgroup.
 */
export function memoryCgroups(read: ReadFile = readOrUndefined): MemoryCgroup[] {
  const cgroupText = read('/proc/self/cgroup');
  const mountText = read('/proc/self/mountinfo');
  if (cgroupText === undefined || mountText === undefined) return [];
  const paths = { v1: undefined as string | undefined, v2: undefined as string | undefined };
  for (const line of cgroupText.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const id = line.slice(0, first);
    const controllers = line.slice(first + 1, second).split(',');
    const path = line.slice(second + 1);
    if (id === '0' && controllers.length === 1 && controllers[0] === '') paths.v2 = path;
    else if (controllers.includes('memory')) paths.v1 = path;
  }
  const found: MemoryCgroup[] = [];
  for (const line of mountText.split('\n')) {
    const fields = line.split(' ');
    const sep = fields.indexOf('-');
    if (sep < 5) continue;
    const fsType = fields[sep + 1];
    const superOptions = (fields[sep + 3] ?? '').split(',');
    const version = fsType === 'cgroup2' ? 2 : fsType === 'cgroup' && superOptions.includes('memory') ? 1 : 0;
    if (version === 0) continue;
    const path = version === 2 ? paths.v2 : paths.v1;
    if (path === undefined || found.some((c) => c.version === version)) continue;
    const root = unescapeMountPath(fields[3]!);
    const mountPoint = unescapeMountPath(fields[4]!);
    // The cgroup's path below the mounted root; a path outside it (another cgroup namespace)
    // leaves the mount point itself, the nearest this process can see.
    const rel =
      root === '/' ? path : path === root || path.startsWith(`${root}/`) ? path.slice(root.length) : '';
    const dir = rel === '/' || rel === '' ? mountPoint : `${mountPoint}${rel}`;
    found.push({ version, dir, mountPoint });
  }
  return found;
}

/**
 * The memory limit of this process, bytes: the smallest limit on its cgroup and on every cgroup
 * above it up to the mount point (a parent's limit binds its children too); undefined when there
 * is none. A limit at or above the machine's memory limits nothing, and so is none.
 */
export function cgroupMemoryLimit(
  read: ReadFile = readOrUndefined,
  machineBytes = totalmem(),
): number | undefined {
  let limit: number | undefined;
  for (const cg of memoryCgroups(read)) {
    const file = cg.version === 2 ? 'memory.max' : 'memory.limit_in_bytes';
    for (let dir = cg.dir; ; dir = dirname(dir)) {
      const text = read(`${dir}/${file}`)?.trim();
      // v2 writes "max" for no limit; v1 a number near 2^63.
      const bytes = text === undefined || text === 'max' ? Number.NaN : Number(text);
      if (Number.isFinite(bytes) && bytes > 0 && bytes < machineBytes)
        limit = Math.min(limit ?? bytes, bytes);
      if (dir === cg.mountPoint || dir === dirname(dir)) break;
    }
  }
  return limit;
}

export interface GivenHeapFlags {
  /** The old generation's size: --max-old-space-size, --max-old-space-size-percentage, --max-heap-size. */
  readonly oldSpace: boolean;
  /** The young generation's: --max-semi-space-size, --max-heap-size. */
  readonly semiSpace: boolean;
}

/** Which heap sizes the user set, on node's command line (`execArgv`) or in NODE_OPTIONS. */
export function givenHeapFlags(execArgv: readonly string[], nodeOptions: string | undefined): GivenHeapFlags {
  const names = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)]
    .map((t) => t.replace(/^["']|["']$/g, ''))
    .filter((t) => t.startsWith('--'))
    // V8 takes its flags with `_` or `-` alike.
    .map((t) => t.split('=')[0]!.replaceAll('_', '-'));
  const heap = names.includes('--max-heap-size');
  return {
    oldSpace:
      heap || names.includes('--max-old-space-size') || names.includes('--max-old-space-size-percentage'),
    semiSpace: heap || names.includes('--max-semi-space-size'),
  };
}

/** The flags the rule adds (see the top of this file) for a memory limit and the flags given. */
export function heapFlags(limitBytes: number | undefined, given: GivenHeapFlags): string[] {
  const flags: string[] = [];
  if (limitBytes !== undefined && !given.oldSpace) {
    const oldMb = Math.max(MIN_OLD_SPACE_MB, Math.floor((limitBytes * OLD_SPACE_SHARE) / MiB));
    flags.push(`--max-old-space-size=${oldMb}`);
  }
  if (!given.semiSpace) flags.push(`--max-semi-space-size=${SEMI_SPACE_MB}`);
  return flags;
}

/**
 * Applies the rule to this process: when flags are to be added, replaces the process with the
 * same command and those flags, and does not return. Returns when there is nothing to add, or
 * when this Node cannot replace itself.
 */
export function applyHeapRule(): void {
  const script = process.argv[1];
  if (typeof process.execve !== 'function' || script === undefined) return;
  const limitBytes = cgroupMemoryLimit();
  const flags = heapFlags(limitBytes, givenHeapFlags(process.execArgv, process.env.NODE_OPTIONS));
  if (flags.length === 0) return;
  log('info', 'heap.flags', { memoryLimitBytes: limitBytes ?? null, flags });
  // What this process compiled so far, for the next one (when the compile cache is on).
  flushCompileCache();
  process.execve(
    process.execPath,
    [process.execPath, ...process.execArgv, ...flags, script, ...process.argv.slice(2)],
    process.env,
  );
}
