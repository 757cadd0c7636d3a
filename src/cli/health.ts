// `margay health --live|--ready`: the exec probe of the DaemonSet. Exit 0 when the endpoint
// answers 200 within two seconds, 1 otherwise, with the reason on stderr.
const DEFAULT_API = '127.0.0.1:9099';

export async function probeHealth(opts: { ready: boolean; api?: string }): Promise<number> {
  const api = opts.api ?? process.env.MARGAY_API ?? DEFAULT_API;
  const url = `http://${api}/${opts.ready ? 'readyz' : 'healthz'}`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    const body = await res.text();
    if (res.ok) return 0;
    process.stderr.write(`margay health: ${url} answered ${res.status}: ${body}\n`);
    return 1;
  } catch (err) {
    process.stderr.write(`margay health: cannot reach ${url}: ${(err as Error).message}\n`);
    return 1;
  }
}
