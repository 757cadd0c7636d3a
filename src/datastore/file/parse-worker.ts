// The entry of a parse-pool.ts worker thread: parses the pieces of the datastore file it is sent
// (parse.ts parsePiece) and sends their results back, batch by batch, in order.
import { parentPort } from 'node:worker_threads';
import { parsePiece } from './parse.ts';

if (parentPort === null) throw new Error('parse-worker.ts runs as a worker thread (parse-pool.ts)');
const port = parentPort;
port.on('message', (batch: { readonly id: number; readonly texts: readonly string[] }) => {
  port.postMessage({ id: batch.id, pieces: batch.texts.map(parsePiece) });
});
