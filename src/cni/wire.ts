// The dataplane half of margay-cni: create, remove and check one pod's wiring (routed, no bridge: a
// veth with a link-local gateway answered by proxy ARP, via felix `wirePod`), plus the pod's /32
// (/128) route on the node.
//
// Who owns the pod route (the Calico split): the plugin creates `IP/32 dev mgy… scope link proto
// 109` the moment the veth exists, so the pod is reachable as soon as ADD returns — before the
// kubelet has reported the pod's IP and before the agent has seen it. It is written with the
// agent's own protocol number (config `routeProtocol`, default 109, which must equal the agent's)
// and exactly the agent's shape (felix workloadRoutes: main table, default metric, scope link), so
// when the agent's desired set contains the pod its reconciler finds the route already as desired
// and adopts it without a write; from then on the agent maintains it (drift repair, resync). A
// route with any other protocol at that key would be a foreign route the agent refuses to touch
// ("conflict"), which is why the plugin does not use the kernel's default `proto boot`.
// The route dies with the veth: DEL deletes the veth and the kernel drops every route through it;
// the agent's next resync forgets it. Between ADD and the moment the datastore shows the pod's IP,
// the agent sees an owned route it does not want yet: the route table keeps such routes on `mgy…`
// interfaces for a grace period (30 s, felix/dataplane/routes/route-table.ts), as Felix does.
//
// Which sandbox a host veth belongs to: its alias (IFLA_IFALIAS) is `margay:<containerID>`. A new
// sandbox of the same pod (same namespace/name, so the same veth name) replaces a leftover veth;
// a late DEL of the old sandbox then sees another container's alias and leaves the veth alone.
import type { CommandRunner, Netlink } from '../../felix/index.ts';
import { POD_GATEWAY_V4, POD_GATEWAY_V6, wirePod } from '../../felix/index.ts';
import type { CniInterface, CniIp, CniResult, CniRoute } from './spec.ts';
import { CniError } from './spec.ts';

export const ALIAS_PREFIX = 'margay:';

export interface LinkInfo {
  readonly ifindex: number;
  readonly ifname: string;
  readonly mac: string | undefined;
  readonly mtu: number;
  readonly isUp: boolean;
  readonly alias: string | undefined;
  readonly kind: string | undefined;
}

/** `ip -json -details link show dev NAME`, or undefined when the link does not exist. */
export async function readLink(nl: Netlink, name: string): Promise<LinkInfo | undefined> {
  const r = await nl.tryExec('ip', ['-json', '-details', 'link', 'show', 'dev', name]);
  if (r.code !== 0) {
    if (/does not exist|Cannot find device/i.test(r.stderr)) return undefined;
    throw new CniError('MARGAY_ERR_CNI_WIRING', `ip link show ${name}: ${r.stderr.trim()}`);
  }
  const list = JSON.parse(r.stdout) as Record<string, unknown>[];
  const l = list[0];
  if (l === undefined) return undefined;
  const flags = Array.isArray(l.flags) ? (l.flags as string[]) : [];
  const linkinfo = l.linkinfo as { info_kind?: string } | undefined;
  return {
    ifindex: Number(l.ifindex),
    ifname: String(l.ifname),
    mac: typeof l.address === 'string' ? l.address : undefined,
    mtu: Number(l.mtu),
    isUp: flags.includes('UP'),
    alias: typeof l.ifalias === 'string' ? l.ifalias : undefined,
    kind: linkinfo?.info_kind,
  };
}

export interface PodWiring {
  readonly host: Netlink;
  readonly pod: Netlink;
  /** CNI_NETNS as given (a path). */
  readonly netnsPath: string;
  readonly containerId: string;
  readonly hostIface: string;
  readonly podIface: string;
  readonly ipv4?: string | undefined;
  readonly ipv6?: string | undefined;
  readonly mtu?: number | undefined;
  readonly routeProtocol: number;
}

/** The host routes the plugin writes for a pod (also what CHECK expects). */
export function hostRouteArgs(w: Pick<PodWiring, 'hostIface' | 'routeProtocol'>, address: string): string[] {
  const isV6 = address.includes(':');
  return [
    'route',
    'replace',
    `${address}/${isV6 ? 128 : 32}`,
    'dev',
    w.hostIface,
    ...(isV6 ? [] : ['scope', 'link']),
    'proto',
    String(w.routeProtocol),
  ];
}

