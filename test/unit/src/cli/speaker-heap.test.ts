// `margay speaker` under a real memory-limited cgroup, as in a container with a memory limit: it
// replaces itself (same PID) with heap flags derived from the limit, and /metrics shows the heap
// limit it then runs with. Node by itself gives a 256 MiB container a heap limit above 256 MiB.
// A user's own --max-old-space-size in NODE_OPTIONS wins. Needs root and a memory cgroup
// controller this process can create children in (cgroup v1, or v2 with delegation).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createLimitedCgroup,
  type LimitedCgroup,
  limitedCgroupUnavailable,
} from '../../../support/cgroup.ts';
import { freePort } from '../../../support/net.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..', '..');
const MAIN = join(ROOT, 'src/main.ts');
const MiB = 2 ** 20;

const unavailable = limitedCgroupUnavailable();
const cgroups: LimitedCgroup[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const cg of cgroups.splice(0)) await cg.remove();
});

function limited(bytes: number): LimitedCgroup {
  const cg = createLimitedCgroup('margay-heap-test', bytes);
  cgroups.push(cg);
  return cg;
}

interface Running {
  readonly child: ChildProcess;
  readonly apiPort: number;
  readonly stderr: () => string;
}

async function startSpeaker(
  cg: LimitedCgroup,
  env: Record<string, string | undefined> = {},
): Promise<Running> {
  const [bgpPort, apiPort] = [await freePort(), await freePort()];
  const path = join(mkdtempSync(join(tmpdir(), 'margay-speaker-heap-')), 'speaker.yaml');
  writeFileSync(
    path,
    `asn: 64512\nrouterId: 192.0.2.1\nlisten: { address: 127.0.0.1, port: ${bgpPort} }\n` +
      `api: { listen: "127.0.0.1:${apiPort}" }\n` +
      'peers:\n  - { address: 192.0.2.2, asn: 64513, passive: true }\n',
  );
  const [cmd, ...args] = cg.wrap([process.execPath, MAIN, 'speaker', '--config', path]);
  const child = spawn(cmd, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: undefined, ...env },
  });
  children.push(child);
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`speaker exited with ${code}: ${stderr}`)));
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('API on 127.0.0.1')) resolve();
    });
  });
  child.removeAllListeners('exit');
  return { child, apiPort, stderr: () => stderr };
}

async function heapLimit(apiPort: number): Promise<number> {
  const metrics = await (await fetch(`http://127.0.0.1:${apiPort}/metrics`)).text();
  const m = /^margay_process_heap_limit_bytes (\d+)$/m.exec(metrics);
  if (!m) throw new Error(`no margay_process_heap_limit_bytes in /metrics:\n${metrics}`);
  return Number(m[1]);
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  child.kill('SIGTERM');
  return exited;
}

describe.skipIf(unavailable !== undefined)(
  `the daemons' heap under a memory limit (${unavailable ?? 'cgroup'})`,
  () => {
    it('finds the limit of the cgroup it runs in', () => {
      const cg = limited(300 * MiB);
      const script = `import(${JSON.stringify(pathToFileURL(join(ROOT, 'src/heap.ts')).href)}).then((h) => console.log(h.cgroupMemoryLimit()))`;
      const [cmd, ...args] = cg.wrap([process.execPath, '-e', script]);
      const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(Number(r.stdout.trim())).toBe(300 * MiB);
    });

    it('margay speaker in 256 MiB: old space 128 MiB, a heap limit well below the memory limit', async () => {
      const cg = limited(256 * MiB);
      const s = await startSpeaker(cg);
      const limit = await heapLimit(s.apiPort);
      // At most three quarters of the memory limit: the rest is code, the node binary, buffers.
      expect(limit).toBeLessThan(0.75 * 256 * MiB);
      expect(limit).toBeGreaterThanOrEqual(128 * MiB);
      // The process we started is the one running with the flags: replaced in place, same PID.
      const cmdline = readFileSync(`/proc/${s.child.pid}/cmdline`, 'utf8').split('\0');
      expect(cmdline).toContain('--max-old-space-size=128');
      const line = s
        .stderr()
        .split('\n')
        .find((l) => l.includes('"heap.flags"'));
      expect(JSON.parse(line ?? '{}')).toMatchObject({ memoryLimitBytes: 256 * MiB });
      // It stops on SIGTERM as before, Cease to its peers and exit 0.
      expect(await stop(s.child)).toBe(0);
      expect(cg.memory().oomKills).toBe(0);
    });

    it("a user's --max-old-space-size in NODE_OPTIONS wins over the rule", async () => {
      const cg = limited(256 * MiB);
      const s = await startSpeaker(cg, { NODE_OPTIONS: '--max-old-space-size=200' });
      const limit = await heapLimit(s.apiPort);
      expect(limit).toBeGreaterThanOrEqual(200 * MiB);
      expect(limit).toBeLessThan(256 * MiB);
      const cmdline = readFileSync(`/proc/${s.child.pid}/cmdline`, 'utf8').split('\0');
      expect(cmdline.some((a) => a.startsWith('--max-old-space-size'))).toBe(false);
      expect(await stop(s.child)).toBe(0);
    });
  },
);
