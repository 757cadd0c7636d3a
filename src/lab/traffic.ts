// `margay lab exec|probe`: name resolution (a node name or NAMESPACE/POD), one probe, and the
// matrix of every pod pair. Probes run inside the source namespace (echo-main.ts probe), so they
// take exactly the path a pod's (or node's) own traffic takes: veth, node routes, iptables.
import { spawn } from 'node:child_process';
import { MargayError } from '../errors.ts';
import { ECHO_MAIN, listenerPorts } from './build.ts';
import {
  formatTargetArg,
  type ProbeOutcome,
  type ProbeProtocol,
  type ProbeResult,
  type ProbeTarget,
} from './echo.ts';
import { execHost } from './netns.ts';
import type { LabState, NodeRecord, PodRecord } from './state.ts';
import { bare } from './topology.ts';

export interface Endpoint {
  readonly kind: 'node' | 'pod';
  /** "node-1" or "frontend/web-0". */
  readonly id: string;
  readonly ns: string;
  readonly ipv4: string;
  readonly ipv6?: string;
  readonly pod?: PodRecord;
  readonly node?: NodeRecord;
}

export function resolveEndpoint(state: LabState, name: string): Endpoint {
  const slash = name.indexOf('/');
  if (slash >= 0) {
    const ns = name.slice(0, slash);
    const pod = state.pods.find((p) => p.namespace === ns && p.name === name.slice(slash + 1));
    if (pod === undefined)
      throw new MargayError(
        'MARGAY_ERR_USAGE',
        `no pod ${name} in the lab (pods: ${state.pods.map((p) => `${p.namespace}/${p.name}`).join(', ') || 'none'})`,
      );
    return {
      kind: 'pod',
      id: name,
      ns: pod.ns,
      ipv4: pod.ipv4,
      ...(pod.ipv6 !== undefined ? { ipv6: pod.ipv6 } : {}),
      pod,
    };
  }
  const node = state.nodes.find((n) => n.name === name);
  if (node === undefined)
    throw new MargayError(
      'MARGAY_ERR_USAGE',
      `"${name}" is neither a node (${state.nodes.map((n) => n.name).join(', ')}) nor NAMESPACE/POD`,
    );
  return {
    kind: 'node',
    id: name,
    ns: node.ns,
    ipv4: bare(node.ipv4),
    ...(node.ipv6 !== undefined ? { ipv6: bare(node.ipv6) } : {}),
    node,
  };
}

/** "8080/tcp", "53/UDP", "8080" (tcp). */
export function parsePortSpec(text: string): { port: number; protocol: ProbeProtocol } {
  const m = /^(\d{1,5})(?:\/(tcp|udp))?$/i.exec(text);
  const port = Number(m?.[1]);
  if (!m || port < 1 || port > 65535)
    throw new MargayError('MARGAY_ERR_USAGE', `"${text}" is not PORT/tcp or PORT/udp`);
  return { port, protocol: (m[2]?.toLowerCase() ?? 'tcp') as ProbeProtocol };
}

export interface ProbeOptions {
  readonly timeoutMs?: number;
  readonly family?: 4 | 6;
}

function targetOf(to: Endpoint, port: number, protocol: ProbeProtocol, family: 4 | 6): ProbeTarget {
  const address = family === 6 ? to.ipv6 : to.ipv4;
  if (address === undefined)
    throw new MargayError('MARGAY_ERR_USAGE', `${to.id} has no IPv${family} address`);
  return { address, port, protocol, ...(to.kind === 'pod' ? { expect: to.id } : {}) };
}

/** Run the probe client in `ns` against `targets` (all in parallel, one process). */
export async function probeFrom(
  ns: string,
  targets: readonly ProbeTarget[],
  timeoutMs: number,
): Promise<ProbeResult[]> {
  if (targets.length === 0) return [];
  const r = await execHost(
    [
      'ip',
      'netns',
      'exec',
      ns,
      process.execPath,
      ECHO_MAIN,
      'probe',
      String(timeoutMs),
      ...targets.map(formatTargetArg),
    ],
    { allowFailure: true, timeoutMs: timeoutMs + 15_000 },
  );
  if (r.code !== 0) throw new Error(`probe from ${ns} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as ProbeResult[];
}

export async function labProbe(
  state: LabState,
  from: string,
  to: string,
  portSpec: string,
  o: ProbeOptions = {},
): Promise<ProbeResult & { from: string; to: string }> {
  const src = resolveEndpoint(state, from);
  const dst = resolveEndpoint(state, to);
  const { port, protocol } = parsePortSpec(portSpec);
  const target = targetOf(dst, port, protocol, o.family ?? 4);
  const [result] = await probeFrom(src.ns, [target], o.timeoutMs ?? 1_000);
  if (result === undefined) throw new Error('probe returned no result');
  return { ...result, from: src.id, to: dst.id };
}

export function probeExitCode(outcome: ProbeOutcome): number {
  return outcome === 'reachable' ? 0 : outcome === 'blocked' ? 1 : 2;
}

export interface Matrix {
  readonly port: number;
  readonly protocol: ProbeProtocol;
  readonly family: 4 | 6;
  /** Sources: every pod. */
  readonly from: readonly string[];
  /** Destinations: the pods listening on the port. */
  readonly to: readonly string[];
  /** results[from][to]; a pod is not probed against itself. */
  readonly results: Readonly<Record<string, Readonly<Record<string, ProbeOutcome>>>>;
  readonly summary: Readonly<Record<ProbeOutcome, number>>;
  readonly ms: number;
}

export async function labMatrix(state: LabState, portSpec: string, o: ProbeOptions = {}): Promise<Matrix> {
  const { port, protocol } = parsePortSpec(portSpec);
  const family = o.family ?? 4;
  const timeoutMs = o.timeoutMs ?? 1_000;
  const started = Date.now();
  const id = (p: PodRecord) => `${p.namespace}/${p.name}`;
  const sources = state.pods;
  const dests = state.pods.filter((p) => listenerPorts(p.ports).includes(port));
  const results: Record<string, Record<string, ProbeOutcome>> = {};
  const summary: Record<ProbeOutcome, number> = { reachable: 0, blocked: 0, error: 0 };
  // One probe process per source pod, all at once (each probes its targets in parallel).
  await Promise.all(
    sources.map(async (src) => {
      const targets = dests
        .filter((d) => d !== src)
        .map((d) => targetOf(resolveEndpoint(state, id(d)), port, protocol, family));
      const row: Record<string, ProbeOutcome> = {};
      const res = await probeFrom(src.ns, targets, timeoutMs);
      dests
        .filter((d) => d !== src)
        .forEach((d, i) => {
          const outcome = res[i]?.outcome ?? 'error';
          row[id(d)] = outcome;
          summary[outcome]++;
        });
      results[id(src)] = row;
    }),
  );
  return {
    port,
    protocol,
    family,
    from: sources.map(id),
    to: dests.map(id),
    results,
    summary,
    ms: Date.now() - started,
  };
}

/** `ip netns exec NS CMD…` with the terminal attached; resolves to the command's exit code. */
export function labExec(state: LabState, target: string, argv: readonly string[]): Promise<number> {
  if (argv.length === 0) throw new MargayError('MARGAY_ERR_USAGE', 'margay lab exec: no command after --');
  const ep = resolveEndpoint(state, target);
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ep.ns, ...argv], { stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}
