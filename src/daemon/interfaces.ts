// The I/O half of node address autodetection: what interfaces and addresses this host has, and
// which source address the kernel would use towards an IP; `detectIdentity` applies the configured
// methods to them. The choice itself is pure (src/calc/autodetect.ts).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chooseAddress } from '../calc/index.ts';
import type { NodeIdentity } from '../calc/types.ts';
import { type AgentConfig, secretNamespaceOf } from '../config/agent.ts';
import { log } from '../log.ts';
import type { Node } from '../model/node.ts';

const run = promisify(execFile);

export interface HostInterface {
  readonly name: string;
  readonly addresses: readonly { address: string; prefixLength: number; family: 4 | 6 }[];
}

interface IpAddrJson {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number; scope?: string }[];
}

export async function listInterfaces(): Promise<HostInterface[]> {
  const { stdout } = await run('ip', ['-j', 'addr', 'show']);
  return (JSON.parse(stdout) as IpAddrJson[]).map((l) => ({
    name: l.ifname,
    addresses: (l.addr_info ?? [])
      .filter((a) => a.family === 'inet' || a.family === 'inet6')
      .map((a) => ({ address: a.local, prefixLength: a.prefixlen, family: a.family === 'inet' ? 4 : 6 })),
  }));
}

/** The source address the kernel picks to reach `ip` (`ip route get`), or undefined. */
export async function sourceAddressTowards(ip: string): Promise<string | undefined> {
  try {
    const { stdout } = await run('ip', ['-j', 'route', 'get', ip]);
    const [route] = JSON.parse(stdout) as { prefsrc?: string }[];
    return route?.prefsrc;
  } catch {
    return undefined;
  }
}

/**
 * This node's identity: its name, the IPv4 (and IPv6, when configured) address chosen by the
 * autodetection methods of `config` (a method that finds nothing is logged and leaves the family
 * out), and the MTU.
 */
export async function detectIdentity(
  config: AgentConfig,
  nodeName: string,
  node: Node | undefined,
): Promise<NodeIdentity> {
  const interfaces = await listInterfaces();
  const pick = async (method: string, family: 4 | 6): Promise<string | undefined> => {
    const reach = method.startsWith('can-reach=') ? method.slice('can-reach='.length) : undefined;
    const source = reach ? await sourceAddressTowards(reach) : undefined;
    const result = chooseAddress(method, { family, interfaces, node, canReachSource: source });
    if (!result.ok) log('warn', 'agent.autodetect', { family, method, error: result.error });
    return result.ok ? result.cidr : undefined;
  };
  return {
    name: nodeName,
    ipv4: await pick(config.ipv4Autodetection, 4),
    ipv6: config.ipv6Autodetection ? await pick(config.ipv6Autodetection, 6) : undefined,
    mtu: config.dataplane.mtu,
    secretNamespace: secretNamespaceOf(config),
  };
}
