// How long the lab's steps take, measured through `margay lab` as a user runs it (printed, not
// asserted: timing assertions fail for the wrong reason on a busy machine):
// - `lab up` until converged, for 3 and for 10 nodes (full mesh + a BIRD ToR, one pod per node);
// - adding a node (`lab apply` of a Node, `--no-wait`) until every other node has a kernel route
//   to its pod CIDRs (IPv4 and IPv6);
// - a policy change (`lab apply` of a deny-all NetworkPolicy) until the first probe is blocked,
//   and until every probed pair is, read from continuous probes (every 50 ms per pair); and the
//   same for `lab delete` until traffic passes again.
// The assertions only check that each step happened.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupStale } from '../../src/lab/lab.ts';
import { execHost } from '../../src/lab/netns.ts';
import { type LoopResult, startProbeLoop } from '../../src/lab/probe-loop.ts';
import { type LabState, readState } from '../../src/lab/state.ts';
import { labDown } from '../../src/lab/up.ts';
import { waitFor } from '../../src/lab/wait.ts';

const isRoot = process.getuid?.() === 0;
const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;

function labCli(stateDir: string, ...args: string[]): { code: number; out: string; ms: number } {
  const started = Date.now();
  const r = spawnSync(process.execPath, [MAIN, 'lab', ...args, '--state-dir', stateDir], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}`, ms: Date.now() - started };
}

async function hasRoute(ns: string, dst: string): Promise<boolean> {
  const family = dst.includes(':') ? '-6' : '-4';
  const r = await execHost(['ip', '-n', ns, family, '-j', 'route', 'show', dst], { timeoutMs: 5_000 });
  return (JSON.parse(r.stdout || '[]') as unknown[]).length > 0;
}

/** First time each destination was blocked (or reachable) at or after t0. */
function firstPerPair(
  results: readonly LoopResult[],
  t0: number,
  outcome: 'blocked' | 'reachable',
): number[] {
  const first = new Map<string, number>();
  for (const r of results) {
    const key = `${r.from}>${r.to}`;
    if (r.t >= t0 && r.outcome === outcome && !first.has(key)) first.set(key, r.t);
  }
  return [...first.values()].sort((a, b) => a - b);
}

const figures: string[] = [];

afterAll(() => {
  console.log(`[lab-e2e] figures:\n  ${figures.join('\n  ')}`);
});

describe.skipIf(!isRoot)('margay lab: timings', () => {
  for (const nodes of [3, 10]) {
    it(`${nodes} nodes: lab up, node add, policy apply/delete`, async () => {
      const stateDir = mkdtempSync(join(tmpdir(), `mgy-lab-e2e-t${nodes}-`));
      const files = join(stateDir, 'files');
      try {
        spawnSync('mkdir', ['-p', files]);
        const topology = join(files, 'topology.yaml');
        writeFileSync(
          topology,
          `nodes: ${nodes}\ntor: bird\nnamespaces: [{ name: shop, labels: { team: shop } }]\npods:\n` +
            Array.from(
              { length: nodes },
              (_, i) => `  - { namespace: shop, name: p${i + 1}, node: node-${i + 1}, ports: [8080] }\n`,
            ).join(''),
        );
        const up = labCli(stateDir, 'up', '--topology', topology, '--timeout', '90');
        expect(up.code, up.out).toBe(0);
        const converged = /converged in ([\d.]+ s)/.exec(up.out)?.[1];
        figures.push(
          `${nodes} nodes + BIRD ToR: lab up converged in ${converged} (CLI ${up.ms} ms wall) — ` +
            `margay lab up --topology T (nodes: ${nodes}, tor: bird, ${nodes} pods)`,
        );
        let state = readState(stateDir) as LabState;

        // A node added with `lab apply --no-wait`, until every other node routes its pod CIDRs.
        const nodeFile = join(files, 'node-new.yaml');
        const name = `node-${nodes + 1}`;
        writeFileSync(nodeFile, `apiVersion: v1\nkind: Node\nmetadata: { name: ${name} }\n`);
        const tAdd = Date.now();
        const applied = labCli(stateDir, 'apply', nodeFile, '--no-wait');
        expect(applied.code, applied.out).toBe(0);
        state = readState(stateDir) as LabState;
        const added = state.nodes.find((n) => n.name === name)!;
        const others = state.nodes.filter((n) => n !== added);
        await waitFor(
          async () =>
            (
              await Promise.all(
                others.flatMap((n) => [hasRoute(n.ns, added.podCIDRv4), hasRoute(n.ns, added.podCIDRv6!)]),
              )
            ).every(Boolean),
          {
            describe: `${added.podCIDRv4} and ${added.podCIDRv6} routed on every other node`,
            timeoutMs: 30_000,
            intervalMs: 50,
          },
        );
        const addMs = Date.now() - tAdd;
        figures.push(
          `${nodes} nodes: ${name} added → its pod CIDRs (v4+v6) in the kernel of all ${others.length} other nodes: ${addMs} ms ` +
            `(lab apply itself ${applied.ms} ms: namespace, agent start) — margay lab apply node.yaml --no-wait, polling ip route`,
        );

        // Policy: continuous probes from two pods to every other pod, 50 ms apart per pair.
        const loop = await startProbeLoop(state, {
          port: '8080/tcp',
          intervalMs: 50,
          timeoutMs: 400,
          from: state.pods.slice(0, 2),
        });
        const policy = join(files, 'deny.yaml');
        writeFileSync(
          policy,
          'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: deny-all, namespace: shop }\n' +
            'spec: { podSelector: {}, policyTypes: [Ingress] }\n',
        );
        try {
          await waitFor(() => loop.results(), {
            describe: 'every pair reachable once',
            until: (rs) => firstPerPair(rs, 0, 'reachable').length === loop.pairs.length,
            timeoutMs: 10_000,
          });
          const tApply = Date.now();
          const a = labCli(stateDir, 'apply', policy);
          expect(a.code, a.out).toBe(0);
          const tApplied = Date.now();
          const blocked = await waitFor(() => firstPerPair(loop.results(), tApply, 'blocked'), {
            describe: 'every pair blocked',
            until: (b) => b.length === loop.pairs.length,
            timeoutMs: 20_000,
          });
          const tDelete = Date.now();
          const d = labCli(stateDir, 'delete', policy);
          expect(d.code, d.out).toBe(0);
          const tDeleted = Date.now();
          const open = await waitFor(() => firstPerPair(loop.results(), tDeleted, 'reachable'), {
            describe: 'every pair reachable again',
            until: (b) => b.length === loop.pairs.length,
            timeoutMs: 20_000,
          });
          figures.push(
            `${nodes} nodes: NetworkPolicy deny-all applied → first blocked probe ${blocked[0]! - tApply} ms, all ` +
              `${loop.pairs.length} pairs blocked ${blocked.at(-1)! - tApply} ms after lab apply started ` +
              `(the CLI took ${tApplied - tApply} ms; all blocked ${blocked.at(-1)! - tApplied} ms after it returned) — ` +
              'margay lab apply deny.yaml, probes every 50 ms per pair',
          );
          figures.push(
            `${nodes} nodes: NetworkPolicy deleted → all pairs reachable ${open.at(-1)! - tDelete} ms after lab delete started ` +
              `(the CLI took ${tDeleted - tDelete} ms; ${open.at(-1)! - tDeleted} ms after it returned) — margay lab delete deny.yaml`,
          );
        } finally {
          await loop.stop();
        }
      } finally {
        const s = readState(stateDir);
        await labDown(stateDir);
        if (s) await cleanupStale(s.prefix);
        rmSync(stateDir, { recursive: true, force: true });
      }
    }, 150_000);
  }
});
