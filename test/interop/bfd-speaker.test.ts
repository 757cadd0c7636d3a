// The speaker with BFD on a peer (PeerConfig.bfd) against BIRD 2 with `bfd on`, in network
// namespaces, IPv4: the BFD session comes Up beside the BGP session, and a link cut in BIRD's
// namespace takes our BGP session down (Cease / BFD Down) and BIRD's routes out of our RIB long
// before the 9 s hold time would. Against FRR (bgpd, and bfdd with a peer of its own), IPv6: a
// BFD session the peer shuts down by hand (AdminDown) leaves the BGP session up.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { PathView, SpeakerOptions } from '../../bgp/speaker/types.ts';
import { startBfdd } from './bfdd.ts';
import {
  type BirdHandle,
  birdProtocol,
  type FrrHandle,
  frrConfig,
  Lab,
  startFrr,
  waitBirdEstablished,
  waitFor,
  waitFrrEstablished,
} from './lib/index.ts';
import {
  bfdPeer,
  linkToSpeaker,
  type SpeakerProcess,
  startBirdBfdPair,
  startSpeaker,
  stopSpeakerLab,
} from './speaker-process.ts';

const OUR_AS = 64512;
const BIRD_AS = 64513;

describe('Speaker with BFD ↔ BIRD 2 bfd on', () => {
  const lab = new Lab();
  let bird: BirdHandle;
  let speaker: SpeakerProcess | undefined;
  let b = '';

  beforeAll(async () => {
    ({ b, bird, speaker } = await startBirdBfdPair(lab));
  });

  afterAll(() => stopSpeakerLab(lab, speaker));

  test('BGP Established and BFD Up, the status showing both sides of BFD', async () => {
    await waitBirdEstablished(bird, 'm4');
    const p = await waitFor(() => speaker!.peer(), {
      describe: 'our peer Established with BFD Up on both sides at 100 ms',
      until: (p) =>
        p.state === 'Established' &&
        p.bfd?.state === 'Up' &&
        p.bfd.remoteState === 'Up' &&
        p.bfd.txIntervalMs === 100,
    });
    expect(p.bfd).toMatchObject({
      minTxMs: 100,
      minRxMs: 100,
      multiplier: 3,
      remoteMultiplier: 3,
    });
    expect(p.bfd && 'detectionTimeMs' in p.bfd && p.bfd.detectionTimeMs).toBe(300);
    await waitFor(() => speaker!.request<PathView[]>('routes'), {
      describe: "BIRD's route at our speaker",
      until: (rs) => rs.some((r) => r.prefix === '10.50.0.0/24'),
    });
  });

  test("a cut takes our BGP session down by BFD, and BIRD's routes with it, within a second", async () => {
    const started = performance.now();
    await lab.exec(b, ['iptables-nft', '-I', 'INPUT', '-s', '192.0.2.1', '-j', 'DROP']);
    try {
      const p = await waitFor(() => speaker!.peer(), {
        describe: 'our peer down by BFD',
        until: (p) => p.state !== 'Established',
        intervalMs: 20,
        timeoutMs: 5_000,
      });
      const downMs = performance.now() - started;
      // BIRD's BFD hears nothing from us and takes its BGP session down; its Cease or our own
      // BFD (on BIRD's BFD Down) ends ours, whichever arrives first.
      expect(p.lastError).toMatch(/Received: Cease|BFD down/);
      expect(p.bfd?.state).not.toBe('Up');
      await waitFor(() => speaker!.request<PathView[]>('routes'), {
        describe: "BIRD's route gone from our RIB",
        until: (rs) => !rs.some((r) => r.prefix === '10.50.0.0/24'),
        intervalMs: 20,
        timeoutMs: 2_000,
      });
      // The bound: BIRD's Detection Time, its Down packet and the polling, far below the hold time.
      expect(downMs).toBeLessThan(1_000);
      const theirs = await birdProtocol(bird, 'm4');
      expect(theirs.bgpState).not.toBe('Established');
    } finally {
      await lab.exec(b, ['iptables-nft', '-D', 'INPUT', '-s', '192.0.2.1', '-j', 'DROP']);
    }
    await waitBirdEstablished(bird, 'm4');
    await waitFor(() => speaker!.peer(), {
      describe: 'our peer back, BFD Up',
      until: (p) => p.state === 'Established' && p.bfd?.state === 'Up',
      timeoutMs: 20_000,
    });
    const p = await speaker!.peer();
    // The cut's flap at least; BIRD's restart of its BFD session can add one more.
    expect(p.bfd && 'downs' in p.bfd && p.bfd.downs).toBeGreaterThanOrEqual(1);
  });

  test('a cut on our side takes the session down by our own BFD, Cease / BFD Down', async () => {
    const m = lab.namespaces.find((ns) => ns.endsWith('m'));
    if (m === undefined) throw new Error('no m namespace');
    // BIRD restarts its BFD session after its BGP session comes back, which can take ours Down
    // once more (its Down packet); cut only a session that has been up for a while.
    await waitFor(() => speaker!.peer(), {
      describe: 'our peer Established for 3 s with BFD Up',
      until: (p) => p.state === 'Established' && p.bfd?.state === 'Up' && Date.now() - p.since > 3_000,
      timeoutMs: 20_000,
    });
    const started = performance.now();
    await lab.exec(m, ['iptables-nft', '-I', 'INPUT', '-s', '192.0.2.2', '-j', 'DROP']);
    try {
      const p = await waitFor(() => speaker!.peer(), {
        describe: 'our peer down by our BFD',
        until: (p) => p.state !== 'Established',
        intervalMs: 20,
        timeoutMs: 5_000,
      });
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(p.lastError).toBe('Error: BFD down: BFD session down: controlDetectionTimeExpired');
      expect(p.bfd).toMatchObject({ state: 'Down', diag: 'controlDetectionTimeExpired' });
    } finally {
      await lab.exec(m, ['iptables-nft', '-D', 'INPUT', '-s', '192.0.2.2', '-j', 'DROP']);
    }
    await waitFor(() => speaker!.peer(), {
      describe: 'our peer back with BFD Up',
      until: (p) => p.state === 'Established' && p.bfd?.state === 'Up',
      timeoutMs: 20_000,
    });
  });
});

