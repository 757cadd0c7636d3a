// BIRD 2 as a reference peer: launcher, `birdc` queries, and a config generator for the cases the
// interop tests and benchmarks need. BIRD runs in the foreground (`bird -f`) inside a lab
// namespace with its own config, control socket and pid file in a per-instance directory; `birdc`
// talks to that socket from the host (a unix socket needs no namespace).
//
// Parsing targets BIRD 2.0.12's human output (`show protocols all`, `show route all`), which is
// stable across 2.0.x. Note 2.0.12 has no `enable enhanced route refresh` option; it always offers
// the Enhanced Route Refresh capability together with Route Refresh.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from './lab.ts';
import { execHost, type ProcessHandle } from './netns.ts';
import { waitFor } from './wait.ts';

export interface BirdHandle {
  readonly ns: string;
  readonly pid: number;
  readonly dir: string;
  readonly configPath: string;
  readonly socket: string;
  readonly logFile: string;
  readonly process: ProcessHandle;
  /** Run a birdc command; returns its output without the "BIRD x.y ready." banner. */
  birdc(cmd: string): Promise<string>;
  stop(): Promise<void>;
}

let birdCount = 0;

/**
 * Start `bird -f -c CONF -s SOCK -P PID` in `ns`; resolves when its control socket answers.
 * `args`: more command-line options, e.g. `-R` (graceful restart recovery: BIRD advertises the
 * R bit and that it kept its forwarding state).
 */
export async function startBird(
  lab: Lab,
  ns: string,
  config: string,
  options: { readonly args?: readonly string[] } = {},
): Promise<BirdHandle> {
  const id = `bird-${ns.slice(lab.prefix.length)}-${birdCount++}`;
  const dir = lab.mkdir(id);
  const configPath = join(dir, 'bird.conf');
  const socket = join(dir, 'bird.ctl');
  writeFileSync(configPath, config);
  // Validate first so a config error is reported as such, not as "socket never appeared".
  await lab.exec(ns, ['bird', '-p', '-c', configPath]);
  const argv = [
    'bird',
    '-f',
    ...(options.args ?? []),
    '-c',
    configPath,
    '-s',
    socket,
    '-P',
    join(dir, 'bird.pid'),
  ];
  const proc = lab.spawn(ns, argv, {
    name: id,
  });
  const handle: BirdHandle = {
    ns,
    pid: proc.pid,
    dir,
    configPath,
    socket,
    logFile: proc.logFile,
    process: proc,
    birdc: (cmd) => birdc(socket, cmd),
    stop: () => proc.stop(),
  };
  await waitFor(
    async () => {
      if (proc.exitStatus()) throw new Error(`bird exited: ${JSON.stringify(proc.exitStatus())}`);
      return (await birdc(socket, 'show status')).includes('Daemon is up');
    },
    { describe: `bird in ${ns} to answer on ${socket} (log ${proc.logFile})`, timeoutMs: 10_000 },
  );
  return handle;
}

