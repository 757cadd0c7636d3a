// Hold time negotiation (RFC 4271 §4.2, §6.2), configuration checks, NOTIFICATION texts and
// the WireError → event mapping the session layer uses.
import { describe, expect, it } from 'vitest';
import { BgpError, WireError } from '../../../../bgp/errors.ts';
import {
  describeNotification,
  eventFromWireError,
  FSM_DEFAULTS,
  holdTimeProblem,
  isAcceptableHoldTime,
  keepaliveTimeProblem,
  negotiateHoldTime,
  negotiateKeepaliveTime,
  resolveFsmConfig,
  step,
  timersProblem,
} from '../../../../bgp/fsm/index.ts';
import { config, env, fmtAll, reach } from './fixtures.ts';

describe('hold time (RFC 4271 §4.2)', () => {
  it('0 and 3..65535 are acceptable; 1, 2, negatives, fractions and > 16 bits are not', () => {
    for (const t of [0, 3, 90, 65535]) expect(isAcceptableHoldTime(t)).toBe(true);
    for (const t of [1, 2, -1, 3.5, 65536, Number.NaN]) expect(isAcceptableHoldTime(t)).toBe(false);
  });

  it('negotiates the smaller of both; keepalive is at most a third of it, 0 with hold 0', () => {
    expect(negotiateHoldTime(90, 180)).toBe(90);
    expect(negotiateHoldTime(90, 3)).toBe(3);
    expect(negotiateHoldTime(90, 0)).toBe(0);
    expect(negotiateKeepaliveTime(30, 90)).toBe(30);
    expect(negotiateKeepaliveTime(30, 3)).toBe(1);
    expect(negotiateKeepaliveTime(10, 90)).toBe(10);
    expect(negotiateKeepaliveTime(30, 0)).toBe(0);
  });

  it('one rule for configured timers: keepalive 0 exactly with hold 0, else 1..⌊hold / 3⌋', () => {
    const accepted: [number, number][] = [
      [0, 0],
      [3, 1],
      [9, 3],
      [10, 3],
      [90, 1],
      [90, 30],
      [65535, 21845],
    ];
    const refused: [number, number, RegExp][] = [
      [0, 1, /^1 with holdTime 0: must be 0/],
      [90, 0, /^0 requires holdTime 0; with holdTime 90 it must be 1\.\.30 seconds/],
      [3, 0, /^0 requires holdTime 0; with holdTime 3 it must be 1 second /],
      [3, 2, /^2 is more than holdTime \/ 3; with holdTime 3 it must be 1 second /],
      [90, 31, /^31 is more than holdTime \/ 3/],
      [10, 4, /^4 is more than holdTime \/ 3/],
      [65535, 21846, /^21846 is not a whole number of seconds 0\.\.21845/],
      [90, 1.5, /^1\.5 is not a whole number/],
      [90, -1, /^-1 is not a whole number/],
    ];
    for (const [hold, keepalive] of accepted) {
      expect(keepaliveTimeProblem(keepalive, hold)).toBeUndefined();
      expect(timersProblem(hold, keepalive)).toBeUndefined();
    }
    for (const [hold, keepalive, message] of refused) {
      expect(keepaliveTimeProblem(keepalive, hold)).toMatch(message);
      expect(timersProblem(hold, keepalive)).toEqual({
        field: 'keepaliveTime',
        message: expect.stringMatching(message),
      });
    }
    for (const hold of [1, 2, -3, 4.5, 65536, Number.NaN, '90'])
      expect(holdTimeProblem(hold)).toBe('must be 0 or 3..65535 seconds (RFC 4271 §4.2)');
    expect(timersProblem(2, 0)).toEqual({
      field: 'holdTime',
      message: expect.stringMatching(/^must be 0 or 3/),
    });
    expect(timersProblem(90, undefined)).toBeUndefined();
  });

  for (const holdTime of [1, 2]) {
    it(`an OPEN with hold time ${holdTime} gets OPEN Message Error / Unacceptable Hold Time`, () => {
      const cfg = config();
      const r = step(cfg, reach(cfg, 'OpenSent'), { type: 'BGPOpen', holdTime }, env(5_000));
      expect(r.actions[0]).toEqual({ type: 'sendNotification', code: 2, subcode: 6 });
      expect(r.state.name).toBe('Idle');
      expect(r.reason).toMatchObject({ kind: 'openRejected', message: 'Error: Unacceptable hold time' });
    });
  }
});

