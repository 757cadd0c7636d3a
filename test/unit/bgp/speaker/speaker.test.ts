// Two real Speakers over 127.0.0.1 (each on its own ephemeral port, the peer configured with
// `port`): sessions, routes, timers, collision, the declarative peer diff, shutdown.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, onTestFinished, test } from 'vitest';
import { DiagnosticChannel } from '../../../../bgp/speaker/diagnostics.ts';
import type { Speaker } from '../../../../bgp/speaker/speaker.ts';
import type { SpeakerEvents } from '../../../../bgp/speaker/types.ts';
import { collect, peerOf, portOf, startSpeaker, stateOf, stopAll, waitFor } from './helpers.ts';

afterEach(stopAll);

const C = (asn: number, value: number) => asn * 65536 + value;

/** The TCP sockets opened from now on, at both ends (net's diagnostics channels), and how many have closed. */
function tcpSockets(): { opened: () => number; closed: () => number } {
  let opened = 0;
  let closed = 0;
  const track = (message: unknown) => {
    opened++;
    (message as { socket: Socket }).socket.once('close', () => closed++);
  };
  const channels = ['net.client.socket', 'net.server.socket'];
  for (const name of channels) subscribe(name, track);
  onTestFinished(() => {
    for (const name of channels) unsubscribe(name, track);
  });
  return { opened: () => opened, closed: () => closed };
}

/** A and B peering with each other; B is passive so only A connects (no collision). */
async function pair(
  a: { asn: number; holdTime?: number },
  b: { asn: number; holdTime?: number },
): Promise<{ a: Speaker; b: Speaker }> {
  const sb = await startSpeaker({ asn: b.asn, routerId: '192.0.2.2' });
  const sa = await startSpeaker({ asn: a.asn, routerId: '192.0.2.1' });
  sb.setPeers([
    {
      address: '127.0.0.1',
      asn: a.asn,
      passive: true,
      ...(b.holdTime !== undefined && { holdTime: b.holdTime }),
    },
  ]);
  sa.setPeers([
    {
      address: '127.0.0.1',
      asn: b.asn,
      port: portOf(sb),
      ...(a.holdTime !== undefined && { holdTime: a.holdTime }),
    },
  ]);
  await waitFor(() => stateOf(sa) === 'Established' && stateOf(sb) === 'Established', 'Established');
  return { a: sa, b: sb };
}

