// The agent wired to a real file datastore and a real Speaker (dataplane off: the kernel side is
// proven by the lab tests), through its REST API; and the `margay agent` exit code on bad config.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiServer, startApi } from '../../../../src/api/server.ts';
import { parseAgentConfig } from '../../../../src/config/agent.ts';
import { Agent } from '../../../../src/daemon/agent.ts';
import { FileDatastore } from '../../../../src/datastore/file/file-datastore.ts';

const MAIN = join(import.meta.dirname, '..', '..', '..', '..', 'src/main.ts');
const dir = mkdtempSync(join(tmpdir(), 'margay-agent-'));
const datastorePath = join(dir, 'cluster.yaml');
writeFileSync(
  datastorePath,
  `apiVersion: v1
kind: Node
metadata: { name: node-1, annotations: { margay.io/ipv4-address: 192.0.2.11/24 } }
spec: { podCIDRs: [10.244.1.0/24] }
---
apiVersion: v1
kind: Node
metadata: { name: node-2, annotations: { margay.io/ipv4-address: 192.0.2.12/24 } }
spec: { podCIDRs: [10.244.2.0/24] }
`,
);

let agent: Agent;
let api: ApiServer;
let base: string;

beforeAll(async () => {
  const config = parseAgentConfig({
    nodeName: 'node-1',
    datastore: { type: 'file', path: datastorePath },
    bgp: { enabled: false },
    dataplane: { enabled: false },
  });
  agent = new Agent({ config, datastore: new FileDatastore({ path: datastorePath }) });
  api = await startApi(
    agent.statusSource(() => []),
    { host: '127.0.0.1', port: 0 },
  );
  base = `http://127.0.0.1:${(api.server.address() as { port: number }).port}`;
  await agent.start();
  await agent.idle();
});

afterAll(async () => {
  await agent?.stop();
  await api?.close();
});

// biome-ignore lint/suspicious/noExplicitAny: JSON from the API under test
const get = async (path: string): Promise<any> => (await fetch(`${base}${path}`)).json();

describe('margay agent', () => {
  it('calculates its node, mesh peers and announcements from the datastore', async () => {
    const status = await get('/v1/status');
    expect(status).toMatchObject({ mode: 'agent', hostname: 'node-1', asn: 64512, routerId: '192.0.2.11' });
    expect(status.announced).toEqual(['10.244.1.0/24']);
    const { peers } = await get('/v1/bgp/peers');
    expect(peers).toHaveLength(1);
    expect(peers[0]).toMatchObject({
      address: '192.0.2.12',
      asn: 64512,
      peerType: 'node-to-node mesh',
      type: 'ibgp',
    });
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  it('documents and serves the dataplane endpoints', async () => {
    const doc = await get('/v1/openapi.json');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/dataplane/routes', '/v1/dataplane/policy']),
    );
    expect(await get('/v1/dataplane/routes')).toEqual({ routes: [] });
    expect(await get('/v1/dataplane/policy')).toEqual({ rules: [], ipsets: [] });
  });

  it('exits 2 naming the field on a bad config file', () => {
    const path = join(dir, 'agent.yaml');
    writeFileSync(
      path,
      `datastore: { type: file, path: ${datastorePath} }\ndataplane: { resyncIntervalSeconds: 0 }\n`,
    );
    const run = spawnSync(process.execPath, [MAIN, 'agent', '--config', path], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('dataplane.resyncIntervalSeconds');
  });
});
