// End to end through `margay lab`: the Kubernetes datastore (a fake API server) drives a lab node
// the same as the file datastore.
//
// 3 nodes (full mesh) + a BIRD ToR, two pods per node. The fake kube-apiserver
// (test/fakes/kube-apiserver-main.ts) runs inside node-3's namespace, on its loopback, loaded with
// the objects of the lab's datastore file; node-3's agent config is rewritten to
// `datastore: { type: kubernetes, kubeconfig }` and the agent restarted (`lab restart-agent`).
// Both directions are compared: file → kubernetes, then kubernetes → file, each time node-3's
// /v1/status `node` and its /v1/dataplane/routes must equal what the other datastore gave, and the
// lab must converge (agents ready, sessions Established, pod CIDRs routed everywhere). While node-3
// is on the API server, a deny-all NetworkPolicy created through the API server (POST, as kubectl
// would) blocks ingress to node-3's pods — and only there: the other agents read the file — and
// deleting it through the API server opens it again.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { agentConfigObject } from '../../src/lab/cluster.ts';
import { agentGet, isNodeConverged, nodeView } from '../../src/lab/converge.ts';
import { cleanupStale } from '../../src/lab/lab.ts';
import { execHost, type ProcessHandle, spawnIn } from '../../src/lab/netns.ts';
import { type LoopResult, startProbeLoop } from '../../src/lab/probe-loop.ts';
import { type LabState, type NodeRecord, readState } from '../../src/lab/state.ts';
import { labProbe } from '../../src/lab/traffic.ts';
import { labDown } from '../../src/lab/up.ts';
import { waitFor } from '../../src/lab/wait.ts';

const isRoot = process.getuid?.() === 0;
const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
const FAKE_MAIN = new URL('../fakes/kube-apiserver-main.ts', import.meta.url).pathname;

