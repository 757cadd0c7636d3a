// Damping of a flapping BFD session (bgp/bfd/damping.ts), alone and inside the session state
// machine, with the time given as an argument.
import { describe, expect, it } from 'vitest';
import {
  DAMPING,
  dampingFailure,
  dampingUp,
  held,
  heldForMs,
  holdMs,
  NO_DAMPING,
} from '../../../../bgp/bfd/damping.ts';
import type { BfdState, ControlPacket } from '../../../../bgp/bfd/packet.ts';
import {
  adminDown,
  type BfdSession,
  type BfdTimers,
  detectionTimeMs,
  newSession,
  receive,
  tick,
} from '../../../../bgp/bfd/session.ts';

const fast: BfdTimers = { desiredMinTxUs: 100_000, requiredMinRxUs: 100_000, detectMult: 3 };
const half = () => 0.5;

function peer(state: BfdState): ControlPacket {
  return {
    diag: 0,
    state,
    poll: false,
    final: false,
    cpi: false,
    demand: false,
    detectMult: 3,
    myDiscriminator: 77,
    yourDiscriminator: state === 'Down' ? 0 : 5,
    desiredMinTxUs: 100_000,
    requiredMinRxUs: 100_000,
    requiredMinEchoRxUs: 0,
  };
}

/** The handshake from Down at `now`: the peer says Down, then Init. */
function comeUp(s: BfdSession, now: number): BfdSession {
  const a = receive(s, peer('Down'), now, half).session;
  return receive(a, peer('Init'), now, half).session;
}

/** No packet for the Detection Time from `now`: the session's timer expires. */
function expire(s: BfdSession, now: number): BfdSession {
  return tick(s, now + detectionTimeMs(s), half).session;
}

describe('BFD damping: the numbers', () => {
  it('holds nothing after one failure, then 2 s doubling up to 120 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 20].map(holdMs)).toEqual([
      0, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 120_000, 120_000, 120_000,
    ]);
  });

  it('raises the level on every failure after a short Up and forgives one per 5 s of Up', () => {
    let d = NO_DAMPING;
    let t = 0;
    const cycle = (upMs: number) => {
      d = dampingUp(d, t);
      t += upMs;
      d = dampingFailure(d, t);
      t += 1000;
    };
    cycle(1000);
    expect(d).toMatchObject({ level: 1, holdUntil: null, failures: 1, holds: 0 });
    cycle(1000);
    expect(d.level).toBe(2);
    expect(heldForMs(d, t - 1000)).toBe(2_000);
    cycle(1000);
    expect(d.level).toBe(3);
    expect(held(d, t - 1000 + 3_999)).toBe(true);
    expect(held(d, t - 1000 + 4_000)).toBe(false);
    // Up for 2 × stableMs takes two levels off before the failure adds one.
    cycle(2 * DAMPING.stableMs);
    expect(d).toMatchObject({ level: 2, failures: 4, holds: 3 });
    // A long Up forgives everything: the next failure is a first one again.
    cycle(60 * DAMPING.stableMs);
    expect(d).toMatchObject({ level: 1, holdUntil: null, failures: 5, holds: 3 });
  });
});

describe('BFD damping in the session state machine', () => {
  it('holds a session that fails again soon in Down, answering Down, then lets it come Up', () => {
    let s = comeUp(newSession(fast, 5, 0), 0);
    expect(s.state).toBe('Up');
    s = expire(s, 100);
    expect(s.state).toBe('Down');
    expect(s.damping).toMatchObject({ level: 1, holdUntil: null });
    // The first failure is not held: the next handshake brings it Up at once.
    s = comeUp(s, 1000);
    expect(s.state).toBe('Up');
    const failedAt = 2000;
    s = tick(s, failedAt, half).session;
    expect(s.state).toBe('Down');
    expect(s.damping).toMatchObject({
      level: 2,
      holdUntil: failedAt + DAMPING.firstHoldMs,
      failures: 2,
      holds: 1,
    });
    // The peer keeps trying; while held the session stays Down and tells it so.
    for (const at of [failedAt + 100, failedAt + 1000, failedAt + 1999]) {
      for (const state of ['Down', 'Init', 'Up'] as const) {
        const step = receive(s, peer(state), at, half);
        expect(step.transition).toBeNull();
        expect(step.session.state).toBe('Down');
        s = step.session;
      }
    }
    expect(held(s.damping, failedAt + 1999)).toBe(true);
    s = comeUp(s, failedAt + DAMPING.firstHoldMs);
    expect(s.state).toBe('Up');
  });

  it('counts the peer saying Down as a failure and its AdminDown, or ours, as none', () => {
    let s = comeUp(newSession(fast, 5, 0), 0);
    s = receive(s, peer('Down'), 100, half).session;
    expect(s.state).toBe('Down');
    expect(s.damping.failures).toBe(1);
    s = comeUp(s, 200);
    s = receive(s, { ...peer('AdminDown'), diag: 7 }, 300, half).session;
    expect(s.state).toBe('Down');
    expect(s.damping).toMatchObject({ failures: 1, level: 1, holdUntil: null });
    s = comeUp(s, 400);
    s = adminDown(s, 500, half).session;
    expect(s.state).toBe('AdminDown');
    expect(s.damping).toMatchObject({ failures: 1, level: 1, holdUntil: null });
  });

  it('bounds the Ups of a session that flaps every second to a handful in a minute', () => {
    let s = newSession(fast, 5, 0);
    let ups = 0;
    for (let t = 0; t < 60_000; t += 1000) {
      const before = s.state;
      s = comeUp(s, t);
      if (before !== 'Up' && s.state === 'Up') ups++;
      if (s.state === 'Up') s = expire(s, t + 500);
    }
    // Ups at 0 and 1 s, then after holds of 2, 4, 8 and 16 s: six in the minute, not 60; the
    // sixth failure's hold of 32 s runs past the minute.
    expect(ups).toBe(6);
    expect(s.damping.level).toBe(6);
  });
});
