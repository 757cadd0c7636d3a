// The Dataplane as the agent's configuration makes it: route protocol, resync interval, iptables
// backend, the namespace to program, and the log of local pods whose interface is missing (once at
// warn when it goes missing, once at info when it appears).
import { type CommandRunner, Dataplane, Netlink } from '../../felix/index.ts';
import type { AgentConfig } from '../config/agent.ts';
import { log } from '../log.ts';

export function agentDataplane(
  config: AgentConfig['dataplane'],
  opts: { readonly netns?: string; readonly runner?: CommandRunner },
): Dataplane {
  const ns = opts.netns !== undefined ? { netns: opts.netns } : {};
  return new Dataplane({
    ...ns,
    // A wrapped runner sees iptables and ipset; ip, bridge and sysctl go through our own Netlink.
    ...(opts.runner !== undefined ? { runner: opts.runner, netlink: new Netlink(ns) } : {}),
    routeProtocol: config.routeProtocol,
    resyncIntervalMs: config.resyncIntervalSeconds * 1000,
    backend: config.iptablesBackend === 'auto' ? undefined : config.iptablesBackend,
    onWorkloadInterface: ({ present, endpoint: ep }) =>
      log(present ? 'info' : 'warn', `dataplane.workload-interface-${present ? 'found' : 'missing'}`, {
        pod: ep.name,
        namespace: ep.namespace,
        interface: ep.ifaceName,
      }),
  });
}