function labCli(stateDir: string, ...args: string[]): { code: number; out: string; ms: number } {
  const started = Date.now();
  const r = spawnSync(process.execPath, [MAIN, 'lab', ...args, '--state-dir', stateDir], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}`, ms: Date.now() - started };
}

interface NodeRecordView {
  readonly datastore: string;
  readonly ready: boolean;
  readonly node: unknown;
  readonly routes: unknown[];
}

async function getJson<T>(node: NodeRecord, path: string): Promise<T> {
  const r = await agentGet(node, path);
  if (r.status !== 200) throw new Error(`GET ${path} on ${node.name}: ${r.status} ${r.body.slice(0, 200)}`);
  return JSON.parse(r.body) as T;
}

/** What the node shows once settled (no route kept over from before a restart any more). */
async function record(node: NodeRecord, datastore: string): Promise<NodeRecordView> {
  return waitFor(
    async () => {
      const status = await getJson<{ ready: boolean; node: unknown }>(node, '/v1/status');
      const { routes } = await getJson<{ routes: { reason: string; state: string }[] }>(
        node,
        '/v1/dataplane/routes',
      );
      return { datastore, ready: status.ready, node: status.node, routes };
    },
    {
      describe: `${node.name} ready with every route programmed from its own datastore`,
      until: (v) =>
        v.ready &&
        v.node !== null &&
        (v.routes as { reason: string; state: string }[]).every(
          (r) => r.state === 'programmed' && !r.reason.startsWith('kept from before'),
        ),
      timeoutMs: 15_000,
    },
  );
}

describe.skipIf(!isRoot)('margay lab: a node on the Kubernetes datastore (fake API server)', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'mgy-lab-e2e-k8s-'));
  let state: LabState;
  let apiServer: ProcessHandle | undefined;

  beforeAll(() => {
    const topology = join(stateDir, 'topology.yaml');
    writeFileSync(
      topology,
      'nodes: 3\ntor: bird\nnamespaces: [{ name: shop, labels: { team: shop } }]\npods:\n' +
        [1, 2, 3]
          .flatMap((i) =>
            ['a', 'b'].map(
              (s) =>
                `  - { namespace: shop, name: p${i}${s}, node: node-${i}, labels: { app: p${i} }, ports: [8080] }\n`,
            ),
          )
          .join(''),
    );
    const up = labCli(stateDir, 'up', '--topology', topology, '--timeout', '60');
    expect(up.code, up.out).toBe(0);
    console.log(
      `[lab-e2e] lab up, 3 nodes + BIRD, 6 pods: ${up.ms} ms wall (${/converged in ([\d.]+ s)/.exec(up.out)?.[1]} to converge)`,
    );
    state = readState(stateDir) as LabState;
  }, 120_000);

  afterAll(async () => {
    await apiServer?.stop(3_000).catch(() => {});
    const s = readState(stateDir);
    await labDown(stateDir);
    if (s) await cleanupStale(s.prefix);
    rmSync(stateDir, { recursive: true, force: true });
  });

  /** Rewrite node-3's agent config for a datastore and restart its agent the way the lab does. */
  async function switchDatastore(node: NodeRecord, datastore: Record<string, unknown>): Promise<number> {
    const config = {
      ...agentConfigObject({
        nodeName: node.name,
        datastorePath: state.datastorePath,
        ipv6: node.ipv6 !== undefined,
      }),
      datastore,
    };
    writeFileSync(node.configPath, `# rewritten by lab-e2e-k8s.test.ts\n${stringify(config)}`);
    const r = labCli(stateDir, 'restart-agent', node.name, '--timeout', '60');
    expect(r.code, r.out).toBe(0);
    state = readState(stateDir) as LabState;
    const views = await Promise.all(state.nodes.map((n) => nodeView(state, n)));
    expect(views.filter((v) => !isNodeConverged(v))).toEqual([]);
    return r.ms;
  }

  /** kubectl-like requests to the API server, from inside node-3's namespace (its loopback). */
  async function kube(node: NodeRecord, method: string, path: string, body?: unknown): Promise<number> {
    const kubeconfig = readFileSync(join(state.dir, 'kubeconfig-node-3.yaml'), 'utf8');
    const server = /server: (\S+)/.exec(kubeconfig)?.[1];
    const r = await execHost(
      [
        'ip',
        'netns',
        'exec',
        node.ns,
        'curl',
        '-s',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '-X',
        method,
        '-H',
        'Content-Type: application/json',
        '-H',
        'Authorization: Bearer margay-fake-token',
        ...(body !== undefined ? ['--data', JSON.stringify(body)] : []),
        `${server}${path}`,
      ],
      { timeoutMs: 10_000 },
    );
    return Number(r.stdout);
  }

  it('converges like the file datastore, shows the same node and routes, and enforces a policy from the API server', async () => {
    const node3 = state.nodes[2]!;
    const fromFile = await record(node3, 'file');
    expect(fromFile.routes.length).toBeGreaterThan(0);

    // The fake API server in node-3's namespace, with the lab's objects.
    const kubeconfig = join(state.dir, 'kubeconfig-node-3.yaml');
    apiServer = spawnIn(
      node3.ns,
      [process.execPath, FAKE_MAIN, '--objects', state.datastorePath, '--kubeconfig', kubeconfig],
      { logFile: join(state.dir, 'kube-apiserver-node-3.log') },
    );
    await waitFor(
      () => {
        if (apiServer?.exitStatus()) throw new Error(readFileSync(apiServer.logFile, 'utf8'));
        return existsSync(kubeconfig) && readFileSync(apiServer!.logFile, 'utf8').includes('ready http');
      },
      { describe: 'fake kube-apiserver ready in node-3', timeoutMs: 15_000 },
    );
    console.log(`[lab-e2e] ${readFileSync(apiServer.logFile, 'utf8').trim()}`);

    // file → kubernetes, with traffic to node-3's pods watched while its agent restarts (SIGTERM).
    const loop = await startProbeLoop(state, { port: '8080/tcp', intervalMs: 100, timeoutMs: 1_000 });
    let switchMs: number;
    const tSwitch = Date.now();
    try {
      switchMs = await switchDatastore(node3, { type: 'kubernetes', kubeconfig });
    } finally {
      await loop.stop();
    }
    const failed = loop.results().filter((r: LoopResult) => r.t >= tSwitch && r.outcome !== 'reachable');
    const onNode3 = (id: string) => id.startsWith('shop/p3');
    console.log(
      `[lab-e2e] file → kubernetes on node-3: restart-agent ${switchMs} ms; probes failed during it: ` +
        `${failed.filter((r) => !onNode3(r.from) && !onNode3(r.to)).length} between node-1/node-2 pods, ` +
        `${failed.filter((r) => onNode3(r.from) || onNode3(r.to)).length} to/from node-3 pods`,
    );
    expect(failed.filter((r) => !onNode3(r.from) && !onNode3(r.to))).toEqual([]);
    expect(readFileSync(state.nodes[2]!.agent!.logFile, 'utf8')).toMatch(
      /"event":"agent.started".*"datastore":"kubernetes"/,
    );
    const fromKube = await record(node3, 'kubernetes');
    expect(fromKube.node).toEqual(fromFile.node);
    expect(fromKube.routes).toEqual(fromFile.routes);

    // A NetworkPolicy created through the API server: only node-3 reads it, so only ingress to
    // node-3's pods is blocked; node-3's pods still reach the others (ingress-only policy).
    const policy = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'deny-ingress', namespace: 'shop' },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    };
    const t0 = Date.now();
    expect(
      await kube(node3, 'POST', '/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies', policy),
    ).toBe(201);
    await waitFor(() => labProbe(state, 'shop/p1a', 'shop/p3a', '8080/tcp', { timeoutMs: 300 }), {
      describe: 'shop/p1a → shop/p3a blocked',
      until: (r) => r.outcome === 'blocked',
      timeoutMs: 15_000,
      intervalMs: 50,
    });
    console.log(
      `[lab-e2e] NetworkPolicy POSTed to the API server enforced on node-3 within ${Date.now() - t0} ms`,
    );
    expect((await labProbe(state, 'shop/p2b', 'shop/p3b', '8080/tcp', { timeoutMs: 500 })).outcome).toBe(
      'blocked',
    );
    expect((await labProbe(state, 'shop/p1a', 'shop/p2a', '8080/tcp')).outcome).toBe('reachable');
    expect((await labProbe(state, 'shop/p3a', 'shop/p1b', '8080/tcp')).outcome).toBe('reachable');
    const rules = await getJson<{ rules: { origin?: string; comment?: string }[] }>(
      node3,
      '/v1/dataplane/policy',
    );
    expect(JSON.stringify(rules)).toContain('deny-ingress');

    expect(
      await kube(node3, 'DELETE', '/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies/deny-ingress'),
    ).toBe(200);
    await waitFor(() => labProbe(state, 'shop/p1a', 'shop/p3a', '8080/tcp', { timeoutMs: 300 }), {
      describe: 'shop/p1a → shop/p3a reachable again',
      until: (r) => r.outcome === 'reachable',
      timeoutMs: 15_000,
      intervalMs: 50,
    });
    expect(await record(node3, 'kubernetes')).toEqual(fromKube);

    // kubernetes → file: the same again, the other way round.
    await switchDatastore(node3, { type: 'file', path: state.datastorePath });
    const backOnFile = await record(node3, 'file');
    expect(backOnFile.node).toEqual(fromKube.node);
    expect(backOnFile.routes).toEqual(fromKube.routes);
  }, 120_000);
});
