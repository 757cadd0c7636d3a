// A memory cgroup for one daemon that a test or benchmark starts, as a container runtime gives one
// to a container: a child of this process's own memory cgroup (so it stays within whatever limit
// this process has), with a memory limit, removed at the end. cgroup v1's memory hierarchy or
// cgroup v2, whichever carries this process's memory controller; under v2 the memory controller
// must be enabled for the children of this process's cgroup, which v2 allows only where that
// cgroup holds no processes itself (or is the root).
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { memoryCgroups } from '../../src/heap.ts';

/** Bytes of a Kubernetes memory quantity: 256Mi, 1Gi, 500M, 1e9, 134217728. */
export function quantityBytes(q: string | number): number {
  const m = /^([0-9]+(?:\.[0-9]+)?(?:e[0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(q).trim());
  if (!m) throw new Error(`not a memory quantity: ${String(q)}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[
    m[2] ?? ''
  ];
  return Math.round(Number(m[1]) * (unit ?? 1));
}

export interface CgroupMemory {
  /** All memory charged to the cgroup, page cache included. */
  readonly usageBytes: number;
  /** What the kubelet compares with the limit and the requests: usage less inactive file pages. */
  readonly workingSetBytes: number;
  /** The highest usage so far, where the kernel keeps it. */
  readonly peakBytes: number | undefined;
  /** Processes of the cgroup the kernel's OOM killer ended. */
  readonly oomKills: number;
}

export interface LimitedCgroup {
  readonly dir: string;
  readonly version: 1 | 2;
  readonly limitBytes: number;
  /** `argv` preceded by what moves it into the cgroup before it starts (it keeps its PID). */
  wrap(argv: readonly string[]): ['sh', ...string[]];
  memory(): CgroupMemory;
  /** Removes the cgroup once its processes have exited (waits up to 5 s for them). */
  remove(): Promise<void>;
}

let counter = 0;

const statField = (text: string, key: string): number => {
  const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
};

const readOptional = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** Creates `<own cgroup>/<label>-<pid>-<n>` with a memory limit of `limitBytes`; throws when it cannot. */
export function createLimitedCgroup(label: string, limitBytes: number): LimitedCgroup {
  const own = memoryCgroups().find(
    (c) =>
      (c.version === 1 && readOptional(join(c.dir, 'memory.limit_in_bytes')) !== undefined) ||
      (c.version === 2 &&
        (readOptional(join(c.dir, 'cgroup.controllers')) ?? '').split(/\s+/).includes('memory')),
  );
  if (own === undefined) throw new Error('no memory cgroup controller for this process');
  const dir = join(own.dir, `${label}-${process.pid}-${counter++}`);
  if (own.version === 2) {
    const control = join(own.dir, 'cgroup.subtree_control');
    if (!readFileSync(control, 'utf8').split(/\s+/).includes('memory')) writeFileSync(control, '+memory');
  }
  mkdirSync(dir);
  try {
    if (own.version === 1) {
      writeFileSync(join(dir, 'memory.limit_in_bytes'), String(limitBytes));
    } else {
      writeFileSync(join(dir, 'memory.max'), String(limitBytes));
      // No swap, as the kubelet runs containers by default.
      if (readOptional(join(dir, 'memory.swap.max')) !== undefined)
        writeFileSync(join(dir, 'memory.swap.max'), '0');
    }
  } catch (err) {
    rmdirSync(dir);
    throw err;
  }
  const read = (file: string): string => readFileSync(join(dir, file), 'utf8');
  return {
    dir,
    version: own.version,
    limitBytes,
    wrap: (argv) => ['sh', '-c', `echo $$ > '${join(dir, 'cgroup.procs')}' && exec "$@"`, 'sh', ...argv],
    memory() {
      if (own.version === 1) {
        const usage = Number(read('memory.usage_in_bytes'));
        const stat = read('memory.stat');
        return {
          usageBytes: usage,
          workingSetBytes: Math.max(0, usage - statField(stat, 'total_inactive_file')),
          peakBytes: Number(read('memory.max_usage_in_bytes')),
          oomKills: statField(read('memory.oom_control'), 'oom_kill'),
        };
      }
      const usage = Number(read('memory.current'));
      const peak = readOptional(join(dir, 'memory.peak'));
      return {
        usageBytes: usage,
        workingSetBytes: Math.max(0, usage - statField(read('memory.stat'), 'inactive_file')),
        peakBytes: peak === undefined ? undefined : Number(peak),
        oomKills: statField(read('memory.events'), 'oom_kill'),
      };
    },
    async remove() {
      for (let i = 0; ; i++) {
        try {
          rmdirSync(dir);
          return;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
          if (i >= 50) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
  };
}

/** Why no limited cgroup can be created here, or undefined when one can (created and removed). */
export function limitedCgroupUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  try {
    const cg = createLimitedCgroup('margay-probe', 256 * 2 ** 20);
    rmdirSync(cg.dir);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
