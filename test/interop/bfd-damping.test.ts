// A flapping link under BFD damping (bgp/bfd/damping.ts): the speaker with BFD at 100 ms × 3 on
// its peer and BIRD 2 with `bfd on`, IPv4, in network namespaces. The link flaps FLAPS times
// (every packet from the speaker dropped in BIRD's namespace for a second, then two seconds of
// calm), each drop long enough for a BFD session that is Up to fail. The speaker holds its BFD
// session in Down for longer and longer after repeated failures, so the BGP session is reset far
// fewer times than the link flapped; the hold shows in the peer status while it runs, and once
// the flapping stops the session comes back with BFD Up.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { PeerStatus } from '../../bgp/speaker/types.ts';
import { type BirdHandle, Lab, waitBirdEstablished, waitFor } from './lib/index.ts';
import { type SpeakerProcess, startBirdBfdPair } from './speaker-process.ts';

const FLAPS = 10;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('BFD damping: a flapping link against BIRD 2', () => {
  const lab = new Lab();
  let speaker: SpeakerProcess | undefined;
  let b = '';

  beforeAll(async () => {
    let bird: BirdHandle;
    ({ b, bird, speaker } = await startBirdBfdPair(lab));
    await waitBirdEstablished(bird, 'm4');
  });

  afterAll(async () => {
    speaker?.kill();
    await speaker?.exited;
    await lab.teardown();
  });

  test(`${FLAPS} link flaps reset the BGP session a few times only, then it comes back`, async () => {
    const s = speaker as SpeakerProcess;
    await waitFor(() => s.peer(), {
      describe: 'our peer Established with BFD Up',
      until: (p) => p.state === 'Established' && p.bfd?.state === 'Up',
      timeoutMs: 20_000,
    });
    // Watch the session while the link flaps: every Established → down is one reset.
    let resets = 0;
    let maxHeldMs = 0;
    let watching = true;
    const watch = (async () => {
      let last: PeerStatus | undefined;
      while (watching) {
        const p = await s.peer();
        if (last?.state === 'Established' && p.state !== 'Established') resets++;
        if (p.bfd !== undefined && 'damping' in p.bfd)
          maxHeldMs = Math.max(maxHeldMs, p.bfd.damping.heldDownMs);
        last = p;
        await sleep(50);
      }
    })();
    const rule = ['INPUT', '-s', '192.0.2.1', '-j', 'DROP'];
    try {
      for (let i = 0; i < FLAPS; i++) {
        await lab.exec(b, ['iptables-nft', '-I', ...rule]);
        try {
          await sleep(1_000);
        } finally {
          await lab.exec(b, ['iptables-nft', '-D', ...rule]);
        }
        await sleep(2_000);
      }
    } finally {
      watching = false;
      await watch;
    }
    const p = await s.peer();
    if (p.bfd === undefined || !('damping' in p.bfd)) throw new Error(`no BFD status: ${JSON.stringify(p)}`);
    // Failures at 0, 3 and about 6 s, then after holds of 4 and 8 s: about five of the ten.
    expect(p.bfd.failures).toBeGreaterThanOrEqual(3);
    expect(p.bfd.failures).toBeLessThanOrEqual(6);
    expect(p.bfd.damping.holds).toBeGreaterThanOrEqual(2);
    expect(p.bfd.damping.level).toBeGreaterThanOrEqual(3);
    expect(maxHeldMs).toBeGreaterThan(2_000);
    // A BGP reset needs a BFD failure (the 1 s drops are far below the 9 s hold time).
    expect(resets).toBeGreaterThanOrEqual(1);
    expect(resets).toBeLessThanOrEqual(p.bfd.failures);
    expect(resets).toBeLessThan(FLAPS / 2 + 1);
    // The flapping over, the hold runs out and the session comes back, BFD Up.
    await waitFor(() => s.peer(), {
      describe: 'our peer Established with BFD Up after the last hold',
      until: (q) => q.state === 'Established' && q.bfd?.state === 'Up',
      timeoutMs: 40_000,
    });
  }, 90_000);
});
