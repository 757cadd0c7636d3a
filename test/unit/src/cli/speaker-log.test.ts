// `margay speaker` as a process, refusing connections from 127.0.0.1 (not a peer): its log has one
// line for the first refusal, none for the rest of the minute until a summary line with their
// count, and its /metrics counts them all.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, refusedConnection } from '../../../support/net.ts';

const MAIN = join(import.meta.dirname, '..', '..', '..', '..', 'src/main.ts');

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

describe('margay speaker log and metrics', () => {
  it('logs the first refused connection and counts all of them', async () => {
    const [bgpPort, apiPort] = [await freePort(), await freePort()];
    const dir = mkdtempSync(join(tmpdir(), 'margay-speaker-log-'));
    const path = join(dir, 'speaker.yaml');
    writeFileSync(
      path,
      `asn: 64512\nrouterId: 192.0.2.1\nlisten: { address: 127.0.0.1, port: ${bgpPort} }\n` +
        `api: { listen: "127.0.0.1:${apiPort}" }\n` +
        'peers:\n  - { address: 192.0.2.2, asn: 64513, passive: true }\n',
    );
    const child = spawn(process.execPath, [MAIN, 'speaker', '--config', path], {
      stdio: ['ignore', 'ignore', 'pipe'],
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

    for (let i = 0; i < 20; i++) expect(await refusedConnection(bgpPort)).toBe(true);
    const metrics = await (await fetch(`http://127.0.0.1:${apiPort}/metrics`)).text();
    expect(metrics).toMatch(/^margay_bgp_connections_refused_total 20$/m);
    expect(metrics).toMatch(/^margay_log_suppressed_total\{event="bgp.connectionRefused"\} 19$/m);

    // A clean stop writes the pending summary: the other 19 with the last one's fields.
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    child.removeAllListeners('exit');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const refusals = stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.event === 'bgp.connectionRefused');
    const reason = '127.0.0.1 is not a configured peer';
    expect(refusals).toEqual([
      expect.objectContaining({ level: 'warn', remoteAddress: '127.0.0.1', reason }),
      expect.objectContaining({ level: 'warn', remoteAddress: '127.0.0.1', reason, suppressed: 19 }),
    ]);
    expect(refusals[0]).not.toHaveProperty('suppressed');
  });
});
