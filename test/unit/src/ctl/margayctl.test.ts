import { execFile, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { PeerStatus } from '../../../../bgp/index.ts';
import { Speaker } from '../../../../bgp/speaker/speaker.ts';
import { ROUTES_PAGE } from '../../../../src/api/schemas.ts';
import { startApi } from '../../../../src/api/server.ts';
import { type PeerJson, peerTable } from '../../../../src/ctl/status.ts';
import { peerJson } from './peer-fixture.ts';

// SINCE is local time; the expectations below are in UTC unless a test sets TZ for the CLI.
process.env.TZ = 'UTC';

const CTL = join(import.meta.dirname, '..', '..', '..', '..', 'src/ctl/main.ts');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const peer = (over: Partial<PeerJson>): PeerJson =>
  peerJson({
    prefixes: { received: 3, accepted: 3, advertised: 1 },
    messages: { in: 1, out: 1, updatesIn: 1, updatesOut: 1 },
    ...over,
  });

describe('margayctl', () => {
  it('prints one line naming the address when the API is unreachable, exit 1', async () => {
    const port = await freePort();
    const run = spawnSync(process.execPath, [CTL, 'node', 'status', '--api', `127.0.0.1:${port}`], {
      encoding: 'utf8',
    });
    expect(run.status).toBe(1);
    // calicoctl's words on stdout, for scripts written against it.
    expect(run.stdout).toBe('Calico process is not running.\n');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain(`cannot reach the Margay API at 127.0.0.1:${port}`);
    expect(run.stderr.trimEnd()).toMatch(/ \(MARGAY_ERR_API_UNREACHABLE\)$/);
  });

  it('rejects an unknown output format with exit 2', () => {
    const run = spawnSync(process.execPath, [CTL, 'node', 'status', '-o', 'xml'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('-o must be table, wide, json or yaml');
    expect(run.stderr).toContain('(MARGAY_ERR_USAGE)');
  });

  it('bgp routes follows the API pages to the end of the listing', async () => {
    const speaker = new Speaker({ asn: 64512, routerId: '192.0.2.1', listen: null });
    // More routes than the largest page, so that at least two pages are fetched.
    const count = ROUTES_PAGE.max + 50;
    speaker.setLocalRoutes(
      Array.from({ length: count }, (_, i) => ({ prefix: `10.${i >> 8}.${i & 255}.0/24` })),
    );
    const app = await startApi(
      {
        status: () => ({ version: 'test', mode: 'speaker', uptimeSeconds: 1 }),
        peers: () => [],
        routes: (f) => speaker.routes(f),
        metrics: () => [],
        live: () => ({ ok: true }),
        ready: () => ({ ok: true }),
      },
      { host: '127.0.0.1', port: 0 },
    );
    try {
      const api = `127.0.0.1:${(app.server.address() as { port: number }).port}`;
      // Asynchronously: the API answers from this process.
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [CTL, 'bgp', 'routes', '-o', 'json', '--api', api],
        { maxBuffer: 64 * 2 ** 20 },
      );
      const routes = JSON.parse(stdout) as { prefix: string }[];
      expect(routes).toHaveLength(count);
      expect(new Set(routes.map((r) => r.prefix)).size).toBe(count);
    } finally {
      await app.close();
      await speaker.stop();
    }
  });

  it("node status prints calicoctl's text by default and Margay's table with -o wide", async () => {
    const since = Date.parse('2026-11-20T20:00:00Z');
    const status = (over: Partial<PeerStatus>): PeerStatus => ({
      address: '192.0.2.2',
      asn: 64512,
      type: 'ibgp',
      routeReflectorClient: false,
      state: 'Established',
      since,
      holdTime: 90,
      keepalive: 30,
      capabilities: { local: [], remote: [] },
      families: ['ipv4-unicast'],
      prefixes: { received: 3, accepted: 3, advertised: 1 },
      messages: { in: 1, out: 1, updatesIn: 1, updatesOut: 1 },
      ...over,
    });
    const app = await startApi(
      {
        status: () => ({ version: 'test', mode: 'agent', uptimeSeconds: 1 }),
        peers: () => [
          { ...status({}), peerType: 'node-to-node mesh' as const },
          {
            ...status({ address: '10.0.0.1', state: 'Active', lastError: 'Connection failed: ECONNREFUSED' }),
            peerType: 'global' as const,
          },
        ],
        routes: () => [],
        metrics: () => [],
        live: () => ({ ok: true }),
        ready: () => ({ ok: true }),
      },
      { host: '127.0.0.1', port: 0 },
    );
    try {
      const api = `127.0.0.1:${(app.server.address() as { port: number }).port}`;
      // 20:00 UTC on the 20th is 01:30 on the 21st in India: SINCE is the node's local date.
      const env = { ...process.env, TZ: 'Asia/Kolkata' };
      const run = (...args: string[]) =>
        promisify(execFile)(process.execPath, [CTL, 'node', 'status', '--api', api, ...args], { env });
      const { stdout } = await run();
      expect(stdout).toBe(
        [
          'Calico process is running.',
          '',
          'IPv4 BGP status',
          '+--------------+-------------------+-------+------------+--------------------------------+',
          '| PEER ADDRESS |     PEER TYPE     | STATE |   SINCE    |              INFO              |',
          '+--------------+-------------------+-------+------------+--------------------------------+',
          '| 192.0.2.2    | node-to-node mesh | up    | 2026-11-21 | Established                    |',
          '| 10.0.0.1     | global            | start | 2026-11-21 | Active Socket: Connection      |',
          '|              |                   |       |            | refused                        |',
          '+--------------+-------------------+-------+------------+--------------------------------+',
          '',
          'IPv6 BGP status',
          'No IPv6 peers found.',
          '',
          '',
        ].join('\n'),
      );
      const { stdout: wide } = await run('-o', 'wide');
      expect(wide).toMatch(/^Margay process is running \(agent, version test\)\.\n/);
      expect(wide).toMatch(
        /\| 10\.0\.0\.1 +\| global +\| start \| 2026-11-21 \| Active: Connection failed: ECONNREFUSED \| 3 +\| 1 +\| - +\|/,
      );
    } finally {
      await app.close();
    }
  });

  it('renders the -o wide tables split by family, with the reason a session is down', () => {
    const now = new Date('2026-11-21T12:00:00Z');
    const peers = [
      peer({}),
      peer({ address: '192.0.2.3', state: 'Active', lastError: 'Error: Hold timer expired' }),
      peer({ address: '2001:db8::2', state: 'Idle', type: 'ibgp', routeReflectorClient: true }),
    ];
    const v4 = peerTable(peers, 4, now);
    expect(v4).toMatch(/\| 192\.0\.2\.2 +\| ebgp +\| up +\| 10:11:12 \| Established +\| 3 +\| 1 +\|/);
    expect(v4).toMatch(
      /\| 192\.0\.2\.3 +\| ebgp +\| start \| 10:11:12 \| Active: Error: Hold timer expired \|/,
    );
    expect(v4).not.toContain('2001:db8::2');
    expect(peerTable(peers, 6, now)).toContain('route reflector client | start');
    expect(peerTable([peers[0] as PeerJson], 6, now)).toBe('No IPv6 peers found.');
  });

  it('shows why a peer is held Idle by its prefix limit, and until when', () => {
    const now = new Date('2026-11-21T12:00:00Z');
    const reason = 'Maximum number of prefixes reached: 12 ipv4-unicast prefixes, limit 10';
    const held = peer({
      state: 'Idle',
      lastError: reason,
      prefixLimit: {
        exceeded: [{ family: 'ipv4-unicast', limit: 10, action: 'teardown', count: 1 }],
        heldIdle: {
          family: 'ipv4-unicast',
          limit: 10,
          received: 12,
          until: '2026-11-21T12:01:00.000Z',
          seconds: 60,
          reason,
        },
      },
    });
    expect(peerTable([held], 4, now)).toContain(`| Idle: ${reason}; held until 2026-11-21T12:01:00Z |`);
  });
});
