// `margay` run from the .ts sources keeps Node's compile cache (src/main.ts), under the temporary
// directory unless NODE_COMPILE_CACHE names one, and not at all with NODE_DISABLE_COMPILE_CACHE.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const MAIN = join(import.meta.dirname, '..', '..', '..', '..', 'src', 'main.ts');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function runIn(env: Record<string, string>): { code: number | null; tmp: string; out: string } {
  const tmp = mkdtempSync(join(tmpdir(), 'margay-compile-cache-'));
  dirs.push(tmp);
  const clean = { ...process.env };
  delete clean.NODE_COMPILE_CACHE;
  delete clean.NODE_DISABLE_COMPILE_CACHE;
  // `margay health` imports a module of its own after main.ts's imports, and fails fast on a port
  // where nothing listens.
  const run = spawnSync(process.execPath, [MAIN, 'health', '--live', '--api', '127.0.0.1:1'], {
    encoding: 'utf8',
    env: { ...clean, TMPDIR: tmp, ...env },
    timeout: 20_000,
  });
  return { code: run.status, tmp, out: `${run.stdout}${run.stderr}` };
}

/** Every file under `dir`. */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name);
}

describe('margay from the sources', () => {
  it('writes the compile cache under the temporary directory', () => {
    const r = runIn({});
    expect(r.code, r.out).toBe(1);
    const cache = join(r.tmp, 'node-compile-cache');
    expect(existsSync(cache)).toBe(true);
    expect(files(cache).length).toBeGreaterThan(0);
  });

  it('writes it where NODE_COMPILE_CACHE says, and nowhere with NODE_DISABLE_COMPILE_CACHE', () => {
    const named = mkdtempSync(join(tmpdir(), 'margay-compile-cache-named-'));
    dirs.push(named);
    const r = runIn({ NODE_COMPILE_CACHE: named });
    expect(r.code, r.out).toBe(1);
    expect(files(named).length).toBeGreaterThan(0);
    expect(existsSync(join(r.tmp, 'node-compile-cache'))).toBe(false);
    const off = runIn({ NODE_DISABLE_COMPILE_CACHE: '1' });
    expect(off.code, off.out).toBe(1);
    expect(existsSync(join(off.tmp, 'node-compile-cache'))).toBe(false);
  });
});
