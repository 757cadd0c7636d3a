// The session layer against a raw BGP peer the test controls byte by byte: a peer that goes
// silent (hold timer), sends malformed UPDATEs (RFC 4271 §6 / RFC 7606), too many prefixes
// (RFC 4486), asks for a route refresh (RFC 2918 / RFC 7313), restarts (RFC 4724), and opens
// with AS 0 (RFC 7607).
import { afterEach, describe, expect, test } from 'vitest';
import { DiagnosticChannel } from '../../../../bgp/speaker/diagnostics.ts';
import type { Speaker } from '../../../../bgp/speaker/speaker.ts';
import type { PeerConfig, SpeakerOptions } from '../../../../bgp/speaker/types.ts';
import {
  type Capability,
  DEFAULT_CODEC_OPTIONS,
  encodeEndOfRib,
  encodeHardReset,
  encodeNotification,
  encodeOpen,
  encodeRouteRefresh,
  UpdateWriter,
} from '../../../../bgp/wire/index.ts';
import { ManualClock } from '../../../support/manual-clock.ts';
import {
  collect,
  peerOf,
  portOf,
  RawPeer,
  startSpeaker,
  stateOf,
  stopAll,
  waitFor,
} from '../speaker/helpers.ts';

const raws: RawPeer[] = [];
afterEach(async () => {
  await stopAll();
  await Promise.all(raws.splice(0).map((r) => r.close()));
});

const BASE_CAPS: Capability[] = [
  { kind: 'multiprotocol', afi: 1, safi: 1 },
  { kind: 'fourOctetAs', asn: 64513 },
];

function grCap(restartTime: number, restartState = false, notification = false): Capability {
  return {
    kind: 'gracefulRestart',
    restartState,
    notification,
    restartTime,
    families: [{ afi: 1, safi: 1, forwardingPreserved: true }],
  };
}

function update(prefixes: readonly string[]): Uint8Array {
  const w = new UpdateWriter({ ...DEFAULT_CODEC_OPTIONS, fourOctetAs: true });
  w.beginReach({ origin: 0, asPath: [{ type: 2, asns: [64513] }] }, 'ipv4-unicast', '127.0.0.1');
  for (const p of prefixes) expect(w.addPrefix(p)).toBe(true);
  return w.finish();
}

/** A speaker with one passive peer 127.0.0.1 (AS 64513) and a raw peer that establishes with it. */
async function establish(
  opts: {
    speaker?: Partial<SpeakerOptions>;
    peer?: Partial<PeerConfig>;
    caps?: Capability[];
    holdTime?: number;
  } = {},
  existing?: Speaker,
): Promise<{ speaker: Speaker; raw: RawPeer }> {
  const speaker =
    existing ??
    (await startSpeaker({ asn: 64512, routerId: '192.0.2.1', ...opts.speaker }, [
      { address: '127.0.0.1', asn: 64513, passive: true, ...opts.peer },
    ]));
  const raw = await RawPeer.connect(portOf(speaker));
  raws.push(raw);
  raw.sendOpen({
    asn: 64513,
    routerId: '192.0.2.9',
    holdTime: opts.holdTime ?? 90,
    capabilities: opts.caps ?? BASE_CAPS,
  });
  await waitFor(() => raw.received.some((m) => m.type === 'open'), 'the speaker OPEN');
  raw.sendKeepalive();
  await waitFor(() => stateOf(speaker) === 'Established', 'Established');
  return { speaker, raw };
}

