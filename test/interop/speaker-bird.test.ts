// Our Speaker against BIRD 2 in network namespaces: eBGP over IPv4 (IPv4 unicast) and over IPv6
// (IPv6 unicast), our AS above 65535; routes flow both ways, BIRD sees our communities and large
// communities, and BIRD shows our Cease with the shutdown message when we stop.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { PathView, PeerStatus, SpeakerOptions } from '../../bgp/speaker/types.ts';
import {
  type BirdHandle,
  birdConfig,
  birdProtocol,
  birdRoutes,
  Lab,
  startBird,
  waitBirdEstablished,
  waitFor,
} from './lib/index.ts';
import { linkToSpeaker, type SpeakerProcess, startSpeaker, stopSpeakerLab } from './speaker-process.ts';

const OUR_AS = 4_200_000_001;
const BIRD_AS = 64513;

describe('Speaker ↔ BIRD 2 (eBGP, IPv4 + IPv6, 4-octet AS)', () => {
  const lab = new Lab();
  let bird: BirdHandle;
  let speaker: SpeakerProcess | undefined;

  beforeAll(async () => {
    const { m, p: b } = await linkToSpeaker(
      lab,
      'b',
      { ipv4: '192.0.2.1/24', ipv6: '2001:db8::1/64' },
      { ipv4: '192.0.2.2/24', ipv6: '2001:db8::2/64' },
    );
    bird = await startBird(
      lab,
      b,
      birdConfig({
        routerId: '192.0.2.2',
        localAs: BIRD_AS,
        neighbors: [
          { name: 'm4', address: '192.0.2.1', remoteAs: OUR_AS, ipv4: true },
          { name: 'm6', address: '2001:db8::1', remoteAs: OUR_AS, ipv4: false, ipv6: true },
        ],
        staticRoutes: [
          { prefix: '10.50.0.0/24', communities: [[64513, 7]] },
          { prefix: '2001:db8:50::/48', largeCommunities: [[64513, 1, 1]] },
        ],
      }),
    );
    const options: SpeakerOptions = { asn: OUR_AS, routerId: '192.0.2.1', hostname: 'margay-test' };
    speaker = await startSpeaker(lab, m, {
      options,
      peers: [
        { address: '192.0.2.2', asn: BIRD_AS, families: ['ipv4-unicast'], holdTime: 9 },
        { address: '2001:db8::2', asn: BIRD_AS, families: ['ipv6-unicast'], holdTime: 9 },
      ],
      routes: [
        {
          prefix: '10.244.1.0/24',
          communities: [64512 * 65536 + 100],
          largeCommunities: [{ globalAdmin: OUR_AS, localData1: 1, localData2: 2 }],
        },
        { prefix: '2001:db8:244::/48', communities: [64512 * 65536 + 200] },
      ],
    });
  });

  afterAll(() => stopSpeakerLab(lab, speaker));

  test('both sessions reach Established', async () => {
    await waitBirdEstablished(bird, 'm4');
    await waitBirdEstablished(bird, 'm6');
    const peers = await waitFor(() => speaker?.request<PeerStatus[]>('peers') ?? [], {
      describe: 'our two peers Established',
      until: (ps) => ps.length === 2 && ps.every((p) => p.state === 'Established'),
    });
    expect(peers.map((p) => p.holdTime)).toEqual([9, 9]);
    expect(peers[0]?.capabilities.remote).toContain('4-octet-as 64513');
  });

  test('BIRD routes reach us, with their AS_PATH and communities', async () => {
    const routes = await waitFor(
      async () =>
        ((await speaker?.request<PathView[]>('routes')) ?? []).filter((r) => r.fromPeer !== 'local'),
      { describe: 'BIRD routes at our speaker', until: (rs) => rs.length === 2 },
    );
    const v4 = routes.find((r) => r.prefix === '10.50.0.0/24');
    const v6 = routes.find((r) => r.prefix === '2001:db8:50::/48');
    expect(v4).toMatchObject({
      fromPeer: '192.0.2.2',
      nextHop: '192.0.2.2',
      asPath: '64513',
      communities: ['64513:7'],
    });
    expect(v6).toMatchObject({
      fromPeer: '2001:db8::2',
      nextHop: '2001:db8::2',
      largeCommunities: ['64513:1:1'],
    });
  });

  test('our routes reach BIRD with our communities and large communities', async () => {
    const routes = await waitFor(() => birdRoutes(bird), {
      describe: 'our routes in BIRD',
      until: (rs) =>
        rs.some((r) => r.prefix === '10.244.1.0/24') && rs.some((r) => r.prefix === '2001:db8:244::/48'),
    });
    const v4 = routes.find((r) => r.prefix === '10.244.1.0/24');
    expect(v4?.asPath).toEqual([OUR_AS]);
    expect(v4?.bgpNextHop).toEqual(['192.0.2.1']);
    expect(v4?.communities).toEqual([[64512, 100]]);
    expect(v4?.largeCommunities).toEqual([[OUR_AS, 1, 2]]);
    const v6 = routes.find((r) => r.prefix === '2001:db8:244::/48');
    expect(v6?.bgpNextHop[0]).toBe('2001:db8::1');
    expect(v6?.communities).toEqual([[64512, 200]]);
  });

  test('on a hard stop BIRD shows our Cease with the shutdown message, and the process exits', async () => {
    const s = speaker;
    if (s === undefined) throw new Error('no speaker');
    // A hard stop: a graceful one closes the session to BIRD (graceful restart without the N
    // bit) without a NOTIFICATION (bgp-graceful-notification.test.ts).
    await s.request('stop', { message: 'margay maintenance', hardReset: true });
    s.child.stdin?.end();
    const status = await waitFor(() => birdProtocol(bird, 'm4'), {
      describe: 'BIRD m4 down with our Cease',
      until: (p) => p.bgpState !== 'Established' && p.lastError !== undefined,
    });
    expect(status.lastError).toBe('Received: Administrative shutdown');
    // BIRD logs the RFC 9003 shutdown communication.
    expect(readFileSync(bird.logFile, 'utf8')).toContain(
      'm4: Received: Administrative shutdown: "margay maintenance"',
    );
    const code = await Promise.race([s.exited, new Promise((r) => setTimeout(() => r('timeout'), 5_000))]);
    expect(code).toBe(0);
  });
});