function wiringError(what: string, e: unknown): CniError {
  if (e instanceof CniError) return e;
  return new CniError('MARGAY_ERR_CNI_WIRING', `${what}: ${(e as Error).message}`, { cause: e });
}

/** ADD: wire the pod and describe it as a CNI result. Undoes its own veth when a step fails. */
export async function addPod(w: PodWiring): Promise<CniResult> {
  const old = await readLink(w.host, w.hostIface);
  if (old !== undefined) {
    // A retried ADD of this sandbox, or a leftover of an earlier sandbox of the same pod.
    await w.host.exec('ip', ['link', 'del', w.hostIface]).catch((e: unknown) => {
      throw wiringError(`removing the leftover ${w.hostIface} (alias ${old.alias ?? 'none'})`, e);
    });
  }
  try {
    await wirePod({
      podNs: w.netnsPath,
      ifaceName: w.hostIface,
      podIfaceName: w.podIface,
      ...(w.ipv4 !== undefined ? { ipv4: w.ipv4 } : {}),
      ...(w.ipv6 !== undefined ? { ipv6: w.ipv6 } : {}),
      ...(w.mtu !== undefined ? { mtu: w.mtu } : {}),
      netlink: (ns) => (ns === undefined ? w.host : w.pod),
    });
    await w.host.exec('ip', ['link', 'set', 'dev', w.hostIface, 'alias', `${ALIAS_PREFIX}${w.containerId}`]);
    // `ip link add … mtu N type veth peer …` sets the host end only.
    if (w.mtu !== undefined) await w.pod.exec('ip', ['link', 'set', 'dev', w.podIface, 'mtu', String(w.mtu)]);
    if (w.ipv4 !== undefined) await w.host.exec('ip', hostRouteArgs(w, w.ipv4), 4);
    if (w.ipv6 !== undefined) await w.host.exec('ip', hostRouteArgs(w, w.ipv6), 6);
    const hostLink = await readLink(w.host, w.hostIface);
    const podLink = await readLink(w.pod, w.podIface);
    if (hostLink === undefined || podLink === undefined) {
      throw new CniError(
        'MARGAY_ERR_CNI_WIRING',
        `veth ${w.hostIface}/${w.podIface} vanished while being wired`,
      );
    }
    const interfaces: CniInterface[] = [
      { name: w.hostIface, ...(hostLink.mac ? { mac: hostLink.mac } : {}) },
      { name: w.podIface, ...(podLink.mac ? { mac: podLink.mac } : {}), sandbox: w.netnsPath },
    ];
    const ips: CniIp[] = [];
    const routes: CniRoute[] = [];
    if (w.ipv4 !== undefined) {
      ips.push({ address: `${w.ipv4}/32`, gateway: POD_GATEWAY_V4, interface: 1 });
      routes.push({ dst: '0.0.0.0/0', gw: POD_GATEWAY_V4 });
    }
    if (w.ipv6 !== undefined) {
      ips.push({ address: `${w.ipv6}/128`, gateway: POD_GATEWAY_V6, interface: 1 });
      routes.push({ dst: '::/0', gw: POD_GATEWAY_V6 });
    }
    return { interfaces, ips, routes, dns: {} };
  } catch (e) {
    await w.host.tryExec('ip', ['link', 'del', w.hostIface]);
    throw wiringError(`wiring ${w.hostIface} ↔ ${w.podIface} in ${w.netnsPath}`, e);
  }
}

export interface PodUnwiring {
  readonly host: Netlink;
  readonly containerId: string;
  readonly hostIface: string;
}

/**
 * DEL: remove the host veth if it is this sandbox's (its peer in the pod and every route through
 * it go with it). Missing is fine; a veth of another sandbox of the same pod is left alone.
 * Returns what happened, for the log.
 */
export async function delPod(w: PodUnwiring): Promise<'deleted' | 'absent' | 'other-sandbox'> {
  const link = await readLink(w.host, w.hostIface);
  if (link === undefined) return 'absent';
  if (link.alias !== undefined && link.alias !== `${ALIAS_PREFIX}${w.containerId}`) return 'other-sandbox';
  const r = await w.host.tryExec('ip', ['link', 'del', w.hostIface]);
  if (r.code !== 0 && !/does not exist|Cannot find device/i.test(r.stderr)) {
    throw new CniError('MARGAY_ERR_CNI_WIRING', `ip link del ${w.hostIface}: ${r.stderr.trim()}`);
  }
  return 'deleted';
}