describe('session against a raw peer', () => {
  // The timer tests run on a ManualClock injected as the speaker's clock and timers: the clock
  // moves only by `advance`, so each deadline is checked to within TOLERANCE_MS of where it must
  // fall (the session arms its host timer a millisecond past a deadline), in no real time. With
  // `random: () => 0` the KEEPALIVE interval has no jitter: exactly a third of the hold time.
  const TOLERANCE_MS = 10;

  test('hold timer: a silent peer is torn down with Hold Timer Expired a hold time after Established', async () => {
    const clock = new ManualClock();
    const { raw, port } = await RawPeer.listen();
    raws.push(raw);
    const speaker = await startSpeaker(
      {
        asn: 64512,
        routerId: '192.0.2.1',
        listen: null,
        clock: clock.now,
        timers: clock.timers,
        random: () => 0,
      },
      [{ address: '127.0.0.1', asn: 64513, port, holdTime: 3 }],
    );
    await waitFor(() => raw.received.some((m) => m.type === 'open'), 'the speaker OPEN');
    raw.sendOpen({ asn: 64513, routerId: '192.0.2.9', holdTime: 3 });
    raw.sendKeepalive();
    await waitFor(() => stateOf(speaker) === 'Established', 'Established');
    const sent = () => peerOf(speaker)?.messages.out ?? 0;
    const atUp = sent();
    const up = clock.now();
    const at = (ms: number) => clock.advance(up + ms - clock.now());
    // From now on the raw peer says nothing. A KEEPALIVE goes out at 1 s and at 2 s.
    at(1000 - TOLERANCE_MS);
    expect(sent()).toBe(atUp);
    at(1000 + TOLERANCE_MS);
    expect(sent()).toBe(atUp + 1);
    at(2000 + TOLERANCE_MS);
    expect(sent()).toBe(atUp + 2);
    // The HoldTimer runs out 3 s after the last message received.
    at(3000 - TOLERANCE_MS);
    expect(stateOf(speaker)).toBe('Established');
    at(3000 + TOLERANCE_MS);
    expect(stateOf(speaker)).not.toBe('Established');
    expect(peerOf(speaker)?.lastError).toBe('Error: Hold timer expired');
    await waitFor(() => raw.notifications.length > 0, 'NOTIFICATION at the raw peer');
    expect(raw.notifications[0]).toMatchObject({ code: 4, subcode: 0 });
  });

  test('hold timer: each message restarts it, and it expires a hold time after the last one', async () => {
    // With random 0.8 the KEEPALIVE interval is 800 ms (RFC 4271 §10 jitter, factor 0.8): after
    // the KEEPALIVE at 2.4 s the hold deadline (3 s) comes before the next KEEPALIVE (3.2 s), and
    // the host timer is armed for it. An UPDATE received at 2.5 s moves the hold deadline to 5.5 s
    // but leaves that timer in place (peer-session.ts #arm), so it fires with nothing due and must
    // be armed again: the KEEPALIVE at 3.2 s shows it was.
    const clock = new ManualClock();
    const { speaker, raw } = await establish({
      holdTime: 3,
      speaker: { clock: clock.now, timers: clock.timers, random: () => 0.8 },
    });
    const sent = () => peerOf(speaker)?.messages.out ?? 0;
    const atUp = sent();
    const up = clock.now();
    const at = (ms: number) => clock.advance(up + ms - clock.now());
    at(2400 + TOLERANCE_MS);
    expect(sent()).toBe(atUp + 3);
    at(2500);
    raw.send(update(['10.7.1.0/24']));
    await waitFor(() => speaker.routes().length === 1, 'the UPDATE applied');
    at(3000 + TOLERANCE_MS);
    expect(stateOf(speaker)).toBe('Established');
    expect(sent()).toBe(atUp + 3);
    at(3200 + TOLERANCE_MS);
    expect(sent()).toBe(atUp + 4);
    at(5500 - TOLERANCE_MS);
    expect(stateOf(speaker)).toBe('Established');
    at(5500 + TOLERANCE_MS);
    expect(stateOf(speaker)).not.toBe('Established');
    expect(peerOf(speaker)?.lastError).toBe('Error: Hold timer expired');
  });

  test('RFC 7606: a bad ORIGIN is treat-as-withdraw, the session stays up', async () => {
    const errors = collect(DiagnosticChannel.updateError);
    try {
      const { speaker, raw } = await establish();
      raw.send(update(['10.9.0.0/24']));
      await waitFor(() => speaker.routes().length === 1, 'the good route');
      const bad = update(['10.9.0.0/24']);
      // ORIGIN: flags 0x40, type 1, length 1, value → 7 (RFC 7606 §7.1).
      const at = bad.findIndex((b, i) => b === 0x40 && bad[i + 1] === 1 && bad[i + 2] === 1);
      expect(at).toBeGreaterThan(18);
      bad[at + 3] = 7;
      raw.send(bad);
      await waitFor(() => speaker.routes().length === 0, 'the route withdrawn');
      expect(stateOf(speaker)).toBe('Established');
      expect(raw.notifications).toEqual([]);
      expect(errors.messages).toContainEqual(
        expect.objectContaining({
          address: '127.0.0.1',
          action: 'treat-as-withdraw',
          typeCode: 1,
          prefixes: 1,
        }),
      );
    } finally {
      errors.close();
    }
  });

  test('a Withdrawn Routes Length past the message resets with UPDATE / Malformed Attribute List', async () => {
    const { speaker, raw } = await establish();
    const bad = update(['10.9.0.0/24']);
    bad[19] = 0xff;
    bad[20] = 0xff;
    raw.send(bad);
    await waitFor(() => raw.notifications.length > 0, 'NOTIFICATION');
    expect(raw.notifications[0]).toMatchObject({ code: 3, subcode: 1 });
    await waitFor(() => stateOf(speaker) !== 'Established', 'session reset');
    expect(peerOf(speaker)?.lastError).toBe('Error: Malformed attribute list');
    // The speaker is fine: a new connection establishes.
    await establish({}, speaker);
  });

  test('max prefix: Cease / Maximum Number of Prefixes Reached (RFC 4486)', async () => {
    const { speaker, raw } = await establish({ peer: { maxPrefix: 2 } });
    raw.send(update(['10.9.1.0/24', '10.9.2.0/24', '10.9.3.0/24']));
    await waitFor(() => raw.notifications.length > 0, 'NOTIFICATION');
    expect(raw.notifications[0]).toMatchObject({ code: 6, subcode: 1 });
    // RFC 4486 §4 Data: AFI 1, SAFI 1, the upper bound 2 as four octets.
    expect([...(raw.notifications[0]?.data ?? [])]).toEqual([0, 1, 1, 0, 0, 0, 2]);
    expect(peerOf(speaker)?.lastError).toBe(
      'Maximum number of prefixes reached: 3 ipv4-unicast prefixes, limit 2',
    );
    expect(peerOf(speaker)?.prefixLimit?.heldIdle).toMatchObject({ family: 'ipv4-unicast', seconds: 60 });
    await waitFor(() => speaker.routes().length === 0, 'routes flushed');
  });

  test('route refresh: the table is resent, framed by BoRR/EoRR with enhanced route refresh', async () => {
    const caps: Capability[] = [...BASE_CAPS, { kind: 'routeRefresh' }, { kind: 'enhancedRouteRefresh' }];
    const { speaker, raw } = await establish({ caps });
    speaker.setLocalRoutes([{ prefix: '10.244.0.0/24' }]);
    const updates = () => raw.received.filter((m) => m.type === 'update');
    // One UPDATE and End-of-RIB.
    await waitFor(() => updates().length === 2, 'initial table');
    raw.received.length = 0;
    raw.send(encodeRouteRefresh({ afi: 1, safi: 1 }));
    await waitFor(() => raw.received.length >= 3, 'the resend');
    expect(
      raw.received.slice(0, 3).map((m) => (m.type === 'routeRefresh' ? `rr${m.subtype}` : m.type)),
    ).toEqual(['rr1', 'update', 'rr2']);
    const resent = raw.received[1];
    expect(resent?.type === 'update' && resent.reach[0]?.prefixes.toArray()).toEqual(['10.244.0.0/24']);
  });

  test('graceful restart: stale routes survive the restart, End-of-RIB removes the ones not resent', async () => {
    const caps = [...BASE_CAPS, grCap(5)];
    const { speaker, raw } = await establish({ caps });
    raw.send(update(['10.1.0.0/24', '10.2.0.0/24']));
    await waitFor(() => speaker.routes().length === 2, 'routes learned');
    // The peer dies without a NOTIFICATION.
    raw.socket?.destroy();
    await waitFor(() => stateOf(speaker) !== 'Established', 'session down');
    expect(peerOf(speaker)?.lastError).toMatch(/^Connection closed/);
    const stale = speaker.routes();
    expect(stale.map((r) => [r.prefix, r.stale])).toEqual([
      ['10.1.0.0/24', true],
      ['10.2.0.0/24', true],
    ]);
    expect(peerOf(speaker)?.prefixes.received).toBe(2);

    // It comes back (R bit set), resends one route, then End-of-RIB.
    const second = await establish({ caps: [...BASE_CAPS, grCap(5, true)] }, speaker);
    second.raw.send(update(['10.1.0.0/24']));
    await waitFor(() => speaker.routes().length === 3, 'the resent route next to the stale ones');
    second.raw.send(encodeEndOfRib('ipv4-unicast'));
    await waitFor(() => speaker.routes().length === 1, 'stale routes removed');
    expect(speaker.routes()[0]).toMatchObject({ prefix: '10.1.0.0/24', best: true });
    expect(speaker.routes()[0]?.stale).toBeUndefined();
  });

  test('graceful restart: a peer that does not return within its restart time loses its routes', async () => {
    const clock = new ManualClock();
    const { speaker, raw } = await establish({
      caps: [...BASE_CAPS, grCap(1)],
      speaker: { clock: clock.now, timers: clock.timers },
    });
    raw.send(update(['10.1.0.0/24']));
    await waitFor(() => speaker.routes().length === 1, 'route learned');
    raw.socket?.destroy();
    await waitFor(() => speaker.routes()[0]?.stale === true, 'stale');
    // RFC 4724 §4.2: kept for the peer's Restart Time (1 s), then deleted.
    clock.advance(1000 - TOLERANCE_MS);
    expect(speaker.routes().map((r) => [r.prefix, r.stale])).toEqual([['10.1.0.0/24', true]]);
    clock.advance(2 * TOLERANCE_MS);
    await waitFor(() => speaker.routes().length === 0, 'the stale route removed');
  });

  test('without graceful restart, a TCP failure flushes the routes at once', async () => {
    const { speaker, raw } = await establish();
    raw.send(update(['10.1.0.0/24']));
    await waitFor(() => speaker.routes().length === 1, 'route learned');
    raw.socket?.destroy();
    await waitFor(() => stateOf(speaker) !== 'Established', 'session down');
    expect(speaker.routes()).toEqual([]);
  });

  // RFC 8538: the raw peer advertises the N bit (the speaker does by default).
  const withN = [...BASE_CAPS, grCap(5, false, true)];

  test('RFC 8538 §4: N exchanged, a received Cease other than Hard Reset keeps the routes stale', async () => {
    const { speaker, raw } = await establish({ caps: withN });
    expect(peerOf(speaker)?.capabilities.local.join()).toMatch(/graceful-restart 120s N/);
    raw.send(update(['10.1.0.0/24']));
    await waitFor(() => speaker.routes().length === 1, 'route learned');
    raw.send(encodeNotification({ code: 6, subcode: 4, shutdownMessage: 'upgrade' }));
    await waitFor(() => stateOf(speaker) !== 'Established', 'session down');
    expect(peerOf(speaker)?.lastError).toBe('Received: Administrative reset: upgrade');
    expect(speaker.routes().map((r) => [r.prefix, r.stale])).toEqual([['10.1.0.0/24', true]]);
  });

  test('RFC 8538 §3: a received Hard Reset flushes the routes, its encapsulated Cease is shown', async () => {
    const { speaker, raw } = await establish({ caps: withN });
    raw.send(update(['10.1.0.0/24']));
    await waitFor(() => speaker.routes().length === 1, 'route learned');
    raw.send(encodeHardReset({ code: 6, subcode: 2, shutdownMessage: 'decommissioned' }));
    await waitFor(() => stateOf(speaker) !== 'Established', 'session down');
    expect(peerOf(speaker)?.lastError).toBe('Received: Hard reset (Administrative shutdown): decommissioned');
    await waitFor(() => speaker.routes().length === 0, 'routes flushed');
  });

  test('RFC 8538 §4: N exchanged, a NOTIFICATION we send keeps the routes stale too', async () => {
    const { speaker, raw } = await establish({ caps: withN });
    raw.send(update(['10.1.0.0/24']));
    await waitFor(() => speaker.routes().length === 1, 'route learned');
    // A message of unknown type 9: Message Header Error / Bad Message Type (RFC 4271 §6.1).
    const bad = new Uint8Array(19).fill(0xff);
    bad[16] = 0;
    bad[17] = 19;
    bad[18] = 9;
    raw.send(bad);
    await waitFor(() => raw.notifications.length > 0, 'NOTIFICATION');
    expect(raw.notifications[0]).toMatchObject({ code: 1, subcode: 3 });
    await waitFor(() => stateOf(speaker) !== 'Established', 'session down');
    expect(speaker.routes().map((r) => [r.prefix, r.stale])).toEqual([['10.1.0.0/24', true]]);
  });

  test('without the N bit from the peer, a received Cease flushes the routes (RFC 4724)', async () => {
    const { speaker, raw } = await establish({ caps: [...BASE_CAPS, grCap(5)] });
    raw.send(update(['10.1.0.0/24']));
    await waitFor(() => speaker.routes().length === 1, 'route learned');
    raw.send(encodeNotification({ code: 6, subcode: 4 }));
    await waitFor(() => stateOf(speaker) !== 'Established', 'session down');
    await waitFor(() => speaker.routes().length === 0, 'routes flushed');
  });

  test('RFC 8538 §5.1: max prefix with N exchanged is a Hard Reset encapsulating Cease / Max Prefixes', async () => {
    const { speaker, raw } = await establish({ caps: withN, peer: { maxPrefix: 1 } });
    raw.send(update(['10.9.1.0/24', '10.9.2.0/24']));
    await waitFor(() => raw.notifications.length > 0, 'NOTIFICATION');
    expect(raw.notifications[0]).toMatchObject({
      code: 6,
      subcode: 9,
      encapsulated: { code: 6, subcode: 1 },
    });
    expect(peerOf(speaker)?.lastError).toBe(
      'Hard reset (Maximum number of prefixes reached): 2 ipv4-unicast prefixes, limit 1',
    );
    await waitFor(() => speaker.routes().length === 0, 'routes flushed');
  });
});

describe('OPEN with AS 0 (RFC 7607 §2)', () => {
  test.each([
    ['My Autonomous System 0, the capability naming the configured AS', 0, 64513],
    ['the capability naming AS 0', 64513, 0],
  ])('%s: NOTIFICATION 2/2 Bad Peer AS', async (_name, myAsn, capabilityAsn) => {
    const speaker = await startSpeaker({ asn: 64512, routerId: '192.0.2.1' }, [
      { address: '127.0.0.1', asn: 64513, passive: true },
    ]);
    const raw = await RawPeer.connect(portOf(speaker));
    raws.push(raw);
    raw.send(
      encodeOpen({
        version: 4,
        myAsn,
        holdTime: 90,
        bgpId: '192.0.2.9',
        capabilities: [
          { kind: 'multiprotocol', afi: 1, safi: 1 },
          { kind: 'fourOctetAs', asn: capabilityAsn },
        ],
      }),
    );
    const notification = await waitFor(() => raw.notifications[0], 'the NOTIFICATION');
    expect([notification.code, notification.subcode]).toEqual([2, 2]);
    expect(stateOf(speaker)).not.toBe('Established');
  });
});
