// A Lab is one run's set of namespaces, links, processes and files, all carrying a per-run prefix
// (`mgy-<pid>-<rand>-`) so parallel test files and parallel runs on one machine never collide.
// It records everything it creates; `teardown()` stops processes by PID first (SIGTERM, then
// SIGKILL), kills anything still living in its namespaces, then deletes the namespaces (which
// removes their veth/bridge links). Teardown is idempotent. A process-exit hook does the same
// synchronously, best effort, so a crashed vitest worker leaves nothing behind; `cleanupStale`
// removes namespaces of a run that died harder than that (SIGKILL, machine reboot).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  attachToSegment,
  createNamespace,
  createSegmentBridge,
  createVeth,
  deleteNamespace,
  type ExecOptions,
  type ExecResult,
  exec,
  type InterfaceAddresses,
  listNamespaces,
  namespacePids,
  type ProcessHandle,
  spawnIn,
} from './netns.ts';

export interface LabOptions {
  /** Override the generated per-run prefix (must end with '-'). */
  readonly prefix?: string;
  /** Keep the lab's temp dir (configs, logs, captures) after teardown; also env MARGAY_LAB_KEEP=1. */
  readonly keepFiles?: boolean;
  /**
   * Namespaces of this prefix that already exist (created by an earlier process, e.g. `margay lab
   * up`); the lab may use and delete them as if it had created them.
   */
  readonly adoptNamespaces?: readonly string[];
}

export interface LinkEnd extends InterfaceAddresses {
  /** Full namespace name as returned by `lab.addNamespace`. */
  readonly ns: string;
  readonly ifname: string;
}

export interface Segment {
  readonly name: string;
  /** Namespace holding the bridge. */
  readonly switchNs: string;
  /** Plug `ns` into the segment with interface `ifname` and the given addresses. */
  attach(end: LinkEnd): Promise<void>;
}

export interface SpawnInLabOptions {
  /** Log file basename (in `lab.dir`); default derived from argv[0]. */
  readonly name?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

const liveLabs = new Set<Lab>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const lab of liveLabs) lab.teardownSync();
  });
}

export function newRunPrefix(): string {
  return `mgy-${process.pid}-${randomBytes(3).toString('hex')}-`;
}

export class Lab {
  readonly prefix: string;
  /** Temp dir for configs, sockets, logs. Mode 0755 so daemons dropping privileges can reach it. */
  readonly dir: string;
  readonly #keepFiles: boolean;
  readonly #namespaces: string[] = [];
  readonly #processes: ProcessHandle[] = [];
  #tornDown = false;

  constructor(opts: LabOptions = {}) {
    this.prefix = opts.prefix ?? newRunPrefix();
    if (!/^[\w.-]+-$/.test(this.prefix)) throw new Error(`bad lab prefix: ${this.prefix}`);
    this.#keepFiles = opts.keepFiles ?? process.env.MARGAY_LAB_KEEP === '1';
    this.dir = join(tmpdir(), this.prefix.slice(0, -1));
    mkdirSync(this.dir, { recursive: true });
    chmodSync(this.dir, 0o755);
    for (const ns of opts.adoptNamespaces ?? []) {
      if (!ns.startsWith(this.prefix)) throw new Error(`cannot adopt ${ns}: not in lab ${this.prefix}`);
      this.#namespaces.push(ns);
    }
    liveLabs.add(this);
    installExitHook();
  }

  get namespaces(): readonly string[] {
    return this.#namespaces;
  }

  get processes(): readonly ProcessHandle[] {
    return this.#processes;
  }

  /** Create namespace `<prefix><short>` with loopback up; returns the full name. */
  async addNamespace(short: string): Promise<string> {
    this.#assertLive();
    const name = `${this.prefix}${short}`;
    this.#namespaces.push(name); // recorded first: a half-created namespace is still removed
    await createNamespace(name);
    return name;
  }

  /** Point-to-point veth between two lab namespaces. */
  async connect(a: LinkEnd, b: LinkEnd): Promise<void> {
    this.#assertOwned(a.ns);
    this.#assertOwned(b.ns);
    await createVeth(a, b);
  }

  /** A shared L2 segment (bridge in its own lab namespace) that any number of namespaces join. */
  async addSegment(short: string): Promise<Segment> {
    const switchNs = await this.addNamespace(`sw-${short}`);
    await createSegmentBridge(switchNs, 'br0');
    let ports = 0;
    return {
      name: short,
      switchNs,
      attach: async (end: LinkEnd) => {
        this.#assertOwned(end.ns);
        ports++;
        await attachToSegment(switchNs, 'br0', `p${ports}`, end);
      },
    };
  }

