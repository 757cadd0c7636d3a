// The kernel state the links step needs about workload interfaces, read and written through this
// process's own /proc instead of a child process: sysctls as files under /proc/sys, an interface's
// existence as its per-interface sysctl directory, IPv6 addresses from /proc/self/net/if_inet6.
// Both are views of the network namespace of the thread that opens them, so this is only right for
// the namespace the process itself runs in; Netlink uses it when it is given no namespace and runs
// real commands, and keeps `sysctl` / `ip` (through `ip netns exec` or `ip -n`) otherwise.
//
// Errors are FELIX_ERR_COMMAND_FAILED, as the `sysctl` command's failures are, and name the file:
// a read-only /proc/sys (an unprivileged container) fails a write with EROFS.
import { access, readFile, writeFile } from 'node:fs/promises';
import { FelixError } from '../../errors.ts';
import { formatIp } from '../../model/addr.ts';

const PROC_SYS = '/proc/sys';
const IF_INET6 = '/proc/self/net/if_inet6';

/** The file of a sysctl key given with slashes (`net/ipv4/conf/mgy0/proxy_arp`). */
export function sysctlPath(key: string): string {
  const parts = key.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new FelixError('FELIX_ERR_COMMAND_FAILED', `not a sysctl key: ${JSON.stringify(key)}`);
  }
  return `${PROC_SYS}/${key}`;
}

function failed(what: string, err: unknown): FelixError {
  const message = err instanceof Error ? err.message : String(err);
  return new FelixError('FELIX_ERR_COMMAND_FAILED', `${what}: ${message}`, { cause: err });
}

/** The values of `keys`, in order, trimmed (as `sysctl -n` prints them). */
export async function readSysctlFiles(keys: readonly string[]): Promise<string[]> {
  return Promise.all(
    keys.map(async (key) => {
      const path = sysctlPath(key);
      try {
        return (await readFile(path, 'utf8')).trim();
      } catch (err) {
        throw failed(`read ${path}`, err);
      }
    }),
  );
}

/** Write every setting (as `sysctl -w`); every write is attempted, the first failure is thrown. */
export async function writeSysctlFiles(settings: readonly (readonly [string, string])[]): Promise<void> {
  const results = await Promise.allSettled(
    settings.map(async ([key, value]) => {
      const path = sysctlPath(key);
      try {
        await writeFile(path, value);
      } catch (err) {
        throw failed(`write ${value} to ${path}`, err);
      }
    }),
  );
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

/**
 * Whether an interface exists in this process's namespace: the kernel gives every interface an
 * IPv4 sysctl directory (unless its MTU is below IPv4's minimum) and an IPv6 one (unless IPv6 is
 * off for it). An interface with neither has nothing the links step could set, and counts as
 * missing.
 */
export async function interfaceExists(name: string): Promise<boolean> {
  if (!/^[^\s/]{1,15}$/.test(name) || name === '.' || name === '..') return false;
  for (const family of ['ipv4', 'ipv6']) {
    try {
      await access(`${PROC_SYS}/net/${family}/conf/${name}`);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw failed(`access ${name}'s sysctls`, err);
    }
  }
  return false;
}

/**
 * The IPv6 addresses (`address/prefixlen`, canonical text) of the interfaces in `names`, from
 * /proc/self/net/if_inet6 (one line per address: 32 hex digits, ifindex, prefix length, scope,
 * flags, interface name). An interface without IPv6 addresses is absent from the map; a kernel
 * without IPv6 has no such file, which is an empty map.
 */
export async function ipv6Addresses(names: ReadonlySet<string>): Promise<Map<string, string[]>> {
  let text: string;
  try {
    text = await readFile(IF_INET6, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw failed(`read ${IF_INET6}`, err);
  }
  return parseIfInet6(text, names);
}

/** The lines of /proc/net/if_inet6 for `names`, by interface (see ipv6Addresses). */
export function parseIfInet6(text: string, names: ReadonlySet<string>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6) continue;
    const [hex, , plen, , , name] = f as [string, string, string, string, string, string];
    if (!names.has(name)) continue;
    if (!/^[0-9a-f]{32}$/i.test(hex) || !/^[0-9a-f]{1,2}$/i.test(plen)) {
      throw new FelixError('FELIX_ERR_NETLINK_PARSE', `${IF_INET6}: unexpected line ${JSON.stringify(line)}`);
    }
    const bytes: number[] = [];
    for (let i = 0; i < 32; i += 2) bytes.push(Number.parseInt(hex.slice(i, i + 2), 16));
    const list = out.get(name) ?? [];
    list.push(`${formatIp(bytes)}/${Number.parseInt(plen, 16)}`);
    out.set(name, list);
  }
  return out;
}
