// FRR (8.4) as a reference peer: zebra + bgpd in a lab namespace, queried with `vtysh … json`.
//
// Launch choice: we run zebra too (not `bgpd -Z`). Without zebra bgpd cannot resolve next hops,
// so iBGP/multihop routes stay invalid and are never re-advertised (a route-reflector lab would
// silently show nothing). Both daemons run in the foreground, as the `frr` user (FRR refuses root
// unless root is in the `frrvty` group), with every path explicit so nothing touches /etc/frr or
// /var/run/frr:
//   zebra -i DIR/zebra.pid -z DIR/zserv.api --vty_socket DIR -P 0 -f DIR/zebra.conf --log file:DIR/zebra.log
//   bgpd  -i DIR/bgpd.pid  -z DIR/zserv.api --vty_socket DIR -P 0 -f DIR/bgpd.conf  --log file:DIR/bgpd.log
// `-P 0` disables the TCP vty; `vtysh --vty_socket DIR` reaches both daemons through DIR/*.vty.
// `vtysh` is run inside the namespace only because FRR's socket permissions are checked there too;
// a unix socket itself needs no namespace.
import { chownSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from './lab.ts';
import type { ProcessHandle } from './netns.ts';
import { waitFor } from './wait.ts';

export interface FrrHandle {
  readonly ns: string;
  readonly dir: string;
  /** bgpd's PID. */
  readonly pid: number;
  readonly zebra: ProcessHandle;
  readonly bgpd: ProcessHandle;
  readonly logFile: string;
  /** Run vtysh commands (each a `-c`), returning stdout. */
  vtysh(...commands: string[]): Promise<string>;
  /** Run one vtysh command ending in `json` and parse it. */
  vtyshJson<T = unknown>(command: string): Promise<T>;
  stop(): Promise<void>;
}

let frrCount = 0;

function frrIds(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('frr:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined)
    throw new Error('no frr user in /etc/passwd; is frr installed?');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Start zebra + bgpd in `ns` with `bgpdConfig`; resolves when bgpd answers vtysh. */
export async function startFrr(lab: Lab, ns: string, bgpdConfig: string): Promise<FrrHandle> {
  const id = `frr-${ns.slice(lab.prefix.length)}-${frrCount++}`;
  const dir = lab.mkdir(id);
  const { uid, gid } = frrIds();
  chownSync(dir, uid, gid);
  const file = (name: string, content: string): string => {
    const p = join(dir, name);
    writeFileSync(p, content);
    chownSync(p, uid, gid);
    return p;
  };
  const zebraConf = file('zebra.conf', 'hostname zebra\n');
  const bgpdConf = file('bgpd.conf', bgpdConfig);
  const common = (d: string): string[] => [
    '-i',
    join(dir, `${d}.pid`),
    '-z',
    join(dir, 'zserv.api'),
    '--vty_socket',
    dir,
    '-P',
    '0',
    '--log',
    `file:${join(dir, `${d}.log`)}`,
  ];
  const vtysh = async (...commands: string[]): Promise<string> => {
    const argv = ['vtysh', '--vty_socket', dir, ...commands.flatMap((c) => ['-c', c])];
    return (await lab.exec(ns, argv)).stdout;
  };
  // Validate the config first so a typo is reported as such.
  await lab.exec(ns, ['/usr/lib/frr/bgpd', '-C', '-f', bgpdConf]);
  const zebra = lab.spawn(ns, ['/usr/lib/frr/zebra', ...common('zebra'), '-f', zebraConf], {
    name: `${id}-zebra`,
  });
  await waitFor(
    () => {
      if (zebra.exitStatus()) throw new Error(`zebra exited: ${JSON.stringify(zebra.exitStatus())}`);
      return vtysh('show version');
    },
    { describe: `zebra in ${ns} to answer vtysh (log ${zebra.logFile})`, timeoutMs: 10_000 },
  );
  const bgpd = lab.spawn(ns, ['/usr/lib/frr/bgpd', ...common('bgpd'), '-f', bgpdConf], {
    name: `${id}-bgpd`,
  });
  const handle: FrrHandle = {
    ns,
    dir,
    pid: bgpd.pid,
    zebra,
    bgpd,
    logFile: join(dir, 'bgpd.log'),
    vtysh,
    async vtyshJson<T>(command: string): Promise<T> {
      const out = await vtysh(command);
      try {
        return JSON.parse(out) as T;
      } catch (e) {
        throw new Error(`vtysh "${command}" did not return JSON: ${out.slice(0, 500)}`, { cause: e });
      }
    },
    async stop() {
      await bgpd.stop();
      await zebra.stop();
    },
  };
  await waitFor(
    async () => {
      if (bgpd.exitStatus()) throw new Error(`bgpd exited: ${JSON.stringify(bgpd.exitStatus())}`);
      return (await vtysh('show bgp summary json')).includes('{');
    },
    { describe: `bgpd in ${ns} to answer vtysh (log ${handle.logFile})`, timeoutMs: 10_000 },
  );
  return handle;
}

// ---------------------------------------------------------------------------------------------
// Queries

export interface FrrNeighborStatus {
  readonly address: string;
  /** bgpState: Idle, Connect, Active, OpenSent, OpenConfirm, Established. */
  readonly state: string;
  readonly remoteAs: number;
  readonly raw: Record<string, unknown>;
}

/** `show bgp neighbors ADDR json`. */
export async function frrNeighbor(frr: FrrHandle, address: string): Promise<FrrNeighborStatus> {
  const j = await frr.vtyshJson<Record<string, Record<string, unknown>>>(
    `show bgp neighbors ${address} json`,
  );
  const n = j[address];
  if (!n) throw new Error(`FRR has no neighbor ${address}: ${JSON.stringify(j).slice(0, 300)}`);
  return { address, state: String(n.bgpState), remoteAs: Number(n.remoteAs), raw: n };
}

export async function waitFrrEstablished(frr: FrrHandle, address: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(() => frrNeighbor(frr, address), {
    describe: `frr ${frr.ns} neighbor ${address} Established`,
    until: (n) => n.state === 'Established',
    timeoutMs,
  });
}

export interface FrrRoute {
  readonly prefix: string;
  readonly isBest: boolean;
  readonly isValid: boolean;
  readonly nextHops: readonly string[];
  readonly asPath: string;
  readonly raw: Record<string, unknown>;
}

/** The BGP table (`show bgp ipv4|ipv6 unicast json`), one entry per path. */
export async function frrRoutes(frr: FrrHandle, afi: 'ipv4' | 'ipv6' = 'ipv4'): Promise<FrrRoute[]> {
  const j = await frr.vtyshJson<{ routes?: Record<string, Record<string, unknown>[]> }>(
    `show bgp ${afi} unicast json`,
  );
  const out: FrrRoute[] = [];
  for (const [prefix, paths] of Object.entries(j.routes ?? {})) {
    for (const p of paths) {
      const nh = (p.nexthops as { ip?: string }[] | undefined) ?? [];
      out.push({
        prefix,
        isBest: p.bestpath === true,
        isValid: p.valid === true,
        nextHops: nh.map((n) => n.ip ?? ''),
        asPath: String(p.path ?? ''),
        raw: p,
      });
    }
  }
  return out;
}

/** Routes received from `neighbor` before policy (needs `soft-reconfiguration inbound`), else after. */
export async function frrReceivedRoutes(
  frr: FrrHandle,
  neighbor: string,
  afi: 'ipv4' | 'ipv6' = 'ipv4',
): Promise<Record<string, unknown>> {
  return frr.vtyshJson<Record<string, unknown>>(`show bgp ${afi} unicast neighbors ${neighbor} routes json`);
}

// ---------------------------------------------------------------------------------------------
// Config generator

export interface FrrNeighborConfig {
  readonly address: string;
  readonly remoteAs: number | 'internal' | 'external';
  readonly updateSource?: string;
  readonly ipv4?: boolean;
  readonly ipv6?: boolean;
  readonly routeReflectorClient?: boolean;
  readonly nextHopSelf?: boolean;
  readonly passive?: boolean;
  /** RFC 7911 ADD-PATH: send all paths. */
  readonly addPathTxAll?: boolean;
  readonly extendedNextHop?: boolean;
  readonly localAs?: number;
  /** Extra `neighbor ADDR …` lines (without the prefix). */
  readonly extra?: readonly string[];
  /** Extra lines inside each enabled address-family for this neighbor (without the prefix). */
  readonly afExtra?: readonly string[];
}

export interface FrrConfigOptions {
  readonly hostname?: string;
  readonly routerId: string;
  readonly localAs: number;
  readonly neighbors: readonly FrrNeighborConfig[];
  /** Prefixes originated with `network` (need not exist in the kernel: `no bgp network import-check`). */
  readonly networks?: readonly (string | { readonly prefix: string; readonly routeMap: string })[];
  /** `aggregate-address P` (ATOMIC_AGGREGATE + AGGREGATOR once a more-specific exists). */
  readonly aggregates?: readonly string[];
  readonly gracefulRestart?: boolean;
  readonly clusterId?: string;
  /** Extra lines inside `router bgp`. */
  readonly extra?: readonly string[];
  /** Appended verbatim after `router bgp` (route-maps, prefix lists). */
  readonly trailer?: string;
}

/** A bgpd.conf with short timers, no eBGP policy requirement and per-family activation. */
export function frrConfig(o: FrrConfigOptions): string {
  const out: string[] = [
    '! generated by test/interop/lib/frr.ts',
    'frr defaults traditional',
    `hostname ${o.hostname ?? 'frr'}`,
    'log timestamp precision 3',
    `router bgp ${o.localAs}`,
    ` bgp router-id ${o.routerId}`,
    ' no bgp ebgp-requires-policy',
    ' no bgp network import-check',
    ' no bgp default ipv4-unicast',
  ];
  if (o.gracefulRestart) out.push(' bgp graceful-restart');
  if (o.clusterId) out.push(` bgp cluster-id ${o.clusterId}`);
  for (const n of o.neighbors) {
    out.push(` neighbor ${n.address} remote-as ${n.remoteAs}`);
    out.push(` neighbor ${n.address} timers connect 1`);
    if (n.updateSource) out.push(` neighbor ${n.address} update-source ${n.updateSource}`);
    if (n.passive) out.push(` neighbor ${n.address} passive`);
    if (n.localAs !== undefined) out.push(` neighbor ${n.address} local-as ${n.localAs}`);
    if (n.extendedNextHop) out.push(` neighbor ${n.address} capability extended-nexthop`);
    for (const e of n.extra ?? []) out.push(` neighbor ${n.address} ${e}`);
  }
  out.push(...(o.extra ?? []).map((l) => ` ${l}`));
  for (const afi of ['ipv4', 'ipv6'] as const) {
    const members = o.neighbors.filter((n) => (afi === 'ipv4' ? (n.ipv4 ?? true) : (n.ipv6 ?? false)));
    const isAfi = (p: string): boolean => p.includes(':') === (afi === 'ipv6');
    const nets = (o.networks ?? [])
      .map((n) => (typeof n === 'string' ? { prefix: n, routeMap: undefined } : n))
      .filter((n) => isAfi(n.prefix));
    const aggs = (o.aggregates ?? []).filter(isAfi);
    if (members.length === 0 && nets.length === 0) continue;
    out.push(` address-family ${afi} unicast`);
    for (const n of nets) out.push(`  network ${n.prefix}${n.routeMap ? ` route-map ${n.routeMap}` : ''}`);
    for (const p of aggs) out.push(`  aggregate-address ${p}`);
    for (const n of members) {
      out.push(`  neighbor ${n.address} activate`);
      if (n.routeReflectorClient) out.push(`  neighbor ${n.address} route-reflector-client`);
      if (n.nextHopSelf) out.push(`  neighbor ${n.address} next-hop-self`);
      if (n.addPathTxAll) out.push(`  neighbor ${n.address} addpath-tx-all-paths`);
      for (const e of n.afExtra ?? []) out.push(`  neighbor ${n.address} ${e}`);
    }
    out.push(' exit-address-family');
  }
  out.push('exit');
  if (o.trailer) out.push(o.trailer);
  return `${out.join('\n')}\n`;
}
