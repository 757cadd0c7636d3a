// Test-side handle of driver-child.ts: a Speaker (the library) in a lab namespace whose routes
// can be changed and which can be told to send ROUTE-REFRESH. Started with `lab.spawn`, so
// teardown stops it by PID.
import { request } from 'node:http';
import { join } from 'node:path';
import type {
  LocalRoute,
  PathView,
  PeerConfig,
  PeerStatus,
  SpeakerOptions,
} from '../../../bgp/speaker/types.ts';
import type { Family } from '../../../bgp/wire/types.ts';
import type { Lab } from '../lib/lab.ts';
import type { ProcessHandle } from '../lib/netns.ts';
import { waitFor } from '../lib/wait.ts';

export interface DriverRoute extends Omit<LocalRoute, 'extendedCommunities'> {
  readonly extendedCommunities?: readonly bigint[];
}

export interface DriverHandle {
  readonly ns: string;
  readonly pid: number;
  readonly process: ProcessHandle;
  readonly logFile: string;
  peers(): Promise<PeerStatus[]>;
  peer(address: string): Promise<PeerStatus>;
  routes(filter?: { prefix?: string; peer?: string; family?: string }): Promise<PathView[]>;
  setRoutes(routes: readonly DriverRoute[]): Promise<void>;
  /** Speaker.refresh: true when a ROUTE-REFRESH was sent. */
  refresh(peer: string, family: Family): Promise<boolean>;
  /** Speaker.stop (the process keeps running until `stop`): graceful unless `hardReset`. */
  stopSpeaker(options?: { message?: string; hardReset?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

let count = 0;

const encodeRoutes = (rs: readonly DriverRoute[]): unknown =>
  rs.map((r) => ({
    ...r,
    ...(r.extendedCommunities !== undefined && { extendedCommunities: r.extendedCommunities.map(String) }),
  }));

function call<T>(socketPath: string, method: string, path: string, body?: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, timeout: 5_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        if (res.statusCode !== 200) reject(new Error(`driver ${method} ${path}: ${res.statusCode} ${text}`));
        else resolve(JSON.parse(text) as T);
      });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`driver ${method} ${path}: timeout`)));
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

export async function startDriver(
  lab: Lab,
  ns: string,
  config: { options: SpeakerOptions; peers: readonly PeerConfig[]; routes: readonly DriverRoute[] },
): Promise<DriverHandle> {
  const id = `driver-${ns.slice(lab.prefix.length)}-${count++}`;
  const socket = join(lab.mkdir(id), 'driver.sock');
  const arg = JSON.stringify({
    socket,
    options: config.options,
    peers: config.peers.map((p) => ({ connectRetryTime: 1, ...p })),
    routes: encodeRoutes(config.routes),
  });
  const proc = lab.spawn(ns, [process.execPath, join(import.meta.dirname, 'driver-child.ts'), arg], {
    name: id,
  });
  const h: DriverHandle = {
    ns,
    pid: proc.pid,
    process: proc,
    logFile: proc.logFile,
    peers: () => call<PeerStatus[]>(socket, 'GET', '/peers'),
    async peer(address) {
      const p = (await h.peers()).find((x) => x.address === address);
      if (p === undefined) throw new Error(`driver in ${ns} has no peer ${address}`);
      return p;
    },
    routes(filter = {}) {
      const q = new URLSearchParams(filter as Record<string, string>).toString();
      return call<PathView[]>(socket, 'GET', `/routes${q ? `?${q}` : ''}`);
    },
    async setRoutes(routes) {
      await call(socket, 'PUT', '/routes', encodeRoutes(routes));
    },
    async refresh(peer, family) {
      return (await call<{ sent: boolean }>(socket, 'POST', '/refresh', { peer, family })).sent;
    },
    async stopSpeaker(options = {}) {
      await call(socket, 'POST', '/stop', options);
    },
    stop: () => proc.stop(10_000),
  };
  await waitFor(
    async () => {
      const st = proc.exitStatus();
      if (st) throw new Error(`driver exited ${JSON.stringify(st)} (log ${proc.logFile})`);
      return h.peers();
    },
    { describe: `speaker driver in ${ns} (log ${proc.logFile})`, timeoutMs: 15_000 },
  );
  return h;
}
