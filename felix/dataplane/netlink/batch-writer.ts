// Streaming `tool -force -batch -` (Netlink.openBatch): the process starts when the writer is
// opened and reads while the caller is still computing the next lines, so the caller's CPU work
// overlaps the kernel's (the route reconciler's 100k-route applies: ip is the bottleneck, one
// line ≈ one netlink round trip, and with two cores our JS runs beside it).
//
// Lines are handed over in chunks of CHUNK_CHARS; `flush()` resolves at once while the pipe has
// room and otherwise waits for `drain` (output is written only when the pipe can take it, so
// nothing piles up in memory), yielding to the event loop every YIELD_EVERY chunks even when the
// pipe never fills, so timers run. The lines are not kept when the caller can name a line itself
// (`lineText`). A batch may start with a read (BatchReadFirst): the same process then reads the
// kernel and takes the writes computed from what it read.
//
// What a batch ends with, and what the caller learns (the exit status is checked before stderr is
// believed: a line with an argument ip refuses makes it exit(-1) = 255 at once, after printing
// "Command failed" for the earlier refused lines only, so the lines after it are never tried while
// stderr reads like "a few refused lines"):
// - exit 0: every line applied.
// - exit 1 with "Command failed -:N" markers: those lines were refused, every other line applied
//   (`-force`).
// - anything else — the process could not start, was killed (timeout, OOM, someone's kill), exited
//   with another code, or exited 1 naming no line — is FELIX_ERR_COMMAND_FAILED saying how many
//   lines it had been given: which lines took effect is unknown, the caller must re-read.
// After the process is gone, further pushes are counted and dropped, and flush() no longer waits.
//
// A caller may run several writers at once (the route reconciler splits a large phase of an apply
// over two concurrent processes, routes/family-streams.ts: ip keeps a core busy, the machine has
// two). Each is a process of its own: it numbers its lines from 1, its "Command failed -:N"
// markers name its own lines, and it ends by the rules above on its own; combining them (and
// closing every one, also when another failed) is the caller's.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { FelixError } from '../../errors.ts';
import { formatArgv } from '../exec.ts';
import { type SpawnedChild, spawnChild } from '../spawn.ts';

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

/**
 * A `-force -batch -` stream: `push` lines as they are computed, `flush` now and then (it hands
 * the buffered chunk to the process and waits only when the pipe is full), `close` for the result.
 */
export interface BatchWriter {
  push(line: string): void;
  flush(): Promise<void>;
  close(): Promise<BatchResult>;
  /** Lines pushed so far. */
  readonly lineCount: number;
}

export interface BatchWriterOptions {
  /**
   * The text of line n (1-based), for failure reports. Given, the writer keeps no copy of the lines
   * (100k routes: 100k strings fewer for the garbage collector to promote and scan); without it,
   * it keeps every line it is given.
   */
  readonly lineText?: (line: number) => string;
}

/** Where the writer accounts what it wrote (Netlink.stats). */
export interface BatchWriterStats {
  batchLines: number;
  bytesWritten: number;
}

const FAILED_MARKER = /^Command failed (.*):(\d+)$/;

/** Parse `ip -force -batch` stderr into per-line failures (pure; exported for unit tests). */
export function parseBatchErrors(
  stderr: string,
  lines: readonly string[] | ((line: number) => string),
): BatchFailure[] {
  const text = typeof lines === 'function' ? lines : (n: number) => lines[n - 1] ?? '';
  const out: BatchFailure[] = [];
  let pending: string[] = [];
  for (const raw of stderr.split('\n')) {
    const l = raw.trim();
    if (l === '') continue;
    const m = FAILED_MARKER.exec(l);
    if (m) {
      const line = Number(m[2]);
      out.push({ line, command: text(line), message: pending.join(' ') || 'unknown error' });
      pending = [];
    } else {
      pending.push(l);
    }
  }
  return out;
}

/** How a `-force -batch` process ended. */
export interface BatchExit {
  readonly argv: readonly string[];
  /** Exit code, or null when killed by a signal. */
  readonly code: number | null;
  readonly signal?: string | null;
  readonly stderr: string;
  /** Lines of the caller handed to the process. */
  readonly lineCount: number;
  /** Lines the process was given before the caller's (a read: BatchReadFirst); default 0. */
  readonly lineOffset?: number;
  /** Why the process ended early, when we know (timeout). */
  readonly reason?: string;
}

