// Prefix limits (PeerConfig.maxPrefix): the idle-hold backoff as pure functions, the checks of
// the configuration, and the speaker against a raw peer on a ManualClock — teardown holds the
// peer Idle and refuses its connections until the hold ends, the hold doubles on a repeat, warn
// keeps the session and reports each crossing once.
import { afterEach, describe, expect, test } from 'vitest';
import {
  holdSeconds,
  maxPrefixData,
  maxPrefixProblem,
  nextHold,
  prefixLimitRules,
} from '../../../../bgp/speaker/max-prefix.ts';
import { peerProblem } from '../../../../bgp/speaker/peer-config.ts';
import type { Speaker } from '../../../../bgp/speaker/speaker.ts';
import type { PeerConfig } from '../../../../bgp/speaker/types.ts';
import { type Capability, DEFAULT_CODEC_OPTIONS, UpdateWriter } from '../../../../bgp/wire/index.ts';
import { ManualClock } from '../../../support/manual-clock.ts';
import { collect, peerOf, portOf, RawPeer, startSpeaker, stateOf, stopAll, waitFor } from './helpers.ts';

describe('hold backoff', () => {
  test('doubles from restartAfterSeconds on each repeat and stops at 15 minutes', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 40].map((r) => holdSeconds(60, r))).toEqual([
      60, 120, 240, 480, 900, 900, 900, 900,
    ]);
    expect([0, 1, 2].map((r) => holdSeconds(5, r))).toEqual([5, 10, 20]);
  });

  test('a configured time above 15 minutes is kept, not doubled', () => {
    expect([0, 1, 3].map((r) => holdSeconds(3600, r))).toEqual([3600, 3600, 3600]);
  });

  test('repeats count up while sessions are short and start over after 300 s Established', () => {
    let repeats = 0;
    const holds: number[] = [];
    for (const up of [1, 1, 1, 299]) {
      const h = nextHold(60, repeats, up);
      holds.push(h.seconds);
      repeats = h.repeats;
    }
    expect(holds).toEqual([60, 120, 240, 480]);
    const afterStable = nextHold(60, repeats, 300);
    expect(afterStable).toEqual({ seconds: 60, repeats: 1 });
    expect(nextHold(60, afterStable.repeats, 2)).toEqual({ seconds: 120, repeats: 2 });
  });

  test('the reset time can be given (what the speaker does not change)', () => {
    expect(nextHold(10, 3, 50, 40)).toEqual({ seconds: 10, repeats: 1 });
    expect(nextHold(10, 3, 30, 40)).toEqual({ seconds: 80, repeats: 4 });
  });
});

