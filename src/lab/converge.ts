// "The lab has converged": what `lab up` (and `lab apply` of nodes/pods) waits for, and what
// `lab status` shows. Per node, all read from inside the node's namespace:
//   - the agent process is alive (else fail at once, with the tail of its log),
//   - GET /readyz on 127.0.0.1:9099 answers 200,
//   - GET /v1/bgp/peers: every expected peer (mesh or route reflectors, ToR) is Established
//     and no listed session is down,
//   - the kernel (`ip -j route`) routes every other node's pod CIDR and this node's pods' /32s.
// Kernel routes rather than /v1/dataplane/routes: that is what traffic actually uses.
import { readFileSync } from 'node:fs';
import { AGENT_API } from './cluster.ts';
import { execHost } from './netns.ts';
import { isRecordedAlive, type LabState, type NodeRecord } from './state.ts';
import { bare } from './topology.ts';
import { WaitTimeoutError, waitFor } from './wait.ts';

export interface PeerView {
  readonly address: string;
  readonly state: string;
  readonly peerType?: string;
  readonly lastError?: string;
}

export interface NodeView {
  readonly name: string;
  readonly ns: string;
  readonly agentAlive: boolean;
  readonly ready: boolean;
  readonly readyDetail: string;
  readonly peers: readonly PeerView[];
  /** Expected peer addresses that are missing or not Established. */
  readonly peersMissing: readonly string[];
  /** Pod CIDRs / pod addresses this node has no kernel route for. */
  readonly routesMissing: readonly string[];
  readonly pods: number;
}

export function isNodeConverged(v: NodeView): boolean {
  return (
    v.agentAlive &&
    v.ready &&
    v.peersMissing.length === 0 &&
    v.peers.every((p) => p.state === 'Established') &&
    v.routesMissing.length === 0
  );
}

/** GET a path of the node's agent API through curl inside the namespace. */
export async function agentGet(node: NodeRecord, path: string): Promise<{ status: number; body: string }> {
  const r = await execHost(
    [
      'ip',
      'netns',
      'exec',
      node.ns,
      'curl',
      '-s',
      '-m',
      '2',
      '-w',
      '\n%{http_code}',
      `http://${AGENT_API}${path}`,
    ],
    { allowFailure: true, timeoutMs: 5_000 },
  );
  const nl = r.stdout.lastIndexOf('\n');
  const status = Number(r.stdout.slice(nl + 1)) || 0;
  return { status, body: nl < 0 ? '' : r.stdout.slice(0, nl) };
}

/** The addresses a node should have an Established session with. */
export function expectedPeers(state: LabState, node: NodeRecord): string[] {
  const out: string[] = [];
  const add = (n: { ipv4: string; ipv6?: string }, v6ok: boolean) => {
    out.push(bare(n.ipv4));
    if (v6ok && n.ipv6 !== undefined) out.push(bare(n.ipv6));
  };
  for (const other of state.nodes) {
    if (other.name === node.name) continue;
    const peered = state.routeReflectors === 0 || node.isRouteReflector || other.isRouteReflector;
    if (peered) add(other, node.ipv6 !== undefined);
  }
  const r = state.router;
  if (r !== undefined && r.tor !== 'none') {
    const leg = r.interfaces.find((i) => i.subnet === node.subnet);
    if (leg !== undefined) add(leg, node.ipv6 !== undefined);
  }
  return out;
}

interface RouteJson {
  readonly dst?: string;
}

async function kernelRouteDsts(ns: string, family: 4 | 6): Promise<Set<string>> {
  const r = await execHost(['ip', '-n', ns, `-${family}`, '-j', 'route', 'show'], { timeoutMs: 5_000 });
  const routes = JSON.parse(r.stdout || '[]') as RouteJson[];
  const out = new Set<string>();
  for (const route of routes) {
    if (route.dst === undefined) continue;
    out.add(route.dst);
    // `ip -j` prints host routes without their length.
    if (!route.dst.includes('/')) out.add(`${route.dst}/${family === 4 ? 32 : 128}`);
  }
  return out;
}

