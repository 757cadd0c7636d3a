// A helper that lives inside a receiver's network namespace, so the bench (in the host namespace) can
// reach what only listens on that namespace's loopback: GoBGP's gRPC API (through the `gobgp` CLI) and
// Margay's REST API. Started as `ip netns exec NS node test/bench/bgp/probe.ts`; it reads one JSON
// request per line on stdin and answers one JSON line on stdout:
//   {"id":1,"op":"http","url":"http://127.0.0.1:9099/v1/bgp/peers"} → {"id":1,"ok":true,"status":200,"body":"…"}
//   (GET over one kept-alive connection with a minimal request, http-lite.ts)
//   {"id":2,"op":"exec","argv":["gobgp","-p","50051","global","rib","summary"]} → {"id":2,"ok":true,"body":"…"}
// It exits when stdin closes.

import { execFile } from 'node:child_process';
import { createInterface } from 'node:readline';
import { HttpLite } from './http-lite.ts';

export type ProbeRequest =
  | { readonly id: number; readonly op: 'http'; readonly url: string; readonly timeoutMs?: number }
  | {
      readonly id: number;
      readonly op: 'exec';
      readonly argv: readonly string[];
      readonly timeoutMs?: number;
    };

export type ProbeReply =
  | { readonly id: number; readonly ok: true; readonly status?: number; readonly body: string }
  | { readonly id: number; readonly ok: false; readonly error: string };

/** One kept-alive connection per host:port (http-lite.ts). */
const clients = new Map<string, HttpLite>();

async function handle(req: ProbeRequest): Promise<ProbeReply> {
  const timeoutMs = req.timeoutMs ?? 5000;
  try {
    if (req.op === 'http') {
      const url = new URL(req.url);
      if (url.protocol !== 'http:') throw new Error(`${req.url}: only http URLs`);
      const key = `${url.hostname}:${url.port || '80'}`;
      let client = clients.get(key);
      if (client === undefined) {
        client = new HttpLite(url.hostname.replace(/^\[|\]$/g, ''), Number(url.port || 80));
        clients.set(key, client);
      }
      const res = await client.get(url.pathname + url.search, timeoutMs);
      return { id: req.id, ok: true, status: res.status, body: res.body };
    }
    const [cmd, ...args] = req.argv;
    const body = await new Promise<string>((resolve, reject) => {
      execFile(cmd!, args, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
        if (err) {
          const how = err.killed ? `killed after ${timeoutMs} ms` : stderr.trim() || err.message;
          reject(new Error(`${req.argv.join(' ')}: ${how}`));
        } else resolve(stdout);
      });
    });
    return { id: req.id, ok: true, body };
  } catch (err) {
    return { id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

function main(): void {
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line.trim() === '') return;
    let req: ProbeRequest;
    try {
      req = JSON.parse(line) as ProbeRequest;
    } catch {
      process.stdout.write(`${JSON.stringify({ id: -1, ok: false, error: 'bad request line' })}\n`);
      return;
    }
    void handle(req).then((reply) => process.stdout.write(`${JSON.stringify(reply)}\n`));
  });
  rl.on('close', () => {
    for (const c of clients.values()) c.close();
    process.exit(0);
  });
}

if (import.meta.main) main();
