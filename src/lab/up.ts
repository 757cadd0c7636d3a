// `margay lab up` and `margay lab down`: a cluster of network namespaces running the real agent.
//
// up: plan (topology.ts) → state file (before anything exists) → underlay segments → router/ToR
// namespace → node namespaces → pod namespaces wired + echo listeners → datastore file → ToR
// daemon → one `margay agent` per node → wait for convergence (converge.ts) → detach (the
// processes outlive this one; `lab down` stops them by PID). A failure tears everything down
// again unless `keep` is set (then the state says `failed` and `lab down` removes it later).
//
// down: stop every recorded process (agents first: SIGTERM ends their sessions as a graceful
// restart, so the ToR, stopped next, holds their routes only until it goes), then remove every
// namespace with the lab's prefix (killing anything still inside), the lab's files and the state
// file. It works from the state file alone, so it also cleans up after a crash of `lab up`.
import { randomBytes } from 'node:crypto';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MargayError } from '../errors.ts';
import { addNode, addPod, addRouter, addSegments, startAgent, startListener, startTor } from './build.ts';
import { type ClusterInput, clusterObjects, renderDatastore, validateDatastore } from './cluster.ts';
import { type NodeView, waitConverged } from './converge.ts';
import { cleanupStale, Lab } from './lab.ts';
import { execHost } from './netns.ts';
import { type LabState, readState, removeState, STATE_VERSION, stopRecorded, writeState } from './state.ts';
import { planLab, type Topology } from './topology.ts';

export interface UpOptions {
  readonly topology: Topology;
  readonly stateDir: string;
  /** Convergence deadline; default 60 s + 3 s per node. */
  readonly timeoutMs?: number;
  /** Leave a lab that failed to come up in place (for debugging); `lab down` removes it. */
  readonly keep?: boolean;
  readonly say?: (line: string) => void;
}

export interface UpResult {
  readonly state: LabState;
  readonly views: readonly NodeView[];
  readonly convergedMs: number;
}

async function hasCommand(cmd: string): Promise<boolean> {
  const r = await execHost(['sh', '-c', `command -v ${cmd}`], { allowFailure: true });
  return r.code === 0;
}

export async function preflight(topology: Topology): Promise<void> {
  if (process.getuid?.() !== 0)
    throw new MargayError('MARGAY_ERR_USAGE', 'margay lab creates network namespaces: run it as root');
  const needed = ['ip', 'curl', 'iptables'];
  if (topology.tor === 'bird') needed.push('bird', 'birdc');
  if (topology.tor === 'frr') needed.push('vtysh');
  if (topology.tor === 'gobgp') needed.push('gobgpd', 'gobgp');
  for (const cmd of needed)
    if (!(await hasCommand(cmd)))
      throw new MargayError('MARGAY_ERR_USAGE', `margay lab: ${cmd} is not installed (run .ci/setup first)`);
}

