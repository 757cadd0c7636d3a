// A small typed wrapper around iproute2: `ip`/`bridge -json` for reads, `ip`/`bridge -force -batch -`
// for writes, every command optionally inside a network namespace (`ip -n NS`, `bridge -n NS`,
// which switch namespaces themselves — no `ip netns exec` fork per command). The agent on a node
// uses no namespace; the lab and the tests pass one, so the same code programs a "node" namespace.
// Without a namespace, the workload interfaces' sysctls, existence and IPv6 addresses are read
// and written through this process's /proc (procfs.ts) rather than by a child process: every
// child is a fork of the whole agent.
//
// `-force` semantics: without it `ip -batch` stops at the first failing line and the rest of the
// batch is silently not applied; with it every line the kernel refuses is reported on stderr as
// the error text followed by "Command failed -:N", the next line is attempted, and the exit code
// is 1. We always use -force, parse those markers, and return every failed line (number, the
// command text, the kernel's message) so callers can decide: the route reconciler treats "No such
// process" on a delete as done (someone removed it first) and everything else as an error that
// names the line. Any other end of the process (another exit code — ip exits at once with 255 on
// an argument it cannot parse, with 2 on a refused `neigh` line —, a signal, a timeout) is an
// error of the whole batch (batch-writer.ts).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { FelixError } from '../../errors.ts';
import type { IpFamily } from '../../model/addr.ts';
import { type CommandResult, type CommandRunner, run as defaultRunner, formatArgv } from '../exec.ts';
import {
  type BatchFailure,
  type BatchResult,
  type BatchWriter,
  type BatchWriterOptions,
  batchOutcome,
  StreamingBatch,
} from './batch-writer.ts';
import { interfaceExists, ipv6Addresses, readSysctlFiles, writeSysctlFiles } from './procfs.ts';

export type NetlinkTool = 'ip' | 'bridge';
/** `ip -4` / `ip -6`: felix's one address-family type under the name the callers use here. */
export type Family = IpFamily;

export interface NetlinkOptions {
  /** Network namespace name (`ip netns`); undefined = the caller's namespace. */
  readonly netns?: string;
  /** Injected for unit tests (fakes with failure injection). */
  readonly runner?: CommandRunner;
  /** Per-command timeout (default 120 s: 100k-line batches take a few seconds). */
  readonly timeoutMs?: number;
  /**
   * The executable run for each tool (default `ip`, `bridge` from PATH). Unit tests point them at
   * fakes to exercise the streaming batches, which a runner does not see.
   */
  readonly tools?: Readonly<Partial<Record<NetlinkTool, string>>>;
}

export type { BatchFailure, BatchResult, BatchWriter, BatchWriterOptions } from './batch-writer.ts';
export { parseBatchErrors } from './batch-writer.ts';

export interface NetlinkStats {
  /** Processes run (reads, single commands and batches). */
  commands: number;
  /** Lines written through -batch. */
  batchLines: number;
  /** Bytes written to -batch stdin. */
  bytesWritten: number;
}

export class Netlink {
  readonly netns: string | undefined;
  readonly stats: NetlinkStats = { commands: 0, batchLines: 0, bytesWritten: 0 };
  readonly #runner: CommandRunner;
  readonly #isRealRunner: boolean;
  readonly #timeoutMs: number;
  readonly #tools: Readonly<Partial<Record<NetlinkTool, string>>>;

  constructor(opts: NetlinkOptions = {}) {
    this.netns = opts.netns;
    this.#tools = opts.tools ?? {};
    this.#runner = opts.runner ?? defaultRunner;
    this.#isRealRunner = opts.runner === undefined;
    this.#timeoutMs = opts.timeoutMs ?? 120_000;
  }

