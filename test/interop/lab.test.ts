// End to end through `margay lab` (the CLI, as a user runs it) with the real agent in every node
// namespace:
// 1. 3 nodes, full mesh, BIRD ToR: converged; every pod reaches every other pod across nodes over
//    TCP and UDP, IPv4 and IPv6; BIRD learned every node's pod CIDRs; a deny-all NetworkPolicy
//    applied through the datastore blocks the matrix and deleting it opens it again; a Node added
//    with `lab apply` gets its sessions and routes everywhere, and deleting it withdraws them;
//    `lab down` leaves no namespace and no process.
// 2. 4 nodes on two subnets with two route reflectors, VXLAN CrossSubnet and an FRR ToR, dual
//    stack: IPv4 and IPv6 pod traffic cross the subnets through vxlan.margay (IPv6 over the IPv4
//    underlay) and stay direct within a subnet.
// Timings (convergence, node add, policy enforcement) are printed for the closing report.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentGet, isNodeConverged, nodeView } from '../../src/lab/converge.ts';
import { cleanupStale } from '../../src/lab/lab.ts';
import { execHost, listNamespaces } from '../../src/lab/netns.ts';
import { isRecordedAlive, type LabState, readState } from '../../src/lab/state.ts';
import { torPrefixes, torSessions } from '../../src/lab/tor.ts';
import { labMatrix, labProbe, type Matrix } from '../../src/lab/traffic.ts';
import { labDown } from '../../src/lab/up.ts';
import { waitFor } from '../../src/lab/wait.ts';

const isRoot = process.getuid?.() === 0;
const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;