/** Write the datastore file atomically (temp + rename: the agents watch the directory). */
export function writeDatastore(path: string, text: string): void {
  validateDatastore(text, path);
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export async function labUp(o: UpOptions): Promise<UpResult> {
  const say = o.say ?? (() => {});
  await preflight(o.topology);
  const existing = readState(o.stateDir);
  if (existing !== undefined)
    throw new MargayError(
      'MARGAY_ERR_USAGE',
      `a lab is already up (prefix ${existing.prefix}, ${existing.phase}); run "margay lab down" first`,
    );
  const plan = planLab(o.topology);
  const t = o.topology;
  const prefix = `mgy-lab-${randomBytes(2).toString('hex')}-`;
  const lab = new Lab({ prefix });
  const state: LabState = {
    version: STATE_VERSION,
    prefix,
    dir: lab.dir,
    datastorePath: join(lab.dir, 'cluster.yaml'),
    createdAt: new Date().toISOString(),
    phase: 'building',
    asNumber: t.asNumber,
    ipv6: t.ipv6,
    subnets: t.subnets,
    routeReflectors: t.routeReflectors,
    segments: [],
    nodes: [],
    pods: [],
    namespaces: [],
  };
  const save = () => writeState(o.stateDir, state);
  save();
  const started = Date.now();
  try {
    await addSegments(lab, state);
    const router = plan.router
      ? await addRouter(lab, state, plan.router, { kind: t.tor, asNumber: t.torAsNumber })
      : undefined;
    save();
    await Promise.all(plan.nodes.map((n) => addNode(lab, state, n)));
    // Node order in the state follows the plan, not completion order.
    state.nodes.sort((a, b) => a.index - b.index);
    save();
    say(`${plan.nodes.length} node namespace(s) on ${t.subnets} subnet(s)${router ? `, ${router.ns}` : ''}`);
    await Promise.all(plan.pods.map((p) => addPod(lab, state, p)));
    state.pods.sort(
      (a, b) =>
        plan.pods.findIndex((p) => p.name === a.name && p.namespace === a.namespace) -
        plan.pods.findIndex((p) => p.name === b.name && p.namespace === b.namespace),
    );
    save();
    await Promise.all(state.pods.map((p) => startListener(lab, p)));
    save();
    say(`${plan.pods.length} pod(s) wired, echo listeners up`);
    const input: ClusterInput = {
      asNumber: t.asNumber,
      torAsNumber: t.torAsNumber,
      tor: t.tor,
      routeReflectors: t.routeReflectors,
      nodes: plan.nodes,
      pods: plan.pods,
      namespaces: plan.namespaces,
      pools: plan.pools,
      ...(plan.router ? { router: plan.router } : {}),
    };
    writeDatastore(state.datastorePath, renderDatastore(clusterObjects(input)));
    say(`datastore ${state.datastorePath}`);
    if (router) {
      await startTor(lab, state, router, state.nodes);
      save();
      if (router.tor !== 'none') say(`ToR ${router.tor} (AS ${router.torAsNumber}) in ${router.ns}`);
    }
    for (const n of state.nodes) startAgent(lab, n);
    save();
    say(`${state.nodes.length} agent(s) started; waiting for convergence`);
    const views = await waitConverged(state, {
      timeoutMs: o.timeoutMs ?? 60_000 + 3_000 * state.nodes.length,
      onProgress: (done, total) => say(`  ${done}/${total} node(s) converged`),
    });
    state.phase = 'ready';
    save();
    lab.detach();
    return { state, views, convergedMs: Date.now() - started };
  } catch (err) {
    if (o.keep) {
      state.phase = 'failed';
      save();
      lab.detach();
      throw err;
    }
    try {
      await lab.teardown();
    } finally {
      removeState(o.stateDir);
    }
    throw err;
  }
}

export interface DownResult {
  readonly prefix?: string;
  readonly removedNamespaces: readonly string[];
  readonly stoppedProcesses: number;
}

/** Remove the lab the state file describes; without a state file there is nothing to do. */
export async function labDown(stateDir: string): Promise<DownResult> {
  const state = readState(stateDir);
  if (state === undefined) return { removedNamespaces: [], stoppedProcesses: 0 };
  // Agents first (Cease to peers, kernel state left: the namespaces go anyway), then the rest.
  const agents = state.nodes.flatMap((n) => (n.agent ? [n.agent] : []));
  const others = [
    ...state.pods.flatMap((p) => (p.listener ? [p.listener] : [])),
    ...(state.router?.torProcesses ?? []),
  ];
  await Promise.all(agents.map((r) => stopRecorded(r)));
  await Promise.all(others.map((r) => stopRecorded(r)));
  const removedNamespaces = await cleanupStale(state.prefix);
  removeState(stateDir);
  return { prefix: state.prefix, removedNamespaces, stoppedProcesses: agents.length + others.length };
}

/** The lab described by the state file, or a usage error saying there is none. */
export function requireLab(stateDir: string): LabState {
  const state = readState(stateDir);
  if (state === undefined)
    throw new MargayError('MARGAY_ERR_USAGE', `no lab is up (no state in ${stateDir}); run "margay lab up"`);
  if (!existsSync(state.datastorePath) && state.phase === 'ready')
    throw new MargayError(
      'MARGAY_ERR_USAGE',
      `lab ${state.prefix}: datastore ${state.datastorePath} is gone; run "margay lab down"`,
    );
  return state;
}

/** A Lab object for an existing lab (its namespaces adopted), for `lab apply|delete`. */
export function reopenLab(state: LabState): Lab {
  return new Lab({ prefix: state.prefix, adoptNamespaces: state.namespaces });
}
