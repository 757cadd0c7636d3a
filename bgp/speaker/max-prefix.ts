// Per-family prefix limits (PeerConfig.maxPrefix): checking the configuration, turning it into
// one rule per family, and the idle hold after a teardown. Pure functions; the speaker owns the
// timers and the session.
//
// The shape follows BIRD's per-channel `import limit N action warn|restart` and FRR's per
// address-family `neighbor X maximum-prefix N [restart M] [warning-only]`:
//
//   maxPrefix:
//     ipv4-unicast: { limit: 1000, action: teardown, restartAfterSeconds: 60 }
//     ipv6-unicast: { limit: 500, action: warn }
//
// A plain number is that limit for each family of the session, action teardown, default restart.
//
// The hold after a teardown: the peer stays Idle `restartAfterSeconds` (default 60), doubling on
// each teardown that follows, up to 15 minutes (or the configured time when that is longer).
// The doubling starts over when the session that hit the limit had been Established for
// `HOLD_RESET_AFTER_SECONDS` (300 s, BIRD's default `error forget time`): a peer sends its table
// right after the session comes up, so a session that lasts that long hit the limit by growing
// later, not by a table that is too big, and gets the short hold again.
import { afiSafiOf, FAMILIES, type Family } from '../wire/index.ts';
import type { MaxPrefixAction, MaxPrefixConfig } from './types.ts';

export const DEFAULT_RESTART_AFTER_SECONDS = 60;
export const MAX_HOLD_SECONDS = 15 * 60;
export const HOLD_RESET_AFTER_SECONDS = 300;
const MAX_LIMIT = 0xffffffff;
const MAX_RESTART_AFTER_SECONDS = 65535;

/** One family's limit with the defaults filled in. */
export interface PrefixLimitRule {
  readonly family: Family;
  readonly limit: number;
  readonly action: MaxPrefixAction;
  readonly restartAfterSeconds: number;
}

/** Why `maxPrefix` is refused: the field below maxPrefix (e.g. `ipv4-unicast.limit`) and the reason. */
export function maxPrefixProblem(config: unknown): { field: string; message: string } | undefined {
  if (config === undefined) return undefined;
  const isLimit = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= MAX_LIMIT;
  if (typeof config === 'number') {
    return isLimit(config)
      ? undefined
      : { field: '', message: `${config} is not an integer in 0..${MAX_LIMIT}` };
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    return { field: '', message: 'must be a number or an object keyed by family' };
  }
  for (const [family, rule] of Object.entries(config)) {
    if (!(FAMILIES as readonly string[]).includes(family)) {
      return { field: `.${family}`, message: `${family} is not one of ${FAMILIES.join(', ')}` };
    }
    if (typeof rule !== 'object' || rule === null)
      return { field: `.${family}`, message: 'must be an object' };
    const r = rule as Record<string, unknown>;
    for (const key of Object.keys(r)) {
      if (key !== 'limit' && key !== 'action' && key !== 'restartAfterSeconds') {
        return { field: `.${family}.${key}`, message: 'is not a field (limit, action, restartAfterSeconds)' };
      }
    }
    if (!isLimit(r.limit)) {
      return {
        field: `.${family}.limit`,
        message: `${String(r.limit)} is not an integer in 0..${MAX_LIMIT}`,
      };
    }
    if (r.action !== undefined && r.action !== 'teardown' && r.action !== 'warn') {
      return { field: `.${family}.action`, message: `${String(r.action)} is not 'teardown' or 'warn'` };
    }
    const t = r.restartAfterSeconds;
    if (
      t !== undefined &&
      !(typeof t === 'number' && Number.isInteger(t) && t >= 1 && t <= MAX_RESTART_AFTER_SECONDS)
    ) {
      return {
        field: `.${family}.restartAfterSeconds`,
        message: `${String(t)} is not an integer in 1..${MAX_RESTART_AFTER_SECONDS}`,
      };
    }
  }
  return undefined;
}

/** The rules for the families a peer carries (limits for other families do not apply). */
export function prefixLimitRules(
  config: MaxPrefixConfig | undefined,
  families: readonly Family[],
): PrefixLimitRule[] {
  if (config === undefined) return [];
  const out: PrefixLimitRule[] = [];
  for (const family of families) {
    const rule = typeof config === 'number' ? { limit: config } : config[family];
    if (rule === undefined) continue;
    out.push({
      family,
      limit: rule.limit,
      action: rule.action ?? 'teardown',
      restartAfterSeconds: rule.restartAfterSeconds ?? DEFAULT_RESTART_AFTER_SECONDS,
    });
  }
  return out;
}

/** How long the peer stays Idle after the teardown that follows `repeats` earlier ones. */
export function holdSeconds(restartAfterSeconds: number, repeats: number): number {
  const cap = Math.max(MAX_HOLD_SECONDS, restartAfterSeconds);
  // 2^repeats overflows nothing that matters: the cap is reached after a handful of repeats.
  return Math.min(cap, restartAfterSeconds * 2 ** Math.min(repeats, 32));
}

/**
 * A teardown: the hold it gets and the repeat count to keep for the next one. `repeats` is the
 * count kept from the previous teardown (0 for the first); `establishedSeconds` how long the
 * session that hit the limit had been Established.
 */
export function nextHold(
  restartAfterSeconds: number,
  repeats: number,
  establishedSeconds: number,
  resetAfterSeconds = HOLD_RESET_AFTER_SECONDS,
): { readonly seconds: number; readonly repeats: number } {
  const r = establishedSeconds >= resetAfterSeconds ? 0 : repeats;
  return { seconds: holdSeconds(restartAfterSeconds, r), repeats: r + 1 };
}

/** RFC 4486 §4: the Data of Cease / Maximum Number of Prefixes Reached — AFI, SAFI, upper bound. */
export function maxPrefixData(family: Family, limit: number): Uint8Array {
  const { afi, safi } = afiSafiOf(family);
  const data = new Uint8Array(7);
  const view = new DataView(data.buffer);
  view.setUint16(0, afi);
  view.setUint8(2, safi);
  view.setUint32(3, limit);
  return data;
}
