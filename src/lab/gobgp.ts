// GoBGP 3 as a reference peer: `gobgpd` in a lab namespace, driven and queried with the `gobgp`
// CLI (`-j` JSON output).
//
// Launch: gobgpd -f DIR/gobgpd.toml -t toml --api-hosts 127.0.0.1:PORT --pprof-disable -p -l info
// The gRPC API listens on the namespace's own loopback, so every instance can use the same port
// (default 50051) without colliding with other namespaces or the host; the CLI therefore runs
// inside the namespace: `ip netns exec NS gobgp -p PORT …`.
// GoBGP has no static routes in its config file; routes are originated with
// `gobgp global rib add` (see `gobgpAddRoute`).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from './lab.ts';
import type { ProcessHandle } from './netns.ts';
import { waitFor } from './wait.ts';

export interface GobgpHandle {
  readonly ns: string;
  readonly pid: number;
  readonly dir: string;
  readonly apiPort: number;
  readonly logFile: string;
  readonly process: ProcessHandle;
  /** Run `gobgp -p PORT ARGS…` in the namespace; returns stdout. */
  gobgp(args: readonly string[]): Promise<string>;
  /** Same with `-j`, parsed. */
  gobgpJson<T = unknown>(args: readonly string[]): Promise<T>;
  stop(): Promise<void>;
}

let gobgpCount = 0;

export async function startGobgp(
  lab: Lab,
  ns: string,
  tomlConfig: string,
  opts: { apiPort?: number } = {},
): Promise<GobgpHandle> {
  const id = `gobgp-${ns.slice(lab.prefix.length)}-${gobgpCount++}`;
  const dir = lab.mkdir(id);
  const apiPort = opts.apiPort ?? 50051;
  const conf = join(dir, 'gobgpd.toml');
  writeFileSync(conf, tomlConfig);
  await lab.exec(ns, ['gobgpd', '-d', '-f', conf, '-t', 'toml']);
  const proc = lab.spawn(
    ns,
    [
      'gobgpd',
      '-f',
      conf,
      '-t',
      'toml',
      '--api-hosts',
      `127.0.0.1:${apiPort}`,
      '--pprof-disable',
      '-p',
      '-l',
      'info',
    ],
    { name: id },
  );
  const gobgp = async (args: readonly string[]): Promise<string> =>
    (await lab.exec(ns, ['gobgp', '-u', '127.0.0.1', '-p', String(apiPort), ...args])).stdout;
  const handle: GobgpHandle = {
    ns,
    pid: proc.pid,
    dir,
    apiPort,
    logFile: proc.logFile,
    process: proc,
    gobgp,
    async gobgpJson<T>(args: readonly string[]): Promise<T> {
      const out = await gobgp([...args, '-j']);
      try {
        return JSON.parse(out) as T;
      } catch (e) {
        throw new Error(`gobgp ${args.join(' ')} -j did not return JSON: ${out.slice(0, 500)}`, { cause: e });
      }
    },
    stop: () => proc.stop(),
  };
  await waitFor(
    async () => {
      if (proc.exitStatus()) throw new Error(`gobgpd exited: ${JSON.stringify(proc.exitStatus())}`);
      return (await gobgp(['global'])).includes('AS');
    },
    {
      describe: `gobgpd in ${ns} to answer on 127.0.0.1:${apiPort} (log ${proc.logFile})`,
      timeoutMs: 10_000,
    },
  );
  return handle;
}

// ---------------------------------------------------------------------------------------------
// Queries

export interface GobgpNeighborStatus {
  readonly address: string;
  /** GoBGP session_state: idle, connect, active, opensent, openconfirm, established (lower-cased). */
  readonly state: string;
  readonly raw: Record<string, unknown>;
}

