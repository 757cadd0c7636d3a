// `margay agent` as a process (file datastore, node-to-node mesh off, dataplane off, BGP on
// 127.0.0.1): connections from 127.0.0.1 are refused, its /metrics counts every one, and its log
// has the first refusal, then on a clean stop one line with how many it left out.
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

describe('margay agent log and metrics', () => {
  it('logs the first refused connection and counts all of them', async () => {
    const [bgpPort, apiPort] = [await freePort(), await freePort()];
    const dir = mkdtempSync(join(tmpdir(), 'margay-agent-log-'));
    const datastore = join(dir, 'cluster.yaml');
    writeFileSync(
      datastore,
      `apiVersion: margay.io/v1
kind: BGPConfiguration
metadata: { name: default }
spec: { asNumber: 64512, nodeToNodeMeshEnabled: false, listenPort: ${bgpPort} }
---
apiVersion: v1
kind: Node
metadata: { name: node-1, annotations: { margay.io/ipv4-address: 192.0.2.11/24 } }
spec: { podCIDRs: [10.244.1.0/24] }
`,
    );
    const config = join(dir, 'agent.yaml');
    writeFileSync(
      config,
      `nodeName: node-1\ndatastore: { type: file, path: ${datastore} }\n` +
        `bgp: { listenAddress: 127.0.0.1 }\ndataplane: { enabled: false }\n` +
        `api: { listen: "127.0.0.1:${apiPort}" }\n`,
    );
    const child = spawn(process.execPath, [MAIN, 'agent', '--config', config], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    // The speaker starts once the agent has read the datastore; until then nothing listens.
    for (;;) {
      if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode}: ${stderr}`);
      if (await refusedConnection(bgpPort)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    for (let i = 1; i < 20; i++) expect(await refusedConnection(bgpPort)).toBe(true);

    const metrics = await (await fetch(`http://127.0.0.1:${apiPort}/metrics`)).text();
    expect(metrics).toMatch(/^margay_bgp_connections_refused_total 20$/m);
    expect(metrics).toMatch(/^margay_log_suppressed_total\{event="bgp.connectionRefused"\} 19$/m);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const refusals = stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.event === 'bgp.connectionRefused');
    expect(refusals).toEqual([
      expect.objectContaining({ level: 'warn', remoteAddress: '127.0.0.1' }),
      expect.objectContaining({ level: 'warn', remoteAddress: '127.0.0.1', suppressed: 19 }),
    ]);
    expect(refusals[0]).not.toHaveProperty('suppressed');
  });
});
