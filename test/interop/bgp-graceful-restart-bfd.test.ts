// A graceful stop of the speaker (what `margay agent` does on SIGTERM) toward BIRD 2.0.12 with
// graceful restart and BFD, the README's ToR example. BIRD has no RFC 8538 N bit, so the speaker
// closes the BGP session without a NOTIFICATION, then sends BFD AdminDown. What BIRD does with
// its BGP session then depends on its BFD mode:
// - `bfd graceful`: BFD down starts a graceful restart; BIRD keeps our route as stale.
// - `bfd on`: BIRD takes the BGP session down on any BFD Up → Down, AdminDown included (RFC 5882
//   §3.2 says AdminDown should not take the client session down), and flushes our route. This
//   test records that behaviour of BIRD 2.0.12: no stop of ours can avoid it, since BFD stops
//   when the process does.
// FRR 8.4 with `bgp graceful-restart` and `neighbor … bfd` (bfdd): it sees the BFD down too and
// keeps our route as stale all the same.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { SpeakerOptions } from '../../bgp/speaker/types.ts';
import { startBfdd } from './bfdd.ts';
import {
  type BirdHandle,
  birdConfig,
  type FrrHandle,
  frrConfig,
  frrNeighbor,
  frrRoutes,
  Lab,
  parseRoutesAll,
  startBird,
  startFrr,
  waitBirdEstablished,
  waitFor,
  waitFrrEstablished,
} from './lib/index.ts';
import {
  BIRD_BFD_100MS,
  bfdPeer,
  linkToSpeaker,
  type SpeakerProcess,
  startSpeaker,
  stopSpeakerLab,
} from './speaker-process.ts';

const OUR_AS = 64512;
const BIRD_AS = 64513;
const ROUTE = '10.244.1.0/24';

/** Waits until the speaker's peer has been Established with BFD Up for 3 s. */
function waitUpFor3s(speaker: SpeakerProcess) {
  return waitFor(() => speaker.peer(), {
    describe: 'our peer Established for 3 s with BFD Up',
    until: (p) => p.state === 'Established' && p.bfd?.state === 'Up' && Date.now() - p.since > 3_000,
    timeoutMs: 20_000,
  });
}

describe.each(['graceful', 'on'] as const)('graceful stop toward BIRD with `bfd %s`', (mode) => {
  const lab = new Lab();
  let bird: BirdHandle;
  let speaker: SpeakerProcess | undefined;

  beforeAll(async () => {
    const { m, p: b } = await linkToSpeaker(lab, 'b', { ipv4: '192.0.2.1/24' }, { ipv4: '192.0.2.2/24' });
    bird = await startBird(
      lab,
      b,
      birdConfig({
        routerId: '192.0.2.2',
        localAs: BIRD_AS,
        debug: true,
        neighbors: [
          {
            name: 'm4',
            address: '192.0.2.1',
            remoteAs: OUR_AS,
            holdTime: 9,
            gracefulRestart: true,
            extra: [`bfd ${mode};`],
          },
        ],
        extra: BIRD_BFD_100MS,
      }),
    );
    speaker = await startSpeaker(lab, m, {
      options: { asn: OUR_AS, routerId: '192.0.2.1' } satisfies SpeakerOptions,
      peers: [bfdPeer('192.0.2.2', BIRD_AS)],
      routes: [{ prefix: ROUTE }],
    });
  });

  afterAll(() => stopSpeakerLab(lab, speaker));

  test(mode === 'graceful' ? 'BIRD keeps our route as stale' : 'BIRD flushes our route', async () => {
    const birdHas = async () => {
      try {
        return parseRoutesAll(await bird.birdc(`show route ${ROUTE} all`)).some((r) => r.prefix === ROUTE);
      } catch {
        return false; // "Network not found"
      }
    };
    // BIRD may take its first BFD session down once more right after the BGP session comes up
    // (and the BGP session with it): stop only a session that has been up for a while.
    await waitUpFor3s(speaker!);
    await waitBirdEstablished(bird, 'm4');
    await waitFor(birdHas, { describe: `BIRD has ${ROUTE}`, until: (has) => has });

    await speaker!.request('stop', { message: 'margay agent restarting' });
    await waitFor(() => readFileSync(bird.logFile, 'utf8'), {
      describe: 'BIRD: m4 BFD session down',
      until: (log) => log.includes('m4: BFD session down'),
      timeoutMs: 5_000,
    });
    // A while later (our restart time is 120 s).
    await new Promise((r) => setTimeout(r, 2_000));
    const log = readFileSync(bird.logFile, 'utf8');
    // The BGP session ends first (the speaker sends AdminDown once its sessions have closed), so
    // BIRD always starts a graceful restart; with `bfd on` the BFD down that follows ends it.
    expect(log).toContain('m4: Neighbor graceful restart detected');
    if (mode === 'graceful') {
      expect(await bird.birdc('show protocols all m4')).toMatch(/Neighbor graceful restart active/);
      expect(await birdHas()).toBe(true);
    } else {
      expect(await bird.birdc('show protocols all m4')).not.toMatch(/Neighbor graceful restart active/);
      expect(await birdHas()).toBe(false);
    }
  }, 40_000);
});

describe('graceful stop toward FRR with graceful restart and `neighbor … bfd`', () => {
  const lab = new Lab();
  let frr: FrrHandle;
  let speaker: SpeakerProcess | undefined;

  beforeAll(async () => {
    const { m, p: f } = await linkToSpeaker(lab, 'f', { ipv4: '192.0.2.1/24' }, { ipv4: '192.0.2.2/24' });
    frr = await startFrr(
      lab,
      f,
      frrConfig({
        routerId: '192.0.2.2',
        localAs: BIRD_AS,
        gracefulRestart: true,
        neighbors: [{ address: '192.0.2.1', remoteAs: OUR_AS, extra: ['bfd'] }],
      }),
    );
    await startBfdd(lab, frr, [
      { address: '192.0.2.1', local: '192.0.2.2', ifname: 'to-m', intervalMs: 100 },
    ]);
    speaker = await startSpeaker(lab, m, {
      options: { asn: OUR_AS, routerId: '192.0.2.1' } satisfies SpeakerOptions,
      peers: [bfdPeer('192.0.2.2', BIRD_AS)],
      routes: [{ prefix: ROUTE }],
    });
  });

  afterAll(() => stopSpeakerLab(lab, speaker));

  test('FRR keeps our route as stale', async () => {
    await waitFrrEstablished(frr, '192.0.2.1');
    await waitUpFor3s(speaker!);
    await speaker!.request('stop', { message: 'margay agent restarting' });
    await waitFor(() => frrNeighbor(frr, '192.0.2.1'), {
      describe: 'FRR: session with us down',
      until: (n) => n.state !== 'Established',
      timeoutMs: 5_000,
    });
    // A while later (our restart time is 120 s).
    await new Promise((r) => setTimeout(r, 2_000));
    const routes = await frrRoutes(frr);
    expect(routes.find((r) => r.prefix === ROUTE)?.raw.stale).toBe(true);
  }, 40_000);
});
