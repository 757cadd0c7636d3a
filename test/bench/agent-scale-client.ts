// The agent-scale benchmark's HTTP client inside the node's network namespace, where the agent's
// REST API and the fake API server listen on loopback only. Two jobs:
//
// - The stall probe: GET `--probe URL` (the agent's /healthz, its cheapest endpoint) every
//   `--interval-ms`, one request at a time on a kept-alive connection of its own; the next starts
//   `--interval-ms` after the previous started, or as soon as it answered when it took longer. One
//   line per probe: {"event":"probe","at":…,"ms":…,"status":…} (`at` the wall clock at the send,
//   `status` 0 when nothing answered). A request that takes N ms means the agent's event loop did
//   not get to it for about that long.
// - Requests on demand, one JSON line each on stdin:
//     {"id":1,"channel":"status","method":"GET","url":"http://127.0.0.1:9099/v1/status"}
//     {"id":2,"channel":"kube","method":"POST","url":"…","headers":{…},"body":"…"}
//   answered by {"id":1,"ok":true,"status":200,"body":"…","sentAt":…,"doneAt":…} or
//   {"id":1,"ok":false,"error":"…"}; `sentAt` is the wall clock (Date.now()) just before the
//   request was written, so the bench can compare it with the agent's own stamps. Each channel
//   has one kept-alive connection of its own.
// It exits when stdin closes.

import http from 'node:http';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

export interface ClientRequest {
  readonly id: number;
  readonly channel: string;
  readonly method: string;
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly timeoutMs?: number;
}

export type ClientReply =
  | {
      readonly id: number;
      readonly ok: true;
      readonly status: number;
      readonly body: string;
      readonly sentAt: number;
      readonly doneAt: number;
    }
  | { readonly id: number; readonly ok: false; readonly error: string };

export interface ProbeSample {
  readonly event: 'probe';
  /** Wall clock at the send, ms. */
  readonly at: number;
  readonly ms: number;
  /** HTTP status, 0 when nothing answered. */
  readonly status: number;
}

const agents = new Map<string, http.Agent>();

function agentFor(channel: string): http.Agent {
  let a = agents.get(channel);
  if (a === undefined) {
    a = new http.Agent({ keepAlive: true, maxSockets: 1 });
    agents.set(channel, a);
  }
  return a;
}

/**
 * One request on the channel's kept-alive connection. A server closes an idle kept-alive
 * connection after its keep-alive timeout; a request sent on it at that moment is reset before
 * the server read it, so it is sent once more on a new connection (what Node's documentation
 * advises for `reusedSocket`): the request cannot have been processed.
 */
async function request(
  req: Omit<ClientRequest, 'id'>,
): Promise<{ status: number; body: string; sentAt: number; doneAt: number }> {
  try {
    return await requestOnce(req);
  } catch (err) {
    if ((err as ResetError).reusedSocket && (err as NodeJS.ErrnoException).code === 'ECONNRESET')
      return requestOnce(req);
    throw err;
  }
}

type ResetError = Error & { reusedSocket?: boolean };

function requestOnce(
  req: Omit<ClientRequest, 'id'>,
): Promise<{ status: number; body: string; sentAt: number; doneAt: number }> {
  return new Promise((resolve, reject) => {
    const url = new URL(req.url);
    const body = req.body === undefined ? undefined : Buffer.from(req.body);
    const r = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: req.method,
        agent: agentFor(req.channel),
        headers: {
          ...(req.headers ?? {}),
          ...(body !== undefined ? { 'Content-Length': String(body.length) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            sentAt,
            doneAt: Date.now(),
          }),
        );
        res.on('error', reject);
      },
    );
    r.on('error', (err: ResetError) => {
      err.reusedSocket = r.reusedSocket;
      reject(err);
    });
    if (req.timeoutMs !== undefined)
      r.setTimeout(req.timeoutMs, () => r.destroy(new Error(`no answer within ${req.timeoutMs} ms`)));
    const sentAt = Date.now();
    r.end(body);
  });
}

async function probeLoop(url: string, intervalMs: number, stopped: () => boolean): Promise<void> {
  while (!stopped()) {
    const t0 = performance.now();
    const at = Date.now();
    let status = 0;
    try {
      status = (await request({ channel: 'probe', method: 'GET', url })).status;
    } catch {
      status = 0;
    }
    const ms = performance.now() - t0;
    const sample: ProbeSample = { event: 'probe', at, ms: Math.round(ms * 100) / 100, status };
    process.stdout.write(`${JSON.stringify(sample)}\n`);
    const wait = intervalMs - ms;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}

function main(): void {
  const { values } = parseArgs({
    options: {
      probe: { type: 'string' },
      'interval-ms': { type: 'string', default: '50' },
    },
  });
  let stopped = false;
  if (values.probe !== undefined) void probeLoop(values.probe, Number(values['interval-ms']), () => stopped);
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line.trim() === '') return;
    let req: ClientRequest;
    try {
      req = JSON.parse(line) as ClientRequest;
    } catch {
      process.stdout.write(`${JSON.stringify({ id: -1, ok: false, error: 'bad request line' })}\n`);
      return;
    }
    request(req).then(
      (r) =>
        process.stdout.write(`${JSON.stringify({ id: req.id, ok: true, ...r } satisfies ClientReply)}\n`),
      (err: unknown) =>
        process.stdout.write(
          `${JSON.stringify({ id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) } satisfies ClientReply)}\n`,
        ),
    );
  });
  rl.on('close', () => {
    stopped = true;
    for (const a of agents.values()) a.destroy();
    process.exit(0);
  });
}

if (import.meta.main) main();
