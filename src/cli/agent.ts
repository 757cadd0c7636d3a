// `margay agent --config FILE`: the node daemon. SIGTERM/SIGINT: a graceful restart as far as the
// peers know (they keep the node's routes, Agent.stop), kernel state left in place, so a restart
// keeps traffic flowing. Bad config: exit 2 naming the field.
import { spawnMethod } from '../../felix/index.ts';
import { agentStatusSource } from '../api/agent-status.ts';
import { ProcessMetrics } from '../api/metrics.ts';
import { startApi } from '../api/server.ts';
import { type AgentConfig, loadAgentConfig, secretNamespaceOf } from '../config/agent.ts';
import { Agent } from '../daemon/agent.ts';
import { FileDatastore } from '../datastore/file/file-datastore.ts';
import type { Datastore } from '../datastore/types.ts';
import { log, setLogLevel, subscribeBgpLog } from '../log.ts';
import { VERSION } from '../version.ts';
import { speakerMetrics } from './speaker.ts';

async function openDatastore(config: AgentConfig): Promise<Datastore> {
  if (config.datastore.type === 'file') return new FileDatastore({ path: config.datastore.path });
  const { KubernetesDatastore } = await import('../datastore/k8s/index.ts');
  return KubernetesDatastore.fromConfig({
    kubeconfig: config.datastore.kubeconfig,
    secretNamespace: secretNamespaceOf(config),
  });
}

export async function runAgent(configPath: string): Promise<() => Promise<void>> {
  const config = await loadAgentConfig(configPath);
  setLogLevel(config.logLevel);
  const bgpLog = subscribeBgpLog();
  const processMetrics = new ProcessMetrics();
  const datastore = await openDatastore(config);
  const agent = new Agent({ config, datastore });
  const source = agentStatusSource(agent.view(), () => [...processMetrics.families(), ...bgpLog.families()]);
  const withSpeakerMetrics = source.metrics;
  source.metrics = () => [...withSpeakerMetrics(), ...speakerMetrics(source.peers())];
  const api = await startApi(source, {
    host: config.api.listen.host,
    port: config.api.listen.port,
    token: config.api.token,
  });
  await agent.start();
  const spawning = spawnMethod();
  if (spawning.method === 'fork')
    log('warn', 'agent.commands', {
      start: 'fork',
      why: `posix_spawn unavailable (${spawning.reason}): each dataplane command copies the agent's page tables`,
    });
  log('info', 'agent.started', {
    version: VERSION,
    node: agent.nodeName,
    datastore: config.datastore.type,
    api: `${config.api.listen.host}:${config.api.listen.port}`,
    commands: spawning.method,
  });
  return async () => {
    await agent.stop();
    await api.close();
    processMetrics.close();
    bgpLog.close();
    log('info', 'agent.stopped', { node: agent.nodeName, kernelState: 'left in place' });
  };
}
