// The BFD session state machine (RFC 5880 §6.8) driven with fake time.
import { describe, expect, it } from 'vitest';
import type { BfdState, ControlPacket } from '../../../../bgp/bfd/packet.ts';
import {
  adminDown,
  adminUp,
  type BfdSession,
  type BfdStep,
  type BfdTimers,
  controlPacket,
  detectionTimeMs,
  jitteredTxMs,
  newSession,
  nextDeadline,
  receive,
  setTimers,
  tick,
} from '../../../../bgp/bfd/session.ts';

const fast: BfdTimers = { desiredMinTxUs: 300_000, requiredMinRxUs: 300_000, detectMult: 3 };
const half = () => 0.5;

/** A packet from a peer with discriminator 77 in the given state, at 300 ms × 3. */
function peer(state: BfdState, over: Partial<ControlPacket> = {}): ControlPacket {
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
    desiredMinTxUs: 300_000,
    requiredMinRxUs: 300_000,
    requiredMinEchoRxUs: 0,
    ...over,
  };
}

function feed(s: BfdSession, packets: ControlPacket[], now = 0): BfdStep {
  let step: BfdStep = { session: s, send: [], transition: null };
  for (const p of packets) step = receive(step.session, p, now, half);
  return step;
}

/** A session of ours (discriminator 5) brought Up by a peer's Down then Up. */
function upSession(): BfdSession {
  return feed(newSession(fast, 5, 0), [peer('Down'), peer('Up')]).session;
}

describe('BFD session: the three-way handshake', () => {
  it('starts Down, sending at once with a one-second interval and no remote discriminator', () => {
    const s = newSession(fast, 5, 1000);
    expect(nextDeadline(s)).toBe(1000);
    const t = tick(s, 1000, half);
    expect(t.send).toHaveLength(1);
    expect(t.send[0]).toMatchObject({
      state: 'Down',
      myDiscriminator: 5,
      yourDiscriminator: 0,
      desiredMinTxUs: 1_000_000,
    });
    expect(t.send[0]?.requiredMinRxUs).toBe(300_000);
    // Jitter 0.5 of 75..100 % of one second.
    expect(t.session.nextTxAt).toBe(1000 + 875);
  });

  it('goes Down → Init on the peer Down, Init → Up on the peer Up, sending each change', () => {
    const s = newSession(fast, 5, 0);
    const a = receive(s, peer('Down'), 10, half);
    expect(a.transition).toEqual({ from: 'Down', to: 'Init', diag: 0 });
    expect(a.session.remoteDiscr).toBe(77);
    expect(a.send).toEqual([expect.objectContaining({ state: 'Init', yourDiscriminator: 77 })]);
    const b = receive(a.session, peer('Up'), 20, half);
    expect(b.transition).toEqual({ from: 'Init', to: 'Up', diag: 0 });
    // Going Up drops the one-second floor, which is a timer change: the packet polls.
    expect(b.send).toEqual([expect.objectContaining({ state: 'Up', poll: true, desiredMinTxUs: 300_000 })]);
  });

  it('goes Down → Up directly on the peer Init', () => {
    const s = receive(newSession(fast, 5, 0), peer('Init'), 0, half);
    expect(s.session.state).toBe('Up');
  });

  it('stays Up on the peer Init or Up and goes Down on the peer Down, diag 3', () => {
    const s = upSession();
    expect(receive(s, peer('Init'), 30, half).session.state).toBe('Up');
    expect(receive(s, peer('Up'), 30, half).transition).toBeNull();
    const d = receive(s, peer('Down'), 30, half);
    expect(d.transition).toEqual({ from: 'Up', to: 'Down', diag: 3 });
    expect(d.send[0]).toMatchObject({ state: 'Down', diag: 3, desiredMinTxUs: 1_000_000 });
  });

  it('ignores the peer Down while in Init (it may not have seen our Init yet)', () => {
    const s = receive(newSession(fast, 5, 0), peer('Down'), 0, half).session;
    const again = receive(s, peer('Down'), 5, half);
    expect(again.session.state).toBe('Init');
    expect(again.transition).toBeNull();
  });
});

describe('BFD session: detection time', () => {
  it('is the remote multiplier times the larger of our RX and its TX', () => {
    const s = receive(
      newSession(fast, 5, 0),
      peer('Down', { detectMult: 5, desiredMinTxUs: 1_000_000 }),
      0,
      half,
    );
    expect(detectionTimeMs(s.session)).toBe(5000);
    const t = receive(s.session, peer('Up', { detectMult: 2, desiredMinTxUs: 100_000 }), 0, half);
    expect(detectionTimeMs(t.session)).toBe(600);
  });

  it('takes an Up session Down with diag 1 when no packet arrives in time', () => {
    const s = upSession();
    expect(s.detectAt).toBe(900);
    expect(tick(s, 899, half).transition).toBeNull();
    const t = tick(s, 900, half);
    expect(t.transition).toEqual({ from: 'Up', to: 'Down', diag: 1 });
    expect(t.session.remoteDiscr).toBe(0);
    expect(t.send[0]).toMatchObject({ state: 'Down', diag: 1, yourDiscriminator: 0 });
  });

  it('restarts on every packet received', () => {
    const s = receive(upSession(), peer('Up'), 800, half).session;
    expect(s.detectAt).toBe(1700);
    expect(tick(s, 1000, half).session.state).toBe('Up');
  });

  it('forgets the remote in Down without a transition', () => {
    const s = receive(newSession(fast, 5, 0), peer('AdminDown', { yourDiscriminator: 0 }), 0, half).session;
    const t = tick(s, 10_000, half);
    expect(t.transition).toBeNull();
    expect(t.session.remoteDiscr).toBe(0);
    expect(t.session.detectAt).toBeNull();
  });
});

