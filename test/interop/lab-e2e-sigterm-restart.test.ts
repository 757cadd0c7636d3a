// End to end through `margay lab`: a rolling restart of a node's agent (SIGTERM, as Kubernetes
// sends it) must not interrupt traffic that the top-of-rack router routes to that node's pods,
// while removing the ToR peering must make the ToR drop the node's routes at once.
//
// 2 nodes (mesh) + a BIRD or FRR ToR, two pods on node-2 and one on node-1. A probe loop runs
// in the ToR's namespace to every pod (TCP, every 100 ms, 1 s timeout), IPv4 and IPv6, so each
// probe follows the route the ToR learned over BGP. The ToR's BGPPeers get `maxRestartTime`,
// which the ToR must see as the restart time in node-2's OPEN. Then:
// - `margay lab restart-agent node-2` stops the agent with SIGTERM and starts it again. The
//   agent ends its sessions as a graceful restart: BIRD 2.0.12 does not send the RFC 8538 N bit,
//   so its session is closed without a NOTIFICATION and BIRD keeps the routes as a graceful
//   restart helper; FRR exchanged N and gets Cease / Administrative Reset, which it treats the
//   same way. The new agent's OPEN carries the R bit and the F bit (forwarding preserved), so
//   the ToR keeps forwarding on the stale routes until our End-of-RIB. No probe may fail.
// - `margay lab delete` of the ToR's BGPPeers ends the peering for good: the agents send Cease /
//   Peer De-configured and the ToR has no route to node-2's pods within a few seconds, not after
//   the restart time.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoopResult, startProbeLoop } from '../../src/lab/probe-loop.ts';
import { type LabState, readState } from '../../src/lab/state.ts';
import { bare, SUBNET_LABEL } from '../../src/lab/topology.ts';
import { torCommand, torPrefixes, torSessions } from '../../src/lab/tor.ts';
import { waitFor } from '../../src/lab/wait.ts';
import { labCli, removeLab, waitAllReachable } from './lib/lab-cli.ts';

const isRoot = process.getuid?.() === 0;

/** Per pair: failed probes and the longest time from a failure to the next success. */
function gaps(results: readonly LoopResult[]): { failed: number; maxGapMs: number } {
  let failed = 0;
  let maxGapMs = 0;
  const byPair = new Map<string, LoopResult[]>();
  for (const r of results) {
    const key = `${r.from} ${r.to}`;
    byPair.set(key, [...(byPair.get(key) ?? []), r]);
  }
  for (const rs of byPair.values()) {
    let firstFail: number | undefined;
    for (const r of rs) {
      if (r.outcome !== 'reachable') {
        failed++;
        firstFail ??= r.t;
      } else if (firstFail !== undefined) {
        maxGapMs = Math.max(maxGapMs, r.t - firstFail);
        firstFail = undefined;
      }
    }
  }
  return { failed, maxGapMs };
}

function describeFailures(rs: readonly LoopResult[], t0: number): string {
  return rs
    .filter((r) => r.outcome !== 'reachable')
    .slice(0, 20)
    .map((r) => `+${r.t - t0} ms ${r.from} → ${r.to}: ${r.outcome} (${r.detail ?? ''})`)
    .join('\n');
}

const RESTART_TIME = 300;

/** The restart time of node-2's IPv4 session as the ToR received it in node-2's OPEN. */
async function restartTimeAtTor(state: LabState): Promise<number | undefined> {
  const router = state.router!;
  if (router.tor === 'bird') {
    const m = /Graceful restart\s*\n\s*Restart time: (\d+)/.exec(
      await torCommand(router, 'show protocols all node2'),
    );
    return m ? Number(m[1]) : undefined;
  }
  const address = bare(state.nodes[1]!.ipv4);
  const nb = JSON.parse(await torCommand(router, `show bgp neighbors ${address} json`))[address];
  return nb?.gracefulRestartInfo?.timers?.receivedRestartTimer;
}

