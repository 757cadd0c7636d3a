// The I/O half of node address autodetection: what interfaces and addresses this host has, and
// which source address the kernel would use towards an IP. The choice itself is pure
// (src/calc/autodetect.ts).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

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
