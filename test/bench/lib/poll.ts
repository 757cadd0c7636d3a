// Waiting on conditions with deadlines; never a bare sleep.

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class DeadlineError extends Error {
  override name = 'DeadlineError';
}

/** Thrown by a `waitFor` check to stop waiting at once (the awaited thing can no longer happen). */
export class GiveUpError extends Error {
  override name = 'GiveUpError';
}

/** Polls `check` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  opts: { timeoutMs: number; intervalMs?: number },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      if (err instanceof GiveUpError) throw err;
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new DeadlineError(`timed out after ${opts.timeoutMs} ms waiting for ${what}${why}`);
    }
    await sleep(opts.intervalMs ?? 50);
  }
}
