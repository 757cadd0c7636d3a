// The standalone speaker in a child process (speaker-child.ts) inside a network namespace,
// driven over stdin/stdout with one JSON request per line: the interop tests of `margay speaker`
// against BIRD and FRR share it.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { PeerStatus } from '../../bgp/speaker/types.ts';

/** The speaker child inside a namespace, driven over stdin/stdout. */
export class SpeakerProcess {
  readonly child: ChildProcess;
  readonly #waiting = new Map<number, (v: { result?: unknown; error?: string }) => void>();
  #next = 1;
  readonly started: Promise<unknown>;
  readonly exited: Promise<number | null>;

  constructor(ns: string, logFile: string, config: object) {
    const log = openSync(logFile, 'a');
    try {
      this.child = spawn(
        'ip',
        [
          'netns',
          'exec',
          ns,
          process.execPath,
          join(import.meta.dirname, 'speaker-child.ts'),
          JSON.stringify(config),
        ],
        { stdio: ['pipe', 'pipe', log] },
      );
    } finally {
      closeSync(log);
    }
    this.exited = new Promise((r) => this.child.once('exit', (code) => r(code)));
    this.started = new Promise((resolve, reject) => {
      this.#waiting.set(0, (v) => (v.error ? reject(new Error(v.error)) : resolve(v.result)));
      void this.exited.then((code) => reject(new Error(`speaker child exited with ${code}, see ${logFile}`)));
    });
    const out = this.child.stdout;
    if (out === null) throw new Error('no stdout');
    createInterface({ input: out }).on('line', (line) => {
      const msg = JSON.parse(line) as { id: number; result?: unknown; error?: string };
      this.#waiting.get(msg.id)?.(msg);
      this.#waiting.delete(msg.id);
    });
  }

  request<T>(op: string, extra: object = {}): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#waiting.set(id, (v) => (v.error ? reject(new Error(v.error)) : resolve(v.result as T)));
      this.child.stdin?.write(`${JSON.stringify({ id, op, ...extra })}\n`);
    });
  }

  /** The status of the speaker's first peer (the tests with one peer). */
  async peer(): Promise<PeerStatus> {
    const [p] = await this.request<PeerStatus[]>('peers');
    if (p === undefined) throw new Error('no peer');
    return p;
  }

  /** Ends the child by PID if it is still running. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null && this.child.pid !== undefined) {
      try {
        process.kill(this.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}
