// The session layer against a raw BGP peer the test controls byte by byte: a peer that goes
// silent (hold timer), sends malformed UPDATEs (RFC 4271 §6 / RFC 7606), too many prefixes
// (RFC 4486), asks for a route refresh (RFC 2918 / RFC 7313), and restarts (RFC 4724).
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
  encodeRouteRefresh,
  UpdateWriter,
} from '../../../../bgp/wire/index.ts';
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
  test('hold timer: a peer that goes silent is torn down with Hold Timer Expired', async () => {
    const { raw, port } = await RawPeer.listen();
    raws.push(raw);
    const speaker = await startSpeaker({ asn: 64512, routerId: '192.0.2.1', listen: null }, [
      { address: '127.0.0.1', asn: 64513, port, holdTime: 3 },
    ]);
    await waitFor(() => raw.received.some((m) => m.type === 'open'), 'the speaker OPEN');
    raw.sendOpen({ asn: 64513, routerId: '192.0.2.9', holdTime: 3 });
    raw.sendKeepalive();
    await waitFor(() => stateOf(speaker) === 'Established', 'Established');
    const upAt = Date.now();
    // From now on the raw peer says nothing: frozen.
    await waitFor(() => stateOf(speaker) !== 'Established', 'hold timer expiry', 6_000);
    const elapsed = Date.now() - upAt;
    expect(elapsed).toBeGreaterThanOrEqual(2_900);
    expect(elapsed).toBeLessThan(4_500);
    expect(peerOf(speaker)?.lastError).toBe('Error: Hold timer expired');
    await waitFor(() => raw.notifications.length > 0, 'NOTIFICATION at the raw peer');
    expect(raw.notifications[0]).toMatchObject({ code: 4, subcode: 0 });
    // The speaker kept sending KEEPALIVEs at a third of the hold time meanwhile.
    expect(raw.received.filter((m) => m.type === 'keepalive').length).toBeGreaterThanOrEqual(2);
  });

  test('hold timer: each message restarts it, and it expires a hold time after the last one', async () => {
    // The host timer is not re-armed per message (peer-session.ts #arm): the one armed for the
    // first deadline fires early and must be re-armed for the deadline in force.
    const { speaker, raw } = await establish({ holdTime: 3 });
    let lastAt = Date.now();
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 800));
      raw.send(update([`10.7.${i}.0/24`]));
      lastAt = Date.now();
    }
    // 3.2 s after Established the session is still up: the first deadline was moved.
    expect(stateOf(speaker)).toBe('Established');
    await waitFor(() => stateOf(speaker) !== 'Established', 'hold timer expiry', 6_000);
    const elapsed = Date.now() - lastAt;
    expect(elapsed).toBeGreaterThanOrEqual(2_900);
    expect(elapsed).toBeLessThan(4_500);
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
    expect(peerOf(speaker)?.lastError).toBe(
      'Error: Maximum number of prefixes reached: 3 prefixes, maximum 2',
    );
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
    const { speaker, raw } = await establish({ caps: [...BASE_CAPS, grCap(1)] });
    raw.send(update(['10.1.0.0/24']));
    await waitFor(() => speaker.routes().length === 1, 'route learned');
    raw.socket?.destroy();
    await waitFor(() => speaker.routes()[0]?.stale === true, 'stale');
    await waitFor(() => speaker.routes().length === 0, 'removed after the restart time', 3_000);
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
      'Error: Hard reset (Maximum number of prefixes reached): 2 prefixes, maximum 1',
    );
    await waitFor(() => speaker.routes().length === 0, 'routes flushed');
  });
});
