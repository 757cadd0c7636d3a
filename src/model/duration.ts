// Durations as Calico writes them (metav1.Duration, that is Go's time.ParseDuration syntax):
// "120s", "2m", "1h30m", "1.5s", "500ms", "0". A duration is a sequence of decimal numbers, each
// with an optional fraction and a unit (ns, us, µs, ms, s, m, h), optionally after a "+"; "0"
// alone needs no unit. Margay refuses a negative duration (none of its fields can be negative),
// a number without a unit other than "0", and anything else Go refuses.
//
// The duration fields of the margay.io resources also take a whole number of seconds (a JSON
// number, as Margay took them before), so both `maxRestartTime: 120` and `maxRestartTime: "2m"`
// mean two minutes. BGP counts these times in whole seconds, so a duration string is rounded to
// the nearest second, halves up, as Calico does when it writes BIRD's configuration.
import { z } from 'zod';

const NS_PER_UNIT: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5 MICRO SIGN
  μs: 1_000n, // U+03BC GREEK SMALL LETTER MU
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const UNITS_TEXT = 'ns, us, µs, ms, s, m, h';
const EXAMPLES = 'e.g. "120s", "2m", "1h30m" or "500ms"';

/** The largest duration Go represents: 2^63 - 1 ns, about 292 years. */
const MAX_NS = (1n << 63n) - 1n;

/**
 * The same syntax as a regular expression (RE2 and ECMAScript alike), for the CRD and the chart
 * schema. It does not bound the value; the daemon checks each field's range.
 */
export const DURATION_PATTERN = '^[+]?(0|(([0-9]+([.][0-9]*)?|[.][0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$';

export type DurationParse =
  | { readonly ok: true; readonly nanoseconds: bigint }
  | { readonly ok: false; readonly problem: string };

// One component: digits, an optional fraction, then everything up to the next digit or dot as
// the unit, so "1 s" names " s" as the unknown unit and "1d" names "d".
const COMPONENT = /^([0-9]*)(?:\.([0-9]*))?([^0-9.]*)/;

/** Parses Go duration syntax without a sign or with "+"; the problem quotes the text. */
export function parseDuration(text: string): DurationParse {
  const quoted = JSON.stringify(text);
  const fail = (why: string): DurationParse => ({ ok: false, problem: `${quoted} ${why}` });
  if (text === '') return fail(`is not a duration (${EXAMPLES})`);
  if (text.startsWith('-')) return fail('is negative: a duration here must be 0 or more');
  const body = text.startsWith('+') ? text.slice(1) : text;
  if (body === '0') return { ok: true, nanoseconds: 0n };
  if (body === '') return fail(`is not a duration (${EXAMPLES})`);
  let rest = body;
  let total = 0n;
  while (rest !== '') {
    const m = COMPONENT.exec(rest);
    const whole = m?.[1] ?? '';
    const fraction = m?.[2];
    const unit = m?.[3] ?? '';
    if (m === null || (whole === '' && (fraction === undefined || fraction === '')))
      return fail(`is not a duration: expected a number at ${JSON.stringify(rest)} (${EXAMPLES})`);
    if (unit === '' && m[0].length < rest.length)
      return fail(`is not a duration: expected a unit at ${JSON.stringify(rest.slice(m[0].length))}`);
    if (unit === '') return fail(`has a number without a unit (${UNITS_TEXT}); write e.g. "${m[0]}s"`);
    const scale = NS_PER_UNIT[unit];
    if (scale === undefined)
      return fail(`has an unknown unit ${JSON.stringify(unit)}: the units are ${UNITS_TEXT}`);
    total += BigInt(whole === '' ? '0' : whole) * scale;
    if (fraction !== undefined && fraction !== '')
      total += (BigInt(fraction) * scale) / 10n ** BigInt(fraction.length);
    if (total > MAX_NS) return fail('is longer than the longest duration, about 292 years');
    rest = rest.slice(m[0].length);
  }
  return { ok: true, nanoseconds: total };
}

/** Whole seconds, the nearest to `nanoseconds`, halves up (Calico's rounding for BIRD). */
export function roundedSeconds(nanoseconds: bigint): number {
  return Number((nanoseconds + 500_000_000n) / 1_000_000_000n);
}

export interface SecondsFieldRule {
  /** The largest value in seconds. */
  readonly max: number;
  /** The range as a message, e.g. "must be 0..4095 seconds (RFC 4724: ...)". */
  readonly range: string;
  /** A further check of the seconds inside 0..max: a message, or undefined when fine. */
  readonly check?: (seconds: number) => string | undefined;
}

/**
 * A duration field counted in whole seconds: a whole number of seconds 0..max or a duration
 * string, both parsed to seconds. Every message names the value (a string one also its rounded
 * seconds) and the rule; the resource's validation adds the field's path. In the CRD the field
 * is int-or-string with the integer bounds and the duration pattern, so the API server refuses
 * what it can check on its own.
 */
export function secondsField(rule: SecondsFieldRule) {
  const { max, range, check } = rule;
  return (
    z
      // The number branch takes any number so that a fraction gets the message below; the CRD
      // declares integer, which the API server checks.
      .union([z.number().meta({ type: 'integer' }), z.string()])
      .meta({ pattern: DURATION_PATTERN, minimum: 0, maximum: max })
      .transform((value, ctx) => {
        let seconds: number;
        let prefix: string;
        if (typeof value === 'number') {
          if (!Number.isInteger(value)) {
            ctx.addIssue({
              code: 'custom',
              message: `${value} is not a whole number of seconds; ${range}, or a duration string (${EXAMPLES})`,
            });
            return z.NEVER;
          }
          seconds = value;
          prefix = '';
        } else {
          const parsed = parseDuration(value);
          if (!parsed.ok) {
            ctx.addIssue({ code: 'custom', message: parsed.problem });
            return z.NEVER;
          }
          seconds = roundedSeconds(parsed.nanoseconds);
          if (seconds === 0 && parsed.nanoseconds > 0n) {
            ctx.addIssue({
              code: 'custom',
              message: `${JSON.stringify(value)} is 0 s when rounded to whole seconds (BGP counts this time in seconds): write "0s" or at least "500ms"`,
            });
            return z.NEVER;
          }
          prefix = `${JSON.stringify(value)} is ${seconds} s: `;
        }
        const problem = seconds < 0 || seconds > max ? range : check?.(seconds);
        if (problem !== undefined) {
          ctx.addIssue({ code: 'custom', message: `${prefix}${problem}` });
          return z.NEVER;
        }
        return seconds;
      })
  );
}
