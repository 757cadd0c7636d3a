// `npm run bench -- bfd-failover`: how fast BFD takes a dead ToR link out of service.
//
// A speaker (test/interop/speaker-child.ts) and BIRD 2 as the ToR, each in a namespace this run
// creates, with one eBGP session (hold time 9 s) and BFD on it at the given interval × 3 on both
// sides (PeerConfig.bfd; BIRD `bfd on` with `protocol bfd`). The ToR announces 10.50.0.0/24, the
// node 10.244.1.0/24 (its pod CIDR). A cut drops every packet from the node in the ToR's
// namespace (iptables INPUT), as a failed link or a dead node looks to the ToR. Measured from
// the moment the rule is in place, polling every POLL_MS:
//   node: the ToR's route has left the speaker's RIB (the node stops routing via that ToR; the
//         agent's kernel route follows the RIB and is not part of this run);
//   ToR:  BIRD has withdrawn the node's pod CIDR.
// Then the rule is lifted, both sessions and routes come back, and after a random pause of
// 0.2–0.7 s the next cut follows. `--cuts N` (default 20) per interval, `--intervals 300,100`.
//
// Output: one JSON line per interval on stdout, a table on stderr. The namespaces and processes
// are removed at the end, on failure too.
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { PathView, PeerStatus } from '../../bgp/speaker/types.ts';
import { birdConfig, birdRoutes, startBird } from '../../src/lab/bird.ts';
import { Lab } from '../../src/lab/lab.ts';
import { SpeakerProcess } from '../interop/speaker-process.ts';
import { sleep, waitFor } from './lib/poll.ts';

const NODE_AS = 64512;
const TOR_AS = 64513;
const POLL_MS = 10;

function quantile(sorted: readonly number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return sorted[Math.max(0, i)] ?? Number.NaN;
}

interface Summary {
  readonly intervalMs: number;
  readonly cuts: number;
  readonly nodeMs: { p50: number; p99: number; max: number };
  readonly torMs: { p50: number; p99: number; max: number };
  readonly loadavg: number;
}

function summarize(values: number[]): { p50: number; p99: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  const r = (v: number) => Math.round(v);
  return { p50: r(quantile(s, 0.5)), p99: r(quantile(s, 0.99)), max: r(s[s.length - 1] ?? Number.NaN) };
}

async function runInterval(intervalMs: number, cuts: number): Promise<Summary> {
  const lab = new Lab();
  let speaker: SpeakerProcess | undefined;
  try {
    const node = await lab.addNamespace('node');
    const tor = await lab.addNamespace('tor');
    await lab.connect(
      { ns: node, ifname: 'to-tor', ipv4: '192.0.2.1/24' },
      { ns: tor, ifname: 'to-node', ipv4: '192.0.2.2/24' },
    );
    const bird = await startBird(
      lab,
      tor,
      birdConfig({
        routerId: '192.0.2.2',
        localAs: TOR_AS,
        neighbors: [
          { name: 'node', address: '192.0.2.1', remoteAs: NODE_AS, holdTime: 9, extra: ['bfd on;'] },
        ],
        staticRoutes: [{ prefix: '10.50.0.0/24' }],
        extra: [
          'protocol bfd {',
          `  interface "*" { min rx interval ${intervalMs} ms; min tx interval ${intervalMs} ms; multiplier 3; };`,
          '}',
        ].join('\n'),
      }),
    );
    speaker = new SpeakerProcess(node, join(lab.dir, 'speaker.log'), {
      options: { asn: NODE_AS, routerId: '192.0.2.1' },
      peers: [
        {
          address: '192.0.2.2',
          asn: TOR_AS,
          holdTime: 9,
          connectRetryTime: 1,
          bfd: { minRxMs: intervalMs, minTxMs: intervalMs, multiplier: 3 },
        },
      ],
      routes: [{ prefix: '10.244.1.0/24' }],
    });
    const s = speaker;
    await s.started;
    const nodeHasTorRoute = async () =>
      (await s.request<PathView[]>('routes')).some((r) => r.prefix === '10.50.0.0/24');
    const torHasNodeRoute = async () => (await birdRoutes(bird)).some((r) => r.prefix === '10.244.1.0/24');
    const up = async () => {
      await waitFor(
        'both routes and BFD Up',
        async () => {
          const [peer] = await s.request<PeerStatus[]>('peers');
          const ok = peer?.bfd?.state === 'Up' && (await nodeHasTorRoute()) && (await torHasNodeRoute());
          return ok ? true : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 50 },
      );
    };
    const rule = ['INPUT', '-s', '192.0.2.1', '-j', 'DROP'];
    const nodeMs: number[] = [];
    const torMs: number[] = [];
    for (let i = 0; i < cuts; i++) {
      await up();
      await sleep(200 + Math.random() * 500);
      await lab.exec(tor, ['iptables-nft', '-I', ...rule]);
      const t0 = performance.now();
      try {
        const gone = (probe: () => Promise<boolean>) =>
          waitFor('route gone', async () => ((await probe()) ? undefined : performance.now() - t0), {
            timeoutMs: 15_000,
            intervalMs: POLL_MS,
          });
        const [n, t] = await Promise.all([gone(nodeHasTorRoute), gone(torHasNodeRoute)]);
        nodeMs.push(n);
        torMs.push(t);
      } finally {
        await lab.exec(tor, ['iptables-nft', '-D', ...rule]);
      }
    }
    return {
      intervalMs,
      cuts,
      nodeMs: summarize(nodeMs),
      torMs: summarize(torMs),
      loadavg: loadavg()[0] ?? 0,
    };
  } finally {
    speaker?.kill();
    await speaker?.exited;
    await lab.teardown();
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: { cuts: { type: 'string', default: '20' }, intervals: { type: 'string', default: '300,100' } },
  });
  const cuts = Number(values.cuts);
  const intervals = values.intervals.split(',').map(Number);
  if (!Number.isInteger(cuts) || cuts < 1) throw new Error(`--cuts ${values.cuts} is not a positive integer`);
  if (intervals.some((v) => !Number.isInteger(v) || v < 10))
    throw new Error(`--intervals ${values.intervals}`);
  const rows: string[] = [];
  for (const intervalMs of intervals) {
    const r = await runInterval(intervalMs, cuts);
    process.stdout.write(`${JSON.stringify({ bench: 'bfd-failover', ...r })}\n`);
    rows.push(
      `| ${intervalMs} ms × 3 | ${cuts} | ${r.nodeMs.p50} / ${r.nodeMs.p99} / ${r.nodeMs.max} ms | ` +
        `${r.torMs.p50} / ${r.torMs.p99} / ${r.torMs.max} ms | ${r.loadavg.toFixed(2)} |`,
    );
  }
  process.stderr.write(
    [
      '| BFD | cuts | node: ToR route out of the RIB p50 / p99 / max | ToR: node route withdrawn p50 / p99 / max | load |',
      '|---|---|---|---|---|',
      ...rows,
      '',
    ].join('\n'),
  );
  return 0;
}
