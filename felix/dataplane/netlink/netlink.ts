// A small typed wrapper around iproute2: `ip`/`bridge -json` for reads, `ip`/`bridge -force -batch -`
// for writes, every command optionally inside a network namespace (`ip -n NS`, `bridge -n NS`,
// which switch namespaces themselves — no `ip netns exec` fork per command). The agent on a node
// uses no namespace; the lab and the tests pass one, so the same code programs a "node" namespace.
//
// `-force` semantics: without it `ip -batch` stops at the first failing line and the rest of the
// batch is silently not applied; with it every line is attempted, the exit code is 1 if any
// failed, and each failure is reported on stderr as the error text followed by
// "Command failed -:N". We always use -force, parse those markers, and return every failed line
// (number, the command text, the kernel's message) so callers can decide: the route reconciler
// treats "No such process" on a delete as done (someone removed it first) and everything else as
// an error that names the line.
import { spawn } from 'node:child_process';
import { FelixError } from '../../errors.ts';
import { type CommandResult, type CommandRunner, run as defaultRunner, formatArgv } from '../exec.ts';

export type NetlinkTool = 'ip' | 'bridge';
export type Family = 4 | 6;

export interface NetlinkOptions {
  /** Network namespace name (`ip netns`); undefined = the caller's namespace. */
  readonly netns?: string;
  /** Injected for unit tests (fakes with failure injection). */
  readonly runner?: CommandRunner;
  /** Per-command timeout (default 120 s: 100k-line batches take a few seconds). */
  readonly timeoutMs?: number;
}

export interface BatchFailure {
  /** 1-based line number in the batch, as `ip -batch` reports it. */
  readonly line: number;
  /** The text of that line. */
  readonly command: string;
  /** What ip/the kernel said, e.g. "Error: Nexthop has invalid gateway." */
  readonly message: string;
}

export interface BatchResult {
  readonly failures: readonly BatchFailure[];
}

export interface NetlinkStats {
  /** Processes run (reads, single commands and batches). */
  commands: number;
  /** Lines written through -batch. */
  batchLines: number;
  /** Bytes written to -batch stdin. */
  bytesWritten: number;
}

const FAILED_MARKER = /^Command failed (.*):(\d+)$/;

/** Parse `ip -force -batch` stderr into per-line failures (pure; exported for unit tests). */
export function parseBatchErrors(stderr: string, lines: readonly string[]): BatchFailure[] {
  const out: BatchFailure[] = [];
  let pending: string[] = [];
  for (const raw of stderr.split('\n')) {
    const l = raw.trim();
    if (l === '') continue;
    const m = FAILED_MARKER.exec(l);
    if (m) {
      const line = Number(m[2]);
      out.push({ line, command: lines[line - 1] ?? '', message: pending.join(' ') || 'unknown error' });
      pending = [];
    } else {
      pending.push(l);
    }
  }
  return out;
}

/**
 * A `-force -batch -` stream: `push` lines as they are computed, `flush` now and then (it hands the
 * buffered chunk to the process and waits only when the pipe is full), `close` for the result.
 */
export interface BatchWriter {
  push(line: string): void;
  flush(): Promise<void>;
  close(): Promise<BatchResult>;
  /** Lines pushed so far. */
  readonly lineCount: number;
}

const CHUNK_BYTES = 64 * 1024;

export class Netlink {
  readonly netns: string | undefined;
  readonly stats: NetlinkStats = { commands: 0, batchLines: 0, bytesWritten: 0 };
  readonly #runner: CommandRunner;
  readonly #isRealRunner: boolean;
  readonly #timeoutMs: number;

  constructor(opts: NetlinkOptions = {}) {
    this.netns = opts.netns;
    this.#runner = opts.runner ?? defaultRunner;
    this.#isRealRunner = opts.runner === undefined;
    this.#timeoutMs = opts.timeoutMs ?? 120_000;
  }

