// RFC 8538 between two real Speakers over 127.0.0.1: A stops the way `margay agent` does on
// SIGTERM and comes back as a new Speaker (a restarted process); B is the receiving speaker.
// - graceful stop (the default): Cease / Administrative Reset, B keeps A's routes as stale, the
//   restarted A (R bit) resends and sends End-of-RIB, the stale ones go;
// - hard stop: Cease / Hard Reset, B flushes at once;
// - N not exchanged: graceful stop closes the connection without a NOTIFICATION, so B keeps A's
//   routes as a graceful restart helper (RFC 4724 §4.2); hard stop: Administrative Shutdown, B
//   flushes; a restart time of 0 (per peer) makes even the graceful stop a Cease.
import { afterEach, describe, expect, onTestFinished, test } from 'vitest';
import { DiagnosticChannel } from '../../../../bgp/speaker/diagnostics.ts';
import type { Speaker } from '../../../../bgp/speaker/speaker.ts';
import type { SpeakerOptions } from '../../../../bgp/speaker/types.ts';
import { collect, peerOf, portOf, startSpeaker, stateOf, stopAll, waitFor } from './helpers.ts';

afterEach(stopAll);

const A_OPTIONS = {
  asn: 64512,
  routerId: '192.0.2.1',
  listen: null,
  gracefulRestartForwardingPreserved: true,
};

/** B listens with A as a passive peer; A connects and announces two routes. */
async function pair(
  a: Partial<SpeakerOptions> = {},
  b: Partial<SpeakerOptions> = {},
): Promise<{ a: Speaker; b: Speaker; startA: (o?: Partial<SpeakerOptions>) => Promise<Speaker> }> {
  const sb = await startSpeaker({ asn: 64513, routerId: '192.0.2.2', ...b }, [
    { address: '127.0.0.1', asn: 64512, passive: true },
  ]);
  const startA = async (o: Partial<SpeakerOptions> = {}) =>
    startSpeaker({ ...A_OPTIONS, ...a, ...o }, [{ address: '127.0.0.1', asn: 64513, port: portOf(sb) }]);
  const sa = await startA();
  sa.setLocalRoutes([{ prefix: '10.244.1.0/24' }, { prefix: '10.244.9.0/24' }]);
  await waitFor(() => stateOf(sb) === 'Established' && sb.routes().length === 2, 'A routes at B');
  return { a: sa, b: sb, startA };
}

const staleOf = (b: Speaker) => b.routes().map((r) => [r.prefix, r.stale === true]);