/**
 * The result of a finished batch (see the header): the refused lines, numbered as the caller
 * pushed them, or FELIX_ERR_COMMAND_FAILED when the process did not run every line to its end.
 */
export function batchOutcome(exit: BatchExit, lineText: (line: number) => string): BatchResult {
  if (exit.code === 0 && exit.reason === undefined) return { failures: [] };
  const offset = exit.lineOffset ?? 0;
  const failures =
    exit.code === 1 && exit.reason === undefined
      ? parseBatchErrors(exit.stderr, (n) => lineText(n - offset)).map((f) => ({
          ...f,
          line: f.line - offset,
        }))
      : [];
  if (failures.length > 0 && failures.every((f) => f.line >= 1 && f.line <= exit.lineCount)) {
    return { failures };
  }
  const how =
    exit.reason ?? (exit.code === null ? `killed by ${exit.signal ?? 'a signal'}` : `exit ${exit.code}`);
  throw new FelixError(
    'FELIX_ERR_COMMAND_FAILED',
    `${formatArgv(exit.argv)}: ${how} with ${exit.lineCount} line(s) handed to it, so which of them ` +
      `took effect is unknown: ${exit.stderr.trim() || '(no stderr)'}`,
    { cause: exit },
  );
}

/**
 * A read run as the first line of the batch (`ip -json … -batch -`, first line e.g. `route show
 * table all proto 109`): one process reads the kernel and then writes the lines computed from what
 * it read (the route reconciler's first apply: one process start instead of two). ip flushes the
 * JSON of each show command as one line when the command ends (json_writer's jsonw_destroy), so
 * the first stdout line is the whole read.
 */
export interface BatchReadFirst {
  /** The command, as a batch line. */
  readonly line: string;
}

/** The marker of a failed first line (the read of BatchReadFirst). */
const READ_FAILED = /^Command failed .*:1$/m;

/** Characters per chunk handed to the pipe (a Linux pipe holds 64 KiB). */
const CHUNK_CHARS = 32 * 1024;
/** Chunks written without waiting for `drain` before the writer yields to the event loop anyway. */
const YIELD_EVERY = 16;

export interface SpawnBatchOptions extends BatchWriterOptions {
  readonly timeoutMs: number;
  readonly stats: BatchWriterStats;
  /** Run this read first; its output is `StreamingBatch.readOutput`. */
  readonly readFirst?: BatchReadFirst;
}

/** A running `-force -batch -` process streaming the lines pushed into its stdin. */
export class StreamingBatch implements BatchWriter {
  /** With `readFirst`: the first line ip printed (the read's JSON), or the read's failure. */
  readonly readOutput: Promise<string> | undefined;
  readonly #argv: readonly string[];
  readonly #stats: BatchWriterStats;
  readonly #timeoutMs: number;
  readonly #kept: string[] | undefined;
  readonly #lineText: (line: number) => string;
  readonly #offset: number;
  readonly #child: SpawnedChild;
  readonly #stdin: NonNullable<SpawnedChild['stdin']>;
  readonly #stderr: Buffer[] = [];
  readonly #exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #timer: NodeJS.Timeout;
  #spawnError: Error | undefined;
  #isGone = false;
  #timedOut = false;
  #chunk = '';
  #count = 0;
  #written = 0;
  #sinceYield = 0;

  constructor(argv: readonly string[], opts: SpawnBatchOptions) {
    this.#argv = argv;
    this.#stats = opts.stats;
    this.#timeoutMs = opts.timeoutMs;
    this.#kept = opts.lineText === undefined ? [] : undefined;
    const kept = this.#kept;
    this.#lineText = opts.lineText ?? ((n) => kept?.[n - 1] ?? '');
    this.#offset = opts.readFirst === undefined ? 0 : 1;
    const stdout = opts.readFirst === undefined ? 'ignore' : 'pipe';
    const child = spawnChild(argv, ['pipe', stdout, 'pipe']);
    this.#child = child;
    this.#stdin = child.stdin!;
    child.stderr!.on('data', (b: Buffer) => this.#stderr.push(b));
    child.once('error', (e) => {
      this.#spawnError = e;
      this.#isGone = true;
    });
    child.once('exit', () => {
      this.#isGone = true;
    });
    this.#stdin.on('error', () => {}); // the exit status says why the pipe closed
    this.#exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
    this.#timer = setTimeout(() => {
      this.#timedOut = true;
      child.kill('SIGKILL');
    }, this.#timeoutMs);
    this.readOutput = opts.readFirst === undefined ? undefined : this.#readFirst(opts.readFirst);
  }

