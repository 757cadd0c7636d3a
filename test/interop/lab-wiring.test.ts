// The lab's building blocks in real namespaces, without the agent: two node namespaces on one
// underlay segment, two pods wired as the CNI plugin will wire them (wirePod), echo listeners,
// and the routes the agent would program added here by hand (pod /32s to their veths, the other
// node's pod CIDR via that node). Then: TCP/UDP/IPv6 probes with the answering pod checked, a
// closed port and an iptables DROP read as "blocked", the matrix, the CLI's exit codes, and
// `lab down` working from the state file alone (as after a crash of `lab up`).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addNode, addPod, addSegments, startListener } from '../../src/lab/build.ts';
import { cleanupStale, Lab } from '../../src/lab/lab.ts';
import { listNamespaces } from '../../src/lab/netns.ts';
import { isRecordedAlive, type LabState, readState, STATE_VERSION, writeState } from '../../src/lab/state.ts';
import { parseTopology, planLab } from '../../src/lab/topology.ts';
import { labMatrix, labProbe } from '../../src/lab/traffic.ts';
import { labDown } from '../../src/lab/up.ts';

const isRoot = process.getuid?.() === 0;
const prefix = `mgy-lab-w${process.pid}-`;
const stateDir = mkdtempSync(join(tmpdir(), 'mgy-lab-wiring-state-'));
const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
let lab: Lab | undefined;
let state: LabState;

function ipIn(ns: string, ...args: string[]): void {
  execFileSync('ip', ['-n', ns, ...args]);
}