  /** The argv for `tool [-n NS] [-4|-6] ...args`. */
  argv(tool: NetlinkTool, args: readonly string[], family?: Family): string[] {
    const out: string[] = [this.#tools[tool] ?? tool];
    if (this.netns !== undefined) out.push('-n', this.netns);
    if (family !== undefined) out.push(`-${family}`);
    out.push(...args);
    return out;
  }

  /** Run one command; throws FELIX_ERR_COMMAND_FAILED (with stderr) when it fails. */
  async exec(tool: NetlinkTool, args: readonly string[], family?: Family): Promise<CommandResult> {
    this.stats.commands++;
    return this.#runner({ argv: this.argv(tool, args, family), timeoutMs: this.#timeoutMs });
  }

  /** Run one command and return its result whatever the exit code. */
  async tryExec(tool: NetlinkTool, args: readonly string[], family?: Family): Promise<CommandResult> {
    this.stats.commands++;
    return this.#runner({
      argv: this.argv(tool, args, family),
      timeoutMs: this.#timeoutMs,
      allowFailure: true,
    });
  }

  /** `tool -json args`, parsed; an empty output is an empty list. */
  async read(tool: NetlinkTool, args: readonly string[], family?: Family): Promise<unknown[]> {
    const argv = ['-json', ...args];
    const r = await this.exec(tool, argv, family);
    return parseJsonList(r.stdout, formatArgv(this.argv(tool, argv, family)));
  }

  /**
   * Write `lines` through one `tool -force -batch -` process. Resolves with the failed lines (empty
   * when all applied); rejects when the process itself failed (not found, killed, timeout, or an
   * exit status other than "some lines refused", see batch-writer.ts).
   */
  async batch(
    tool: NetlinkTool,
    lines: readonly string[],
    family?: Family,
    opts: BatchWriterOptions = {},
  ): Promise<BatchResult> {
    if (lines.length === 0) return { failures: [] };
    const input = `${lines.join('\n')}\n`;
    const argv = this.argv(tool, ['-force', '-batch', '-'], family);
    this.stats.commands++;
    this.stats.batchLines += lines.length;
    this.stats.bytesWritten += Buffer.byteLength(input);
    const r = await this.#runner({ argv, input, timeoutMs: this.#timeoutMs, allowFailure: true });
    // The runner reports a process killed by a signal as code 128 (exec.ts).
    return batchOutcome(
      { argv, code: r.code, stderr: r.stderr, lineCount: lines.length },
      opts.lineText ?? ((n) => lines[n - 1] ?? ''),
    );
  }

  /**
   * Open a streaming `tool -force -batch -` (batch-writer.ts). With an injected runner (unit tests)
   * the lines are collected and handed to `batch` on close; otherwise the process starts at once
   * and reads while the caller is still computing the next lines.
   */
  openBatch(tool: NetlinkTool, family?: Family, opts: BatchWriterOptions = {}): BatchWriter {
    if (!this.#isRealRunner) {
      const lines: string[] = [];
      return {
        push: (line) => void lines.push(line),
        flush: async () => {},
        close: () => this.batch(tool, lines, family, opts),
        get lineCount() {
          return lines.length;
        },
      };
    }
    this.stats.commands++;
    return new StreamingBatch(this.argv(tool, ['-force', '-batch', '-'], family), {
      timeoutMs: this.#timeoutMs,
      stats: this.stats,
      ...opts,
    });
  }

  /**
   * `tool -json OPTIONS args` (as `read`), then a streaming batch for what the caller computes
   * from it: in one `tool -json OPTIONS -force -batch -` process whose first line is the read
   * (BatchReadFirst), so a read-diff-write costs one process start, not two. The writer's lines
   * are numbered from 1 as pushed. When the read fails, the process is ended and the read's error
   * thrown. With an injected runner: `read`, then `openBatch` (two commands, as the fakes expect).
   */
  async readThenBatch(
    tool: NetlinkTool,
    read: { readonly options: readonly string[]; readonly args: readonly string[] },
    family?: Family,
    opts: BatchWriterOptions = {},
  ): Promise<{ list: unknown[]; writer: BatchWriter }> {
    if (!this.#isRealRunner) {
      const list = await this.read(tool, [...read.options, ...read.args], family);
      return { list, writer: this.openBatch(tool, family, opts) };
    }
    const argv = this.argv(tool, ['-json', ...read.options, '-force', '-batch', '-'], family);
    this.stats.commands++;
    const writer = new StreamingBatch(argv, {
      timeoutMs: this.#timeoutMs,
      stats: this.stats,
      ...opts,
      readFirst: { line: read.args.join(' ') },
    });
    try {
      const text = await writer.readOutput!;
      return { list: parseJsonList(text, `${formatArgv(argv)}: ${read.args.join(' ')}`), writer };
    } catch (e) {
      await writer.close().catch(() => undefined);
      throw e;
    }
  }

  /**
   * Run `tool [-n NS] -o monitor OBJECTS…` for as long as the caller needs it and hand every line it
   * prints (one kernel event per line) to `onLine`. `onStart` runs once the process has started;
   * `onEnd` when it ends by itself (it was killed, or could not start) with what went wrong.
   * Undefined with an injected runner (unit tests): there is no kernel to watch.
   */
  monitor(
    tool: NetlinkTool,
    objects: readonly string[],
    handlers: {
      readonly onLine: (line: string) => void;
      readonly onStart?: () => void;
      readonly onEnd?: (error: Error) => void;
    },
  ): NetlinkMonitor | undefined {
    if (!this.#isRealRunner) return undefined;
    const argv = this.argv(tool, ['-o', 'monitor', ...objects]);
    this.stats.commands++;
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
    let stopped = false;
    const end = (error: Error) => {
      if (stopped) return;
      stopped = true;
      handlers.onEnd?.(error);
    };
    child.once('spawn', () => {
      if (!stopped) handlers.onStart?.();
    });
    child.once('error', (e) =>
      end(new FelixError('FELIX_ERR_COMMAND_FAILED', `${formatArgv(argv)}: ${e.message}`)),
    );
    child.once('exit', (code, signal) =>
      end(
        new FelixError('FELIX_ERR_COMMAND_FAILED', `${formatArgv(argv)} ended (${signal ?? `exit ${code}`})`),
      ),
    );
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!stopped) handlers.onLine(line);
    });
    return {
      stop: () => {
        stopped = true;
        child.kill();
      },
    };
  }

  /**
   * Whether this object reads and writes the workload interfaces' state through this process's
   * own /proc (procfs.ts): it programs the namespace the process runs in (no `netns`) and runs
   * real commands. Otherwise that state goes through `sysctl` and `ip` processes in `netns`, and
   * an injected runner (unit tests) sees them.
   */
  get local(): boolean {
    return this.netns === undefined && this.#isRealRunner;
  }

  /**
   * Set sysctls (paths with slashes, e.g. "net/ipv4/conf/mgy0/proxy_arp", so interface names
   * with dots work) in this namespace: written to /proc/sys when `local`, otherwise one `sysctl`
   * process for all of them.
   */
  async sysctl(settings: readonly (readonly [string, string])[]): Promise<void> {
    if (settings.length === 0) return;
    if (this.local) return writeSysctlFiles(settings);
    this.stats.commands++;
    const argv = ['sysctl', '-q', '-w', ...settings.map(([k, v]) => `${k}=${v}`)];
    await this.#runner({
      argv,
      timeoutMs: this.#timeoutMs,
      ...(this.netns !== undefined ? { netns: this.netns } : {}),
    });
  }

  /**
   * The values of sysctls (keys as for `sysctl`), in order: read from /proc/sys when `local`,
   * otherwise with one `sysctl -n` process. A key that does not exist is an error.
   */
  async readSysctls(keys: readonly string[]): Promise<string[]> {
    if (keys.length === 0) return [];
    if (this.local) return readSysctlFiles(keys);
    this.stats.commands++;
    const r = await this.#runner({
      argv: ['sysctl', '-n', ...keys],
      timeoutMs: this.#timeoutMs,
      ...(this.netns !== undefined ? { netns: this.netns } : {}),
    });
    const values = r.stdout.split('\n').slice(0, keys.length);
    if (values.length !== keys.length) {
      throw new FelixError(
        'FELIX_ERR_COMMAND_FAILED',
        `sysctl -n printed ${values.length} values for ${keys.length} keys`,
      );
    }
    return values.map((v) => v.trim());
  }

  /**
   * Which of the interfaces `names` exist, each with its IPv6 addresses (`address/prefixlen`)
   * when `ipv6Addresses` is set (otherwise an empty list). When `local`, each name is looked up
   * on its own in /proc (procfs.ts) and the addresses come from /proc/self/net/if_inet6; otherwise
   * one `ip -json addr show` lists every interface.
   */
  async interfaces(
    names: readonly string[],
    opts: { readonly ipv6Addresses: boolean },
  ): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (names.length === 0) return out;
    if (this.local) {
      const present = await Promise.all(names.map((n) => interfaceExists(n)));
      const found = new Set(names.filter((_, i) => present[i]));
      const addrs = opts.ipv6Addresses && found.size > 0 ? await ipv6Addresses(found) : new Map();
      for (const n of found) out.set(n, addrs.get(n) ?? []);
      return out;
    }
    const wanted = new Set(names);
    for (const l of (await this.read('ip', ['addr', 'show'])) as Record<string, unknown>[]) {
      if (typeof l.ifname !== 'string' || !wanted.has(l.ifname)) continue;
      const addrs =
        opts.ipv6Addresses && Array.isArray(l.addr_info)
          ? (l.addr_info as Record<string, unknown>[])
              .filter((a) => a.family === 'inet6')
              .map((a) => `${String(a.local)}/${String(a.prefixlen)}`)
          : [];
      out.set(l.ifname, addrs);
    }
    return out;
  }
}

