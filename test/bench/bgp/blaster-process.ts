// Runs blaster.ts as its own process inside the sender namespace and turns its JSON-line events into
// promises. A separate process keeps the sender off the bench's event loop (which is busy polling) and
// lets it bind 192.0.2.1 inside the namespace.

import { fileURLToPath } from 'node:url';
import { type Spawned, spawnTracked } from '../lib/proc.ts';
import type { Teardown } from '../lib/teardown.ts';
import type { BlasterEvent } from './blaster.ts';

const BLASTER_PATH = fileURLToPath(new URL('./blaster.ts', import.meta.url));

export interface BlasterProcess {
  readonly proc: Spawned;
  readonly encoded: Promise<{ bytes: number; updates: number; encodeMs: number }>;
  /** hrtime (ns) when the sender saw the peer's KEEPALIVE after OPEN. */
  readonly established: Promise<bigint>;
  /** hrtime (ns) when the last UPDATE and End-of-RIB were handed to the socket. */
  readonly sent: Promise<bigint>;
  /** The first error the blaster reported, if any. */
  error(): string | undefined;
}

export interface BlasterProcessOptions {
  readonly netns: string;
  readonly n: number;
  readonly attrSets: number;
  readonly localAddress: string;
  readonly peerAddress: string;
  readonly asn: number;
  readonly logFile: string;
  readonly connectTimeoutMs?: number;
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // observed by whoever awaits it; never an unhandled rejection
  return { promise, resolve, reject };
}

export function startBlasterProcess(teardown: Teardown, opts: BlasterProcessOptions): BlasterProcess {
  const encoded = deferred<{ bytes: number; updates: number; encodeMs: number }>();
  const established = deferred<bigint>();
  const sent = deferred<bigint>();
  let firstError: string | undefined;
  const fail = (message: string): void => {
    firstError ??= message;
    const err = new Error(`blaster: ${message}`);
    encoded.reject(err);
    established.reject(err);
    sent.reject(err);
  };
  const argv = [process.execPath, BLASTER_PATH, '--n', String(opts.n), '--attr-sets', String(opts.attrSets)];
  argv.push('--local', opts.localAddress, '--peer', opts.peerAddress, '--asn', String(opts.asn));
  argv.push('--connect-timeout-ms', String(opts.connectTimeoutMs ?? 15_000));
  const proc = spawnTracked(teardown, 'blaster', argv, {
    netns: opts.netns,
    stdinPipe: true,
    logFile: opts.logFile,
    onLine: (line) => {
      let e: BlasterEvent;
      try {
        e = JSON.parse(line) as BlasterEvent;
      } catch {
        return;
      }
      if (e.event === 'encoded') encoded.resolve(e);
      else if (e.event === 'established') established.resolve(BigInt(e.t));
      else if (e.event === 'sent') sent.resolve(BigInt(e.t));
      else if (e.event === 'error') fail(e.message);
    },
  });
  void proc.exited.then((code) => fail(`exited with code ${code}`));
  return {
    proc,
    encoded: encoded.promise,
    established: established.promise,
    sent: sent.promise,
    error: () => firstError,
  };
}
