// The embedding example of bgp/README.md is a program that works: the block after
// `<!-- example: embed -->` runs in a child node from the repository root (as the README says to
// run it), on 127.0.0.1 only, and must print what a BGP session between the two speakers
// produces and then exit by itself.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const README = readFileSync(join(ROOT, 'bgp', 'README.md'), 'utf8');

function example(marker: string): string {
  const at = README.indexOf(`<!-- ${marker} -->`);
  if (at < 0) throw new Error(`bgp/README.md has no <!-- ${marker} -->`);
  const m = /```ts\n([\s\S]*?)\n```/.exec(README.slice(at));
  if (m?.[1] === undefined) throw new Error(`no ts code block after <!-- ${marker} -->`);
  return m[1];
}

function runTypeScript(code: string, timeoutMs: number): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--input-type=module-typescript', '-e', code], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      resolve({ code: exitCode, out });
    });
  });
}

test('the embedding example runs, B learns A’s route, the process exits by itself, as the README shows', async () => {
  const run = await runTypeScript(example('example: embed'), 15_000);
  const lines = run.out.trim().split('\n');
  // eBGP from AS 65001: the path is A's AS alone, the next hop A's session address, and it is the
  // only path B has; the community goes through unchanged.
  expect(lines).toContain('B: 10.244.1.0/24 via 127.0.0.1, best because only-path');
  expect(lines).toContain('B: AS path 65001, communities 65001:100');
  expect(lines).toContain('B: peer 127.0.0.1 AS65001 Established, 1 accepted');
  expect(lines).toContain('A: 127.0.0.1 OpenConfirm -> Established');
  expect(lines.at(-1)).toBe('A: 127.0.0.1 Established -> Idle');
  expect(run.code).toBe(0);
  // The output the README shows after the example is this output.
  const at = README.indexOf('<!-- example: embed -->');
  const shown = /It prints:\n\n```text\n([\s\S]*?)\n```/.exec(README.slice(at))?.[1];
  expect(shown, 'bgp/README.md shows the example output after "It prints:"').toBe(run.out.trim());
});