describe('configuration', () => {
  test('a number is that limit for each family of the peer, teardown, restart after 60 s', () => {
    expect(prefixLimitRules(100, ['ipv4-unicast', 'ipv6-unicast'])).toEqual([
      { family: 'ipv4-unicast', limit: 100, action: 'teardown', restartAfterSeconds: 60 },
      { family: 'ipv6-unicast', limit: 100, action: 'teardown', restartAfterSeconds: 60 },
    ]);
  });

  test('per family; limits of families the peer does not carry do not apply', () => {
    const config = {
      'ipv4-unicast': { limit: 10, action: 'warn' as const },
      'ipv6-unicast': { limit: 20, restartAfterSeconds: 5 },
    };
    expect(prefixLimitRules(config, ['ipv6-unicast'])).toEqual([
      { family: 'ipv6-unicast', limit: 20, action: 'teardown', restartAfterSeconds: 5 },
    ]);
  });

  test.each([
    [-1, 'maxPrefix', '-1 is not an integer in 0..4294967295'],
    [1.5, 'maxPrefix', '1.5 is not an integer in 0..4294967295'],
    [[10], 'maxPrefix', 'must be a number or an object keyed by family'],
    [
      { 'ipv4-multicast': { limit: 1 } },
      'maxPrefix.ipv4-multicast',
      'ipv4-multicast is not one of ipv4-unicast, ipv6-unicast',
    ],
    [
      { 'ipv4-unicast': { limit: 'x' } },
      'maxPrefix.ipv4-unicast.limit',
      'x is not an integer in 0..4294967295',
    ],
    [
      { 'ipv4-unicast': { limit: 1, action: 'restart' } },
      'maxPrefix.ipv4-unicast.action',
      "restart is not 'teardown' or 'warn'",
    ],
    [
      { 'ipv4-unicast': { limit: 1, restartAfterSeconds: 0 } },
      'maxPrefix.ipv4-unicast.restartAfterSeconds',
      '0 is not an integer in 1..65535',
    ],
    [
      { 'ipv6-unicast': { limit: 1, warningOnly: true } },
      'maxPrefix.ipv6-unicast.warningOnly',
      'is not a field (limit, action, restartAfterSeconds)',
    ],
  ])('%j is refused, naming the field', (maxPrefix, field, message) => {
    const peer = { address: '192.0.2.2', asn: 64513, maxPrefix } as unknown as PeerConfig;
    expect(peerProblem(peer)).toEqual({ field, message });
  });

  test('valid shapes are accepted', () => {
    expect(maxPrefixProblem(0)).toBeUndefined();
    expect(
      maxPrefixProblem({ 'ipv6-unicast': { limit: 5, action: 'warn', restartAfterSeconds: 1 } }),
    ).toBeUndefined();
  });

  test('RFC 4486 §4 Data: AFI (2 octets), SAFI (1), upper bound (4)', () => {
    expect([...maxPrefixData('ipv6-unicast', 70000)]).toEqual([0, 2, 1, 0, 1, 0x11, 0x70]);
  });
});

