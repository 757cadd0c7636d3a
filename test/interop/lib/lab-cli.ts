// `margay lab` driven as a user drives it, for the end-to-end tests: the CLI in a child process
// with its own state folder, the lab's removal in afterAll, and the wait for a probe loop's first
// answer from every pair. Not re-exported by index.ts: it runs src/main.ts.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { cleanupStale } from '../../../src/lab/lab.ts';
import type { ProbeLoop } from '../../../src/lab/probe-loop.ts';
import { readState } from '../../../src/lab/state.ts';
import { labDown } from '../../../src/lab/up.ts';
import { waitFor } from '../../../src/lab/wait.ts';

const MAIN = new URL('../../../src/main.ts', import.meta.url).pathname;

/** Runs `margay lab ARGS --state-dir stateDir`: its exit code, stdout and stderr, and wall time. */
export function labCli(stateDir: string, ...args: string[]): { code: number; out: string; ms: number } {
  const started = Date.now();
  const r = spawnSync(process.execPath, [MAIN, 'lab', ...args, '--state-dir', stateDir], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}`, ms: Date.now() - started };
}

/** Takes the lab in `stateDir` down, removes what a failed run left behind, and the folder. */
export async function removeLab(stateDir: string): Promise<void> {
  const s = readState(stateDir);
  await labDown(stateDir);
  if (s) await cleanupStale(s.prefix);
  rmSync(stateDir, { recursive: true, force: true });
}

/** Waits until every pair of `loop` has answered at least once. */
export async function waitAllReachable(loop: ProbeLoop, timeoutMs: number): Promise<void> {
  await waitFor(() => loop.results(), {
    describe: 'a reachable result for every pair',
    until: (rs) =>
      loop.pairs.every((p) =>
        rs.some((r) => r.from === p.from && r.to === p.to && r.outcome === 'reachable'),
      ),
    timeoutMs,
    intervalMs: 100,
  });
}
