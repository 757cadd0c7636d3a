// Parsing many pieces of the datastore file at once (the first load of a big file, or a save that
// rewrote most of it) in worker threads: the YAML parse is most of the cost of a load, a piece
// parses on its own (parse.ts), and the workers run on the other cores while the event loop of
// the main thread stays free for BGP and the API. The pool starts its workers for one parse and
// ends them when it is done, so that no thread and none of its memory outlives the load.
//
// The texts go out in batches of about BATCH_BYTES, each to the next worker that is free, and
// the results are put back in order. A worker that fails (it could not start, or threw) fails the
// parse; the caller then parses on the main thread.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type Piece, sharedValues } from './parse.ts';

/** Text sent to a worker at a time: its results come back as one message to deserialize. */
const BATCH_BYTES = 64 * 1024;

/** The worker entry next to this module, .ts when run from source and .js when built. */
const ENTRY = new URL(`./parse-worker.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);

/** Workers for a parse: one per core, at most four, none on a machine with one core. */
export function defaultWorkers(): number {
  const cores = availableParallelism();
  return cores < 2 ? 0 : Math.min(4, cores);
}

/**
 * Parses `texts` in `workers` worker threads; the pieces come back in the order of the texts.
 * `signal` ends the workers early (the parse then rejects).
 */
export async function parseInWorkers(
  texts: readonly string[],
  workers: number,
  signal?: AbortSignal,
): Promise<Piece[]> {
  if (texts.length === 0) return [];
  const batches: { readonly from: number; readonly to: number }[] = [];
  for (let from = 0; from < texts.length; ) {
    let to = from;
    let bytes = 0;
    while (to < texts.length && (to === from || bytes < BATCH_BYTES)) bytes += texts[to++]!.length;
    batches.push({ from, to });
    from = to;
  }
  const results: Piece[] = new Array(texts.length);
  const threads = Array.from(
    { length: Math.max(1, Math.min(workers, batches.length)) },
    () => new Worker(ENTRY),
  );
  try {
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      let done = 0;
      const fail = (err: unknown) => reject(err instanceof Error ? err : new Error(String(err)));
      if (signal?.aborted) fail(new Error('the parse was stopped'));
      signal?.addEventListener('abort', () => fail(new Error('the parse was stopped')), { once: true });
      const send = (thread: Worker) => {
        if (next >= batches.length) return;
        const id = next++;
        const { from, to } = batches[id]!;
        thread.postMessage({ id, texts: texts.slice(from, to) });
      };
      for (const thread of threads) {
        thread.on('message', (m: { readonly id: number; readonly pieces: readonly Piece[] }) => {
          const { from } = batches[m.id]!;
          m.pieces.forEach((piece, k) => {
            results[from + k] = sharedValues(piece);
          });
          if (++done === batches.length) resolve();
          else send(thread);
        });
        thread.on('error', fail);
        thread.on('exit', (code) => {
          if (done < batches.length) fail(new Error(`a parse worker exited with code ${code}`));
        });
        send(thread);
      }
    });
  } finally {
    await Promise.all(threads.map((t) => t.terminate()));
  }
  return results;
}
