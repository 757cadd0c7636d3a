// Polling with a deadline: the only way interop tests wait, never a bare sleep, so a test waits
// exactly as long as the condition takes and no longer. A timeout names what was awaited and the
// last value (or error) the probe observed, so a failing test says "BIRD protocol p1 state: Active"
// rather than "timed out".
import { inspect } from 'node:util';

export interface WaitOptions<T> {
  /** Human description of the condition, e.g. "bird p1 Established". */
  readonly describe: string;
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  /** Accept the probed value; default: truthy. */
  readonly until?: (value: T) => boolean;
}

export class WaitTimeoutError extends Error {
  readonly lastValue: unknown;
  constructor(message: string, lastValue: unknown, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'WaitTimeoutError';
    this.lastValue = lastValue;
  }
}

function show(v: unknown): string {
  const s = typeof v === 'string' ? v : inspect(v, { depth: 4, breakLength: 120 });
  return s.length > 2_000 ? `${s.slice(0, 2_000)}… (${s.length} chars)` : s;
}

/**
 * Call `probe` every `intervalMs` (default 100) until `until(value)` holds or `timeoutMs`
 * (default 15 s) passes. Errors thrown by the probe count as "not yet" and are reported.
 */
export async function waitFor<T>(probe: () => T | Promise<T>, opts: WaitOptions<T>): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const intervalMs = opts.intervalMs ?? 100;
  const accept = opts.until ?? ((v: T) => Boolean(v));
  const deadline = Date.now() + timeoutMs;
  let last: { value: T } | { error: unknown } | undefined;
  for (;;) {
    try {
      const value = await probe();
      last = { value };
      if (accept(value)) return value;
    } catch (error) {
      last = { error };
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }
  const observed =
    last === undefined
      ? 'nothing (probe never completed)'
      : 'error' in last
        ? `error: ${last.error instanceof Error ? last.error.message : show(last.error)}`
        : show(last.value);
  throw new WaitTimeoutError(
    `timed out after ${timeoutMs} ms waiting for ${opts.describe}; last observed: ${observed}`,
    last && 'value' in last ? last.value : undefined,
    last && 'error' in last ? last.error : undefined,
  );
}