/** A running `ip monitor` (Netlink.monitor). */
export interface NetlinkMonitor {
  /** End the process (by its own handle); no line is delivered after this. */
  stop(): void;
}

/** Parse `-json` output (a JSON array) or throw FELIX_ERR_NETLINK_PARSE naming the command. */
export function parseJsonList(stdout: string, what: string): unknown[] {
  const text = stdout.trim();
  if (text === '') return [];
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new FelixError('FELIX_ERR_NETLINK_PARSE', `${what}: output is not JSON`, { cause: e });
  }
  if (!Array.isArray(v))
    throw new FelixError('FELIX_ERR_NETLINK_PARSE', `${what}: output is not a JSON list`);
  return v;
}

/** A batch that had failed lines; `failures` names each (line number, command, message). */
export class BatchError extends FelixError {
  readonly failures: readonly BatchFailure[];
  constructor(what: string, failures: readonly BatchFailure[]) {
    const shown = failures
      .slice(0, 20)
      .map((f) => `line ${f.line}: ${f.command} → ${f.message}`)
      .join('; ');
    const more = failures.length > 20 ? ` (and ${failures.length - 20} more)` : '';
    super(
      'FELIX_ERR_BATCH_FAILED',
      `${what}: ${failures.length} line(s) of the batch failed: ${shown}${more}`,
    );
    this.name = 'BatchError';
    this.failures = failures;
  }
}