describe.skipIf(!isRoot).each(['bird', 'frr'] as const)(
  'margay lab, %s ToR: SIGTERM restart and peer removal',
  (tor) => {
    const stateDir = mkdtempSync(join(tmpdir(), `mgy-lab-sigterm-${tor}-`));
    let state: LabState;

    beforeAll(() => {
      const topology = join(stateDir, 'topology.yaml');
      writeFileSync(
        topology,
        `nodes: 2\ntor: ${tor}\nnamespaces: [{ name: shop }]\npods:\n` +
          '  - { namespace: shop, name: p1a, node: node-1, ports: [8080] }\n' +
          '  - { namespace: shop, name: p2a, node: node-2, ports: [8080] }\n' +
          '  - { namespace: shop, name: p2b, node: node-2, ports: [8080] }\n',
      );
      const up = labCli(stateDir, 'up', '--topology', topology, '--timeout', '60');
      expect(up.code, up.out).toBe(0);
      state = readState(stateDir) as LabState;
    }, 120_000);

    afterAll(() => removeLab(stateDir));

    it('a SIGTERM restart of the agent loses no probe from the ToR (IPv4 and IPv6)', async () => {
      const router = state.router!;
      const from = { ns: router.ns, id: 'tor' };
      // The ToR's BGPPeers with a restart time of their own: it reaches the sessions' OPENs.
      const iface = router.interfaces[0]!;
      const peers = join(stateDir, 'tor-peers-restart-time.yaml');
      writeFileSync(
        peers,
        [
          ['tor-subnet-1', iface.ipv4],
          ['tor-subnet-1-v6', iface.ipv6 as string],
        ]
          .map(
            ([name, address]) =>
              `apiVersion: margay.io/v1\nkind: BGPPeer\nmetadata: { name: ${name} }\n` +
              `spec: { peerIP: "${bare(address as string)}", asNumber: ${router.torAsNumber}, ` +
              `nodeSelector: "${SUBNET_LABEL} == '${iface.subnet}'", maxRestartTime: ${RESTART_TIME} }\n`,
          )
          .join('---\n'),
      );
      const applied = labCli(stateDir, 'apply', peers);
      expect(applied.code, applied.out).toBe(0);
      await waitFor(() => restartTimeAtTor(state), {
        describe: `${tor}: node-2's OPEN with restart time ${RESTART_TIME}`,
        until: (t) => t === RESTART_TIME,
        timeoutMs: 20_000,
      });
      await waitFor(() => torSessions(router), {
        describe: `${tor}: every session Established`,
        until: (ss) => ss.length === 4 && ss.every((s) => s.state === 'Established'),
        timeoutMs: 15_000,
      });
      const loops = [
        await startProbeLoop(state, {
          port: '8080/tcp',
          intervalMs: 100,
          timeoutMs: 1_000,
          fromNamespace: from,
        }),
        await startProbeLoop(state, {
          port: '8080/tcp',
          intervalMs: 100,
          timeoutMs: 1_000,
          family: 6,
          fromNamespace: from,
        }),
      ];
      let t0 = 0;
      try {
        for (const loop of loops) expect(loop.pairs.length).toBe(3);
        for (const loop of loops) await waitAllReachable(loop, 15_000);
        t0 = Date.now();
        const restarted = labCli(stateDir, 'restart-agent', 'node-2', '--timeout', '60');
        expect(restarted.code, restarted.out).toBe(0);
        expect(restarted.out).toContain('stopped (SIGTERM)');
        state = readState(stateDir) as LabState;
        await waitFor(() => torSessions(router), {
          describe: `${tor}: every session Established again`,
          until: (ss) => ss.length === 4 && ss.every((s) => s.state === 'Established'),
          timeoutMs: 15_000,
        });
        if (tor === 'bird') {
          // The restarted agent's OPEN: R bit (restarting) and F bit for both families.
          const caps = await torCommand(router, 'show protocols all node2');
          console.log(`[sigterm-restart] BIRD node2 after the restart:\n${caps}`);
          expect(caps).toMatch(/Graceful restart\s*\n\s*Restart time: \d+\s*\n\s*Restart recovery/);
          expect(caps).toMatch(/AF supported: ipv4\s*\n\s*AF preserved: ipv4/);
          expect(await restartTimeAtTor(state)).toBe(RESTART_TIME);
        } else {
          const address = state.nodes[1]!.ipv4.split('/')[0] as string;
          const nb = JSON.parse(await torCommand(router, `show bgp neighbors ${address} json`))[address];
          console.log(
            `[sigterm-restart] FRR node-2 after the restart: ${JSON.stringify({
              caps: nb?.neighborCapabilities,
              gr: nb?.gracefulRestartInfo,
            })}`,
          );
          expect(nb?.neighborCapabilities?.gracefulRestart).toBe('advertisedAndReceived');
          expect(nb?.gracefulRestartInfo).toMatchObject({
            rBit: true,
            nBit: true,
            ipv4Unicast: { fBit: true },
            timers: { receivedRestartTimer: RESTART_TIME },
          });
        }
        // Probe on past the new session's End-of-RIB.
        for (const loop of loops) {
          const n = loop.results().length;
          await waitFor(() => loop.results().length, {
            describe: 'more probe rounds after the restart',
            until: (m) => m >= n + 20 * loop.pairs.length,
            timeoutMs: 15_000,
          });
        }
        const window = loops.flatMap((l) => l.results().filter((r) => r.t >= t0 - 500));
        const g = gaps(window);
        console.log(
          `[sigterm-restart] ${tor}: ${window.length} probes from the ToR across the SIGTERM restart ` +
            `(${restarted.ms} ms until converged): ${g.failed} failed, longest gap ${g.maxGapMs} ms`,
        );
        expect(window.filter((r) => r.to.endsWith('/p2a') || r.to.endsWith('/p2b')).length).toBeGreaterThan(
          0,
        );
        expect(g.failed, describeFailures(window, t0)).toBe(0);
      } finally {
        for (const loop of loops) await loop.stop();
      }
    }, 90_000);

    it('removing the ToR peering makes the ToR drop the routes at once', async () => {
      const router = state.router!;
      const node2 = state.nodes[1]!;
      const cidrs = [node2.podCIDRv4, node2.podCIDRv6 as string];
      expect(await torPrefixes(router)).toEqual(expect.arrayContaining(cidrs));
      // Another BGPPeer (it selects no node) stays, so the deletion is not the loss of every
      // BGPPeer, which the file datastore applies only after it has lasted for seconds.
      const keep = join(stateDir, 'keep-peer.yaml');
      writeFileSync(
        keep,
        'apiVersion: margay.io/v1\nkind: BGPPeer\nmetadata: { name: keep }\n' +
          'spec: { peerIP: 203.0.113.1, asNumber: 65099, nodeSelector: "lab.margay.io/none == \'x\'" }\n',
      );
      const applied = labCli(stateDir, 'apply', keep);
      expect(applied.code, applied.out).toBe(0);
      const file = join(stateDir, 'tor-peers.yaml');
      writeFileSync(
        file,
        ['tor-subnet-1', 'tor-subnet-1-v6']
          .map((name) => `apiVersion: margay.io/v1\nkind: BGPPeer\nmetadata: { name: ${name} }\n`)
          .join('---\n'),
      );
      const t0 = Date.now();
      const deleted = labCli(stateDir, 'delete', file);
      expect(deleted.code, deleted.out).toBe(0);
      const left = await waitFor(() => torPrefixes(router), {
        describe: `${tor}: no route to node-2's pod CIDRs`,
        until: (ps) => cidrs.every((c) => !ps.includes(c)),
        timeoutMs: 10_000,
        intervalMs: 50,
      });
      const ms = Date.now() - t0;
      // Counted from the moment the command returned (its file written), without the CLI's start.
      const afterCommand = ms - deleted.ms;
      console.log(
        `[sigterm-restart] ${tor}: node-2's pod CIDRs gone from the ToR ${afterCommand} ms after ` +
          `\`lab delete\` returned (${ms} ms after it started; ${left.length} prefixes left)`,
      );
      expect(afterCommand).toBeLessThan(3_000);
      if (tor === 'bird')
        expect(await torCommand(router, 'show protocols all node2')).toMatch(/Received: Peer de-configured/);
    }, 30_000);
  },
);