/** Reads a sysctl of the plugin's own (host) namespace ("net/ipv4/conf/X/proxy_arp"), or undefined. */
export type SysctlReader = (key: string) => Promise<string | undefined>;

/** `sysctl -n KEY` through a command runner (the real one, or a unit test's fake). */
export function sysctlReader(runner: CommandRunner): SysctlReader {
  return async (key) => {
    const r = await runner({ argv: ['sysctl', '-n', key], allowFailure: true });
    return r.code === 0 ? r.stdout.trim() : undefined;
  };
}

interface KernelRouteJson {
  dst?: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  flags?: string[];
}

async function routes(nl: Netlink, family: 4 | 6, args: string[]): Promise<KernelRouteJson[]> {
  return (await nl.read('ip', ['route', 'show', ...args], family)) as KernelRouteJson[];
}

/**
 * CHECK: every problem with the wiring of `w` against `prev` (the runtime's prevResult); empty
 * when all is as ADD left it.
 */
export async function checkPod(
  w: PodWiring & { readonly expectedMacs?: ReadonlyMap<string, string>; readonly sysctl: SysctlReader },
): Promise<string[]> {
  const problems: string[] = [];
  const hostLink = await readLink(w.host, w.hostIface);
  if (hostLink === undefined) return [`host veth ${w.hostIface} does not exist`];
  if (hostLink.kind !== 'veth')
    problems.push(`${w.hostIface} is a ${hostLink.kind ?? 'unknown'} link, not a veth`);
  if (!hostLink.isUp) problems.push(`host veth ${w.hostIface} is down`);
  if (hostLink.alias !== `${ALIAS_PREFIX}${w.containerId}`) {
    problems.push(
      `host veth ${w.hostIface} belongs to ${hostLink.alias ?? 'no container'} (alias), not ${w.containerId}`,
    );
  }
  const podLink = await readLink(w.pod, w.podIface);
  if (podLink === undefined) {
    problems.push(`${w.podIface} does not exist in ${w.netnsPath}`);
    return problems;
  }
  if (!podLink.isUp) problems.push(`${w.podIface} in ${w.netnsPath} is down`);
  const wantMac = w.expectedMacs?.get(w.podIface);
  if (
    wantMac !== undefined &&
    podLink.mac !== undefined &&
    wantMac.toLowerCase() !== podLink.mac.toLowerCase()
  ) {
    problems.push(`${w.podIface} has MAC ${podLink.mac}, the result said ${wantMac}`);
  }
  if (w.mtu !== undefined && podLink.mtu !== w.mtu)
    problems.push(`${w.podIface} has MTU ${podLink.mtu}, want ${w.mtu}`);
  const addrs = (await w.pod.read('ip', ['addr', 'show', 'dev', w.podIface])) as {
    addr_info?: { local?: string; prefixlen?: number }[];
  }[];
  const have = new Set((addrs[0]?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`));
  for (const [family, address] of [
    [4, w.ipv4],
    [6, w.ipv6],
  ] as const) {
    if (address === undefined) continue;
    const len = family === 4 ? 32 : 128;
    const gw = family === 4 ? POD_GATEWAY_V4 : POD_GATEWAY_V6;
    if (!have.has(`${address}/${len}`)) problems.push(`${w.podIface} lacks its address ${address}/${len}`);
    const defaults = await routes(w.pod, family, ['default']);
    if (!defaults.some((r) => r.gateway === gw && r.dev === w.podIface)) {
      problems.push(`the pod has no default route via ${gw} dev ${w.podIface}`);
    }
    const host = await routes(w.host, family, ['exact', `${address}/${len}`]);
    if (!host.some((r) => r.dev === w.hostIface && r.gateway === undefined)) {
      problems.push(`the node has no route ${address}/${len} dev ${w.hostIface}`);
    }
    if (family === 4 && (await w.sysctl(`net/ipv4/conf/${w.hostIface}/proxy_arp`)) !== '1') {
      problems.push(`proxy ARP is off on ${w.hostIface} (the pod cannot resolve ${gw})`);
    }
    if (family === 6) {
      const hostAddrs = (await w.host.read('ip', ['addr', 'show', 'dev', w.hostIface], 6)) as {
        addr_info?: { local?: string }[];
      }[];
      if (!(hostAddrs[0]?.addr_info ?? []).some((a) => a.local === POD_GATEWAY_V6)) {
        problems.push(`${w.hostIface} lacks the pod gateway address ${POD_GATEWAY_V6}`);
      }
    }
  }
  return problems;
}
