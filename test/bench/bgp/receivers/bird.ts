// BIRD 2 as a receiver: `bird -f -c CONF -s SOCK` in the receiver namespace, one passive BGP protocol
// importing everything into master4, no kernel protocol (nothing reaches a kernel table). Polled over
// its control socket (`show protocols all feed` → "Routes: N imported"), which BIRD answers from its
// main loop in microseconds, so polling every millisecond costs it almost nothing.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GiveUpError, waitFor } from '../../lib/poll.ts';
import { spawnTracked } from '../../lib/proc.ts';
import { BirdControl, parseImported, parseRouteCount } from '../birdc.ts';
import { tailOf } from './log.ts';
import type { ReceiverContext, ReceiverDriver, StartedReceiver } from './types.ts';

export const BIRD_PROTOCOL = 'feed';

export function birdConfig(ctx: Pick<ReceiverContext, 'ns' | 'receiverAsn' | 'senderAsn'>): string {
  return `# ingest benchmark receiver (test/bench/bgp/receivers/bird.ts)
log stderr { warning, error, fatal, bug };
router id ${ctx.ns.receiverAddress};
protocol device { scan time 60; }
protocol bgp ${BIRD_PROTOCOL} {
  local ${ctx.ns.receiverAddress} as ${ctx.receiverAsn};
  neighbor ${ctx.ns.senderAddress} as ${ctx.senderAsn};
  passive on;
  hold time 240;
  ipv4 { import all; export none; };
}
`;
}

export interface StartedBird extends StartedReceiver {
  readonly control: BirdControl;
}

export async function startBird(ctx: ReceiverContext): Promise<StartedBird> {
  const conf = join(ctx.dir, 'bird.conf');
  const sock = join(ctx.dir, 'bird.ctl');
  const log = join(ctx.dir, 'bird.log');
  await writeFile(conf, birdConfig(ctx));
  const proc = spawnTracked(ctx.teardown, 'bird', ['bird', '-f', '-c', conf, '-s', sock], {
    netns: ctx.ns.receiver,
    logFile: log,
  });
  const control = await waitFor(
    'BIRD control socket',
    async () => {
      if (proc.hasExited()) throw new GiveUpError(`bird exited: ${await tailOf(log)}`);
      return await BirdControl.connect(sock);
    },
    { timeoutMs: ctx.startTimeoutMs, intervalMs: 20 },
  );
  ctx.teardown.add('bird control connection', () => control.close());
  return {
    control,
    pids: [proc.pid],
    minPollMs: 1,
    pollStrategy: 'tight',
    pollMethod: `BIRD control socket: show protocols all ${BIRD_PROTOCOL} (Routes: N imported)`,
    async count() {
      return parseImported(await control.command(`show protocols all ${BIRD_PROTOCOL}`)) ?? 0;
    },
    async verify() {
      const n = ctx.n;
      const count = parseRouteCount(await control.command('show route count'));
      if (!count || count.routes !== n || count.networks !== n) {
        throw new Error(`BIRD table holds ${JSON.stringify(count)}, expected ${n} routes for ${n} networks`);
      }
    },
    logTail: () => tailOf(log),
  };
}

export const birdDriver: ReceiverDriver = { name: 'bird', start: startBird };
