// Timers with a fake clock: hold expiry, keepalive cadence, hold time 0, the one-host-timer
// helpers, stale timer callbacks, and ConnectRetryTimer backoff with injected randomness.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  connectRetryDelayMs,
  expiredTimers,
  type FsmConfig,
  type FsmState,
  fireDueTimers,
  initialFsmState,
  keepaliveDelayMs,
  nextDeadline,
  step,
} from '../../../../bgp/fsm/index.ts';
import { config, env, fmtAll, reach, run } from './fixtures.ts';

/** Advance the fake clock deadline by deadline until `until`, collecting what the FSM did. */
function advance(cfg: FsmConfig, from: FsmState, until: number, random: () => number = () => 0) {
  let state = from;
  const log: { at: number; actions: string[] }[] = [];
  for (let next = nextDeadline(state); next !== null && next.at <= until; next = nextDeadline(state)) {
    const fired = fireDueTimers(cfg, state, env(next.at, random));
    for (const r of fired.results) log.push({ at: next.at, actions: fmtAll(r.actions) });
    state = fired.state;
  }
  return { state, log };
}

describe('HoldTimer (RFC 4271 §4.2, §6.5, §8.2.2)', () => {
  const cfg = config();
  it('expires after the negotiated hold time without KEEPALIVE: NOTIFICATION code 4, Idle', () => {
    const est = reach(cfg, 'Established'); // negotiated 60 s, last KEEPALIVE received at 3 s
    expect(est.negotiatedHoldTime).toBe(60);
    expect(est.timers.hold).toBe(63_000);
    const { state, log } = advance(cfg, est, 63_000);
    const last = log[log.length - 1];
    expect(last?.at).toBe(63_000);
    expect(last?.actions).toEqual([
      'notify 4/0',
      'close',
      'clear hold',
      'clear keepalive',
      'set idleHold',
      'down holdTimerExpired',
    ]);
    expect(state.name).toBe('Idle');
    expect(state.lastDownReason).toEqual({
      kind: 'holdTimerExpired',
      code: 4,
      subcode: 0,
      message: 'Error: Hold timer expired',
    });
  });

  it('is restarted by KEEPALIVE, UPDATE and ROUTE-REFRESH', () => {
    let s = reach(cfg, 'Established');
    for (const [i, type] of (['KeepAliveMsg', 'UpdateMsg', 'RouteRefreshMsg'] as const).entries()) {
      const now = 50_000 * (i + 1);
      s = fireDueTimers(cfg, s, env(now)).state;
      s = step(cfg, s, { type }, env(now)).state;
      expect(s.timers.hold).toBe(now + 60_000);
    }
    expect(s.name).toBe('Established');
  });

  it('is restarted to whole milliseconds: messages within one millisecond change nothing', () => {
    const est = reach(cfg, 'Established');
    const a = step(cfg, est, { type: 'UpdateMsg' }, env(70_000.2));
    expect(a.state.timers.hold).toBe(70_001 + 60_000);
    expect(a.actions).toEqual([{ type: 'setTimer', timer: 'hold', at: 130_001 }]);
    // The same millisecond: the very same state, no actions (the session skips the step).
    for (const now of [70_000.5, 70_000.9, 70_001]) {
      const b = step(cfg, a.state, { type: 'UpdateMsg' }, env(now));
      expect(b.state).toBe(a.state);
      expect(b.actions).toEqual([]);
    }
    // The next millisecond moves the deadline, whatever the message.
    for (const type of ['UpdateMsg', 'KeepAliveMsg', 'RouteRefreshMsg'] as const) {
      const c = step(cfg, a.state, { type }, env(70_001.1));
      expect(c.state.timers.hold).toBe(130_002);
      expect(c.state).not.toBe(a.state);
    }
  });

  it('uses the large OpenSent value (RFC 4271 §8.2.2: 4 minutes) until the OPEN arrives', () => {
    const s = reach(cfg, 'OpenSent'); // TCP up at 1 s
    expect(s.timers.hold).toBe(1_000 + 240_000);
    expect(advance(cfg, s, 240_999).state.name).toBe('OpenSent');
    expect(advance(cfg, s, 241_000).state.name).toBe('Idle');
  });

  it('expires in OpenConfirm when the KEEPALIVE never comes', () => {
    const s = reach(cfg, 'OpenConfirm'); // OPEN at 2 s, negotiated 60
    const { state, log } = advance(cfg, s, 62_000);
    expect(state.name).toBe('Idle');
    expect(log.at(-1)?.actions[0]).toBe('notify 4/0');
  });
});