describe('BFD session: transmission', () => {
  it('sends at the larger of our TX and the remote RX, jittered within 75–100 %', () => {
    const s = receive(upSession(), peer('Up', { requiredMinRxUs: 500_000 }), 0, half).session;
    expect(jitteredTxMs(s, () => 0)).toBe(375);
    expect(jitteredTxMs(s, () => 0.999_999)).toBeCloseTo(500, 3);
  });

  it('keeps jitter within 75–90 % with multiplier 1', () => {
    const s = receive(
      newSession({ ...fast, detectMult: 1, desiredMinTxUs: 100_000 }, 5, 0),
      peer('Down', { requiredMinRxUs: 100_000 }),
      0,
      half,
    ).session;
    // Not Up: one second.
    expect(jitteredTxMs(s, () => 1)).toBe(900);
    expect(jitteredTxMs(s, () => 0)).toBe(750);
  });

  it('sends nothing periodic when the remote RX is 0 or the remote is in Demand mode while both are Up', () => {
    const zero = receive(newSession(fast, 5, 0), peer('Down', { requiredMinRxUs: 0 }), 0, half).session;
    expect(tick(zero, 5000, half).send).toEqual([]);
    const demand = receive(upSession(), peer('Up', { demand: true }), 0, half).session;
    expect(tick(demand, 500, half).send).toEqual([]);
  });

  it('answers a Poll with a Final at once, without P', () => {
    const s = upSession();
    const r = receive(s, peer('Up', { poll: true, desiredMinTxUs: 100_000 }), 50, half);
    expect(r.send).toEqual([expect.objectContaining({ final: true, poll: false, state: 'Up' })]);
  });
});

describe('BFD session: poll sequence on timer changes', () => {
  it('polls on entering Up and applies the faster rate at once', () => {
    const s = feed(newSession(fast, 5, 0), [peer('Down'), peer('Up')]).session;
    expect(s.polling).toBe(true);
    expect(controlPacket(s).poll).toBe(true);
    expect(jitteredTxMs(s, () => 1)).toBeCloseTo(300, 3);
    const f = receive(s, peer('Up', { final: true }), 10, half).session;
    expect(f.polling).toBe(false);
    expect(controlPacket(f).poll).toBe(false);
  });

  it('keeps the old TX on a slower rate and the old detection on a shorter RX until the Final', () => {
    const s = receive(upSession(), peer('Up', { final: true, requiredMinRxUs: 100_000 }), 0, half).session;
    const slower = setTimers(
      s,
      { desiredMinTxUs: 1_000_000, requiredMinRxUs: 50_000, detectMult: 3 },
      100,
    ).session;
    expect(slower.polling).toBe(true);
    expect(slower.nextTxAt).toBe(100);
    const polled = tick(slower, 100, half);
    expect(polled.send[0]).toMatchObject({ poll: true, desiredMinTxUs: 1_000_000, requiredMinRxUs: 50_000 });
    // Still sending every 300 ms and detecting over 3 × 300 ms until the Final.
    expect(jitteredTxMs(slower, () => 1)).toBeCloseTo(300, 3);
    const got = receive(
      slower,
      peer('Up', { requiredMinRxUs: 100_000, desiredMinTxUs: 10_000 }),
      200,
      half,
    ).session;
    expect(detectionTimeMs(got)).toBe(900);
    const fin = receive(
      slower,
      peer('Up', { final: true, requiredMinRxUs: 100_000, desiredMinTxUs: 10_000 }),
      200,
      half,
    );
    expect(fin.session.polling).toBe(false);
    expect(jitteredTxMs(fin.session, () => 1)).toBeCloseTo(1000, 3);
    expect(detectionTimeMs(fin.session)).toBe(150);
  });

  it('changes timers without a poll while not Up, keeping the one-second floor', () => {
    const s = setTimers(
      newSession(fast, 5, 0),
      { desiredMinTxUs: 50_000, requiredMinRxUs: 50_000, detectMult: 4 },
      0,
    );
    expect(s.session.polling).toBe(false);
    expect(controlPacket(s.session)).toMatchObject({
      desiredMinTxUs: 1_000_000,
      requiredMinRxUs: 50_000,
      detectMult: 4,
    });
  });

  it('refuses timers out of range', () => {
    expect(() => setTimers(upSession(), { ...fast, detectMult: 0 }, 0)).toThrow(/multiplier 0/);
    expect(() => newSession({ ...fast, desiredMinTxUs: 0 }, 5, 0)).toThrow(/desired min TX 0/);
    expect(() => newSession(fast, 0, 0)).toThrow(/discriminator 0/);
  });
});

describe('BFD session: AdminDown', () => {
  it('sends AdminDown with diag 7 and ignores the peer until brought back', () => {
    const a = adminDown(upSession(), 100, half);
    expect(a.transition).toEqual({ from: 'Up', to: 'AdminDown', diag: 7 });
    expect(a.send[0]).toMatchObject({ state: 'AdminDown', diag: 7 });
    expect(receive(a.session, peer('Init'), 110, half).session.state).toBe('AdminDown');
    // The Detection Time expiring does not move an AdminDown session either.
    expect(tick(a.session, 100_000, half).session.state).toBe('AdminDown');
    const b = adminUp(a.session, 200, half);
    expect(b.transition).toEqual({ from: 'AdminDown', to: 'Down', diag: 0 });
  });

  it('goes Down with diag 3 when the peer sends AdminDown, and stays Down', () => {
    const d = receive(upSession(), peer('AdminDown'), 10, half);
    expect(d.transition).toEqual({ from: 'Up', to: 'Down', diag: 3 });
    expect(receive(d.session, peer('AdminDown'), 20, half).session.state).toBe('Down');
  });
});
