// The Speaker library in its own process inside a lab namespace, controlled over HTTP on a unix
// socket (a unix socket is reachable from the test runner whatever the namespace). It exists for
// what `margay speaker` cannot do while running: change the announced routes (withdrawals from
// our side) and ask a peer for a ROUTE-REFRESH (`Speaker.refresh`). Everything else in the
// interop tests runs the CLI.
//
// argv[2]: JSON { socket, options, peers, routes }. Endpoints (JSON bodies and answers):
//   GET /peers, GET /routes?prefix=&peer=&family=, PUT /routes [LocalRoute…],
//   POST /refresh { peer, family } → { sent }, POST /stop { message, hardReset }.
// SIGTERM stops the speaker gracefully (Speaker.stop: Administrative Reset to peers with the
// RFC 8538 N bit, Administrative Shutdown to the others) and exits.
import { rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { Speaker } from '../../../bgp/speaker/speaker.ts';
import type { LocalRoute, PeerConfig, RouteFilter, SpeakerOptions } from '../../../bgp/speaker/types.ts';
import type { Family, LargeCommunity } from '../../../bgp/wire/types.ts';

interface DriverConfig {
  readonly socket: string;
  readonly options: SpeakerOptions;
  readonly peers: readonly PeerConfig[];
  readonly routes: readonly JsonRoute[];
}

/** LocalRoute with extended communities as decimal strings (JSON has no bigint). */
type JsonRoute = Omit<LocalRoute, 'extendedCommunities' | 'largeCommunities'> & {
  readonly extendedCommunities?: readonly string[];
  readonly largeCommunities?: readonly LargeCommunity[];
};

const toRoutes = (rs: readonly JsonRoute[]): LocalRoute[] =>
  rs.map(({ extendedCommunities, ...r }) => ({
    ...r,
    ...(extendedCommunities !== undefined && { extendedCommunities: extendedCommunities.map(BigInt) }),
  }));

const config = JSON.parse(process.argv[2] ?? '{}') as DriverConfig;
const speaker = new Speaker(config.options);
speaker.setPeers(config.peers);
speaker.setLocalRoutes(toRoutes(config.routes));
await speaker.start();

const json = (v: unknown): string => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://driver');
      const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString()) as unknown) : undefined;
      let result: unknown;
      if (req.method === 'GET' && url.pathname === '/peers') result = speaker.peers();
      else if (req.method === 'GET' && url.pathname === '/routes') {
        const filter: Record<string, string> = {};
        for (const [k, v] of url.searchParams) filter[k] = v;
        result = speaker.routes(filter as RouteFilter);
      } else if (req.method === 'PUT' && url.pathname === '/routes') {
        speaker.setLocalRoutes(toRoutes(body as JsonRoute[]));
        result = 'ok';
      } else if (req.method === 'POST' && url.pathname === '/refresh') {
        const b = body as { peer: string; family: Family };
        result = { sent: speaker.refresh(b.peer, b.family) };
      } else if (req.method === 'POST' && url.pathname === '/stop') {
        const b = body as { message?: string; hardReset?: boolean } | undefined;
        await shutdown(b?.message, b?.hardReset);
        result = 'stopped';
      } else {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(json(result));
    })().catch((err: unknown) => res.writeHead(500).end(String(err)));
  });
});
rmSync(config.socket, { force: true });
server.listen(config.socket, () => process.stdout.write('driver ready\n'));

let stopping: Promise<void> | undefined;
function shutdown(message?: string, hardReset?: boolean): Promise<void> {
  stopping ??= speaker.stop({
    ...(message !== undefined && { message }),
    ...(hardReset !== undefined && { hardReset }),
  });
  return stopping;
}
process.on('SIGTERM', () => {
  void shutdown('driver SIGTERM').then(() => {
    server.close();
    process.exit(0);
  });
});
