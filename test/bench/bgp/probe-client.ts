// The bench's side of probe.ts: one probe process per receiver namespace, requests matched by id.

import { fileURLToPath } from 'node:url';
import { spawnTracked } from '../lib/proc.ts';
import type { Teardown } from '../lib/teardown.ts';
import type { ProbeReply, ProbeRequest } from './probe.ts';

type Pending = { resolve: (r: ProbeReply) => void };
type Request = ProbeRequest extends infer R ? (R extends ProbeRequest ? Omit<R, 'id'> : never) : never;

export interface Probe {
  http(url: string, timeoutMs?: number): Promise<{ status: number; body: string }>;
  exec(argv: readonly string[], timeoutMs?: number): Promise<string>;
}

const PROBE_PATH = fileURLToPath(new URL('./probe.ts', import.meta.url));

export function startProbe(teardown: Teardown, netns: string, logFile: string): Probe {
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let exited = false;
  const proc = spawnTracked(teardown, 'probe', [process.execPath, PROBE_PATH], {
    netns,
    stdinPipe: true,
    logFile,
    onLine: (line) => {
      const reply = JSON.parse(line) as ProbeReply;
      const p = pending.get(reply.id);
      pending.delete(reply.id);
      p?.resolve(reply);
    },
  });
  void proc.exited.then(() => {
    exited = true;
    for (const [id, p] of pending) p.resolve({ id, ok: false, error: 'probe process exited' });
    pending.clear();
  });
  const send = (req: Request): Promise<ProbeReply> => {
    if (exited) return Promise.resolve({ id: 0, ok: false, error: 'probe process exited' });
    const id = nextId++;
    return new Promise<ProbeReply>((resolve) => {
      pending.set(id, { resolve });
      proc.child.stdin!.write(`${JSON.stringify({ ...req, id })}\n`);
    });
  };
  return {
    async http(url, timeoutMs) {
      const r = await send({ op: 'http', url, ...(timeoutMs ? { timeoutMs } : {}) });
      if (!r.ok) throw new Error(r.error);
      return { status: r.status ?? 0, body: r.body };
    },
    async exec(argv, timeoutMs) {
      const r = await send({ op: 'exec', argv, ...(timeoutMs ? { timeoutMs } : {}) });
      if (!r.ok) throw new Error(r.error);
      return r.body;
    },
  };
}
