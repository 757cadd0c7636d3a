// The README's first command: `npm run demo -- --once` must work on a fresh machine. This runs
// exactly that entry point (src/main.ts demo) and checks what it prints.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

describe('margay demo --once', () => {
  it('peers with BIRD over IPv4 and IPv6, shows both tables, and cleans up', () => {
    const before = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    const run = spawnSync(process.execPath, [join(ROOT, 'src/main.ts'), 'demo', '--once'], {
      encoding: 'utf8',
      timeout: 90_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/192\.0\.2\.2 +\| ebgp +\| up +\|.*Established/);
    expect(out).toMatch(/2001:db8::2 +\| ebgp +\| up +\|.*Established/);
    expect(out).toMatch(/203\.0\.113\.0\/24 +\| 192\.0\.2\.2 .*64513:7 64513:0:7/);
    expect(out).toContain('BGP.large_community: (64512, 1, 2)');
    expect(out).toContain("BIRD's view after margay speaker stopped: Received: Administrative shutdown");
    const after = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    expect(after.split('\n').filter((l) => l.includes('mgy-demo-'))).toEqual(
      before.split('\n').filter((l) => l.includes('mgy-demo-')),
    );
  }, 120_000);
});