describe('speaker against a raw peer', () => {
  const raws: RawPeer[] = [];
  afterEach(async () => {
    await stopAll();
    await Promise.all(raws.splice(0).map((r) => r.close()));
  });

  const CAPS: Capability[] = [
    { kind: 'multiprotocol', afi: 1, safi: 1 },
    { kind: 'fourOctetAs', asn: 64513 },
  ];

  function update(prefixes: readonly string[]): Uint8Array {
    const w = new UpdateWriter({ ...DEFAULT_CODEC_OPTIONS, fourOctetAs: true });
    w.beginReach({ origin: 0, asPath: [{ type: 2, asns: [64513] }] }, 'ipv4-unicast', '127.0.0.1');
    for (const p of prefixes) expect(w.addPrefix(p)).toBe(true);
    return w.finish();
  }

  async function connect(speaker: Speaker): Promise<RawPeer> {
    const raw = await RawPeer.connect(portOf(speaker));
    raws.push(raw);
    raw.sendOpen({ asn: 64513, routerId: '192.0.2.9', holdTime: 90, capabilities: CAPS });
    return raw;
  }

  async function establish(speaker: Speaker): Promise<RawPeer> {
    const raw = await connect(speaker);
    await waitFor(() => raw.received.some((m) => m.type === 'open'), 'the speaker OPEN');
    raw.sendKeepalive();
    await waitFor(() => stateOf(speaker) === 'Established', 'Established');
    return raw;
  }

  async function start(clock: ManualClock, maxPrefix: PeerConfig['maxPrefix']): Promise<Speaker> {
    return startSpeaker(
      { asn: 64512, routerId: '192.0.2.1', clock: clock.now, timers: clock.timers, wallClock: clock.now },
      [{ address: '127.0.0.1', asn: 64513, passive: true, maxPrefix }],
    );
  }

  test('teardown: Idle and refusing connections for the hold, then up again; a repeat doubles the hold', async () => {
    const clock = new ManualClock();
    const refused = collect('margay.bgp.connectionRefused');
    const speaker = await start(clock, { 'ipv4-unicast': { limit: 2, restartAfterSeconds: 30 } });
    try {
      let raw = await establish(speaker);
      raw.send(update(['10.9.1.0/24', '10.9.2.0/24', '10.9.3.0/24']));
      await waitFor(() => raw.notifications.length > 0, 'NOTIFICATION');
      expect(raw.notifications[0]).toMatchObject({ code: 6, subcode: 1 });
      const held = peerOf(speaker)?.prefixLimit?.heldIdle;
      expect(held).toMatchObject({ family: 'ipv4-unicast', limit: 2, received: 3, seconds: 30 });
      expect(held?.until).toBe(clock.now() + 30_000);
      expect(peerOf(speaker)?.state).toBe('Idle');

      // The peer comes back at once: refused, with the reason, while the hold runs.
      clock.advance(29_000);
      const early = await RawPeer.connect(portOf(speaker));
      raws.push(early);
      await waitFor(() => refused.messages.length > 0, 'the refusal');
      expect(String((refused.messages[0] as { reason: string }).reason)).toContain('held Idle until');
      await waitFor(() => early.closed, 'refused connection closed');
      expect(peerOf(speaker)?.state).toBe('Idle');

      clock.advance(1_000);
      expect(peerOf(speaker)?.prefixLimit?.heldIdle).toBeUndefined();
      raw = await establish(speaker);
      raw.send(update(['10.9.1.0/24', '10.9.2.0/24', '10.9.3.0/24']));
      await waitFor(() => raw.notifications.length > 0, 'second NOTIFICATION');
      expect(peerOf(speaker)?.prefixLimit?.heldIdle?.seconds).toBe(60);
      expect(peerOf(speaker)?.prefixLimit?.exceeded).toEqual([
        { family: 'ipv4-unicast', action: 'teardown', limit: 2, count: 2 },
      ]);
    } finally {
      refused.close();
    }
  });

  test('raising the limit releases a held peer at once', async () => {
    const clock = new ManualClock();
    const speaker = await start(clock, 1);
    const raw = await establish(speaker);
    raw.send(update(['10.9.1.0/24', '10.9.2.0/24']));
    await waitFor(() => peerOf(speaker)?.prefixLimit?.heldIdle !== undefined, 'held');
    speaker.setPeers([{ address: '127.0.0.1', asn: 64513, passive: true, maxPrefix: 10 }]);
    expect(peerOf(speaker)?.prefixLimit?.heldIdle).toBeUndefined();
    await establish(speaker);
  });

  test('warn: the session stays; one report per crossing, not per UPDATE', async () => {
    const clock = new ManualClock();
    const reports = collect('margay.bgp.prefixLimit');
    const speaker = await start(clock, { 'ipv4-unicast': { limit: 2, action: 'warn' } });
    try {
      const raw = await establish(speaker);
      raw.send(update(['10.9.1.0/24', '10.9.2.0/24', '10.9.3.0/24']));
      raw.send(update(['10.9.4.0/24']));
      raw.send(update(['10.9.5.0/24']));
      await waitFor(() => peerOf(speaker)?.prefixes.received === 5, 'five prefixes');
      expect(reports.messages).toEqual([
        { address: '127.0.0.1', family: 'ipv4-unicast', limit: 2, received: 3, action: 'warn' },
      ]);
      // Back under the limit, then over again: a second crossing.
      const w = new UpdateWriter({ ...DEFAULT_CODEC_OPTIONS, fourOctetAs: true });
      w.beginWithdraw('ipv4-unicast');
      for (const p of ['10.9.1.0/24', '10.9.2.0/24', '10.9.3.0/24']) expect(w.addPrefix(p)).toBe(true);
      raw.send(w.finish());
      await waitFor(() => peerOf(speaker)?.prefixes.received === 2, 'two prefixes');
      raw.send(update(['10.9.6.0/24']));
      await waitFor(() => reports.messages.length === 2, 'the second crossing');
      expect(stateOf(speaker)).toBe('Established');
      expect(peerOf(speaker)?.prefixLimit?.exceeded).toEqual([
        { family: 'ipv4-unicast', action: 'warn', limit: 2, count: 2 },
      ]);
    } finally {
      reports.close();
    }
  });
});
