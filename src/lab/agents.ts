// `margay lab restart-agent NODE`: (re)start a node's `margay agent` the way `lab up` starts it
// (same argv and config file, a fresh log), recorded in the state file so `lab status` and
// `lab down` see the new process. An agent that is still running is stopped first with SIGTERM
// (a graceful restart as far as its peers know, kernel state left in place); one that died
// (crashed, or was killed with SIGKILL by a test) is simply started again. With `wait` it
// returns once the lab has converged.
//
// Used by the end-to-end tests to restart an agent after killing it, and to restart one after its
// config file was rewritten (another datastore).
import { startAgent } from './build.ts';
import { type NodeView, waitConverged } from './converge.ts';
import { isRecordedAlive, type ProcessRecord, stopRecorded, writeState } from './state.ts';
import { reopenLab, requireLab } from './up.ts';

export interface RestartAgentOptions {
  /** Wait until the whole lab has converged again (default true). */
  readonly wait?: boolean;
  readonly timeoutMs?: number;
}

export interface RestartAgentResult {
  readonly node: string;
  /** The agent that was running and got SIGTERM, if any. */
  readonly stopped?: ProcessRecord;
  readonly agent: ProcessRecord;
  readonly views?: readonly NodeView[];
}

export async function restartAgent(
  stateDir: string,
  nodeName: string,
  o: RestartAgentOptions = {},
): Promise<RestartAgentResult> {
  const state = requireLab(stateDir);
  const node = state.nodes.find((n) => n.name === nodeName);
  if (node === undefined)
    throw new Error(`no node ${nodeName} in the lab (nodes: ${state.nodes.map((n) => n.name).join(', ')})`);
  const previous = node.agent;
  const wasAlive = previous !== undefined && isRecordedAlive(previous);
  if (previous !== undefined && wasAlive) await stopRecorded(previous);
  const lab = reopenLab(state);
  try {
    startAgent(lab, node);
    writeState(stateDir, state);
  } finally {
    lab.detach();
  }
  const agent = node.agent as ProcessRecord;
  const base = { node: nodeName, agent, ...(wasAlive && previous ? { stopped: previous } : {}) };
  if (o.wait === false) return base;
  const views = await waitConverged(state, { timeoutMs: o.timeoutMs ?? 60_000 });
  return { ...base, views };
}
