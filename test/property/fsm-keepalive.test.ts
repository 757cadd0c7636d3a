// Property: a peer that keeps talking keeps the session up. In Established with negotiated
// hold time h > 0, KEEPALIVEs arriving at least every h − 1 seconds never let the HoldTimer
// expire, whatever our own keepalive jitter, UPDATEs we send, or timer callbacks do — and we
// send a KEEPALIVE or UPDATE at least every keepalive time, so the peer's HoldTimer holds too.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type FsmState,
  fireDueTimers,
  initialFsmState,
  nextDeadline,
  resolveFsmConfig,
  step,
} from '../../bgp/fsm/index.ts';

const fcParams = (numRuns: number): fc.Parameters<unknown> =>
  process.env.FC_SEED ? { numRuns, seed: Number(process.env.FC_SEED) } : { numRuns };

describe('property: Established stays up while KEEPALIVEs arrive within h − 1 s', () => {
  it('never goes down, and our own KEEPALIVE cadence never exceeds the keepalive time', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 3, max: 300 }), // our hold time
        fc.integer({ min: 0, max: 400 }), // extra the peer offers (it may also offer less)
        fc.boolean(),
        fc.array(fc.record({ gap: fc.double({ min: 0, max: 1, noNaN: true }), sendUpdate: fc.boolean() }), {
          minLength: 1,
          maxLength: 80,
        }),
        fc.infiniteStream(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })),
        (localHold, extra, peerOffersLess, arrivals, randoms) => {
          const random = () => randoms.next().value as number;
          const cfg = resolveFsmConfig({ holdTime: localHold });
          const offer = peerOffersLess ? Math.max(3, localHold - extra) : localHold + extra;
          let s: FsmState = initialFsmState(cfg, 0);
          for (const type of ['ManualStart', 'Tcp_CR_Acked'] as const)
            s = step(cfg, s, { type }, { now: 0, random }).state;
          s = step(cfg, s, { type: 'BGPOpen', holdTime: offer }, { now: 0, random }).state;
          s = step(cfg, s, { type: 'KeepAliveMsg' }, { now: 0, random }).state;
          expect(s.name).toBe('Established');
          const h = s.negotiatedHoldTime ?? 0;
          const k = s.negotiatedKeepaliveTime ?? 0;
          let lastSent = 0; // the KEEPALIVE answering the OPEN
          let now = 0;
          const sent = (at: number) => {
            expect(at - lastSent).toBeLessThanOrEqual(k * 1000);
            lastSent = at;
          };
          for (const { gap, sendUpdate } of arrivals) {
            const arrival = now + Math.floor(gap * (h - 1) * 1000);
            // Run every timer due before the peer's next KEEPALIVE, at its deadline.
            for (let d = nextDeadline(s); d !== null && d.at < arrival; d = nextDeadline(s)) {
              for (const r of fireDueTimers(cfg, s, { now: d.at, random }).results) {
                expect(r.actions.some((a) => a.type === 'down')).toBe(false);
                if (r.actions.some((a) => a.type === 'sendKeepalive')) sent(d.at);
                s = r.state;
              }
            }
            now = arrival;
            if (sendUpdate) {
              s = step(cfg, s, { type: 'UpdateMsgSent' }, { now, random }).state;
              sent(now);
            }
            const r = step(cfg, s, { type: 'KeepAliveMsg' }, { now, random });
            expect(r.state.name).toBe('Established');
            s = r.state;
          }
        },
      ),
      fcParams(300),
    );
  });
});
