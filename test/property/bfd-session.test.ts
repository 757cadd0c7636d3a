// Two BFD sessions (RFC 5880) talking over a simulated link with fake time: whatever the
// timers, delays and losses, the pair comes Up on a clean link and a cut link takes an Up
// session Down within its Detection Time. fast-check prints the seed; replay with FC_SEED=<seed>.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ControlPacket, decodeControl, encodeControl } from '../../bgp/bfd/packet.ts';
import {
  adminDown,
  type BfdSession,
  type BfdStep,
  type BfdTimers,
  newSession,
  nextDeadline,
  receive,
  setTimers,
  tick,
} from '../../bgp/bfd/session.ts';

const fcParams = (numRuns: number): fc.Parameters<unknown> =>
  process.env.FC_SEED ? { numRuns, seed: Number(process.env.FC_SEED) } : { numRuns };

const timersArb: fc.Arbitrary<BfdTimers> = fc.record({
  desiredMinTxUs: fc.constantFrom(10_000, 50_000, 100_000, 300_000, 1_000_000, 2_000_000),
  requiredMinRxUs: fc.constantFrom(10_000, 50_000, 100_000, 300_000, 1_000_000),
  detectMult: fc.integer({ min: 1, max: 5 }),
});

interface InFlight {
  readonly at: number;
  readonly to: 0 | 1;
  readonly bytes: Buffer;
}

/** Two sessions, a link with a one-way delay, and a clock; packets go through the codec. */
class Pair {
  sessions: [BfdSession, BfdSession];
  now = 0;
  flight: InFlight[] = [];
  cut = false;
  /** Every packet sent, with its sender, for the invariants. */
  sent: { from: 0 | 1; packet: ControlPacket }[] = [];
  /** Every state change, with time. */
  changes: { at: number; who: 0 | 1; from: string; to: string }[] = [];

  readonly delayMs: number;
  readonly random: () => number;

  constructor(timers: [BfdTimers, BfdTimers], delayMs: number, random: () => number) {
    this.delayMs = delayMs;
    this.random = random;
    this.sessions = [newSession(timers[0], 11, 0), newSession(timers[1], 22, 0)];
  }

  apply(who: 0 | 1, step: BfdStep): void {
    this.sessions[who] = step.session;
    if (step.transition !== null) this.changes.push({ at: this.now, who, ...step.transition });
    for (const packet of step.send) {
      this.sent.push({ from: who, packet });
      if (!this.cut)
        this.flight.push({
          at: this.now + this.delayMs,
          to: who === 0 ? 1 : 0,
          bytes: encodeControl(packet),
        });
    }
  }

  /** Runs every event up to `until`, in time order. */
  run(until: number): void {
    for (;;) {
      const deadlines = [0, 1].map(
        (w) => nextDeadline(this.sessions[w as 0 | 1]) ?? Number.POSITIVE_INFINITY,
      );
      const arrival = this.flight.reduce((m, f) => Math.min(m, f.at), Number.POSITIVE_INFINITY);
      const next = Math.min(arrival, ...deadlines);
      if (next > until) break;
      this.now = Math.max(this.now, next);
      if (arrival === next) {
        const i = this.flight.findIndex((f) => f.at === next);
        const [f] = this.flight.splice(i, 1);
        if (f === undefined) continue;
        const decoded = decodeControl(f.bytes);
        expect(decoded.ok).toBe(true);
        if (decoded.ok) this.apply(f.to, receive(this.sessions[f.to], decoded.packet, this.now, this.random));
        continue;
      }
      const who = deadlines[0] === next ? 0 : 1;
      this.apply(who, tick(this.sessions[who], this.now, this.random));
    }
    this.now = until;
  }
}

const pairArb = fc.record({
  timers: fc.tuple(timersArb, timersArb),
  delayMs: fc.integer({ min: 0, max: 5 }),
  seed: fc.integer(),
});

function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** The longest Detection Time either side can have with these timers, ms. */
function worstDetectionMs(t: [BfdTimers, BfdTimers]): number {
  const [a, b] = t;
  const slow = (x: BfdTimers) => Math.max(x.desiredMinTxUs, 1_000_000);
  return (
    Math.max(
      a.detectMult * Math.max(b.requiredMinRxUs, slow(a)),
      b.detectMult * Math.max(a.requiredMinRxUs, slow(b)),
    ) / 1000
  );
}

describe('BFD session pair', () => {
  it('comes Up on a clean link and stays Up', () => {
    fc.assert(
      fc.property(pairArb, ({ timers, delayMs, seed }) => {
        const pair = new Pair(timers, delayMs, rng(seed));
        pair.run(10_000);
        expect(pair.sessions.map((s) => s.state)).toEqual(['Up', 'Up']);
        expect(pair.sessions.map((s) => s.polling)).toEqual([false, false]);
        const settled = pair.changes.length;
        pair.run(60_000);
        expect(pair.changes.length).toBe(settled);
        expect(pair.sessions[0].remoteDiscr).toBe(22);
        expect(pair.sessions[1].remoteDiscr).toBe(11);
      }),
      fcParams(60),
    );
  });

  it('goes Down within the Detection Time of a cut, and Up again when it heals', () => {
    fc.assert(
      fc.property(pairArb, fc.integer({ min: 0, max: 3000 }), ({ timers, delayMs, seed }, cutAfter) => {
        const pair = new Pair(timers, delayMs, rng(seed));
        pair.run(10_000 + cutAfter);
        pair.cut = true;
        pair.flight = [];
        const cutAt = pair.now;
        pair.run(cutAt + worstDetectionMs(timers) + 1);
        expect(pair.sessions.map((s) => s.state)).toEqual(['Down', 'Down']);
        for (const c of pair.changes.filter((c) => c.at >= cutAt))
          expect(c).toMatchObject({ from: 'Up', to: 'Down' });
        pair.cut = false;
        pair.run(pair.now + 10_000);
        expect(pair.sessions.map((s) => s.state)).toEqual(['Up', 'Up']);
      }),
      fcParams(60),
    );
  });

  it('sends only valid packets, slow while not Up, and never Up without a remote discriminator', () => {
    fc.assert(
      fc.property(pairArb, fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 8 }), (p, actions) => {
        const pair = new Pair(p.timers, p.delayMs, rng(p.seed));
        for (const a of actions) {
          pair.run(pair.now + 2000);
          if (a === 0) pair.cut = !pair.cut;
          if (a === 1) pair.apply(0, adminDown(pair.sessions[0], pair.now, pair.random));
          if (a === 2)
            pair.apply(1, setTimers(pair.sessions[1], { ...p.timers[0], detectMult: 2 }, pair.now));
          for (const s of pair.sessions) if (s.state === 'Up') expect(s.remoteDiscr).not.toBe(0);
        }
        for (const { packet } of pair.sent) {
          expect(packet.poll && packet.final).toBe(false);
          if (packet.state !== 'Up') expect(packet.desiredMinTxUs).toBeGreaterThanOrEqual(1_000_000);
          if (packet.state !== 'Down' && packet.state !== 'AdminDown')
            expect(packet.yourDiscriminator).not.toBe(0);
        }
      }),
      fcParams(60),
    );
  });
});