describe('resolveFsmConfig', () => {
  it('fills the defaults', () => {
    const c = resolveFsmConfig();
    expect(c).toMatchObject({ ...FSM_DEFAULTS, keepaliveTime: 30 });
    expect(resolveFsmConfig({ holdTime: 9 }).keepaliveTime).toBe(3);
    expect(resolveFsmConfig({ holdTime: 0 }).keepaliveTime).toBe(0);
    expect(resolveFsmConfig({ holdTime: 10 }).keepaliveTime).toBe(3);
    expect(resolveFsmConfig({ holdTime: 90, keepaliveTime: 30 }).keepaliveTime).toBe(30);
  });

  it('names the value and the rule when a keepalive time breaks it', () => {
    expect(() => resolveFsmConfig({ holdTime: 90, keepaliveTime: 0 })).toThrow(
      'fsm.keepaliveTime: 0 requires holdTime 0; with holdTime 90 it must be 1..30 seconds',
    );
  });

  const bad: [string, Parameters<typeof resolveFsmConfig>[0]][] = [
    ['holdTime', { holdTime: 1 }],
    ['holdTime', { holdTime: 2 }],
    ['holdTime', { holdTime: 70000 }],
    ['holdTime', { holdTime: 4.5 }],
    ['keepaliveTime', { holdTime: 9, keepaliveTime: 10 }],
    ['keepaliveTime', { holdTime: 90, keepaliveTime: 0 }],
    ['keepaliveTime', { holdTime: 0, keepaliveTime: 30 }],
    ['keepaliveTime', { holdTime: 90, keepaliveTime: 31 }],
    ['keepaliveTime', { holdTime: 90, keepaliveTime: 2.5 }],
    ['connectRetryTime', { connectRetryTime: 0 }],
    ['connectRetryMaxTime', { connectRetryTime: 30, connectRetryMaxTime: 10 }],
    ['connectRetryJitter', { connectRetryJitter: 1 }],
    ['idleHoldMaxTime', { idleHoldTime: 10, idleHoldMaxTime: 5 }],
    ['delayOpenTime', { delayOpenTime: 0 }],
    ['openSentHoldTime', { openSentHoldTime: 2 }],
  ];
  for (const [field, input] of bad) {
    it(`rejects ${JSON.stringify(input)} naming ${field}`, () => {
      let caught: unknown;
      try {
        resolveFsmConfig(input);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(BgpError);
      expect((caught as BgpError).code).toBe('BGP_ERR_INVALID_CONFIG');
      expect((caught as BgpError).message).toMatch(new RegExp(`^fsm\\.${field}[ :]`));
    });
  }
});

describe('describeNotification', () => {
  it('uses the registry names, and says what it does not know', () => {
    expect(describeNotification(4, 0)).toBe('Hold timer expired');
    expect(describeNotification(6, 2)).toBe('Administrative shutdown');
    expect(describeNotification(3, 11)).toBe('Malformed AS_PATH');
    expect(describeNotification(5, 2)).toBe('Unexpected message in OpenConfirm state');
    expect(describeNotification(5, 0)).toBe('Finite state machine error');
    expect(describeNotification(6, 42)).toBe('Cease (subcode 42)');
    expect(describeNotification(9, 1)).toBe('Unknown error 9 (subcode 1)');
  });
});

describe('eventFromWireError', () => {
  it('maps the NOTIFICATION code to the RFC 4271 §8.1.4 event and keeps code, subcode and data', () => {
    const data = Uint8Array.of(0, 5);
    expect(eventFromWireError(new WireError(1, 2, 'bad length', data))).toEqual({
      type: 'BGPHeaderErr',
      code: 1,
      subcode: 2,
      data,
      message: 'bad length',
    });
    expect(eventFromWireError(new WireError(2, 7, 'cap')).type).toBe('BGPOpenMsgErr');
    expect(eventFromWireError(new WireError(3, 1, 'attrs')).type).toBe('UpdateMsgErr');
    expect(eventFromWireError(new WireError(7, 1, 'rr')).type).toBe('UpdateMsgErr');
  });

  it('the NOTIFICATION carries the data in Established', () => {
    const cfg = config();
    const ev = eventFromWireError(new WireError(3, 5, 'len', Uint8Array.of(0x40, 1, 9)));
    const r = step(cfg, reach(cfg, 'Established'), ev, env(9_000));
    expect(r.actions[0]).toEqual({
      type: 'sendNotification',
      code: 3,
      subcode: 5,
      data: Uint8Array.of(0x40, 1, 9),
    });
    expect(fmtAll(r.actions).at(-1)).toBe('down notificationSent');
  });
});
