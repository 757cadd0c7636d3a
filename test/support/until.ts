// Polling a probe until it gives a truthy value (never a bare sleep), with a deadline.

/** The first truthy value `probe` gives, polled every 50 ms; throws naming `what` after `timeoutMs`. */
export async function until<T>(
  probe: () => Promise<T> | T,
  what: string,
  timeoutMs = 10_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
