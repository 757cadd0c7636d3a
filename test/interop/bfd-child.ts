// A BfdTable in its own process, so a test can run it inside a lab network namespace. Requests
// are JSON lines on stdin ({ id, op, ... }), answers JSON lines on stdout ({ id, result } or
// { id, error }); state changes are lines too ({ event: 'change', key, at, transition }), with
// `at` from the table's clock. Exits when stdin ends, after closing the table (AdminDown to
// every peer).
import { createInterface } from 'node:readline';
import { type BfdPeer, BfdTable } from '../../bgp/bfd/table.ts';

const table = new BfdTable();
const write = (v: object) => process.stdout.write(`${JSON.stringify(v)}\n`);
table.on('change', (key, transition, status) =>
  write({ event: 'change', key, at: status.lastChangeAt, transition }),
);
table.on('error', (err) => write({ event: 'error', message: err.message }));
write({ id: 0, result: 'started' });

for await (const line of createInterface({ input: process.stdin })) {
  const req = JSON.parse(line) as {
    id: number;
    op: string;
    key: string;
    spec?: BfdPeer;
    down?: boolean;
    ms?: number;
  };
  try {
    let result: unknown;
    if (req.op === 'add' && req.spec !== undefined) result = table.add(req.key, req.spec) ?? 'added';
    else if (req.op === 'status') result = table.status(req.key) ?? null;
    else if (req.op === 'admin') result = table.setAdminDown(req.key, req.down === true) ?? 'done';
    else if (req.op === 'remove') result = table.remove(req.key) ?? 'removed';
    else if (req.op === 'drops') result = table.drops();
    else if (req.op === 'now') result = performance.now();
    else if (req.op === 'block') {
      // Holds the event loop, as a long synchronous task of the daemon would.
      const until = performance.now() + (req.ms ?? 0);
      while (performance.now() < until);
      result = 'blocked';
    } else throw new Error(`unknown op ${req.op}`);
    write({ id: req.id, result });
  } catch (err) {
    write({ id: req.id, error: String(err) });
  }
}
await table.close();
