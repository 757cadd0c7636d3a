// Go durations as Calico writes them (src/model/duration.ts): the parser on its own, the CRD
// pattern agreeing with it, and every duration field of BGPPeer and BGPConfiguration taking
// "2m" and 120 alike and naming the field and the value when refusing one.
import { describe, expect, it } from 'vitest';
import { DURATION_PATTERN, parseDuration, roundedSeconds } from '../../../../src/model/duration.ts';
import { validateResource } from '../../../../src/model/resource.ts';

const SECOND = 1_000_000_000n;

describe('parseDuration', () => {
  const valid: [string, bigint][] = [
    ['0', 0n],
    ['+0', 0n],
    ['0s', 0n],
    ['120s', 120n * SECOND],
    ['+120s', 120n * SECOND],
    ['2m', 120n * SECOND],
    ['1h30m', 5400n * SECOND],
    ['30m1h', 5400n * SECOND],
    ['1h1h', 7200n * SECOND],
    ['1.5s', 1_500_000_000n],
    ['1.s', SECOND],
    ['.5s', 500_000_000n],
    ['500ms', 500_000_000n],
    ['1500us', 1_500_000n],
    ['3µs', 3_000n], // U+00B5
    ['3μs', 3_000n], // U+03BC
    ['7ns', 7n],
    ['1.0000000009s', SECOND], // below a nanosecond is dropped, as Go does
    ['2h45m30.5s', 9930n * SECOND + 500_000_000n],
    ['2562047h', 2562047n * 3600n * SECOND], // about 292 years, just inside
  ];
  it.each(valid)('%s is %s ns', (text, ns) => {
    expect(parseDuration(text)).toEqual({ ok: true, nanoseconds: ns });
    expect(new RegExp(DURATION_PATTERN, 'u').test(text)).toBe(true);
  });

  const invalid: [string, string][] = [
    ['', '"" is not a duration (e.g. "120s", "2m", "1h30m" or "500ms")'],
    ['+', '"+" is not a duration (e.g. "120s", "2m", "1h30m" or "500ms")'],
    ['5', '"5" has a number without a unit (ns, us, µs, ms, s, m, h); write e.g. "5s"'],
    ['1h30', '"1h30" has a number without a unit (ns, us, µs, ms, s, m, h); write e.g. "30s"'],
    ['-1s', '"-1s" is negative: a duration here must be 0 or more'],
    ['-0', '"-0" is negative: a duration here must be 0 or more'],
    ['1d', '"1d" has an unknown unit "d": the units are ns, us, µs, ms, s, m, h'],
    ['1 s', '"1 s" has an unknown unit " s": the units are ns, us, µs, ms, s, m, h'],
    [' 1s', '" 1s" is not a duration: expected a number at " 1s" (e.g. "120s", "2m", "1h30m" or "500ms")'],
    ['1S', '"1S" has an unknown unit "S": the units are ns, us, µs, ms, s, m, h'],
    ['.s', '".s" is not a duration: expected a number at ".s" (e.g. "120s", "2m", "1h30m" or "500ms")'],
    ['1..5s', '"1..5s" is not a duration: expected a unit at ".5s"'],
    ['s', '"s" is not a duration: expected a number at "s" (e.g. "120s", "2m", "1h30m" or "500ms")'],
    ['2562048h', '"2562048h" is longer than the longest duration, about 292 years'],
  ];
  it.each(invalid)('refuses %j', (text, problem) => {
    expect(parseDuration(text)).toEqual({ ok: false, problem });
    expect(new RegExp(DURATION_PATTERN, 'u').test(text) && !text.endsWith('h')).toBe(false);
  });

  it('rounds to whole seconds, halves up', () => {
    const s = (text: string) => {
      const r = parseDuration(text);
      if (!r.ok) throw new Error(r.problem);
      return roundedSeconds(r.nanoseconds);
    };
    expect([s('0'), s('499ms'), s('500ms'), s('1.4s'), s('1.5s'), s('2m'), s('1h30m')]).toEqual([
      0, 0, 1, 1, 2, 120, 5400,
    ]);
  });
});

const peer = (spec: Record<string, unknown>) =>
  validateResource({
    apiVersion: 'margay.io/v1',
    kind: 'BGPPeer',
    metadata: { name: 'tor-1' },
    spec: { peerIP: '192.0.2.1', asNumber: 65000, ...spec },
  });
const config = (spec: Record<string, unknown>) =>
  validateResource({
    apiVersion: 'margay.io/v1',
    kind: 'BGPConfiguration',
    metadata: { name: 'default' },
    spec,
  });