  /** The argv for `tool [-n NS] [-4|-6] ...args`. */
  argv(tool: NetlinkTool, args: readonly string[], family?: Family): string[] {
    const out: string[] = [tool];
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
   * when all applied); rejects only when the process itself failed (not found, killed, timeout,
   * or a non-zero exit that names no line).
   */
  async batch(tool: NetlinkTool, lines: readonly string[], family?: Family): Promise<BatchResult> {
    if (lines.length === 0) return { failures: [] };
    const input = `${lines.join('\n')}\n`;
    const argv = this.argv(tool, ['-force', '-batch', '-'], family);
    this.stats.commands++;
    this.stats.batchLines += lines.length;
    this.stats.bytesWritten += Buffer.byteLength(input);
    const r = await this.#runner({ argv, input, timeoutMs: this.#timeoutMs, allowFailure: true });
    if (r.code === 0) return { failures: [] };
    const failures = parseBatchErrors(r.stderr, lines);
    if (failures.length === 0) {
      throw new FelixError(
        'FELIX_ERR_COMMAND_FAILED',
        `${formatArgv(argv)}: exit ${r.code}: ${r.stderr.trim() || '(no stderr)'}`,
        { cause: r },
      );
    }
    return { failures };
  }

  /**
   * Open a streaming `tool -force -batch -`. With an injected runner (unit tests) the lines are
   * collected and handed to `batch` on close; otherwise the process starts at once and reads
   * while the caller is still computing the next lines.
   */
  openBatch(tool: NetlinkTool, family?: Family): BatchWriter {
    const lines: string[] = [];
    if (!this.#isRealRunner) {
      return {
        push: (line) => void lines.push(line),
        flush: async () => {},
        close: () => this.batch(tool, lines, family),
        get lineCount() {
          return lines.length;
        },
      };
    }
    const argv = this.argv(tool, ['-force', '-batch', '-'], family);
    this.stats.commands++;
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] });
    const stderr: Buffer[] = [];
    child.stderr.on('data', (b: Buffer) => stderr.push(b));
    let spawnError: Error | undefined;
    child.once('error', (e) => {
      spawnError = e;
    });
    child.stdin.on('error', () => {}); // the exit status says why the pipe closed
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('close', (code, signal) => resolve({ code, signal })),
    );
    const timer = setTimeout(() => child.kill('SIGKILL'), this.#timeoutMs);
    let buf = '';
    const stats = this.stats;
    const write = async (): Promise<void> => {
      if (buf === '') return;
      const chunk = buf;
      buf = '';
      stats.bytesWritten += Buffer.byteLength(chunk);
      if (!child.stdin.write(chunk) && spawnError === undefined && child.exitCode === null) {
        // Wait for the pipe to empty, or for the process to be gone (then close() reports why).
        await Promise.race([new Promise<void>((resolve) => child.stdin.once('drain', resolve)), exited]);
      }
    };
    return {
      push: (line) => {
        lines.push(line);
        buf += `${line}\n`;
      },
      flush: async () => {
        if (buf.length >= CHUNK_BYTES) await write();
      },
      close: async () => {
        await write();
        stats.batchLines += lines.length;
        child.stdin.end();
        const { code, signal } = await exited;
        clearTimeout(timer);
        const err = Buffer.concat(stderr).toString('utf8');
        if (spawnError !== undefined) {
          throw new FelixError(
            'FELIX_ERR_COMMAND_FAILED',
            `${formatArgv(argv)}: cannot run: ${spawnError.message}`,
            {
              cause: spawnError,
            },
          );
        }
        if (code === 0) return { failures: [] };
        const failures = parseBatchErrors(err, lines);
        if (failures.length === 0) {
          throw new FelixError(
            'FELIX_ERR_COMMAND_FAILED',
            `${formatArgv(argv)}: exit ${code ?? signal}: ${err.trim() || '(no stderr)'}`,
          );
        }
        return { failures };
      },
      get lineCount() {
        return lines.length;
      },
    };
  }

  /**
   * Set sysctls (paths with slashes, e.g. "net/ipv4/conf/mgy0/proxy_arp", so interface names
   * with dots work) in this namespace, one `sysctl` process for all of them.
   */
  async sysctl(settings: readonly (readonly [string, string])[]): Promise<void> {
    if (settings.length === 0) return;
    this.stats.commands++;
    const argv = ['sysctl', '-q', '-w', ...settings.map(([k, v]) => `${k}=${v}`)];
    await this.#runner({
      argv,
      timeoutMs: this.#timeoutMs,
      ...(this.netns !== undefined ? { netns: this.netns } : {}),
    });
  }
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