export async function nodeView(state: LabState, node: NodeRecord): Promise<NodeView> {
  const agentAlive = node.agent !== undefined && isRecordedAlive(node.agent);
  const pods = state.pods.filter((p) => p.node === node.name);
  const base = { name: node.name, ns: node.ns, agentAlive, pods: pods.length };
  let ready = false;
  let readyDetail = 'agent not running';
  let peers: PeerView[] = [];
  if (agentAlive) {
    const r = await agentGet(node, '/readyz');
    ready = r.status === 200;
    readyDetail = r.status === 0 ? 'API not answering' : `${r.status} ${r.body.slice(0, 200)}`;
    const p = await agentGet(node, '/v1/bgp/peers');
    if (p.status === 200) {
      try {
        peers = ((JSON.parse(p.body) as { peers?: PeerView[] }).peers ?? []).map((x) => ({
          address: x.address,
          state: x.state,
          ...(x.peerType !== undefined ? { peerType: x.peerType } : {}),
          ...(x.lastError ? { lastError: x.lastError } : {}),
        }));
      } catch {
        peers = [];
      }
    }
  }
  const established = new Set(peers.filter((p) => p.state === 'Established').map((p) => p.address));
  const peersMissing = expectedPeers(state, node).filter((a) => !established.has(a));
  const want4: string[] = [];
  const want6: string[] = [];
  for (const other of state.nodes) {
    if (other.name === node.name) continue;
    want4.push(other.podCIDRv4);
    if (other.podCIDRv6 !== undefined && node.ipv6 !== undefined) want6.push(other.podCIDRv6);
  }
  for (const p of pods) {
    want4.push(`${p.ipv4}/32`);
    if (p.ipv6 !== undefined) want6.push(`${p.ipv6}/128`);
  }
  const have4 = await kernelRouteDsts(node.ns, 4);
  const have6 = want6.length > 0 ? await kernelRouteDsts(node.ns, 6) : new Set<string>();
  const routesMissing = [...want4.filter((d) => !have4.has(d)), ...want6.filter((d) => !have6.has(d))];
  return { ...base, ready, readyDetail, peers, peersMissing, routesMissing };
}

function logTail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export function describeNotConverged(v: NodeView): string {
  const parts: string[] = [];
  if (!v.agentAlive) parts.push('agent not running');
  else if (!v.ready) parts.push(`not ready (${v.readyDetail})`);
  if (v.peersMissing.length > 0) parts.push(`peers not Established: ${v.peersMissing.join(', ')}`);
  const down = v.peers.filter((p) => p.state !== 'Established');
  if (down.length > 0)
    parts.push(
      `sessions down: ${down.map((p) => `${p.address} ${p.state}${p.lastError ? ` (${p.lastError})` : ''}`).join(', ')}`,
    );
  if (v.routesMissing.length > 0) parts.push(`no route to ${v.routesMissing.join(', ')}`);
  return `${v.name}: ${parts.join('; ') || 'converged'}`;
}

/**
 * Wait until every node has converged. A dead agent fails at once (with its log tail); a timeout
 * names every node still missing something.
 */
export async function waitConverged(
  state: LabState,
  opts: { timeoutMs: number; onProgress?: (done: number, total: number) => void },
): Promise<NodeView[]> {
  let lastDone = -1;
  let result: { views: NodeView[]; died?: string };
  try {
    result = await waitFor(
      async () => {
        const dead = state.nodes.find((n) => n.agent !== undefined && !isRecordedAlive(n.agent));
        if (dead?.agent !== undefined)
          return {
            views: [],
            died: `agent of ${dead.name} exited; log ${dead.agent.logFile}:\n${logTail(dead.agent.logFile)}`,
          };
        const views = await Promise.all(state.nodes.map((n) => nodeView(state, n)));
        const done = views.filter(isNodeConverged).length;
        if (done !== lastDone) {
          lastDone = done;
          opts.onProgress?.(done, views.length);
        }
        return { views };
      },
      {
        describe: 'every agent ready, every BGP session Established, every pod CIDR routed on every node',
        timeoutMs: opts.timeoutMs,
        intervalMs: 300,
        until: (r) => r.died !== undefined || r.views.every(isNodeConverged),
      },
    );
  } catch (err) {
    if (!(err instanceof WaitTimeoutError)) throw err;
    const views = (err.lastValue as { views: NodeView[] } | undefined)?.views;
    const detail = views
      ? views
          .filter((v) => !isNodeConverged(v))
          .map(describeNotConverged)
          .join('\n  ')
      : `no observation (${err.message})`;
    throw new Error(`the lab did not converge in ${opts.timeoutMs} ms:\n  ${detail}`, { cause: err });
  }
  if (result.died !== undefined) throw new Error(result.died);
  return result.views;
}
