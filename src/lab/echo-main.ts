#!/usr/bin/env node
// The lab's traffic helper, run inside a namespace with `ip netns exec NS node echo-main.ts …`:
//   serve ID PORT…               TCP and UDP echo on every PORT; prints "ready" once listening,
//                                 runs until SIGTERM
//   probe TIMEOUT_MS TARGET…     probes every TARGET (ADDRESS:PORT/tcp|udp[=ns/name]) in parallel,
//                                 prints one JSON array of results, exits 0 (2 on bad arguments)
//   watch INTERVAL_MS TIMEOUT_MS TARGET…
//                                 probes every TARGET again and again (each on its own, a new probe
//                                 INTERVAL_MS after the previous one started, or at once when it
//                                 took longer), one JSON line per result with its start time `t`
//                                 (ms since the epoch); runs until SIGTERM (probe-loop.ts)
import { parseTarget, probe, startEchoServer } from './echo.ts';

async function main(argv: readonly string[]): Promise<number> {
  const [mode, ...rest] = argv;
  if (mode === 'serve') {
    const [id, ...portArgs] = rest;
    const ports = portArgs.map(Number);
    if (!id || ports.length === 0 || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
      process.stderr.write('usage: echo-main.ts serve ID PORT…\n');
      return 2;
    }
    const server = await startEchoServer({
      id,
      ports: ports.map((port) => ({ port, tcp: true, udp: true })),
    });
    process.stdout.write(`ready ${id} ${ports.join(',')}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', () => resolve());
      process.once('SIGINT', () => resolve());
    });
    await server.close();
    return 0;
  }
  if (mode === 'probe') {
    const [timeoutText, ...targetArgs] = rest;
    const timeoutMs = Number(timeoutText);
    let targets: ReturnType<typeof parseTarget>[];
    try {
      if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new Error(`bad timeout "${timeoutText}"`);
      targets = targetArgs.map(parseTarget);
    } catch (err) {
      process.stderr.write(`${(err as Error).message}\n`);
      return 2;
    }
    const results = await Promise.all(targets.map((t) => probe(t, timeoutMs)));
    process.stdout.write(`${JSON.stringify(results)}\n`);
    return 0;
  }
  if (mode === 'watch') {
    const [intervalText, timeoutText, ...targetArgs] = rest;
    const intervalMs = Number(intervalText);
    const timeoutMs = Number(timeoutText);
    let targets: ReturnType<typeof parseTarget>[];
    try {
      if (!Number.isInteger(intervalMs) || intervalMs < 1) throw new Error(`bad interval "${intervalText}"`);
      if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new Error(`bad timeout "${timeoutText}"`);
      targets = targetArgs.map(parseTarget);
    } catch (err) {
      process.stderr.write(`${(err as Error).message}\n`);
      return 2;
    }
    let stopping = false;
    const stopped = new Promise<void>((resolve) => {
      const stop = (): void => {
        stopping = true;
        resolve();
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    const loop = async (t: (typeof targets)[number]): Promise<void> => {
      while (!stopping) {
        const t0 = Date.now();
        const r = await probe(t, timeoutMs);
        process.stdout.write(`${JSON.stringify({ t: t0, ...r })}\n`);
        const wait = intervalMs - (Date.now() - t0);
        if (wait > 0 && !stopping) await Promise.race([new Promise((res) => setTimeout(res, wait)), stopped]);
      }
    };
    process.stdout.write(`watching ${targets.length}\n`);
    await Promise.all(targets.map(loop));
    return 0;
  }
  process.stderr.write(
    'usage: echo-main.ts serve ID PORT… | probe TIMEOUT_MS TARGET… | watch INTERVAL_MS TIMEOUT_MS TARGET…\n',
  );
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`echo-main: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