  /** A subdirectory of the lab dir (created, mode 0755). */
  mkdir(name: string): string {
    const d = join(this.dir, name);
    mkdirSync(d, { recursive: true });
    chmodSync(d, 0o755);
    return d;
  }

  /** Run a short command in a lab namespace. */
  exec(ns: string, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    this.#assertOwned(ns);
    return exec(ns, argv, opts);
  }

  /** Start a long-running process in a lab namespace; it is stopped by teardown. */
  spawn(ns: string, argv: readonly string[], opts: SpawnInLabOptions = {}): ProcessHandle {
    this.#assertOwned(ns);
    const base = opts.name ?? `${(argv[0] ?? 'proc').split('/').pop()}-${this.#processes.length}`;
    const handle = spawnIn(ns, argv, {
      logFile: join(this.dir, `${base}.log`),
      env: opts.env,
      cwd: opts.cwd,
    });
    this.#processes.push(handle);
    return handle;
  }

  /**
   * Hand the lab over to whoever recorded it (the `margay lab` state file): nothing is torn down
   * when this process exits, and its processes no longer keep this process alive. The object is
   * unusable afterwards.
   */
  detach(): void {
    this.#assertLive();
    this.#tornDown = true;
    for (const p of this.#processes) p.unref();
    liveLabs.delete(this);
  }

  /** Stop every process (by PID), then delete every namespace. Safe to call more than once. */
  async teardown(): Promise<void> {
    if (this.#tornDown) return;
    this.#tornDown = true;
    const errors: unknown[] = [];
    await Promise.all(this.#processes.map((p) => p.stop(3_000).catch((e: unknown) => errors.push(e))));
    for (const ns of [...this.#namespaces].reverse()) {
      try {
        await killNamespaceProcesses(ns);
        await deleteNamespace(ns);
      } catch (e) {
        errors.push(e);
      }
    }
    liveLabs.delete(this);
    if (!this.#keepFiles) rmSync(this.dir, { recursive: true, force: true });
    if (errors.length > 0) throw new AggregateError(errors, `lab ${this.prefix} teardown had errors`);
  }

  /** Synchronous last-resort teardown for the process 'exit' hook. */
  teardownSync(): void {
    if (this.#tornDown) return;
    this.#tornDown = true;
    for (const p of this.#processes) {
      if (p.exitStatus() !== undefined) continue;
      try {
        process.kill(-p.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (const ns of this.#namespaces) {
      try {
        const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
        for (const pid of pids
          .split('\n')
          .map(Number)
          .filter((n) => n > 0))
          process.kill(pid, 'SIGKILL');
      } catch {
        // namespace already gone
      }
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
    liveLabs.delete(this);
    if (!this.#keepFiles) rmSync(this.dir, { recursive: true, force: true });
  }

  #assertLive(): void {
    if (this.#tornDown) throw new Error(`lab ${this.prefix} already torn down`);
  }

  #assertOwned(ns: string): void {
    this.#assertLive();
    if (!this.#namespaces.includes(ns)) {
      throw new Error(`namespace ${ns} does not belong to lab ${this.prefix}; refusing to touch it`);
    }
  }
}

/** SIGKILL every process still inside a namespace (all of them were started by the lab). */
async function killNamespaceProcesses(ns: string): Promise<void> {
  for (const pid of await namespacePids(ns)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
}

/**
 * Remove namespaces (and the processes inside them) left by a crashed run with `prefix`, e.g.
 * `mgy-12345-a1b2c3-`. Refuses prefixes that do not look like a lab prefix. Returns what it removed.
 */
export async function cleanupStale(prefix: string): Promise<string[]> {
  if (!/^mgy-[\w.-]*-$/.test(prefix)) {
    throw new Error(`cleanupStale: "${prefix}" is not a lab prefix (expected mgy-…-)`);
  }
  const owner = /^mgy-(\d+)-/.exec(prefix)?.[1];
  if (owner !== undefined && Number(owner) !== process.pid && isAlive(Number(owner))) {
    throw new Error(`cleanupStale: the run that owns ${prefix} (pid ${owner}) is still alive`);
  }
  const removed: string[] = [];
  for (const ns of await listNamespaces()) {
    if (!ns.startsWith(prefix)) continue;
    await killNamespaceProcesses(ns);
    await deleteNamespace(ns);
    removed.push(ns);
  }
  rmSync(join(tmpdir(), prefix.slice(0, -1)), { recursive: true, force: true });
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