  /**
   * Send the read; resolve with the first line of stdout, or reject when ip reports the read
   * failed ("Command failed -:1": with -force it then waits for more lines) or ends without it.
   */
  #readFirst(read: BatchReadFirst): Promise<string> {
    const stdout = this.#child.stdout!;
    const stderr = this.#child.stderr!;
    const parts: Buffer[] = [];
    const line = new Promise<string>((resolve, reject) => {
      const fail = (why: string): void => {
        const err = Buffer.concat(this.#stderr).toString('utf8').trim();
        reject(
          new FelixError(
            'FELIX_ERR_COMMAND_FAILED',
            `${formatArgv(this.#argv)}: ${read.line}: ${why}: ${err || '(no stderr)'}`,
          ),
        );
      };
      const onData = (b: Buffer): void => {
        const nl = b.indexOf(10);
        if (nl < 0) {
          parts.push(b);
          return;
        }
        parts.push(b.subarray(0, nl));
        stdout.off('data', onData);
        stderr.off('data', onError);
        stdout.resume(); // anything after the read's line is not ours to keep
        resolve(Buffer.concat(parts).toString('utf8'));
      };
      const onError = (): void => {
        if (READ_FAILED.test(Buffer.concat(this.#stderr).toString('utf8'))) fail('refused');
      };
      stdout.on('data', onData);
      stderr.on('data', onError);
      this.#exited.then(({ code, signal }) => {
        if (this.#spawnError !== undefined) fail(`cannot run: ${this.#spawnError.message}`);
        else fail(this.#timedOut ? `timed out after ${this.#timeoutMs} ms` : `exit ${code ?? signal}`);
      });
    });
    this.#stats.bytesWritten += Buffer.byteLength(read.line) + 1;
    this.#stdin.write(`${read.line}\n`);
    return line;
  }

  get lineCount(): number {
    return this.#count;
  }

  push(line: string): void {
    this.#count++;
    if (this.#kept !== undefined) this.#kept.push(line);
    if (!this.#isGone) this.#chunk += `${line}\n`;
  }

  async flush(): Promise<void> {
    if (this.#chunk.length >= CHUNK_CHARS) await this.#write();
  }

  async #write(): Promise<void> {
    const c = this.#chunk;
    this.#chunk = '';
    if (c === '' || this.#isGone) return;
    this.#stats.bytesWritten += Buffer.byteLength(c);
    this.#written = this.#count;
    const stdin = this.#stdin;
    if (stdin.write(c)) {
      if (++this.#sinceYield >= YIELD_EVERY) {
        this.#sinceYield = 0;
        await yieldToLoop();
      }
      return;
    }
    this.#sinceYield = 0;
    // Wait for the pipe to empty, or for the process to be gone (then close() reports why).
    let onDrain = (): void => {};
    const drained = new Promise<void>((resolve) => {
      onDrain = resolve;
      stdin.once('drain', resolve);
    });
    await Promise.race([drained, this.#exited]);
    stdin.off('drain', onDrain);
  }

  async close(): Promise<BatchResult> {
    await this.#write();
    this.#stdin.end();
    const { code, signal } = await this.#exited;
    clearTimeout(this.#timer);
    this.#stats.batchLines += this.#written;
    if (this.#spawnError !== undefined) {
      throw new FelixError(
        'FELIX_ERR_COMMAND_FAILED',
        `${formatArgv(this.#argv)}: cannot run: ${this.#spawnError.message}`,
        { cause: this.#spawnError },
      );
    }
    const reason = this.#timedOut ? `timed out after ${this.#timeoutMs} ms` : undefined;
    return batchOutcome(
      {
        argv: this.#argv,
        code,
        signal,
        stderr: Buffer.concat(this.#stderr).toString('utf8'),
        lineCount: this.#written,
        lineOffset: this.#offset,
        ...(reason !== undefined ? { reason } : {}),
      },
      this.#lineText,
    );
  }
}