describe('Speaker pairs over 127.0.0.1', () => {
  test('iBGP: routes flow with their communities, and are withdrawn', async () => {
    const { a, b } = await pair({ asn: 64512 }, { asn: 64512 });
    a.setLocalRoutes([
      {
        prefix: '10.244.1.0/24',
        communities: [C(64512, 100)],
        largeCommunities: [{ globalAdmin: 64512, localData1: 1, localData2: 2 }],
        med: 10,
        localPref: 200,
      },
      { prefix: '10.244.2.0/24' },
    ]);
    const r = await waitFor(() => {
      const routes = b.routes({ prefix: '10.244.1.0/24' });
      return routes.length === 1 && routes[0];
    }, 'route at B');
    expect(r).toMatchObject({
      nextHop: '127.0.0.1',
      asPath: '',
      origin: 'igp',
      med: 10,
      localPref: 200,
      communities: ['64512:100'],
      largeCommunities: ['64512:1:2'],
      fromPeer: '127.0.0.1',
      best: true,
    });
    await waitFor(() => b.routes().length === 2, 'both routes at B');
    expect(peerOf(b)?.prefixes).toMatchObject({ received: 2, accepted: 2 });
    expect(peerOf(a)?.prefixes.advertised).toBe(2);
    expect(peerOf(a)?.type).toBe('ibgp');

    a.setLocalRoutes([{ prefix: '10.244.2.0/24' }]);
    await waitFor(() => b.routes().length === 1, 'withdrawal at B');
    expect(b.routes()[0]?.prefix).toBe('10.244.2.0/24');
  });

  test('eBGP with a 4-octet AS above 65535: AS_PATH, next hop self, events', async () => {
    const events: SpeakerEvents['bestPathChanged'][] = [];
    const { a, b } = await pair({ asn: 4_200_000_001 }, { asn: 64513 });
    b.on('bestPathChanged', (e) => events.push(e));
    a.setLocalRoutes([{ prefix: '2001:db8:1::/48' }, { prefix: '10.1.0.0/16', communities: [C(65000, 7)] }]);
    const route = await waitFor(() => b.routes({ prefix: '10.1.0.0/16' })[0], 'route at B');
    expect(route.asPath).toBe('4200000001');
    expect(route.communities).toEqual(['65000:7']);
    // IPv6 was not configured for the session: not sent.
    expect(b.routes({ family: 'ipv6-unicast' })).toEqual([]);
    const status = peerOf(b);
    expect(status).toMatchObject({ asn: 4_200_000_001, type: 'ebgp', remoteRouterId: '192.0.2.1' });
    expect(status?.capabilities.remote).toContain('4-octet-as 4200000001');
    await waitFor(() => events.length === 1, 'bestPathChanged');
    expect(events[0]).toMatchObject({ prefix: '10.1.0.0/16', nextHops: ['127.0.0.1'] });
    expect(events[0]?.best?.asPath).toBe('4200000001');
  });

  test('hold time: the smaller offer wins, keepalive is a third of it', async () => {
    const { a, b } = await pair({ asn: 64512, holdTime: 9 }, { asn: 64513, holdTime: 30 });
    for (const s of [a, b]) expect(peerOf(s)).toMatchObject({ holdTime: 9, keepalive: 3 });
  });

  test('collision: both sides connect at once, exactly one session survives', async () => {
    const notifications = collect(DiagnosticChannel.notification);
    onTestFinished(() => notifications.close());
    const sockets = tcpSockets();
    const a = await startSpeaker({ asn: 64512, routerId: '192.0.2.1' });
    const b = await startSpeaker({ asn: 64513, routerId: '192.0.2.2' });
    const ups = { a: 0, b: 0 };
    const downs: string[] = [];
    const count = (name: 'a' | 'b') => (e: SpeakerEvents['peerStateChanged']) => {
      if (e.to === 'Established') ups[name]++;
      if (e.from === 'Established') downs.push(`${name}: ${e.reason}`);
    };
    a.on('peerStateChanged', count('a'));
    b.on('peerStateChanged', count('b'));
    // Both active, configured in the same tick: both connect.
    a.setPeers([{ address: '127.0.0.1', asn: 64513, port: portOf(b) }]);
    b.setPeers([{ address: '127.0.0.1', asn: 64512, port: portOf(a) }]);
    await waitFor(() => stateOf(a) === 'Established' && stateOf(b) === 'Established', 'Established');
    a.setLocalRoutes([{ prefix: '10.0.0.0/8' }]);
    await waitFor(() => b.routes().length === 1, 'route over the surviving connection');
    // Once the losing connection is closed at both ends nothing of it can reach a session any
    // more: whatever it was going to do to the surviving session has been done. Nothing flapped.
    await waitFor(() => sockets.closed() === 2, 'the losing connection closed at both ends');
    expect(sockets.opened()).toBe(4);
    expect(ups).toEqual({ a: 1, b: 1 });
    expect(downs).toEqual([]);
    expect(stateOf(a)).toBe('Established');
    // There were two connections, and the one A (lower identifier) initiated was closed with
    // Cease / Connection Collision Resolution (RFC 4271 §6.8).
    expect(notifications.messages).toContainEqual(
      expect.objectContaining({ direction: 'sent', code: 6, subcode: 7 }),
    );
    expect(peerOf(a)?.lastError).toBeUndefined();
  });

  test('IPv6 transport (::1): both families, IPv4 routes with a configured IPv4 next hop', async () => {
    const b = await startSpeaker({ asn: 64513, routerId: '192.0.2.2', listen: { address: '::1', port: 0 } });
    const a = await startSpeaker({ asn: 64512, routerId: '192.0.2.1', listen: null });
    const families = ['ipv4-unicast', 'ipv6-unicast'] as const;
    b.setPeers([{ address: '::1', asn: 64512, passive: true, families: [...families] }]);
    a.setPeers([
      {
        address: '::1',
        asn: 64513,
        port: portOf(b),
        families: [...families],
        nextHop: { ipv4: '192.0.2.1' },
      },
    ]);
    a.setLocalRoutes([{ prefix: '2001:db8:1::/48' }, { prefix: '10.0.0.0/24' }]);
    await waitFor(() => b.routes().length === 2, 'both routes at B');
    expect(b.routes({ family: 'ipv6-unicast' })[0]).toMatchObject({ nextHop: '::1', fromPeer: '::1' });
    expect(b.routes({ family: 'ipv4-unicast' })[0]).toMatchObject({ nextHop: '192.0.2.1', fromPeer: '::1' });
    expect(peerOf(a, '::1')?.capabilities.local).toContain('extended-next-hop ipv4-unicast via ipv6');
    expect(peerOf(a, '::1')?.families).toEqual(['ipv4-unicast', 'ipv6-unicast']);
  });

  test('setPeers: removal sends a Hard Reset (Peer De-configured), a change Other Configuration Change', async () => {
    const { a, b } = await pair({ asn: 64512 }, { asn: 64513 });
    const sessionsBefore = peerOf(b)?.messages.in ?? 0;
    // Description only: no reset.
    a.setPeers([{ address: '127.0.0.1', asn: 64513, port: portOf(b), description: 'tor-1' }]);
    expect(peerOf(a)?.description).toBe('tor-1');
    expect(stateOf(a)).toBe('Established');

    // A real change: reset with subcode 6, then back up with the new setting.
    a.setPeers([{ address: '127.0.0.1', asn: 64513, port: portOf(b), holdTime: 30, description: 'tor-1' }]);
    await waitFor(() => peerOf(b)?.lastError === 'Received: Other configuration change', 'subcode 6 at B');
    await waitFor(() => stateOf(a) === 'Established' && peerOf(a)?.holdTime === 30, 'back up');
    expect(peerOf(b)?.messages.in).toBeGreaterThan(sessionsBefore);

    a.setPeers([]);
    expect(a.peers()).toEqual([]);
    // RFC 8538 §5.1: with the N bit exchanged, Peer De-configured goes out as a Hard Reset.
    await waitFor(
      () => peerOf(b)?.lastError === 'Received: Hard reset (Peer de-configured)',
      'Hard Reset (subcode 3) at B',
    );
    expect(stateOf(b)).not.toBe('Established');
  });

  test('setPeers rejects an invalid set and keeps the last good one', async () => {
    const a = await startSpeaker({ asn: 64512, routerId: '192.0.2.1' });
    a.setPeers([{ address: '192.0.2.9', asn: 64513, passive: true }]);
    expect(() => a.setPeers([{ address: '192.0.2.10', asn: 0 }])).toThrow(/peers\[0\]\.asn/);
    expect(() =>
      a.setPeers([
        { address: '192.0.2.10', asn: 1 },
        { address: '192.0.2.10', asn: 2 },
      ]),
    ).toThrow(/configured twice/);
    expect(() => a.setPeers([{ address: '192.0.2.10', asn: 1, holdTime: 2 }])).toThrow(/holdTime/);
    expect(a.peers().map((p) => p.address)).toEqual(['192.0.2.9']);
  });

  test('stop: the peer shows our Cease with the shutdown message', async () => {
    const notifications = collect(DiagnosticChannel.notification);
    try {
      const { a, b } = await pair({ asn: 64512 }, { asn: 64513 });
      await a.stop({ message: 'maintenance window' });
      await waitFor(() => stateOf(b) !== 'Established', 'B notices');
      // The default stop is graceful (RFC 8538 §5.1: Administrative Reset); graceful-notification.test.ts.
      expect(peerOf(b)?.lastError).toBe('Received: Administrative reset: maintenance window');
      expect(notifications.messages).toContainEqual(
        expect.objectContaining({
          direction: 'received',
          code: 6,
          subcode: 4,
          shutdownMessage: 'maintenance window',
        }),
      );
    } finally {
      notifications.close();
    }
  });

  test('an unconfigured address is refused, with the reason published', async () => {
    const refused = collect(DiagnosticChannel.connectionRefused);
    try {
      const a = await startSpeaker({ asn: 64512, routerId: '192.0.2.1' }, [
        { address: '127.0.0.1', asn: 64513, passive: true },
      ]);
      const { RawPeer } = await import('./helpers.ts');
      const raw = await RawPeer.connect(portOf(a), '127.0.0.2');
      await waitFor(() => raw.closed, 'connection closed by the speaker');
      expect(refused.messages).toContainEqual(
        expect.objectContaining({ remoteAddress: '127.0.0.2', reason: '127.0.0.2 is not a configured peer' }),
      );
      await raw.close();
    } finally {
      refused.close();
    }
  });
});