describe('RFC 8538 graceful stop between two speakers', () => {
  test('graceful stop: B keeps A routes stale; restarted A (R bit) refreshes them with End-of-RIB', async () => {
    const { a, b, startA } = await pair();
    expect(peerOf(b)?.capabilities.remote.join()).toMatch(/graceful-restart 120s N ipv4-unicast\(F\)/);
    await a.stop({ message: 'margay agent restarting' });
    await waitFor(() => stateOf(b) !== 'Established', 'B notices');
    // RFC 8538 §5.1: Administrative Reset is the graceful Cease.
    expect(peerOf(b)?.lastError).toBe('Received: Administrative reset: margay agent restarting');
    expect(staleOf(b)).toEqual([
      ['10.244.1.0/24', true],
      ['10.244.9.0/24', true],
    ]);

    // A comes back as a new process that kept its forwarding state, announcing one route only.
    const a2 = await startA({ gracefulRestartRestarting: true });
    const caps = () => peerOf(b)?.capabilities.remote.join() ?? '';
    a2.setLocalRoutes([{ prefix: '10.244.1.0/24' }]);
    await waitFor(() => stateOf(b) === 'Established', 'A back');
    // RFC 4724 §4.1: the R bit in the OPEN after the restart.
    expect(caps()).toMatch(/graceful-restart 120s R N/);
    await waitFor(() => b.routes().length === 1, 'End-of-RIB removed the route A no longer has');
    expect(staleOf(b)).toEqual([['10.244.1.0/24', false]]);
    expect(peerOf(b)?.endOfRibReceived).toEqual(['ipv4-unicast']);
    // The restart is over for this peer: the next OPEN has no R bit.
    expect(peerOf(a2)?.capabilities.local.join()).toMatch(/graceful-restart 120s N ipv4-unicast\(F\)/);
  });

  test('hard stop: Cease / Hard Reset encapsulating Administrative Shutdown, B flushes at once', async () => {
    const notifications = collect(DiagnosticChannel.notification);
    onTestFinished(() => notifications.close());
    const { a, b } = await pair();
    await a.stop({ message: 'node removed', hardReset: true });
    await waitFor(() => stateOf(b) !== 'Established', 'B notices');
    expect(peerOf(b)?.lastError).toBe('Received: Hard reset (Administrative shutdown): node removed');
    await waitFor(() => b.routes().length === 0, 'A routes flushed at B');
    expect(notifications.messages).toContainEqual(
      expect.objectContaining({
        direction: 'received',
        code: 6,
        subcode: 9,
        encapsulated: { code: 6, subcode: 2 },
        shutdownMessage: 'node removed',
      }),
    );
  });

  for (const side of ['A', 'B'] as const) {
    test(`N not exchanged (${side} does not advertise it): the stop closes without NOTIFICATION, B keeps the routes`, async () => {
      const notifications = collect(DiagnosticChannel.notification);
      onTestFinished(() => notifications.close());
      const off = { gracefulNotification: false };
      const { a, b } = await pair(side === 'A' ? off : {}, side === 'B' ? off : {});
      await a.stop({ message: 'restarting' });
      await waitFor(() => stateOf(b) !== 'Established', 'B notices');
      // RFC 4724 §4.2: a session that ends without a NOTIFICATION leaves B a helper.
      expect(peerOf(b)?.lastError).toMatch(/^Connection closed/);
      expect(notifications.messages).toEqual([]);
      expect(staleOf(b)).toEqual([
        ['10.244.1.0/24', true],
        ['10.244.9.0/24', true],
      ]);
    });
  }

  test('N not exchanged, hard stop: Administrative Shutdown, B flushes', async () => {
    const { a, b } = await pair({ gracefulNotification: false });
    await a.stop({ message: 'node removed', hardReset: true });
    await waitFor(() => stateOf(b) !== 'Established', 'B notices');
    expect(peerOf(b)?.lastError).toBe('Received: Administrative shutdown: node removed');
    await waitFor(() => b.routes().length === 0, 'A routes flushed at B');
  });
});

describe('per-peer restart time', () => {
  test("the OPEN carries the peer's restartTime; with 0 a stop is Administrative Shutdown and B flushes", async () => {
    const sb = await startSpeaker({ asn: 64513, routerId: '192.0.2.2', gracefulNotification: false }, [
      { address: '127.0.0.1', asn: 64512, passive: true },
    ]);
    const start = (restartTime: number) =>
      startSpeaker({ ...A_OPTIONS, gracefulRestartTime: 200 }, [
        { address: '127.0.0.1', asn: 64513, port: portOf(sb), gracefulRestart: { restartTime } },
      ]);
    const a = await start(300);
    await waitFor(() => stateOf(sb) === 'Established', 'A up');
    expect(peerOf(sb)?.capabilities.remote.join()).toMatch(/graceful-restart 300s/);
    await a.stop();
    await waitFor(() => stateOf(sb) !== 'Established', 'B notices');

    const a0 = await start(0);
    a0.setLocalRoutes([{ prefix: '10.244.1.0/24' }]);
    await waitFor(() => stateOf(sb) === 'Established' && sb.routes().length === 1, 'A back with a route');
    // Restart time 0 (and no long-lived stale time): no Graceful Restart capability at all.
    expect(peerOf(sb)?.capabilities.remote.join()).not.toMatch(/graceful-restart/);
    await a0.stop({ message: 'restarting' });
    await waitFor(() => stateOf(sb) !== 'Established', 'B notices');
    expect(peerOf(sb)?.lastError).toBe('Received: Administrative shutdown: restarting');
    await waitFor(() => sb.routes().length === 0, 'A routes flushed at B');
  });
});
