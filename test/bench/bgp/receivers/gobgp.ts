// GoBGP as a receiver: `gobgpd -f gobgpd.toml --api-hosts 127.0.0.1:50051` in the receiver namespace (the
// API listens on that namespace's loopback only), one passive neighbor, ipv4-unicast, no zebra, default
// policies (accept). GoBGP does not advertise a route back to the peer it came from, so no export
// policy is needed to match BIRD's `export none`.
//
// Polled with `gobgp -p 50051 global rib summary -a ipv4` ("Destination: N, Path: M" of the global RIB,
// i.e. the Loc-RIB) run by the probe helper inside the namespace. That call walks the table inside
// gobgpd, which takes a large part of a second at 1M while gobgpd is busy (`gobgp neighbor ADDR -j`
// takes longer still), so polls are placed by prediction (see ingest.ts) rather than back to back.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GiveUpError, waitFor } from '../../lib/poll.ts';
import { spawnTracked } from '../../lib/proc.ts';
import { attrSet, attrSetOf, lastSentPrefixIndex, prefixText } from '../feed.ts';
import { startProbe } from '../probe-client.ts';
import { tailOf } from './log.ts';
import type { ReceiverContext, ReceiverDriver, StartedReceiver } from './types.ts';

const API_PORT = 50_051;

export function gobgpConfig(ctx: ReceiverContext): string {
  return `# ingest benchmark receiver (test/bench/bgp/receivers/gobgp.ts)
[global.config]
  as = ${ctx.receiverAsn}
  router-id = "${ctx.ns.receiverAddress}"
  port = 179
  local-address-list = ["${ctx.ns.receiverAddress}"]

[[neighbors]]
  [neighbors.config]
    neighbor-address = "${ctx.ns.senderAddress}"
    peer-as = ${ctx.senderAsn}
  [neighbors.timers.config]
    hold-time = 240
  [neighbors.transport.config]
    passive-mode = true
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
`;
}

export function parseRibSummary(text: string): { destinations: number; paths: number } | undefined {
  const m = /Destination:\s*(\d+),\s*Path:\s*(\d+)/.exec(text);
  return m ? { destinations: Number(m[1]), paths: Number(m[2]) } : undefined;
}

export async function startGobgp(ctx: ReceiverContext): Promise<StartedReceiver> {
  const conf = join(ctx.dir, 'gobgpd.toml');
  const log = join(ctx.dir, 'gobgpd.log');
  await writeFile(conf, gobgpConfig(ctx));
  const argv = [
    'gobgpd',
    '-f',
    conf,
    '-t',
    'toml',
    '--api-hosts',
    `127.0.0.1:${API_PORT}`,
    '--pprof-disable',
  ];
  argv.push('-l', 'warn', '-p');
  const proc = spawnTracked(ctx.teardown, 'gobgpd', argv, { netns: ctx.ns.receiver, logFile: log });
  const probe = startProbe(ctx.teardown, ctx.ns.receiver, join(ctx.dir, 'probe.log'));
  const cli = ['gobgp', '-p', String(API_PORT)];
  const summary = async (): Promise<{ destinations: number; paths: number }> => {
    // On a loaded machine a summary of a 1M table can take seconds; a slow poll is not a failure.
    const text = await probe.exec([...cli, 'global', 'rib', 'summary', '-a', 'ipv4'], 60_000);
    const s = parseRibSummary(text);
    if (!s) throw new Error(`unexpected gobgp rib summary: ${text.trim()}`);
    return s;
  };
  await waitFor(
    'gobgpd API',
    async () => {
      if (proc.hasExited()) throw new GiveUpError(`gobgpd exited: ${await tailOf(log)}`);
      return await summary();
    },
    { timeoutMs: ctx.startTimeoutMs, intervalMs: 50 },
  );
  const n = ctx.n;
  return {
    pids: [proc.pid],
    minPollMs: 10,
    pollStrategy: 'predictive',
    pollMethod: `gobgp -p ${API_PORT} global rib summary -a ipv4 (Destination: N), via the in-namespace probe`,
    async count() {
      return (await summary()).destinations;
    },
    async verify() {
      const s = await summary();
      if (s.destinations !== n || s.paths !== n) {
        throw new Error(
          `gobgpd global RIB has ${s.destinations} destinations, ${s.paths} paths; expected ${n}`,
        );
      }
      for (const i of [0, lastSentPrefixIndex(n, ctx.attrSets)]) {
        const j = JSON.parse(
          await probe.exec([...cli, 'global', 'rib', '-a', 'ipv4', prefixText(i), '-j']),
        ) as Record<string, { attrs?: { type: number; metric?: number }[] }[]>;
        const med = Object.values(j)[0]?.[0]?.attrs?.find((a) => a.type === 4)?.metric;
        const want = attrSet(attrSetOf(i, ctx.attrSets)).med;
        if (med !== want) throw new Error(`gobgpd: ${prefixText(i)} has MED ${med}, expected ${want}`);
      }
    },
    logTail: () => tailOf(log),
  };
}

export const gobgpDriver: ReceiverDriver = { name: 'gobgp', start: startGobgp };
