// The start-up warm-up's loopback session (bgp/speaker/session-warm-up.ts) runs in a child
// process, as in a daemon: every prefix it sends must come through a real session into the
// throwaway speaker (else it optimised nothing), and afterwards nothing may keep the process
// alive — the child must exit by itself. Where the loopback cannot be used (a namespace whose `lo`
// is down) it must give up, say why, and still leave nothing behind.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { type ChildRun, runScript } from './helpers.ts';

const MODULE = pathToFileURL(join(import.meta.dirname, '../../../../bgp/speaker/session-warm-up.ts')).href;
const DIAGNOSTICS = pathToFileURL(join(import.meta.dirname, '../../../../bgp/speaker/diagnostics.ts')).href;

// Prints the result and the session states the throwaway speaker published.
const SCRIPT = `
import { subscribe } from 'node:diagnostics_channel';
import { warmUpSession } from '${MODULE}';
import { DiagnosticChannel } from '${DIAGNOSTICS}';
const states = [];
subscribe(DiagnosticChannel.peerStateChanged, (m) => states.push(m.address + ' ' + m.to));
const result = await warmUpSession();
console.log(JSON.stringify({ result, states }));
`;

function parsed(run: ChildRun): {
  result: { ms: number; accepted: number; sent: number; skipped?: string };
  states: string[];
} {
  expect(run.code, run.out).toBe(0);
  return JSON.parse(run.out.trim().split('\n').pop() as string);
}

describe('warmUpSession', () => {
  it('takes every prefix through a real loopback session, then leaves nothing running', async () => {
    const run = await runScript(SCRIPT, { timeoutMs: 20_000 });
    const { result, states } = parsed(run);
    // 2000 small UPDATEs of 4 prefixes, and 2000 prefixes per family in large ones.
    expect(result).toMatchObject({ accepted: 12_000, sent: 12_000 });
    expect(result.skipped).toBeUndefined();
    expect(states).toContain('127.0.0.1 Established');
    // The speaker was stopped: the session went down again.
    expect(states.at(-1)).toBe('127.0.0.1 Idle');
    // It exited by itself (a timer or socket left would keep it alive until the kill at 20 s).
    expect(run.ms).toBeLessThan(15_000);
  }, 30_000);

  describe('in a namespace whose loopback is down', () => {
    const ns = `mgyt-warm-${process.pid}`;
    afterAll(() => {
      spawnSync('ip', ['netns', 'del', ns]);
    });

    it('gives up saying why, and still exits by itself', async () => {
      const add = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' });
      expect(add.status, add.stderr).toBe(0);
      const run = await runScript(SCRIPT, { ns, timeoutMs: 20_000 });
      const { result } = parsed(run);
      expect(result.accepted).toBe(0);
      expect(result.skipped).toMatch(/127\.0\.0\.1/);
      expect(run.ms).toBeLessThan(15_000);
    }, 30_000);
  });
});