describe('KeepaliveTimer (RFC 4271 §4.4, §10)', () => {
  it('sends a KEEPALIVE every negotiated keepalive time (random 0: no jitter)', () => {
    const cfg = config({ holdTime: 90 });
    const est = reach(cfg, 'Established'); // peer offered 60 → keepalive min(30, 60/3) = 20 s
    expect(est.negotiatedKeepaliveTime).toBe(20);
    const { log } = advance(cfg, est, 62_000, () => 0);
    const sent = log.filter((l) => l.actions.includes('keepalive')).map((l) => l.at);
    // The fixture armed the first one with random 0.5 (2 s + 17.5 s); then every 20 s.
    expect(sent).toEqual([19_500, 39_500, 59_500]);
  });

  it('jitters only downwards, within [0.75, 1.0] × keepalive time', () => {
    expect(keepaliveDelayMs(20, () => 0)).toBe(20_000);
    expect(keepaliveDelayMs(20, () => 0.999999)).toBe(15_000);
    expect(keepaliveDelayMs(20, () => 0.5)).toBe(17_500);
  });

  it('restarts when the session sends an UPDATE', () => {
    const cfg = config();
    const est = reach(cfg, 'Established');
    const r = step(
      cfg,
      est,
      { type: 'UpdateMsgSent' },
      env(15_000, () => 0),
    );
    expect(fmtAll(r.actions)).toEqual(['set keepalive']);
    expect(r.state.timers.keepalive).toBe(35_000);
  });

  it('a keepalive time larger than a third of the negotiated hold time is capped', () => {
    const cfg = config({ holdTime: 240, keepaliveTime: 80 });
    const s = run(cfg, [
      [0, { type: 'ManualStart' }],
      [0, { type: 'Tcp_CR_Acked' }],
      [0, { type: 'BGPOpen', holdTime: 9 }],
    ]).state;
    expect(s.negotiatedHoldTime).toBe(9);
    expect(s.negotiatedKeepaliveTime).toBe(3);
  });
});

describe('hold time 0 (RFC 4271 §4.2: no KEEPALIVEs, no HoldTimer)', () => {
  it('the peer offers 0: OpenConfirm and Established run without hold or keepalive timers', () => {
    const cfg = config();
    const { state, results } = run(cfg, [
      [0, { type: 'ManualStart' }],
      [0, { type: 'Tcp_CR_Acked' }],
      [1000, { type: 'BGPOpen', holdTime: 0 }],
      [2000, { type: 'KeepAliveMsg' }],
    ]);
    expect(fmtAll(results[2]?.actions ?? [])).toEqual(['keepalive', 'clear hold']);
    expect(fmtAll(results[3]?.actions ?? [])).toEqual(['established']);
    expect(state.name).toBe('Established');
    expect(state.negotiatedHoldTime).toBe(0);
    expect(state.negotiatedKeepaliveTime).toBe(0);
    expect(nextDeadline(state)).toBeNull();
    const later = step(cfg, state, { type: 'KeepAliveMsg' }, env(10_000_000));
    expect(later.actions).toEqual([]);
    expect(step(cfg, state, { type: 'UpdateMsgSent' }, env(10_000_000)).actions).toEqual([]);
  });

  it('we configure 0: the negotiated hold time is 0 whatever the peer offers', () => {
    const cfg = config({ holdTime: 0 });
    expect(cfg.keepaliveTime).toBe(0);
    const s = run(cfg, [
      [0, { type: 'ManualStart' }],
      [0, { type: 'Tcp_CR_Acked' }],
      [0, { type: 'BGPOpen', holdTime: 180 }],
    ]).state;
    expect(s.negotiatedHoldTime).toBe(0);
    expect(s.timers.hold).toBeNull();
    expect(s.timers.keepalive).toBeNull();
  });
});

describe('one host timer: nextDeadline / expiredTimers / fireDueTimers', () => {
  const cfg = config();
  it('nextDeadline is the earliest running timer, null when none runs', () => {
    expect(nextDeadline(initialFsmState(cfg, 0))).toBeNull();
    const est = reach(cfg, 'Established');
    expect(nextDeadline(est)).toEqual({ timer: 'keepalive', at: 2_000 + 17_500 });
  });

  it('expiredTimers lists due timers earliest first, hold before keepalive on a tie', () => {
    const est = reach(cfg, 'Established');
    const tied: FsmState = { ...est, timers: { ...est.timers, hold: 50_000, keepalive: 50_000 } };
    expect(expiredTimers(tied, 49_999)).toEqual([]);
    expect(expiredTimers(tied, 50_000)).toEqual([
      { type: 'HoldTimer_Expires' },
      { type: 'KeepaliveTimer_Expires' },
    ]);
    // fireDueTimers feeds the hold expiry; the session is down, so no KEEPALIVE goes out.
    const fired = fireDueTimers(cfg, tied, env(50_000));
    expect(fired.results).toHaveLength(1);
    expect(fmtAll(fired.results[0]?.actions ?? [])).not.toContain('keepalive');
    expect(fired.state.name).toBe('Idle');
  });

  it('a timer event for a timer that is not running is a stale callback and is ignored', () => {
    const est = reach(cfg, 'Established');
    const r = step(cfg, est, { type: 'ConnectRetryTimer_Expires' }, env(5_000));
    expect(r.state).toBe(est);
    expect(r.actions).toEqual([]);
  });
});

