// The executable's process I/O: stdin that arrives late (a runtime's pipe, written after the plugin
// started) is still read whole; readFileSync(0) would get EAGAIN on such a pipe, and under many
// concurrent ADDs some would see an empty configuration.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..', '..', '..');
const NODE = join(ROOT, 'node_modules', 'node', 'bin', 'node');
const dataDir = mkdtempSync(join(tmpdir(), 'mgy-cni-main-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function runMain(env: Record<string, string>, stdin: string, delayMs: number) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((res) => {
    const c = spawn(NODE, [join(ROOT, 'src', 'cni', 'main.ts')], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (b: Buffer) => (stdout += b));
    c.stderr.on('data', (b: Buffer) => (stderr += b));
    c.on('close', (code) => res({ code, stdout, stderr }));
    setTimeout(() => {
      c.stdin.write(stdin.slice(0, 10));
      setTimeout(() => c.stdin.end(stdin.slice(10)), delayMs);
    }, delayMs);
  });
}

describe('margay-cni main', () => {
  it('reads a configuration written late and in pieces', async () => {
    const conf = JSON.stringify({
      cniVersion: '1.1.0',
      name: 'late',
      type: 'margay-cni',
      ipam: { type: 'margay', ranges: [[{ subnet: '10.244.1.0/24' }]], dataDir },
    });
    const r = await runMain({ CNI_COMMAND: 'STATUS' }, conf, 300);
    expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('prints the CNI error on stdout and a line on stderr, exit 1', async () => {
    const r = await runMain({ CNI_COMMAND: 'ADD' }, '{"cniVersion":"0.4.0"}', 0);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({
      cniVersion: '0.4.0',
      code: 4,
      msg: 'CNI_CONTAINERID is not set',
    });
    expect(r.stderr).toContain('margay-cni:');
  });
});
