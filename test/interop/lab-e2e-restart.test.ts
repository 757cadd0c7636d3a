// End to end through `margay lab`: killing a node's agent (SIGKILL: no Cease, no cleanup) and
// starting it again must not break pod-to-pod traffic: its peers see the session drop, and after
// the restart the lab reconverges without any pod-to-pod probe failing on the other nodes.
//
// 3 nodes (full mesh) + a BIRD ToR, two pods per node. A continuous probe loop runs from every
// pod to every other pod (TCP, each pair every 100 ms, 1 s timeout) for the whole kill/restart
// window. node-2's agent is SIGKILLed by the PID the state file recorded; then:
// - node-1, node-3 (REST /v1/bgp/peers) and BIRD (`show protocols`) see node-2's sessions down;
// - the kernel routes (`ip route show proto 109`, both families) stay as they were on every
//   node, and BIRD keeps node-2's pod CIDRs (graceful restart: the session ended without a
//   NOTIFICATION, the routes are kept stale);
// - `margay lab restart-agent node-2` starts the agent as `lab up` does and waits until the lab
//   has converged; the routes are the same as before the kill;
// - zero failed probes between pods on node-1 and node-3, and — because the restarted agent keeps
//   its forwarding state until BGP has resynchronised and announces its pod CIDRs before its
//   End-of-RIB (src/daemon/agent.ts) — zero failed probes to and from node-2's pods as well.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isNodeConverged, nodeView } from '../../src/lab/converge.ts';
import { execHost } from '../../src/lab/netns.ts';
import { type LoopResult, startProbeLoop } from '../../src/lab/probe-loop.ts';
import { isRecordedAlive, type LabState, readState } from '../../src/lab/state.ts';
import { bare } from '../../src/lab/topology.ts';
import { torPrefixes, torSessions } from '../../src/lab/tor.ts';
import { waitFor } from '../../src/lab/wait.ts';
import { labCli, removeLab, waitAllReachable } from './lib/lab-cli.ts';

const isRoot = process.getuid?.() === 0;

/** Every route Margay owns on a node, both families, in the kernel's words. */
async function ownedRoutes(ns: string): Promise<string[]> {
  const out: string[] = [];
  for (const family of ['-4', '-6']) {
    const r = await execHost(['ip', '-n', ns, family, 'route', 'show', 'proto', '109']);
    out.push(...r.stdout.split('\n').filter((l) => l.trim() !== ''));
  }
  return out.map((l) => l.trim()).sort();
}

function failures(results: readonly LoopResult[]): LoopResult[] {
  return results.filter((r) => r.outcome !== 'reachable');
}

function describeFailures(rs: readonly LoopResult[], t0: number): string {
  return rs
    .slice(0, 20)
    .map((r) => `+${r.t - t0} ms ${r.from} → ${r.to}: ${r.outcome} (${r.detail ?? ''})`)
    .join('\n');
}