describe('the duration fields of BGPPeer and BGPConfiguration', () => {
  // Each field with a value it takes in both spellings (holdTime stays above 3 × keepaliveTime).
  const fields: [string, typeof peer, string, Record<string, unknown>][] = [
    ['BGPPeer tor-1', peer, 'holdTime', {}],
    ['BGPPeer tor-1', peer, 'keepaliveTime', { holdTime: 360 }],
    ['BGPPeer tor-1', peer, 'maxRestartTime', {}],
    ['BGPPeer tor-1', peer, 'longLivedStaleTime', {}],
    ['BGPConfiguration default', config, 'holdTime', {}],
    ['BGPConfiguration default', config, 'keepaliveTime', { holdTime: 360 }],
    ['BGPConfiguration default', config, 'nodeMeshMaxRestartTime', {}],
  ];
  it.each(fields)(
    '%s spec.%s: "2m" and 120 are 120 s; "1d" is refused, naming the field',
    (who, make, field, extra) => {
      for (const value of ['2m', 120, '120s', '+2m', '1m59.5s']) {
        const r = make({ ...extra, [field]: value });
        if (!r.ok) throw new Error(r.problems.join('\n'));
        expect((r.resource as { spec: Record<string, unknown> }).spec[field], String(value)).toBe(120);
      }
      const bad = make({ ...extra, [field]: '1d' });
      expect(bad).toEqual({
        ok: false,
        problems: [
          `${who}: spec.${field}: "1d" has an unknown unit "d": the units are ns, us, µs, ms, s, m, h`,
        ],
      });
      expect(make({ ...extra, [field]: true })).toEqual({
        ok: false,
        problems: [`${who}: spec.${field}: must be number or string`],
      });
    },
  );

  it('checks the range and the timer rule on the seconds a duration string comes to', () => {
    const problems = (r: ReturnType<typeof peer>) => (r.ok ? [] : r.problems);
    expect(problems(peer({ holdTime: '2s' }))).toEqual([
      'BGPPeer tor-1: spec.holdTime: "2s" is 2 s: must be 0 or 3..65535 seconds (RFC 4271 §4.2)',
    ]);
    expect(problems(peer({ holdTime: '19h' }))).toEqual([
      'BGPPeer tor-1: spec.holdTime: "19h" is 68400 s: must be 0 or 3..65535 seconds (RFC 4271 §4.2)',
    ]);
    expect(problems(peer({ maxRestartTime: '-1s' }))).toEqual([
      'BGPPeer tor-1: spec.maxRestartTime: "-1s" is negative: a duration here must be 0 or more',
    ]);
    expect(problems(peer({ maxRestartTime: '5' }))).toEqual([
      'BGPPeer tor-1: spec.maxRestartTime: "5" has a number without a unit (ns, us, µs, ms, s, m, h); write e.g. "5s"',
    ]);
    expect(problems(peer({ maxRestartTime: '' }))).toEqual([
      'BGPPeer tor-1: spec.maxRestartTime: "" is not a duration (e.g. "120s", "2m", "1h30m" or "500ms")',
    ]);
    expect(problems(peer({ maxRestartTime: '1 s' }))).toEqual([
      'BGPPeer tor-1: spec.maxRestartTime: "1 s" has an unknown unit " s": the units are ns, us, µs, ms, s, m, h',
    ]);
    // A time that is not 0 but rounds to 0 s would switch the feature off: refused.
    expect(problems(peer({ keepaliveTime: '400ms', holdTime: 90 }))).toEqual([
      'BGPPeer tor-1: spec.keepaliveTime: "400ms" is 0 s when rounded to whole seconds (BGP counts this time in seconds): write "0s" or at least "500ms"',
    ]);
    // The keepalive time against the hold time: the rule of bgp/fsm/hold-time.ts, on the seconds.
    expect(problems(peer({ holdTime: '90s', keepaliveTime: '31s' }))).toEqual([
      'BGPPeer tor-1: spec.keepaliveTime: 31 is more than holdTime / 3; with holdTime 90 it must be 1..30 seconds (RFC 4271 §4.4, §10)',
    ]);
    expect(peer({ holdTime: '1m30s', keepaliveTime: '0.5s' })).toMatchObject({
      ok: true,
      resource: { spec: { holdTime: 90, keepaliveTime: 1 } },
    });
    expect(peer({ holdTime: '0s', keepaliveTime: '0' })).toMatchObject({
      ok: true,
      resource: { spec: { holdTime: 0, keepaliveTime: 0 } },
    });
  });
});
