// `margay speaker --config FILE` as shipped, inside a lab namespace, for the BGP interop tests. The
// process is started with `lab.spawn` (its own process group, stopped by PID in teardown) and
// queried over its REST API. The API listens on the namespace's own loopback (127.0.0.1:9179 in
// every namespace: they do not collide), which the test runner cannot reach directly, so each query
// is a `curl` run inside the namespace.
//
// The config file is written as JSON, which is YAML too.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PathView, PeerStatus } from '../../../bgp/speaker/types.ts';
import type { Lab } from '../lib/lab.ts';
import type { ProcessHandle } from '../lib/netns.ts';
import { waitFor } from '../lib/wait.ts';

const REPO = join(import.meta.dirname, '..', '..', '..');
const API_PORT = 9179;

/** The `margay speaker` YAML (README "Running the speaker alone"), field for field. */
export interface MargayPeerYaml {
  readonly address: string;
  readonly asn: number;
  readonly port?: number;
  readonly passive?: boolean;
  readonly holdTime?: number;
  readonly keepaliveTime?: number;
  readonly localAddress?: string;
  readonly families?: readonly ('ipv4-unicast' | 'ipv6-unicast')[];
  readonly routeReflectorClient?: boolean;
  readonly nextHopSelf?: boolean;
  readonly description?: string;
  readonly connectRetryTime?: number;
  readonly nextHop?: { readonly ipv4?: string; readonly ipv6?: string };
  readonly exportPolicy?: 'all' | 'local';
  readonly addPaths?: 'send' | 'receive' | 'both';
  readonly maxPrefix?:
    | number
    | {
        readonly [family in 'ipv4-unicast' | 'ipv6-unicast']?: {
          readonly limit: number;
          readonly action?: 'teardown' | 'warn';
          readonly restartAfterSeconds?: number;
        };
      };
}

export interface MargayAnnounceYaml {
  readonly prefix: string;
  readonly nextHop?: string;
  readonly communities?: readonly string[];
  readonly largeCommunities?: readonly string[];
  readonly extendedCommunities?: readonly string[];
  readonly med?: number;
  readonly localPref?: number;
}

export interface MargayYaml {
  readonly asn: number;
  readonly routerId: string;
  readonly clusterId?: string;
  readonly listen?: { readonly address: string; readonly port: number } | null;
  readonly gracefulRestartTime?: number;
  /** ECMP: the largest multipath set. */
  readonly maxPaths?: number;
  readonly peers: readonly MargayPeerYaml[];
  readonly announce?: readonly MargayAnnounceYaml[];
}

export interface MargayHandle {
  readonly ns: string;
  readonly pid: number;
  readonly process: ProcessHandle;
  readonly logFile: string;
  /** GET a REST API path (e.g. "/v1/bgp/peers") inside the namespace; parsed JSON. */
  get<T>(path: string): Promise<T>;
  peers(): Promise<PeerStatus[]>;
  peer(address: string): Promise<PeerStatus>;
  routes(filter?: { prefix?: string; peer?: string; family?: string }): Promise<PathView[]>;
  /** The process still runs and its API answers. */
  isUp(): Promise<boolean>;
  /**
   * SIGTERM (Cease / Administrative Shutdown to every peer: graceful restart is off in these
   * configs, restart time 0) and wait for the exit.
   */
  stop(): Promise<void>;
}

let count = 0;