describe('Speaker with BFD ↔ FRR bgpd + bfdd, IPv6', () => {
  const lab = new Lab();
  let frr: FrrHandle;
  let speaker: SpeakerProcess | undefined;

  beforeAll(async () => {
    const { m, p: f } = await linkToSpeaker(
      lab,
      'f',
      { ipv6: '2001:db8:1::1/64' },
      { ipv6: '2001:db8:1::2/64' },
    );
    frr = await startFrr(
      lab,
      f,
      frrConfig({
        routerId: '192.0.2.2',
        localAs: BIRD_AS,
        neighbors: [{ address: '2001:db8:1::1', remoteAs: OUR_AS, ipv4: false, ipv6: true }],
      }),
    );
    await startBfdd(lab, frr, [
      { address: '2001:db8:1::1', local: '2001:db8:1::2', ifname: 'to-m', intervalMs: 100 },
    ]);
    speaker = await startSpeaker(lab, m, {
      options: { asn: OUR_AS, routerId: '192.0.2.1' } satisfies SpeakerOptions,
      peers: [bfdPeer('2001:db8:1::2', BIRD_AS, { families: ['ipv6-unicast'] })],
      routes: [{ prefix: '2001:db8:244::/48' }],
    });
  });

  afterAll(() => stopSpeakerLab(lab, speaker));

  test('BGP Established and BFD Up over IPv6', async () => {
    await waitFrrEstablished(frr, '2001:db8:1::1');
    await waitFor(() => speaker!.peer(), {
      describe: 'our peer Established with BFD Up',
      until: (p) => p.state === 'Established' && p.bfd?.state === 'Up',
    });
  });

  test("the peer's AdminDown takes BFD down and leaves the BGP session up", async () => {
    const before = await speaker!.peer();
    const bfdPeer = 'peer 2001:db8:1::1 local-address 2001:db8:1::2 interface to-m';
    await frr.vtysh('configure terminal', 'bfd', bfdPeer, 'shutdown');
    const p = await waitFor(() => speaker!.peer(), {
      describe: 'our BFD Down by the peer AdminDown',
      until: (p) => p.bfd?.state === 'Down',
    });
    expect(p.bfd).toMatchObject({ remoteState: 'AdminDown', diag: 'neighborSignaledSessionDown', downs: 1 });
    // Several Detection Times later the BGP session is still the one from before.
    await new Promise((r) => setTimeout(r, 1_000));
    const after = await speaker!.peer();
    expect(after.state).toBe('Established');
    expect(after.since).toBe(before.since);
    await frr.vtysh('configure terminal', 'bfd', bfdPeer, 'no shutdown');
    await waitFor(() => speaker!.peer(), {
      describe: 'our BFD Up again',
      until: (p) => p.bfd?.state === 'Up',
    });
  });
});
