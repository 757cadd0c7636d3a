// Margay's own speaker as a receiver: `node src/main.ts speaker --config FILE` in the receiver namespace,
// one passive ipv4-unicast peer, REST API on the namespace's loopback. The contract used here, and
// nothing more: GET /v1/bgp/peers → { peers: [{ address, state, prefixes: { received, accepted,
// advertised } }] }, and GET /metrics (Prometheus text) for the event-loop delay: the summary
// `margay_event_loop_delay_seconds{quantile="0.99"}`, or the gauge `margay_event_loop_delay_p99_seconds`.
// Polled through the probe helper inside the namespace (http-lite.ts: GET and Host over one kept-alive
// connection). A poll costs the speaker some CPU, more in a fresh process whose HTTP code is not
// optimised yet, so polls are as sparse as the resolution allows (ingest.ts pollWaitMs).

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GiveUpError, waitFor } from '../../lib/poll.ts';
import { spawnTracked } from '../../lib/proc.ts';
import { startProbe } from '../probe-client.ts';
import { tailOf } from './log.ts';
import type { ReceiverContext, ReceiverDriver, StartedReceiver } from './types.ts';

const API_PORT = 9099;
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const MAIN = join(REPO_ROOT, 'src', 'main.ts');

export function margayConfig(ctx: ReceiverContext): string {
  return `# ingest benchmark receiver (test/bench/bgp/receivers/margay.ts)
asn: ${ctx.receiverAsn}
routerId: ${ctx.ns.receiverAddress}
listen: { address: ${ctx.ns.receiverAddress}, port: 179 }
api: { listen: "127.0.0.1:${API_PORT}" }
peers:
  - { address: ${ctx.ns.senderAddress}, asn: ${ctx.senderAsn}, passive: true, holdTime: 240, families: [ipv4-unicast] }
`;
}

interface PeersJson {
  readonly peers?: readonly {
    readonly address?: string;
    readonly state?: string;
    readonly prefixes?: { readonly received?: number; readonly accepted?: number };
  }[];
}

/** p99 event-loop delay in ms from Margay's /metrics, and which metric it came from. */
export function parseEventLoopP99(text: string): { ms: number; metric: string } | undefined {
  const summary = /^margay_event_loop_delay_seconds\{[^}]*quantile="0\.99"[^}]*\}\s+(\S+)/m.exec(text);
  if (summary)
    return { ms: Number(summary[1]) * 1000, metric: 'margay_event_loop_delay_seconds{quantile="0.99"}' };
  const gauge = /^margay_event_loop_delay_p99_seconds(?:\{[^}]*\})?\s+(\S+)/m.exec(text);
  if (gauge) return { ms: Number(gauge[1]) * 1000, metric: 'margay_event_loop_delay_p99_seconds' };
  return undefined;
}

export async function startMargay(ctx: ReceiverContext): Promise<StartedReceiver> {
  const conf = join(ctx.dir, 'margay.yaml');
  const log = join(ctx.dir, 'margay.log');
  await writeFile(conf, margayConfig(ctx));
  const proc = spawnTracked(
    ctx.teardown,
    'margay speaker',
    // MARGAY_NODE_FLAGS: extra node flags for the receiver alone, to profile it in place
    // (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p"); NODE_OPTIONS would reach every node process.
    [
      process.execPath,
      ...(process.env.MARGAY_NODE_FLAGS ?? '').split(' ').filter(Boolean),
      MAIN,
      'speaker',
      '--config',
      conf,
    ],
    {
      netns: ctx.ns.receiver,
      logFile: log,
      cwd: REPO_ROOT,
    },
  );
  const probe = startProbe(ctx.teardown, ctx.ns.receiver, join(ctx.dir, 'probe.log'));
  const api = `http://127.0.0.1:${API_PORT}`;
  const peer = ctx.ns.senderAddress;
  const prefixes = async (): Promise<{ received: number; accepted: number; state: string }> => {
    const r = await probe.http(`${api}/v1/bgp/peers`);
    if (r.status !== 200) throw new Error(`GET /v1/bgp/peers: HTTP ${r.status}: ${r.body.slice(0, 200)}`);
    const p = (JSON.parse(r.body) as PeersJson).peers?.find((x) => x.address === peer);
    if (!p) throw new Error(`GET /v1/bgp/peers does not list ${peer}`);
    return {
      received: p.prefixes?.received ?? 0,
      accepted: p.prefixes?.accepted ?? 0,
      state: p.state ?? '?',
    };
  };
  await waitFor(
    'Margay REST API (GET /v1/bgp/peers)',
    async () => {
      if (proc.hasExited()) {
        throw new GiveUpError(`margay speaker exited before its API answered: ${await tailOf(log)}`);
      }
      return await prefixes();
    },
    { timeoutMs: ctx.startTimeoutMs, intervalMs: 50 },
  );
  const n = ctx.n;
  return {
    pids: [proc.pid],
    minPollMs: 2,
    pollStrategy: 'tight',
    pollMethod: `GET ${api}/v1/bgp/peers (prefixes.accepted of ${peer}), via the in-namespace probe`,
    async count() {
      return (await prefixes()).accepted;
    },
    async verify() {
      const p = await prefixes();
      if (p.received !== n || p.accepted !== n || p.state !== 'Established') {
        throw new Error(`margay peer ${peer}: ${JSON.stringify(p)}; expected ${n} received and accepted`);
      }
    },
    async extras() {
      const r = await probe.http(`${api}/metrics`);
      const p99 = r.status === 200 ? parseEventLoopP99(r.body) : undefined;
      if (!p99) throw new Error(`GET /metrics (HTTP ${r.status}) has no event-loop delay p99 metric`);
      return { p99EventLoopDelayMs: Math.round(p99.ms * 100) / 100, p99EventLoopDelayMetric: p99.metric };
    },
    logTail: () => tailOf(log),
  };
}

export const margayDriver: ReceiverDriver = { name: 'margay', start: startMargay };
