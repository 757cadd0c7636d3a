// The agent wired to a real file datastore and a real Speaker (dataplane off: the kernel side is
// proven by the lab tests and test/interop/agent-deltas.test.ts), through its REST API: the first
// snapshot, changes after it, calculation problems in the status and in /metrics; and the
// `margay agent` exit code on bad config.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentStatusSource } from '../../../../src/api/agent-status.ts';
import { type ApiServer, startApi } from '../../../../src/api/server.ts';
import { parseAgentConfig } from '../../../../src/config/agent.ts';
import { Agent } from '../../../../src/daemon/agent.ts';
import { FileDatastore } from '../../../../src/datastore/file/file-datastore.ts';

const MAIN = join(import.meta.dirname, '..', '..', '..', '..', 'src/main.ts');
const dir = mkdtempSync(join(tmpdir(), 'margay-agent-'));
const datastorePath = join(dir, 'cluster.yaml');
const nodeDoc = (n: number) => `apiVersion: v1
kind: Node
metadata: { name: node-${n}, annotations: { margay.io/ipv4-address: 192.0.2.${10 + n}/24 } }
spec: { podCIDRs: [10.244.${n}.0/24] }
`;
const poolDoc = (name: string, cidr: string) => `apiVersion: margay.io/v1
kind: IPPool
metadata: { name: ${name} }
spec: { cidr: ${cidr} }
`;
/** A save as editors make it: the whole text under another name, renamed over the file. */
function save(docs: readonly string[]): void {
  writeFileSync(`${datastorePath}.tmp`, docs.join('---\n'));
  renameSync(`${datastorePath}.tmp`, datastorePath);
}
save([nodeDoc(1), nodeDoc(2)]);

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
    agentStatusSource(agent.view(), () => []),
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

/** Polls `probe` until `done` holds for what it returns (the datastore waits for a stable file). */
async function until<T>(probe: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

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

  it('follows changes: peers move, problems are listed and counted by kind, then clear', async () => {
    save([nodeDoc(1), nodeDoc(2), nodeDoc(3), poolDoc('a', '10.244.0.0/16'), poolDoc('b', '10.244.1.0/24')]);
    const status = await until(
      () => get('/v1/status'),
      (s) => s.problems.some((p: string) => p.startsWith('IPPool b: ')),
    );
    expect(status.problems).toEqual([expect.stringMatching(/^IPPool b: spec\.cidr: .*overlaps IPPool a/)]);
    const { peers } = await get('/v1/bgp/peers');
    expect(peers.map((p: { address: string }) => p.address)).toEqual(['192.0.2.12', '192.0.2.13']);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('margay_calc_problems{kind="IPPool"} 1');
    expect(metrics).toContain('margay_calc_problems{kind="Node"} 0');

    save([nodeDoc(1), nodeDoc(2), poolDoc('a', '10.244.0.0/16')]);
    await until(
      () => get('/v1/status'),
      (s) => s.problems.length === 0,
    );
    expect((await get('/v1/bgp/peers')).peers).toHaveLength(1);
    expect(await (await fetch(`${base}/metrics`)).text()).toContain('margay_calc_problems{kind="IPPool"} 0');
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
