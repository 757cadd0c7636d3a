// The README's first command: `npm run demo -- --once` must work on a fresh machine. This runs
// exactly that entry point (src/main.ts demo) and checks what it prints: every node's peer table
// with the mesh and the ToR up, cross-node pod traffic, the ToR's learned routes, and a clean
// teardown.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

describe('margay demo --once', () => {
  it('brings up a 3-node lab with a BIRD ToR, proves traffic and routes, and cleans up', () => {
    const stateDir = `/tmp/margay-demo-test-${process.pid}`;
    const run = spawnSync(process.execPath, [join(ROOT, 'src/main.ts'), 'demo', '--once'], {
      encoding: 'utf8',
      timeout: 150_000,
      env: { ...process.env, MARGAY_LAB_STATE_DIR: stateDir },
    });
    expect(run.status, run.stderr).toBe(0);
    const out = run.stdout;
    // Three node status reports, each with two mesh peers and the ToR, all up.
    expect(out.match(/^Calico process is running\.$/gm)).toHaveLength(3);
    expect(out.match(/\| 192\.0\.2\.1 +\| node specific +\| up /g)).toHaveLength(3);
    expect(out.match(/node-to-node mesh +\| up /g)?.length).toBe(12); // 2 mesh peers × 2 families × 3 nodes
    expect(out).toMatch(/reachable \(answered by/);
    expect(out).toMatch(/(\d+) of \1 pod pairs reachable on 8080\/tcp/);
    for (const cidr of ['10.244.1.0/24', '10.244.2.0/24', '10.244.3.0/24', '2001:db8:244:1::/64']) {
      expect(out).toContain(`  ${cidr}\n`);
    }
    expect(out).toMatch(/lab mgy-lab-\w+- removed/);
    const ns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    const prefix = /lab (mgy-lab-\w+-) removed/.exec(out)?.[1] as string;
    expect(ns).not.toContain(prefix);
  }, 180_000);
});