function labCli(stateDir: string, ...args: string[]): { code: number; out: string; ms: number } {
  const started = Date.now();
  const r = spawnSync(process.execPath, [MAIN, 'lab', ...args], {
    encoding: 'utf8',
    env: { ...process.env, MARGAY_LAB_STATE_DIR: stateDir },
    timeout: 150_000,
  });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}`, ms: Date.now() - started };
}

function allReachable(m: Matrix): boolean {
  return m.summary.blocked === 0 && m.summary.error === 0 && m.summary.reachable > 0;
}

async function kernelHasRoute(ns: string, dst: string): Promise<boolean> {
  const r = await execHost(['ip', '-n', ns, '-j', 'route', 'show', dst]);
  return (JSON.parse(r.stdout || '[]') as unknown[]).length > 0;
}

async function removeEverything(stateDir: string): Promise<void> {
  const state = readState(stateDir);
  await labDown(stateDir);
  if (state) await cleanupStale(state.prefix);
  rmSync(stateDir, { recursive: true, force: true });
}

describe.skipIf(!isRoot)('margay lab: 3 nodes, full mesh, BIRD top-of-rack', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'mgy-lab-e2e-'));
  const files = mkdtempSync(join(tmpdir(), 'mgy-lab-e2e-files-'));
  let state: LabState;

  beforeAll(() => {
    const up = labCli(stateDir, 'up', '--nodes', '3', '--tor', 'bird', '--timeout', '60');
    expect(up.code, up.out).toBe(0);
    console.log(
      `[lab] up 3 nodes + BIRD: ${up.ms} ms (${/converged in ([\d.]+ s)/.exec(up.out)?.[1]} to converge)`,
    );
    state = readState(stateDir) as LabState;
  }, 120_000);

  afterAll(async () => {
    await removeEverything(stateDir);
    rmSync(files, { recursive: true, force: true });
  });

  it('has converged: agents ready, sessions Established, pod CIDRs routed', async () => {
    expect(state.phase).toBe('ready');
    const views = await Promise.all(state.nodes.map((n) => nodeView(state, n)));
    expect(views.filter((v) => !isNodeConverged(v))).toEqual([]);
    expect(views.map((v) => v.peers.length)).toEqual([6, 6, 6]); // 2 nodes × 2 families + ToR × 2
    const status = labCli(stateDir, 'status', '-o', 'json');
    expect(status.code, status.out).toBe(0);
    expect(JSON.parse(status.out)).toMatchObject({ converged: true, phase: 'ready' });
  });

  it('every pod reaches every other pod across nodes, TCP and UDP, IPv4 and IPv6', async () => {
    for (const family of [4, 6] as const) {
      const tcp = await labMatrix(state, '8080/tcp', { family });
      expect(tcp.summary, `IPv${family} ${JSON.stringify(tcp.results)}`).toEqual({
        reachable: 4,
        blocked: 0,
        error: 0,
      });
      const udp = await labMatrix(state, '8080/udp', { family });
      expect(udp.summary, `IPv${family} ${JSON.stringify(udp.results)}`).toEqual({
        reachable: 4,
        blocked: 0,
        error: 0,
      });
    }
    const p = labCli(stateDir, 'probe', 'frontend/web-0', 'backend/db-0', '53/udp');
    expect(p.code, p.out).toBe(0);
    expect(p.out).toContain('answered by backend/db-0');
  });

  it('the ToR learned every node pod CIDR', async () => {
    const want = state.nodes.flatMap((n) => [n.podCIDRv4, n.podCIDRv6 as string]);
    const have = await waitFor(() => torPrefixes(state.router!), {
      describe: 'BIRD routes for every pod CIDR',
      until: (p) => want.every((w) => p.includes(w)),
      timeoutMs: 10_000,
    });
    expect(have).toEqual(expect.arrayContaining(want));
    expect((await torSessions(state.router!)).every((s) => s.state === 'Established')).toBe(true);
  });

  it('a deny-all NetworkPolicy blocks cross-node traffic; deleting it opens it again', async () => {
    const policy = join(files, 'deny.yaml');
    writeFileSync(
      policy,
      ['frontend', 'backend']
        .map(
          (ns) =>
            `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: deny-all, namespace: ${ns} }\n` +
            'spec: { podSelector: {}, policyTypes: [Ingress] }\n',
        )
        .join('---\n'),
    );
    const applied = labCli(stateDir, 'apply', policy);
    expect(applied.code, applied.out).toBe(0);
    const t0 = Date.now();
    await waitFor(() => labMatrix(state, '8080/tcp', { timeoutMs: 500 }), {
      describe: 'every pair blocked',
      until: (m) => m.summary.reachable === 0 && m.summary.blocked === 4,
      timeoutMs: 15_000,
      intervalMs: 50,
    });
    const blockedMs = Date.now() - t0;
    expect(
      labCli(stateDir, 'probe', 'frontend/web-0', 'frontend/web-1', '8080/tcp', '--timeout', '500').code,
    ).toBe(1);
    const deleted = labCli(stateDir, 'delete', policy);
    expect(deleted.code, deleted.out).toBe(0);
    const t1 = Date.now();
    await waitFor(() => labMatrix(state, '8080/tcp', { timeoutMs: 500 }), {
      describe: 'every pair reachable again',
      until: allReachable,
      timeoutMs: 15_000,
      intervalMs: 50,
    });
    console.log(
      `[lab] policy enforced ≤ ${blockedMs} ms after apply returned; lifted ≤ ${Date.now() - t1} ms after delete`,
    );
  }, 60_000);

  it('a Node added with lab apply gets sessions and routes everywhere; deleting it withdraws them', async () => {
    const file = join(files, 'node-4.yaml');
    writeFileSync(
      file,
      'apiVersion: v1\nkind: Node\nmetadata: { name: node-4, labels: { rack: b } }\n---\n' +
        'apiVersion: v1\nkind: Pod\nmetadata: { name: api-0, namespace: backend, labels: { app: api } }\n' +
        'spec: { nodeName: node-4, containers: [{ name: main, ports: [{ containerPort: 8080 }] }] }\n',
    );
    const applied = labCli(stateDir, 'apply', file);
    expect(applied.code, applied.out).toBe(0);
    console.log(`[lab] apply of node-4 (+ pod) until converged everywhere: ${applied.ms} ms (CLI included)`);
    state = readState(stateDir) as LabState;
    const node4 = state.nodes.find((n) => n.name === 'node-4')!;
    expect(node4.podCIDRv4).toBe('10.244.4.0/24');
    for (const n of state.nodes.filter((x) => x !== node4))
      expect(await kernelHasRoute(n.ns, '10.244.4.0/24')).toBe(true);
    expect((await labProbe(state, 'frontend/web-0', 'backend/api-0', '8080/tcp')).outcome).toBe('reachable');
    expect(allReachable(await labMatrix(state, '8080/tcp'))).toBe(true);

    const removed = labCli(stateDir, 'delete', file);
    expect(removed.code, removed.out).toBe(0);
    const before = state;
    state = readState(stateDir) as LabState;
    expect(state.nodes.map((n) => n.name)).toEqual(['node-1', 'node-2', 'node-3']);
    expect(isRecordedAlive(before.nodes.find((n) => n.name === 'node-4')!.agent!)).toBe(false);
    for (const n of state.nodes)
      await waitFor(async () => !(await kernelHasRoute(n.ns, '10.244.4.0/24')), {
        describe: `${n.name} to withdraw 10.244.4.0/24`,
        timeoutMs: 10_000,
      });
    expect((await listNamespaces()).filter((ns) => ns === node4.ns)).toEqual([]);
  }, 90_000);

  it('lab down leaves no namespace and no process', async () => {
    const processes = [
      ...state.nodes.flatMap((n) => (n.agent ? [n.agent] : [])),
      ...state.pods.flatMap((p) => (p.listener ? [p.listener] : [])),
      ...(state.router?.torProcesses ?? []),
    ];
    expect(processes.length).toBe(3 + 3 + 1);
    const down = labCli(stateDir, 'down');
    expect(down.code, down.out).toBe(0);
    expect((await listNamespaces()).filter((ns) => ns.startsWith(state.prefix))).toEqual([]);
    expect(processes.filter(isRecordedAlive)).toEqual([]);
    expect(readState(stateDir)).toBeUndefined();
  });
});

describe.skipIf(!isRoot)('margay lab: two subnets, two route reflectors, VXLAN CrossSubnet, FRR ToR', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'mgy-lab-e2e-rr-'));
  let state: LabState;

  beforeAll(() => {
    const topology = join(stateDir, 'topology.yaml');
    writeFileSync(
      topology,
      'subnets: 2\nipv6: true\nrouteReflectors: 2\ntor: frr\nnodes: 4\n' +
        'namespaces: [{ name: shop, labels: { team: shop } }]\npods:\n' +
        [1, 2, 3, 4]
          .map((i) => `  - { namespace: shop, name: p${i}, node: node-${i}, ports: [8080] }\n`)
          .join(''),
    );
    const up = labCli(stateDir, 'up', '--topology', topology, '--timeout', '60');
    expect(up.code, up.out).toBe(0);
    console.log(
      `[lab] up 4 nodes / 2 subnets / 2 RRs / FRR: ${up.ms} ms (${/converged in ([\d.]+ s)/.exec(up.out)?.[1]})`,
    );
    state = readState(stateDir) as LabState;
  }, 120_000);

  afterAll(() => removeEverything(stateDir));

  it('clients peer with the route reflectors only, and every pod reaches every other pod', async () => {
    const views = await Promise.all(state.nodes.map((n) => nodeView(state, n)));
    // One session per family. RRs: 3 other nodes + ToR; clients: 2 RRs + ToR.
    expect(views.map((v) => v.peers.filter((p) => p.state === 'Established').length)).toEqual([8, 8, 6, 6]);
    for (const family of [4, 6] as const) {
      const tcp = await labMatrix(state, '8080/tcp', { family });
      expect(tcp.summary, `IPv${family} ${JSON.stringify(tcp.results)}`).toEqual({
        reachable: 12,
        blocked: 0,
        error: 0,
      });
      const udp = await labMatrix(state, '8080/udp', { family });
      expect(udp.summary, `IPv${family} ${JSON.stringify(udp.results)}`).toEqual({
        reachable: 12,
        blocked: 0,
        error: 0,
      });
    }
  });

  it('reflectors and clients negotiate ADD-PATH (RFC 7911): the reflector sends, the client receives', async () => {
    type Caps = { address: string; peerType?: string; capabilities: { local: string[]; remote: string[] } };
    for (const n of state.nodes) {
      const { peers } = JSON.parse((await agentGet(n, '/v1/bgp/peers')).body) as { peers: Caps[] };
      for (const p of peers) {
        const local = p.capabilities.local.filter((c) => c.startsWith('add-path'));
        const remote = p.capabilities.remote.filter((c) => c.startsWith('add-path'));
        const family = p.address.includes(':') ? 'ipv6-unicast' : 'ipv4-unicast';
        const label = `${n.name} → ${p.address} (${p.peerType})`;
        if (p.peerType === 'route reflector client') {
          expect(local, label).toEqual([`add-path ${family} send`]);
          expect(remote, label).toEqual([`add-path ${family} receive`]);
        } else if (p.peerType === 'route reflector') {
          // A client receives from its reflector; two reflectors of one cluster do both.
          const [ours, theirs] = n.isRouteReflector ? ['both', 'both'] : ['receive', 'send'];
          expect(local, label).toEqual([`add-path ${family} ${ours}`]);
          expect(remote, label).toEqual([`add-path ${family} ${theirs}`]);
        } else {
          expect(local, label).toEqual([]);
        }
      }
    }
  });

  it('across subnets the routes go through vxlan.margay, IPv6 too; within a subnet they are direct', async () => {
    const [node1, node2, node3] = state.nodes;
    expect([node1, node2, node3].map((n) => n?.subnet)).toEqual([1, 1, 2]);
    const route = async (ns: string, dst: string) =>
      (await execHost(['ip', '-n', ns, dst.includes(':') ? '-6' : '-4', 'route', 'show', dst])).stdout;
    expect(await route(node1!.ns, node3!.podCIDRv4)).toContain('via 10.244.3.0 dev vxlan.margay');
    expect(await route(node1!.ns, node2!.podCIDRv4)).toContain('via 192.0.2.12 dev eth0');
    expect(await route(node1!.ns, node3!.podCIDRv6!)).toContain('via 2001:db8:244:3:: dev vxlan.margay');
    expect(await route(node1!.ns, node2!.podCIDRv6!)).toContain('via 2001:db8:0:1::12 dev eth0');
    expect(await route(node3!.ns, node1!.podCIDRv6!)).toContain('via 2001:db8:244:1:: dev vxlan.margay');
    // The device carries both tunnel addresses; each remote has an IPv6 neighbour → its VTEP MAC.
    const addrs = await execHost(['ip', '-n', node1!.ns, 'addr', 'show', 'dev', 'vxlan.margay']);
    expect(addrs.stdout).toContain('inet 10.244.1.0/32');
    expect(addrs.stdout).toContain('inet6 2001:db8:244:1::/128');
    const neigh = await execHost(['ip', '-n', node1!.ns, '-6', 'neigh', 'show', 'dev', 'vxlan.margay']);
    expect(neigh.stdout).toMatch(/2001:db8:244:3:: lladdr [0-9a-f:]+ PERMANENT/);
    // Every agent is ready and lists every route it wants as programmed (none failed).
    for (const n of state.nodes) {
      expect(isNodeConverged(await nodeView(state, n)), n.name).toBe(true);
      const listed = JSON.parse((await agentGet(n, '/v1/dataplane/routes')).body) as {
        routes: { dst: string; state: string }[];
      };
      expect(listed.routes.length).toBeGreaterThan(0);
      expect(
        listed.routes.filter((r) => r.state !== 'programmed'),
        n.name,
      ).toEqual([]);
    }
  });
});