/** Run one birdc command against control socket `sock`. Throws on a BIRD error reply. */
export async function birdc(sock: string, cmd: string): Promise<string> {
  const argv = ['birdc', '-s', sock, ...cmd.split(/\s+/).filter((w) => w !== '')];
  const { stdout } = await execHost(argv);
  const lines = stdout.split('\n');
  if (lines[0]?.startsWith('BIRD ')) lines.shift();
  const out = lines.join('\n');
  if (/^(syntax error|Unknown command|.*: no such protocol)/im.test(out)) {
    throw new Error(`birdc ${cmd}: ${out.trim()}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Queries

export interface BirdProtocolStatus {
  readonly name: string;
  /** Protocol state column: up, down, start, … */
  readonly state: string;
  /** The BGP state line: Established, Active, Connect, Idle, Down, … */
  readonly bgpState: string | undefined;
  readonly info: string;
  readonly lastError: string | undefined;
  /** Per-channel "Routes:" line, e.g. { ipv4: { imported: 1, exported: 1 } }. */
  readonly channels: Readonly<Record<string, { imported: number; exported: number; state: string }>>;
}

export async function birdProtocol(bird: BirdHandle, name: string): Promise<BirdProtocolStatus> {
  return parseProtocolsAll(await bird.birdc(`show protocols all ${name}`), name);
}

export function parseProtocolsAll(out: string, name: string): BirdProtocolStatus {
  const lines = out.split('\n');
  const head = lines.find((l) => l.startsWith(`${name} `));
  if (!head) throw new Error(`no protocol ${name} in:\n${out}`);
  const cols = head.trim().split(/\s+/);
  const channels: Record<string, { imported: number; exported: number; state: string }> = {};
  let channel: string | undefined;
  let bgpState: string | undefined;
  let lastError: string | undefined;
  for (const line of lines) {
    const t = line.trim();
    let m = /^BGP state:\s+(\S+)/.exec(t);
    if (m) bgpState = m[1];
    m = /^Last error:\s+(.*)$/.exec(t);
    if (m) lastError = m[1];
    m = /^Channel (\S+)/.exec(t);
    if (m?.[1]) {
      channel = m[1];
      channels[channel] = { imported: 0, exported: 0, state: '' };
    }
    const ch = channel ? channels[channel] : undefined;
    if (ch) {
      m = /^State:\s+(\S+)/.exec(t);
      if (m?.[1]) ch.state = m[1];
      m = /^Routes:\s+(\d+) imported,(?:\s+\d+ filtered,)?\s+(\d+) exported/.exec(t);
      if (m) {
        ch.imported = Number(m[1]);
        ch.exported = Number(m[2]);
      }
    }
  }
  return {
    name,
    state: cols[3] ?? '',
    bgpState,
    info: cols.slice(5).join(' '),
    lastError,
    channels,
  };
}

/** Wait until BGP protocol `name` is Established. */
export async function waitBirdEstablished(bird: BirdHandle, name: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(() => birdProtocol(bird, name), {
    describe: `bird ${bird.ns} protocol ${name} Established`,
    until: (s) => s.bgpState === 'Established',
    timeoutMs,
  });
}

export interface BirdRoute {
  readonly prefix: string;
  readonly type: string; // unicast, blackhole, unreachable, …
  readonly protocol: string;
  readonly isPrimary: boolean;
  readonly from: string | undefined;
  /** `via` gateways. */
  readonly nextHops: readonly string[];
  readonly origin: string | undefined;
  /** AS numbers of BGP.as_path ('{…}' sets flattened). */
  readonly asPath: readonly number[];
  /** BGP.next_hop values (an IPv6 route may carry global + link-local). */
  readonly bgpNextHop: readonly string[];
  readonly med: number | undefined;
  readonly localPref: number | undefined;
  readonly communities: readonly (readonly [number, number])[];
  readonly largeCommunities: readonly (readonly [number, number, number])[];
  readonly extCommunities: readonly string[];
  readonly originatorId: string | undefined;
  readonly clusterList: readonly string[];
  /** All "Name: value" attribute lines as printed. */
  readonly attributes: Readonly<Record<string, string>>;
}

/** `show route all [table T]` parsed. */
export async function birdRoutes(bird: BirdHandle, table?: string): Promise<BirdRoute[]> {
  return parseRoutesAll(await bird.birdc(table ? `show route all table ${table}` : 'show route all'));
}

const ROUTE_HEAD = /^(\S+)?\s+(\w+)\s+\[(\S+)\s+[^\]]*?(?:\s+from\s+(\S+))?\]\s+(\*)?/;

export function parseRoutesAll(out: string): BirdRoute[] {
  const routes: BirdRoute[] = [];
  type Mutable = {
    -readonly [K in keyof BirdRoute]: BirdRoute[K] extends readonly (infer U)[] ? U[] : BirdRoute[K];
  };
  let current: Mutable | undefined;
  let lastPrefix = '';
  const flush = (): void => {
    if (current) routes.push(current);
    current = undefined;
  };
  for (const line of out.split('\n')) {
    if (line.trim() === '' || line.startsWith('Table ')) {
      if (line.startsWith('Table ')) flush();
      continue;
    }
    if (!line.startsWith('\t')) {
      const m = ROUTE_HEAD.exec(line);
      if (!m) continue;
      flush();
      if (m[1]) lastPrefix = m[1];
      current = {
        prefix: lastPrefix,
        type: m[2] ?? '',
        protocol: m[3] ?? '',
        isPrimary: m[5] === '*',
        from: m[4],
        nextHops: [],
        origin: undefined,
        asPath: [],
        bgpNextHop: [],
        med: undefined,
        localPref: undefined,
        communities: [],
        largeCommunities: [],
        extCommunities: [],
        originatorId: undefined,
        clusterList: [],
        attributes: {},
      };
      continue;
    }
    if (!current) continue;
    const t = line.trim();
    const via = /^via (\S+)/.exec(t);
    if (via?.[1]) {
      current.nextHops.push(via[1]);
      continue;
    }
    const kv = /^([\w.]+):\s*(.*)$/.exec(t);
    if (!kv?.[1]) continue;
    const [key, value] = [kv[1], kv[2] ?? ''];
    (current.attributes as Record<string, string>)[key] = value;
    switch (key) {
      case 'BGP.origin':
        current.origin = value;
        break;
      case 'BGP.as_path':
        current.asPath = [...value.matchAll(/\d+/g)].map((x) => Number(x[0]));
        break;
      case 'BGP.next_hop':
        current.bgpNextHop = value.split(/\s+/).filter((x) => x !== '');
        break;
      case 'BGP.med':
        current.med = Number(value);
        break;
      case 'BGP.local_pref':
        current.localPref = Number(value);
        break;
      case 'BGP.community':
        current.communities = [...value.matchAll(/\((\d+),(\d+)\)/g)].map((x) => [
          Number(x[1]),
          Number(x[2]),
        ]);
        break;
      case 'BGP.large_community':
        current.largeCommunities = [...value.matchAll(/\((\d+), (\d+), (\d+)\)/g)].map((x) => [
          Number(x[1]),
          Number(x[2]),
          Number(x[3]),
        ]);
        break;
      case 'BGP.ext_community':
        current.extCommunities = [...value.matchAll(/\(([^)]*)\)/g)].map((x) => x[1] ?? '');
        break;
      case 'BGP.originator_id':
        current.originatorId = value;
        break;
      case 'BGP.cluster_list':
        current.clusterList = value.split(/\s+/).filter((x) => x !== '');
        break;
    }
  }
  flush();
  return routes;
}

/** Number of routes in `table` (default: all tables' total). */
export async function birdRouteCount(bird: BirdHandle, table?: string): Promise<number> {
  const out = await bird.birdc(table ? `show route table ${table} count` : 'show route count');
  const total = /Total: (\d+) of/.exec(out) ?? /^(\d+) of \d+ routes/m.exec(out);
  if (!total?.[1]) throw new Error(`cannot parse route count from: ${out}`);
  return Number(total[1]);
}

// ---------------------------------------------------------------------------------------------
// Config generator

export type BirdFilter = 'all' | 'none' | { readonly where: string } | { readonly filter: string };

export interface BirdChannelOptions {
  readonly import?: BirdFilter;
  readonly export?: BirdFilter;
  /** ADD-PATH (RFC 7911) direction. */
  readonly addPaths?: 'rx' | 'tx' | 'on' | 'off';
  /** RFC 8950 extended next hop (IPv4 NLRI with IPv6 next hop). */
  readonly extendedNextHop?: boolean;
  readonly nextHopSelf?: boolean;
  /** Explicit next-hop address for this channel (`next hop address X`). */
  readonly nextHopAddress?: string;
  readonly extra?: readonly string[];
}

export interface BirdNeighborConfig {
  /** Protocol name, e.g. "peer1". */
  readonly name: string;
  readonly address: string;
  readonly remoteAs: number;
  readonly localAddress?: string;
  /** Overrides the config-wide local AS for this session. */
  readonly localAs?: number;
  /** IPv4 unicast channel; default on. */
  readonly ipv4?: boolean | BirdChannelOptions;
  /** IPv6 unicast channel; default off. */
  readonly ipv6?: boolean | BirdChannelOptions;
  readonly routeReflectorClient?: boolean;
  readonly rrClusterId?: string;
  /** RFC 8654. */
  readonly extendedMessages?: boolean;
  /** RFC 2918 Route Refresh (BIRD default on). */
  readonly routeRefresh?: boolean;
  /** RFC 6793 (BIRD default on); off makes a 2-octet-AS speaker (AS4_PATH, AS_TRANS). */
  readonly as4?: boolean;
  readonly gracefulRestart?: boolean;
  readonly passive?: boolean;
  readonly holdTime?: number;
  readonly keepaliveTime?: number;
  /** Extra lines inside the protocol block. */
  readonly extra?: readonly string[];
}

export interface BirdStaticRoute {
  readonly prefix: string;
  /** Gateway; default `blackhole` (BGP then uses its own address as next hop). */
  readonly via?: string;
  readonly communities?: readonly (readonly [number, number])[];
  readonly largeCommunities?: readonly (readonly [number, number, number])[];
  /** BIRD ext-community literals, e.g. ['rt', 65000, 7]. */
  readonly extCommunities?: readonly (readonly [string, number | string, number])[];
  readonly med?: number;
  readonly localPref?: number;
  readonly origin?: 'igp' | 'egp' | 'incomplete';
}

export interface BirdConfigOptions {
  readonly routerId: string;
  readonly localAs: number;
  readonly neighbors: readonly BirdNeighborConfig[];
  readonly staticRoutes?: readonly BirdStaticRoute[];
  /** Verbose BGP packet logging to stderr (the log file). */
  readonly debug?: boolean;
  /** Appended verbatim. */
  readonly extra?: string;
}

function filterExpr(f: BirdFilter | undefined, fallback: BirdFilter): string {
  const v = f ?? fallback;
  if (v === 'all' || v === 'none') return v;
  return 'where' in v ? `where ${v.where}` : `filter ${v.filter}`;
}

function channelBlock(family: 'ipv4' | 'ipv6', opt: boolean | BirdChannelOptions | undefined): string[] {
  if (!opt) return [];
  const o: BirdChannelOptions = opt === true ? {} : opt;
  const lines = [`import ${filterExpr(o.import, 'all')};`, `export ${filterExpr(o.export, 'all')};`];
  if (o.addPaths) lines.push(`add paths ${o.addPaths};`);
  if (o.extendedNextHop !== undefined) lines.push(`extended next hop ${o.extendedNextHop ? 'on' : 'off'};`);
  if (o.nextHopSelf) lines.push('next hop self;');
  if (o.nextHopAddress) lines.push(`next hop address ${o.nextHopAddress};`);
  lines.push(...(o.extra ?? []));
  return [`  ${family} {`, ...lines.map((l) => `    ${l}`), '  };'];
}

const onOff = (b: boolean): string => (b ? 'on' : 'off');

function staticBlock(name: string, family: 'ipv4' | 'ipv6', routes: readonly BirdStaticRoute[]): string[] {
  if (routes.length === 0) return [];
  const out = [`protocol static ${name} {`, `  ${family};`];
  for (const r of routes) {
    const stmts: string[] = [];
    for (const [a, b] of r.communities ?? []) stmts.push(`bgp_community.add((${a},${b}));`);
    for (const [a, b, c] of r.largeCommunities ?? [])
      stmts.push(`bgp_large_community.add((${a},${b},${c}));`);
    for (const [k, a, b] of r.extCommunities ?? []) stmts.push(`bgp_ext_community.add((${k},${a},${b}));`);
    if (r.med !== undefined) stmts.push(`bgp_med = ${r.med};`);
    if (r.localPref !== undefined) stmts.push(`bgp_local_pref = ${r.localPref};`);
    if (r.origin) stmts.push(`bgp_origin = ORIGIN_${r.origin.toUpperCase()};`);
    const target = r.via ? `via ${r.via}` : 'blackhole';
    out.push(`  route ${r.prefix} ${target}${stmts.length ? ` { ${stmts.join(' ')} }` : ''};`);
  }
  out.push('}');
  return out;
}

/** A complete bird.conf: device + static (v4/v6) + one BGP protocol per neighbor. */
export function birdConfig(o: BirdConfigOptions): string {
  const routes = o.staticRoutes ?? [];
  const out: string[] = [
    '# generated by test/interop/lib/bird.ts',
    'log stderr all;',
    `router id ${o.routerId};`,
    'protocol device {}',
    ...staticBlock(
      'static4',
      'ipv4',
      routes.filter((r) => !r.prefix.includes(':')),
    ),
    ...staticBlock(
      'static6',
      'ipv6',
      routes.filter((r) => r.prefix.includes(':')),
    ),
  ];
  for (const n of o.neighbors) {
    out.push(`protocol bgp ${n.name} {`);
    if (o.debug) out.push('  debug { states, events, packets };');
    out.push(`  local${n.localAddress ? ` ${n.localAddress}` : ''} as ${n.localAs ?? o.localAs};`);
    out.push(`  neighbor ${n.address} as ${n.remoteAs};`);
    // Short timers so sessions come up (and come back) in a second or two.
    out.push('  connect delay time 1;', '  connect retry time 2;', '  error wait time 1, 5;');
    if (n.holdTime !== undefined) out.push(`  hold time ${n.holdTime};`);
    if (n.keepaliveTime !== undefined) out.push(`  keepalive time ${n.keepaliveTime};`);
    if (n.passive) out.push('  passive on;');
    if (n.routeReflectorClient) out.push('  rr client;');
    if (n.rrClusterId) out.push(`  rr cluster id ${n.rrClusterId};`);
    if (n.extendedMessages !== undefined)
      out.push(`  enable extended messages ${onOff(n.extendedMessages)};`);
    if (n.routeRefresh !== undefined) out.push(`  enable route refresh ${onOff(n.routeRefresh)};`);
    if (n.as4 !== undefined) out.push(`  enable as4 ${onOff(n.as4)};`);
    if (n.gracefulRestart !== undefined) out.push(`  graceful restart ${onOff(n.gracefulRestart)};`);
    out.push(...(n.extra ?? []).map((l) => `  ${l}`));
    out.push(...channelBlock('ipv4', n.ipv4 ?? true));
    out.push(...channelBlock('ipv6', n.ipv6));
    out.push('}');
  }
  if (o.extra) out.push(o.extra);
  return `${out.join('\n')}\n`;
}