export async function startMargay(lab: Lab, ns: string, config: MargayYaml): Promise<MargayHandle> {
  const id = `margay-${ns.slice(lab.prefix.length)}-${count++}`;
  const dir = lab.mkdir(id);
  const file = join(dir, 'speaker.yaml');
  const doc = {
    listen: { address: '::', port: 179 },
    gracefulRestartTime: 0,
    api: { listen: `127.0.0.1:${API_PORT}` },
    ...config,
    // The test's short timers: reconnect within a second, small hold times are set per peer.
    peers: config.peers.map((p) => ({ connectRetryTime: 1, ...p })),
  };
  writeFileSync(file, JSON.stringify(doc, null, 2));
  const proc = lab.spawn(ns, [process.execPath, join(REPO, 'src', 'main.ts'), 'speaker', '--config', file], {
    name: id,
    env: { ...process.env, MARGAY_LOG_LEVEL: 'info' },
  });
  const get = async <T>(path: string): Promise<T> => {
    const { stdout } = await lab.exec(ns, [
      'curl',
      '-sS',
      '--fail',
      '--max-time',
      '3',
      `http://127.0.0.1:${API_PORT}${path}`,
    ]);
    return JSON.parse(stdout) as T;
  };
  const handle: MargayHandle = {
    ns,
    pid: proc.pid,
    process: proc,
    logFile: proc.logFile,
    get,
    peers: async () => (await get<{ peers: PeerStatus[] }>('/v1/bgp/peers')).peers,
    async peer(address) {
      const p = (await handle.peers()).find((x) => x.address === address);
      if (p === undefined) throw new Error(`margay in ${ns} has no peer ${address}`);
      return p;
    },
    async routes(filter = {}) {
      const q = new URLSearchParams(filter as Record<string, string>).toString();
      return (await get<{ routes: PathView[] }>(`/v1/bgp/routes${q ? `?${q}` : ''}`)).routes;
    },
    async isUp() {
      if (proc.exitStatus() !== undefined) return false;
      try {
        await get('/v1/status');
        return true;
      } catch {
        return false;
      }
    },
    stop: () => proc.stop(10_000),
  };
  await waitFor(
    async () => {
      const st = proc.exitStatus();
      if (st) throw new Error(`margay speaker exited ${JSON.stringify(st)} (log ${proc.logFile})`);
      return get('/v1/status');
    },
    { describe: `margay speaker in ${ns} to answer its API (log ${proc.logFile})`, timeoutMs: 15_000 },
  );
  return handle;
}

/** Waits until our speaker shows `address` Established; returns its status. */
export function waitMargayEstablished(
  m: MargayHandle,
  address: string,
  timeoutMs = 20_000,
): Promise<PeerStatus> {
  return waitFor(() => m.peer(address), {
    describe: `margay ${m.ns} peer ${address} Established`,
    until: (p) => p.state === 'Established',
    timeoutMs,
  });
}

/** Waits until `prefix` is in our Loc-RIB from `peer` (and `until` holds); returns the path. */
export async function waitMargayRoute(
  m: MargayHandle,
  prefix: string,
  opts: { peer?: string; until?: (p: PathView) => boolean; timeoutMs?: number } = {},
): Promise<PathView> {
  const found = await waitFor(
    async () =>
      (await m.routes({ prefix, ...(opts.peer !== undefined && { peer: opts.peer }) })).find(
        (p) => p.prefix === prefix && (opts.until?.(p) ?? true),
      ),
    {
      describe: `margay ${m.ns} has ${prefix}${opts.peer ? ` from ${opts.peer}` : ''}`,
      timeoutMs: opts.timeoutMs ?? 15_000,
    },
  );
  return found as PathView;
}

/** Waits until no path for `prefix` (from `peer`, if given) is left in our Loc-RIB. */
export async function waitMargayNoRoute(
  m: MargayHandle,
  prefix: string,
  opts: { peer?: string; timeoutMs?: number } = {},
): Promise<void> {
  await waitFor(
    async () =>
      (await m.routes({ prefix, ...(opts.peer !== undefined && { peer: opts.peer }) })).filter(
        (p) => p.prefix === prefix,
      ),
    {
      describe: `margay ${m.ns} without ${prefix}${opts.peer ? ` from ${opts.peer}` : ''}`,
      until: (ps) => ps.length === 0,
      timeoutMs: opts.timeoutMs ?? 15_000,
    },
  );
}

/** Stops a process (a daemon) with SIGSTOP / resumes it with SIGCONT, by PID. */
export function freeze(pid: number): void {
  process.kill(pid, 'SIGSTOP');
}
export function thaw(pid: number): void {
  process.kill(pid, 'SIGCONT');
}