function cli(...args: string[]): { code: number; out: string } {
  const r = spawnSync(process.execPath, [MAIN, 'lab', ...args, '--state-dir', stateDir], {
    encoding: 'utf8',
  });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

beforeAll(async () => {
  if (!isRoot) return;
  const t = parseTopology({
    nodes: 2,
    pods: [
      {
        namespace: 'a',
        name: 'p1',
        node: 'node-1',
        labels: { app: 'x' },
        ports: [8080, { port: 53, protocol: 'UDP' }],
      },
      { namespace: 'b', name: 'p2', node: 'node-2', ports: [8080] },
    ],
  });
  const plan = planLab(t);
  lab = new Lab({ prefix });
  state = {
    version: STATE_VERSION,
    prefix,
    dir: lab.dir,
    datastorePath: join(lab.dir, 'cluster.yaml'),
    createdAt: new Date().toISOString(),
    phase: 'building',
    asNumber: t.asNumber,
    ipv6: t.ipv6,
    subnets: t.subnets,
    routeReflectors: 0,
    segments: [],
    nodes: [],
    pods: [],
    namespaces: [],
  };
  writeState(stateDir, state);
  await addSegments(lab, state);
  for (const n of plan.nodes) await addNode(lab, state, n);
  for (const p of plan.pods) await addPod(lab, state, p);
  await Promise.all(state.pods.map((p) => startListener(lab as Lab, p)));
  // What the agents would program: local pods on their veths, the other node's CIDR via it.
  for (const node of state.nodes) {
    const other = state.nodes.find((n) => n !== node)!;
    for (const pod of state.pods.filter((p) => p.node === node.name)) {
      ipIn(node.ns, 'route', 'add', `${pod.ipv4}/32`, 'dev', pod.hostIface);
      ipIn(node.ns, '-6', 'route', 'add', `${pod.ipv6}/128`, 'dev', pod.hostIface);
    }
    ipIn(node.ns, 'route', 'add', other.podCIDRv4, 'via', other.ipv4.split('/')[0]!);
    ipIn(node.ns, '-6', 'route', 'add', other.podCIDRv6!, 'via', other.ipv6!.split('/')[0]!);
  }
  writeFileSync(state.datastorePath, '# no agents in this test\n');
  state.phase = 'ready';
  writeState(stateDir, state);
}, 60_000);

afterAll(async () => {
  if (!isRoot) return;
  try {
    await lab?.teardown();
  } catch {
    // already detached and removed by the `lab down` test
  }
  await cleanupStale(prefix);
  rmSync(stateDir, { recursive: true, force: true });
});

describe.skipIf(!isRoot)('lab wiring, listeners and probes (static routes, no agent)', () => {
  it('probes TCP and UDP across nodes and checks who answered', async () => {
    const tcp = await labProbe(state, 'a/p1', 'b/p2', '8080/tcp');
    expect(tcp).toMatchObject({ outcome: 'reachable', responder: 'b/p2', target: '10.244.2.10:8080/tcp' });
    const udp = await labProbe(state, 'b/p2', 'a/p1', '53/udp');
    expect(udp).toMatchObject({ outcome: 'reachable', responder: 'a/p1' });
    const v6 = await labProbe(state, 'b/p2', 'a/p1', '8080/tcp', { family: 6 });
    expect(v6).toMatchObject({
      outcome: 'reachable',
      responder: 'a/p1',
      target: '[2001:db8:244:1::a]:8080/tcp',
    });
    const fromNode = await labProbe(state, 'node-1', 'b/p2', '8080/udp');
    expect(fromNode).toMatchObject({ outcome: 'reachable', responder: 'b/p2' });
  });

  it('reads a closed port and a DROP as blocked', async () => {
    const closed = await labProbe(state, 'a/p1', 'b/p2', '9999/tcp');
    expect(closed).toMatchObject({ outcome: 'blocked', detail: 'ECONNREFUSED' });
    const node2 = state.nodes[1]!.ns;
    const rule = ['-d', '10.244.2.10', '-p', 'tcp', '--dport', '8080', '-j', 'DROP'];
    execFileSync('ip', ['netns', 'exec', node2, 'iptables', '-I', 'FORWARD', ...rule]);
    try {
      const dropped = await labProbe(state, 'a/p1', 'b/p2', '8080/tcp', { timeoutMs: 500 });
      expect(dropped).toMatchObject({ outcome: 'blocked', detail: 'no answer in 500 ms' });
      const m = await labMatrix(state, '8080/tcp', { timeoutMs: 500 });
      expect(m.results).toEqual({ 'a/p1': { 'b/p2': 'blocked' }, 'b/p2': { 'a/p1': 'reachable' } });
      // The CLI: exit 1 for blocked.
      expect(cli('probe', 'a/p1', 'b/p2', '8080/tcp', '--timeout', '500').code).toBe(1);
    } finally {
      execFileSync('ip', ['netns', 'exec', node2, 'iptables', '-D', 'FORWARD', ...rule]);
    }
    expect((await labProbe(state, 'a/p1', 'b/p2', '8080/tcp')).outcome).toBe('reachable');
  });

  it('builds the matrix of every pod pair listening on the port', async () => {
    const m = await labMatrix(state, '8080/tcp');
    expect(m.from).toEqual(['a/p1', 'b/p2']);
    expect(m.to).toEqual(['a/p1', 'b/p2']);
    expect(m.results).toEqual({ 'a/p1': { 'b/p2': 'reachable' }, 'b/p2': { 'a/p1': 'reachable' } });
    expect(m.summary).toEqual({ reachable: 2, blocked: 0, error: 0 });
    const udp = await labMatrix(state, '53/udp');
    expect(udp.to).toEqual(['a/p1']);
    expect(udp.results).toEqual({ 'a/p1': {}, 'b/p2': { 'a/p1': 'reachable' } });
  });

  it('the CLI: probe exit codes, --matrix JSON, exec in a pod', () => {
    const ok = cli('probe', 'a/p1', 'b/p2', '8080/tcp');
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out).toMatch(/a\/p1 → b\/p2 10\.244\.2\.10:8080\/tcp: reachable \(answered by b\/p2\)/);
    expect(cli('probe', 'a/p1', 'b/nope', '8080/tcp').code).toBe(2);
    const m = cli('probe', '--matrix', '8080/tcp');
    expect(m.code).toBe(0);
    expect(JSON.parse(m.out).summary).toEqual({ reachable: 2, blocked: 0, error: 0 });
    const ex = spawnSync(
      process.execPath,
      [
        MAIN,
        'lab',
        'exec',
        'a/p1',
        '--state-dir',
        stateDir,
        '--',
        'ip',
        '-4',
        '-o',
        'addr',
        'show',
        'dev',
        'eth0',
      ],
      {
        encoding: 'utf8',
      },
    );
    expect(ex.status).toBe(0);
    expect(ex.stdout).toContain('10.244.1.10/32');
  });

  it('lab down removes every namespace and process from the state file alone', async () => {
    const pids = state.pods.flatMap((p) => (p.listener ? [p.listener] : []));
    expect(pids.length).toBe(2);
    expect(pids.every(isRecordedAlive)).toBe(true);
    lab?.detach(); // as if `lab up` had exited (or crashed): only the state file knows the lab
    expect(readState(stateDir)?.prefix).toBe(prefix);
    const r = await labDown(stateDir);
    expect(r.removedNamespaces.length).toBe(state.namespaces.length);
    expect((await listNamespaces()).filter((n) => n.startsWith(prefix))).toEqual([]);
    expect(pids.some(isRecordedAlive)).toBe(false);
    expect(readState(stateDir)).toBeUndefined();
    expect((await labDown(stateDir)).prefix).toBeUndefined();
  });
});
