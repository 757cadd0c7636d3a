// What the two long-lived daemons, `margay speaker` and `margay agent`, load: everything a daemon
// imports stays in its memory for as long as it runs, on every node. Their modules are imported
// in a fresh Node process that records every module it loads (module.registerHooks) and the
// built-ins Node loaded internally (process.moduleLoadList).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..', '..', '..');

interface Loaded {
  readonly packages: string[];
  readonly ours: number;
  readonly undici: boolean;
}

function load(entry: string): Loaded {
  const url = pathToFileURL(join(ROOT, entry)).href;
  const script = `
import { registerHooks } from 'node:module';
const urls = [];
registerHooks({ load(url, context, next) { urls.push(url); return next(url, context); } });
await import(${JSON.stringify(url)});
const packages = new Set();
for (const u of urls) {
  const m = /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(u);
  if (m) packages.add(m[1]);
}
console.log(JSON.stringify({
  packages: [...packages].sort(),
  ours: urls.filter((u) => u.startsWith(${JSON.stringify(pathToFileURL(ROOT).href)}) && !u.includes('/node_modules/')).length,
  undici: process.moduleLoadList.some((m) => m.includes('undici')),
}));
`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout.trim().split('\n').pop() as string) as Loaded;
}

describe('the modules a daemon holds', () => {
  it('margay speaker: its own code, zod and yaml for the configuration, ipaddr.js, and no HTTP client', () => {
    const r = load('src/cli/speaker.ts');
    expect(r.ours).toBeGreaterThan(20);
    expect(r.packages).toEqual(['ipaddr.js', 'yaml', 'zod']);
    expect(r.undici).toBe(false);
  });

  it('margay agent: the same and js-yaml (plain datastore documents), without the Kubernetes client unless that datastore is configured', () => {
    const r = load('src/cli/agent.ts');
    expect(r.ours).toBeGreaterThan(50);
    expect(r.packages).toEqual(['ipaddr.js', 'js-yaml', 'yaml', 'zod']);
    expect(r.undici).toBe(false);
  });
});