describe.skipIf(!isRoot)('margay lab: an agent killed with SIGKILL and restarted', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'mgy-lab-e2e-restart-'));
  let state: LabState;

  beforeAll(() => {
    const topology = join(stateDir, 'topology.yaml');
    writeFileSync(
      topology,
      'nodes: 3\ntor: bird\nnamespaces: [{ name: shop, labels: { team: shop } }]\npods:\n' +
        [1, 2, 3]
          .flatMap((i) =>
            ['a', 'b'].map(
              (s) => `  - { namespace: shop, name: p${i}${s}, node: node-${i}, ports: [8080] }\n`,
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

  afterAll(() => removeLab(stateDir));

  it('peers see the session drop, routes stay, restart reconverges, no probe fails', async () => {
    const [node1, node2, node3] = state.nodes as [
      (typeof state.nodes)[0],
      (typeof state.nodes)[0],
      (typeof state.nodes)[0],
    ];
    const before = new Map(
      await Promise.all(state.nodes.map(async (n) => [n.name, await ownedRoutes(n.ns)] as const)),
    );
    expect(before.get('node-1')).toContain('10.244.2.0/24 via 192.0.2.12 dev eth0');

    const loop = await startProbeLoop(state, { port: '8080/tcp', intervalMs: 100, timeoutMs: 1_000 });
    expect(loop.pairs.length).toBe(30);
    let tKill = 0;
    let tRestarted = 0;
    try {
      // Every pair answered at least once before anything happens.
      await waitAllReachable(loop, 10_000);
      expect(failures(loop.results())).toEqual([]);

      const victim = node2.agent!;
      tKill = Date.now();
      process.kill(victim.pid, 'SIGKILL');
      await waitFor(() => !isRecordedAlive(victim), {
        describe: `agent pid ${victim.pid} gone`,
        timeoutMs: 5_000,
      });

      // Its peers see the sessions drop: the other agents over REST, BIRD in `show protocols`.
      const node2Addresses = [bare(node2.ipv4), bare(node2.ipv6!)];
      for (const n of [node1, node3]) {
        const peers = await waitFor(
          async () => (await nodeView(state, n)).peers.filter((p) => node2Addresses.includes(p.address)),
          {
            describe: `${n.name}: sessions with node-2 down`,
            until: (ps) => ps.length === 2 && ps.every((p) => p.state !== 'Established'),
            timeoutMs: 10_000,
          },
        );
        console.log(
          `[lab-e2e] ${n.name} sees node-2: ${peers.map((p) => `${p.address} ${p.state}`).join(', ')}`,
        );
      }
      const tor = await waitFor(() => torSessions(state.router!), {
        describe: 'BIRD: node2 and node2_v6 not Established',
        until: (ss) => ss.filter((s) => /^node2(_v6)?$/.test(s.peer)).every((s) => s.state !== 'Established'),
        timeoutMs: 10_000,
      });
      expect(tor.filter((s) => /^node2(_v6)?$/.test(s.peer)).length).toBe(2);
      // The other sessions are untouched.
      expect(tor.filter((s) => !/^node2(_v6)?$/.test(s.peer)).every((s) => s.state === 'Established')).toBe(
        true,
      );

      // Traffic keeps running for a while with the agent dead (≥ 10 more probes per pair).
      const seen = loop.results().length;
      await waitFor(() => loop.results().length, {
        describe: 'more probe rounds with node-2 agent dead',
        until: (n) => n >= seen + 10 * loop.pairs.length,
        timeoutMs: 10_000,
      });
      // The kernel routes stay everywhere (node-2's kernel too: nobody cleaned up), and BIRD
      // keeps node-2's pod CIDRs.
      for (const n of state.nodes) expect(await ownedRoutes(n.ns), n.name).toEqual(before.get(n.name));
      expect(await torPrefixes(state.router!)).toEqual(
        expect.arrayContaining([node2.podCIDRv4, node2.podCIDRv6 as string]),
      );

      const restarted = labCli(stateDir, 'restart-agent', 'node-2', '--timeout', '60');
      expect(restarted.code, restarted.out).toBe(0);
      expect(restarted.out).not.toContain('stopped (SIGTERM)'); // it was dead already
      tRestarted = Date.now();
      state = readState(stateDir) as LabState;
      expect(state.nodes[1]?.agent?.pid).not.toBe(victim.pid);
      const views = await Promise.all(state.nodes.map((n) => nodeView(state, n)));
      expect(views.filter((v) => !isNodeConverged(v))).toEqual([]);
      await waitFor(() => torSessions(state.router!), {
        describe: 'BIRD: every session Established again',
        until: (ss) => ss.length === 6 && ss.every((s) => s.state === 'Established'),
        timeoutMs: 15_000,
      });
      console.log(
        `[lab-e2e] node-2 agent down ${tRestarted - tKill} ms (restart-agent ${restarted.ms} ms until converged)`,
      );

      // Keep probing past the restarted agent's End-of-RIB and first dataplane passes.
      const after = loop.results().length;
      await waitFor(() => loop.results().length, {
        describe: 'more probe rounds after the restart',
        until: (n) => n >= after + 20 * loop.pairs.length,
        timeoutMs: 15_000,
      });
      for (const n of state.nodes) expect(await ownedRoutes(n.ns), n.name).toEqual(before.get(n.name));
    } finally {
      await loop.stop();
    }

    // What the restarted agent kept and for how long (its log; the lab appends to the same file).
    const agentLog = readFileSync(state.nodes[1]!.agent!.logFile, 'utf8');
    for (const line of agentLog.split('\n').filter((l) => l.includes('agent.carry-over')))
      console.log(`[lab-e2e] node-2 agent: ${line}`);
    expect(agentLog).toContain('"event":"agent.carry-over-done"');

    const window = loop.results().filter((r) => r.t >= tKill - 1_000);
    const onNode2 = new Set(
      state.pods.filter((p) => p.node === 'node-2').map((p) => `${p.namespace}/${p.name}`),
    );
    const involvesNode2 = (r: LoopResult) => onNode2.has(r.from) || onNode2.has(r.to);
    const others = window.filter((r) => !involvesNode2(r));
    const node2Pairs = window.filter(involvesNode2);
    const failedOthers = failures(others);
    const failedNode2 = failures(node2Pairs);
    console.log(
      `[lab-e2e] probes during kill/restart: ${others.length} between node-1/node-3 pods (${failedOthers.length} failed), ` +
        `${node2Pairs.length} to/from node-2 pods (${failedNode2.length} failed)`,
    );
    expect(others.length).toBeGreaterThan(0);
    expect(failedOthers, describeFailures(failedOthers, tKill)).toEqual([]);
    expect(failedNode2, describeFailures(failedNode2, tKill)).toEqual([]);
  }, 90_000);
});