export async function gobgpNeighbors(g: GobgpHandle): Promise<GobgpNeighborStatus[]> {
  const list = await g.gobgpJson<
    { conf?: { neighbor_address?: string }; state?: { session_state?: number | string } }[]
  >(['neighbor']);
  return list.map((n) => ({
    address: n.conf?.neighbor_address ?? '',
    state: sessionState(n.state?.session_state),
    raw: n as Record<string, unknown>,
  }));
}

// gobgp -j prints the protobuf enum number (api.PeerState_SessionState).
const SESSION_STATES = ['unknown', 'idle', 'connect', 'active', 'opensent', 'openconfirm', 'established'];
function sessionState(s: number | string | undefined): string {
  if (typeof s === 'number') return SESSION_STATES[s] ?? `state-${s}`;
  return String(s ?? 'unknown').toLowerCase();
}

export async function waitGobgpEstablished(
  g: GobgpHandle,
  address: string,
  timeoutMs = 20_000,
): Promise<void> {
  await waitFor(async () => (await gobgpNeighbors(g)).find((n) => n.address === address), {
    describe: `gobgp ${g.ns} neighbor ${address} established`,
    until: (n) => n?.state === 'established',
    timeoutMs,
  });
}

export interface GobgpPath {
  readonly prefix: string;
  readonly isBest: boolean;
  readonly nextHop: string | undefined;
  /** Decoded path attributes as GoBGP prints them ({type, …}). */
  readonly attrs: readonly Record<string, unknown>[];
}

/** `gobgp global rib -a FAMILY -j`: Loc-RIB paths. */
export async function gobgpRib(g: GobgpHandle, family: 'ipv4' | 'ipv6' = 'ipv4'): Promise<GobgpPath[]> {
  const j = await g.gobgpJson<
    Record<string, { nlri?: { prefix?: string }; best?: boolean; attrs?: unknown[] }[]>
  >(['global', 'rib', '-a', family]);
  const out: GobgpPath[] = [];
  for (const [prefix, paths] of Object.entries(j ?? {})) {
    for (const p of paths) {
      const attrs = (p.attrs ?? []) as Record<string, unknown>[];
      const nh = attrs.find((a) => a.type === 3)?.nexthop ?? attrs.find((a) => a.type === 14)?.nexthop;
      out.push({ prefix: p.nlri?.prefix ?? prefix, isBest: p.best === true, nextHop: nh as string, attrs });
    }
  }
  return out;
}

/** `gobgp neighbor ADDR adj-in -a FAMILY -j`. */
export async function gobgpAdjIn(
  g: GobgpHandle,
  neighbor: string,
  family: 'ipv4' | 'ipv6' = 'ipv4',
): Promise<Record<string, unknown>> {
  return g.gobgpJson<Record<string, unknown>>(['neighbor', neighbor, 'adj-in', '-a', family]);
}

export interface GobgpRoute {
  readonly prefix: string;
  readonly nextHop?: string;
  readonly origin?: 'igp' | 'egp' | 'incomplete';
  /** Prepended AS path, e.g. [65010, 4200000001]. */
  readonly asPath?: readonly number[];
  readonly med?: number;
  readonly localPref?: number;
  /** "65000:1", "no-export", … */
  readonly communities?: readonly string[];
  /** "65000:1:2" */
  readonly largeCommunities?: readonly string[];
  /** Extra words for `gobgp global rib add` (e.g. ['aggregator', '65001:192.0.2.1']). */
  readonly extra?: readonly string[];
}

/** Originate a route with `gobgp global rib add`. */
export async function gobgpAddRoute(g: GobgpHandle, r: GobgpRoute): Promise<void> {
  const family = r.prefix.includes(':') ? 'ipv6' : 'ipv4';
  const args = ['global', 'rib', 'add', '-a', family, r.prefix];
  if (r.origin) args.push('origin', r.origin);
  if (r.asPath?.length) args.push('aspath', r.asPath.join(' '));
  if (r.nextHop) args.push('nexthop', r.nextHop);
  if (r.med !== undefined) args.push('med', String(r.med));
  if (r.localPref !== undefined) args.push('local-pref', String(r.localPref));
  if (r.communities?.length) args.push('community', r.communities.join(','));
  if (r.largeCommunities?.length) args.push('large-community', r.largeCommunities.join(','));
  args.push(...(r.extra ?? []));
  await g.gobgp(args);
}