describe('ConnectRetryTimer backoff with jitter', () => {
  it('starts at 5 s, doubles per restart up to 120 s (random 0.5 = no jitter)', () => {
    const cfg = config();
    let s = step(cfg, initialFsmState(cfg, 0), { type: 'ManualStart' }, env(0)).state;
    const delays: number[] = [];
    let now = 0;
    for (let i = 0; i < 8; i++) {
      const at = s.timers.connectRetry ?? Number.NaN;
      delays.push(at - now);
      now = at;
      const r = step(cfg, s, { type: 'ConnectRetryTimer_Expires' }, env(now));
      expect(fmtAll(r.actions)).toEqual(['close', 'connect', 'set connectRetry']);
      s = r.state;
    }
    expect(delays).toEqual([5_000, 10_000, 20_000, 40_000, 80_000, 120_000, 120_000, 120_000]);
  });

  it('jitter is ±25 % from the injected random, deterministic per sequence', () => {
    const cfg = config();
    expect(connectRetryDelayMs(cfg, 0, () => 0)).toBe(3_750);
    expect(connectRetryDelayMs(cfg, 0, () => 1)).toBe(6_250);
    expect(connectRetryDelayMs(cfg, 10, () => 0)).toBe(90_000);
    expect(connectRetryDelayMs(cfg, 10, () => 1)).toBe(150_000);
    const seq = [0.1, 0.9, 0.3];
    const rand = () => seq.shift() ?? 0.5;
    expect([0, 1, 2].map((a) => connectRetryDelayMs(cfg, a, rand))).toEqual([4_000, 12_000, 18_000]);
  });

  it('stays within [0.75, 1.25] × min(max, initial · 2^attempt) for any random and config', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 0, max: 600 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (initial, extra, attempt, r) => {
          const cfg = config({ connectRetryTime: initial, connectRetryMaxTime: initial + extra });
          const base = Math.min(initial + extra, initial * 2 ** Math.min(attempt, 30)) * 1000;
          const d = connectRetryDelayMs(cfg, attempt, () => r);
          return d >= Math.floor(base * 0.75) && d <= Math.ceil(base * 1.25);
        },
      ),
    );
  });

  it('RFC-style fixed 120 s: max = initial and no jitter', () => {
    const cfg = config({ connectRetryTime: 120, connectRetryMaxTime: 120, connectRetryJitter: 0 });
    expect([0, 1, 5].map((a) => connectRetryDelayMs(cfg, a, () => 0.9))).toEqual([120_000, 120_000, 120_000]);
  });

  it('resets after Established', () => {
    const cfg = config();
    const { state } = run(cfg, [
      [0, { type: 'ManualStart' }],
      [5_000, { type: 'ConnectRetryTimer_Expires' }],
      [15_000, { type: 'ConnectRetryTimer_Expires' }],
      [16_000, { type: 'Tcp_CR_Acked' }],
      [17_000, { type: 'BGPOpen', holdTime: 90 }],
      [18_000, { type: 'KeepAliveMsg' }],
      [19_000, { type: 'TcpConnectionFails' }],
    ]);
    expect(state.connectRetryAttempt).toBe(0);
    const restarted = fireDueTimers(cfg, state, env(20_000)).state; // idle hold 1 s
    expect(restarted.name).toBe('Connect');
    expect(restarted.timers.connectRetry).toBe(25_000);
  });

  it('a passive peer never starts it and never connects', () => {
    const cfg = config({ passive: true });
    const r = step(cfg, initialFsmState(cfg, 0), { type: 'ManualStart' }, env(0));
    expect(r.state.name).toBe('Active');
    expect(r.actions).toEqual([]);
    expect(r.signal).toBe('start');
    const { state } = run(
      cfg,
      [
        [1_000, { type: 'TcpConnectionConfirmed' }],
        [2_000, { type: 'TcpConnectionFails' }],
      ],
      r.state,
    );
    expect(state.name).toBe('Active');
    expect(state.timers.connectRetry).toBeNull();
  });
});
