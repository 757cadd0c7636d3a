// The ingest benchmark's receive path without namespaces, for profiling (`--cpu-prof`,
// `--heap-prof`, `--trace-gc`): a Speaker in this process, the blaster in a child process over
// loopback (127.0.0.2 → 127.0.0.1), the same feed as `npm run bench -- bgp-ingest`.
//
//   node [--cpu-prof] test/bench/bgp/ingest-local.ts [--n 1000000] [--attr-sets 1000] [--poll-ms 2]
//   node test/bench/bgp/ingest-local.ts --mode rib      # FrameReader + decode + Rib, no sockets
//   node test/bench/bgp/ingest-local.ts --mode decode   # FrameReader + decode only
//
// Prints one JSON line: seconds from Established to all N accepted (polled through
// `speaker.peers()`, as the REST API does, every --poll-ms), peak RSS and bytes per prefix over
// the RSS before the session, the event-loop delay (p99 and max, perf_hooks at 10 ms resolution
// like /metrics) while ingesting, and how long the slowest `peers()` call took.
// Not a substitute for the real benchmark: no netns, sender and receiver share the two cores.

import { spawn } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Rib } from '../../../bgp/rib/index.ts';
import { Speaker } from '../../../bgp/speaker/speaker.ts';
import { DEFAULT_CODEC_OPTIONS, decodeMessage, FrameReader } from '../../../bgp/wire/index.ts';
import { encodeFeed } from './encode.ts';
import { RECEIVER_ASN, SENDER_ASN } from './feed.ts';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '1000000' },
    'attr-sets': { type: 'string', default: '1000' },
    'poll-ms': { type: 'string', default: '2' },
    mode: { type: 'string', default: 'speaker' },
    runs: { type: 'string', default: '1' },
  },
});
const n = Number(values.n);
const attrSets = Number(values['attr-sets']);
const pollMs = Number(values['poll-ms']);
const MB = 2 ** 20;
const rssNow = (): number => process.memoryUsage.rss();
const peakRss = (): number => process.resourceUsage().maxRSS * 1024;
const round = (v: number, d = 3): number => Math.round(v * 10 ** d) / 10 ** d;

function runRib(): void {
  const feed = encodeFeed({ n, attrSets, nextHop: '192.0.2.1' });
  for (let run = 0; run < Number(values.runs); run++) {
    const base = rssNow();
    const rib = new Rib({ routerId: '192.0.2.2' });
    rib.addPeer({
      id: 'p',
      address: '192.0.2.1',
      asn: SENDER_ASN,
      localAsn: RECEIVER_ASN,
      families: ['ipv4-unicast'],
    });
    rib.peerUp('p', { routerId: '192.0.2.1' });
    const h = monitorEventLoopDelay({ resolution: 10 });
    const t0 = performance.now();
    const cpu0 = process.threadCpuUsage();
    const reader = new FrameReader(4096);
    // The blaster's OPEN carries the 4-octet AS capability (its AS is above 65535).
    const codec = { ...DEFAULT_CODEC_OPTIONS, fourOctetAs: true };
    for (const chunk of feed.chunks) {
      reader.push(chunk);
      for (let f = reader.next(); f !== null; f = reader.next()) {
        const m = decodeMessage(f, codec);
        if (m.type === 'update' && values.mode === 'rib') rib.applyUpdate('p', m);
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.threadCpuUsage(cpu0);
    h.disable();
    process.stdout.write(
      `${JSON.stringify({
        mode: values.mode,
        run,
        n,
        seconds: round(seconds),
        threadCpuSeconds: round((cpu.user + cpu.system) / 1e6),
        prefixes: rib.prefixCount,
        rssMb: round(rssNow() / MB, 1),
        bytesPerPrefix: Math.round((rssNow() - base) / n),
        heapUsedMb: round(process.memoryUsage().heapUsed / MB, 1),
      })}\n`,
    );
  }
}

async function runSpeaker(): Promise<void> {
  const speaker = new Speaker({
    asn: RECEIVER_ASN,
    routerId: '127.0.0.1',
    listen: { address: '127.0.0.1', port: 0 },
  });
  speaker.setPeers([
    { address: '127.0.0.2', asn: SENDER_ASN, passive: true, holdTime: 240, families: ['ipv4-unicast'] },
  ]);
  await speaker.start();
  const port = speaker.listenPorts[0] as number;
  const base = rssNow();
  const blaster = spawn(
    process.execPath,
    [
      fileURLToPath(new URL('./blaster.ts', import.meta.url)),
      ...['--n', String(n), '--attr-sets', String(attrSets), '--local', '127.0.0.2'],
      ...['--peer', '127.0.0.1', '--port', String(port), '--asn', String(SENDER_ASN)],
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: blaster.stdout });
  lines.on('line', (line) => process.stderr.write(`blaster: ${line}\n`));

  let established = 0;
  speaker.on('peerStateChanged', (e) => {
    if (e.to === 'Established') established = performance.now();
  });
  const h = monitorEventLoopDelay({ resolution: 10 });
  let polls = 0;
  let slowestPollMs = 0;
  let accepted = 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, pollMs));
    if (established === 0) continue;
    if (polls === 0) h.enable();
    const t = performance.now();
    const peer = speaker.peers()[0];
    slowestPollMs = Math.max(slowestPollMs, performance.now() - t);
    polls++;
    accepted = peer?.prefixes.accepted ?? 0;
    if (accepted >= n) break;
    if (performance.now() - established > 60_000) throw new Error(`timeout with ${accepted} of ${n}`);
  }
  const seconds = (performance.now() - established) / 1000;
  h.disable();
  const peak = peakRss();
  process.stdout.write(
    `${JSON.stringify({
      mode: 'speaker',
      n,
      seconds: round(seconds),
      peakRssMb: round(peak / MB, 1),
      baselineRssMb: round(base / MB, 1),
      bytesPerPrefix: Math.round((peak - base) / n),
      p99EventLoopDelayMs: round(h.percentile(99) / 1e6, 1),
      maxEventLoopDelayMs: round(h.max / 1e6, 1),
      polls,
      slowestPollMs: round(slowestPollMs, 2),
    })}\n`,
  );
  blaster.stdin.end();
  await speaker.stop();
  blaster.kill();
}

if (values.mode === 'rib' || values.mode === 'decode') runRib();
else await runSpeaker();