export async function gobgpDeleteRoute(g: GobgpHandle, prefix: string): Promise<void> {
  await g.gobgp(['global', 'rib', 'del', '-a', prefix.includes(':') ? 'ipv6' : 'ipv4', prefix]);
}

// ---------------------------------------------------------------------------------------------
// Config generator (TOML)

export interface GobgpNeighborConfig {
  readonly address: string;
  readonly remoteAs: number;
  readonly localAs?: number;
  readonly localAddress?: string;
  /** Families; default ['ipv4-unicast']. */
  readonly families?: readonly ('ipv4-unicast' | 'ipv6-unicast')[];
  readonly passive?: boolean;
  readonly routeReflectorClient?: boolean;
  readonly routeReflectorClusterId?: string;
  readonly gracefulRestart?: boolean;
  /** RFC 7911: receive, and send up to `sendMax` paths. */
  readonly addPaths?: { readonly receive?: boolean; readonly sendMax?: number };
  readonly holdTime?: number;
  readonly keepaliveInterval?: number;
}

export interface GobgpConfigOptions {
  readonly routerId: string;
  readonly localAs: number;
  readonly neighbors: readonly GobgpNeighborConfig[];
  /** Addresses gobgpd listens on (default: all). */
  readonly listenAddresses?: readonly string[];
}

const q = (s: string): string => JSON.stringify(s);

export function gobgpConfig(o: GobgpConfigOptions): string {
  const out: string[] = [
    '# generated by test/interop/lib/gobgp.ts',
    '[global.config]',
    `  as = ${o.localAs}`,
    `  router-id = ${q(o.routerId)}`,
  ];
  if (o.listenAddresses) out.push(`  local-address-list = [${o.listenAddresses.map(q).join(', ')}]`);
  for (const n of o.neighbors) {
    out.push('', '[[neighbors]]', '  [neighbors.config]');
    out.push(`    neighbor-address = ${q(n.address)}`, `    peer-as = ${n.remoteAs}`);
    if (n.localAs !== undefined) out.push(`    local-as = ${n.localAs}`);
    out.push('  [neighbors.timers.config]', '    connect-retry = 1');
    out.push(`    hold-time = ${n.holdTime ?? 90}`, `    keepalive-interval = ${n.keepaliveInterval ?? 30}`);
    if (n.localAddress || n.passive) {
      out.push('  [neighbors.transport.config]');
      if (n.localAddress) out.push(`    local-address = ${q(n.localAddress)}`);
      if (n.passive) out.push('    passive-mode = true');
    }
    if (n.routeReflectorClient) {
      out.push('  [neighbors.route-reflector.config]', '    route-reflector-client = true');
      out.push(`    route-reflector-cluster-id = ${q(n.routeReflectorClusterId ?? o.routerId)}`);
    }
    if (n.gracefulRestart) {
      out.push('  [neighbors.graceful-restart.config]', '    enabled = true', '    restart-time = 120');
    }
    if (n.addPaths) {
      out.push('  [neighbors.add-paths.config]');
      if (n.addPaths.receive) out.push('    receive = true');
      if (n.addPaths.sendMax) out.push(`    send-max = ${n.addPaths.sendMax}`);
    }
    for (const f of n.families ?? ['ipv4-unicast']) {
      out.push(
        '  [[neighbors.afi-safis]]',
        '    [neighbors.afi-safis.config]',
        `      afi-safi-name = ${q(f)}`,
      );
      if (n.gracefulRestart)
        out.push('    [neighbors.afi-safis.mp-graceful-restart.config]', '      enabled = true');
    }
  }
  return `${out.join('\n')}\n`;
}
