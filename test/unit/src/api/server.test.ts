// The REST API against a real Speaker (no peers reachable; local announcements only) and the
// `margay speaker` process itself for exit codes.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Speaker } from '../../../../bgp/speaker/speaker.ts';
import { ProcessMetrics } from '../../../../src/api/metrics.ts';
import { peerSchema } from '../../../../src/api/schemas.ts';
import { type ApiServer, type StatusSource, startApi } from '../../../../src/api/server.ts';
import { speakerMetrics } from '../../../../src/cli/speaker.ts';

const MAIN = join(import.meta.dirname, '..', '..', '..', '..', 'src/main.ts');

let speaker: Speaker;
let app: ApiServer;
let base: string;
const metrics = new ProcessMetrics();

function sourceFor(s: Speaker): StatusSource {
  return {
    status: () => ({ version: 'test', mode: 'speaker', uptimeSeconds: 1 }),
    peers: () => s.peers(),
    routes: (f) => s.routes(f),
    metrics: () => [...metrics.families(), ...speakerMetrics(s.peers())],
    live: () => ({ ok: true }),
    ready: () => ({ ok: false, reason: 'not yet' }),
  };
}

beforeAll(async () => {
  speaker = new Speaker({ asn: 64512, routerId: '192.0.2.1', listen: null });
  // A peer that is never reachable (passive): the API must show it in Active with its config.
  speaker.setPeers([{ address: '192.0.2.2', asn: 64513, passive: true, description: 'tor-1', holdTime: 9 }]);
  speaker.setLocalRoutes([
    { prefix: '10.244.1.0/24', communities: [(64512 * 65536 + 100) >>> 0], med: 10 },
    { prefix: '2001:db8:244::/64' },
  ]);
  await speaker.start();
  app = await startApi(sourceFor(speaker), { host: '127.0.0.1', port: 0 });
  const addr = app.server.address() as { port: number };
  base = `http://127.0.0.1:${addr.port}`;
});

afterAll(async () => {
  await app?.close();
  await speaker?.stop({ message: 'test done' });
  metrics.close();
});

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, { headers });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) };
}

describe('REST API', () => {
  it('lists peers with state, config and counters', async () => {
    const { status, json } = await get('/v1/bgp/peers');
    expect(status).toBe(200);
    const [p] = json().peers;
    expect(p).toMatchObject({
      address: '192.0.2.2',
      asn: 64513,
      description: 'tor-1',
      type: 'ebgp',
      holdTime: 9,
    });
    expect(['Idle', 'Active']).toContain(p.state);
    expect(Date.parse(p.since)).not.toBeNaN();
    expect(p.prefixes).toEqual({ received: 0, accepted: 0, advertised: 0 });
  });

  it('lists routes with the reason the best path won, filtered by prefix and family', async () => {
    const all = (await get('/v1/bgp/routes')).json().routes;
    expect(all.map((r: { prefix: string }) => r.prefix).sort()).toEqual([
      '10.244.1.0/24',
      '2001:db8:244::/64',
    ]);
    const one = (await get('/v1/bgp/routes?prefix=10.244.1.0/24')).json().routes;
    expect(one).toHaveLength(1);
    expect(one[0]).toMatchObject({ best: true, fromPeer: 'local', med: 10, communities: ['64512:100'] });
    expect(one[0].reason).toBe('local-route');
    const v6 = (await get('/v1/bgp/routes?family=ipv6-unicast')).json().routes;
    expect(v6.map((r: { prefix: string }) => r.prefix)).toEqual(['2001:db8:244::/64']);
  });

  it('pages the listing: limit prefixes per page, next to continue with after', async () => {
    const all = (await get('/v1/bgp/routes')).json();
    expect(all.next).toBeUndefined();
    const first = (await get('/v1/bgp/routes?limit=1')).json();
    expect(first.routes).toHaveLength(1);
    expect(first.next).toBe(first.routes[0].prefix);
    const second = (await get(`/v1/bgp/routes?limit=1&after=${first.next}`)).json();
    expect(second.routes).toHaveLength(1);
    // A full page may have a successor; the (empty) page after the last one has no next.
    const third = (await get(`/v1/bgp/routes?limit=1&after=${second.next}`)).json();
    expect(third).toEqual({ routes: [] });
    expect([...first.routes, ...second.routes]).toEqual(all.routes);
    expect((await get('/v1/bgp/routes?limit=1&prefix=10.244.1.0/24')).json().next).toBeUndefined();
    const doc = (await get('/v1/openapi.json')).json();
    const params = doc.paths['/v1/bgp/routes'].get.parameters.map((p: { name: string }) => p.name);
    expect(params).toEqual(expect.arrayContaining(['limit', 'after']));
  });

  it('answers 400 naming "limit" or "after" when a page cannot be served', async () => {
    for (const limit of ['0', '10001', 'ten', '-1']) {
      const bad = await get(`/v1/bgp/routes?limit=${limit}`);
      expect(bad.status).toBe(400);
      expect(bad.json().error.code).toBe('BAD_PARAMETER');
      expect(bad.json().error.message).toContain('"limit"');
    }
    expect((await get('/v1/bgp/routes?limit=10000')).status).toBe(200);
    const gone = await get('/v1/bgp/routes?limit=1&after=10.9.9.0/24');
    expect(gone.status).toBe(400);
    expect(gone.json().error.message).toContain('"after"');
    expect(gone.json().error.message).toContain('list again from the start');
  });

  it('answers 400 naming the bad query parameter', async () => {
    const bad = await get('/v1/bgp/routes?family=ipv4-multicast');
    expect(bad.status).toBe(400);
    expect(bad.json().error.code).toBe('BAD_PARAMETER');
    expect(bad.json().error.message).toContain('"family"');
    const unknown = await get('/v1/bgp/routes?prefx=10.0.0.0/8');
    expect(unknown.status).toBe(400);
    expect(unknown.json().error.message).toContain('"prefx" is not a known parameter');
    const prefix = await get('/v1/bgp/routes?prefix=not-a-prefix');
    expect(prefix.json().error.message).toContain('"prefix"');
  });

  it('answers 400 for a prefix or peer that cannot exist, instead of an empty list', async () => {
    for (const [query, name] of [
      ['prefix=10.0.0.0/33', 'prefix'],
      ['prefix=2001:db8::/129', 'prefix'],
      ['prefix=10.0.0.1/24', 'prefix'],
      ['prefix=300.0.0.0/8', 'prefix'],
      ['after=10.0.0.1/24', 'after'],
      ['peer=1.2.3', 'peer'],
    ] as const) {
      const bad = await get(`/v1/bgp/routes?${query}`);
      expect(bad.status, query).toBe(400);
      expect(bad.json().error.code, query).toBe('BAD_PARAMETER');
      expect(bad.json().error.message, query).toContain(`"${name}"`);
    }
  });

  it('serves health, readiness with the reason, metrics and OpenAPI', async () => {
    expect((await get('/healthz')).status).toBe(200);
    const ready = await get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.json().reason).toBe('not yet');
    const m = (await get('/metrics')).text;
    expect(m).toMatch(/^margay_event_loop_delay_seconds\{quantile="0.99"\} [0-9.e-]+$/m);
    expect(m).toMatch(/^margay_bgp_sessions\{state="Established"\} 0$/m);
    expect(m).toContain('margay_bgp_prefixes{peer="192.0.2.2",kind="received"} 0');
    const doc = (await get('/v1/openapi.json')).json();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/bgp/peers', '/v1/bgp/routes', '/metrics']),
    );
    expect((await get('/v1/nope')).json().error.code).toBe('NOT_FOUND');
  });

  it('answers with the fields its schemas document, HEAD without a body, other methods 404', async () => {
    // The speaker holds more per peer than the API documents (End-of-RIB families).
    expect(Object.keys(speaker.peers()[0] ?? {})).toContain('endOfRibReceived');
    const [p] = (await get('/v1/bgp/peers')).json().peers;
    expect(Object.keys(p).filter((k) => !(k in peerSchema.properties))).toEqual([]);
    expect(p).not.toHaveProperty('endOfRibReceived');
    const head = await fetch(`${base}/v1/status`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await head.text()).toBe('');
    const post = await fetch(`${base}/v1/status`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(404);
    expect(((await post.json()) as { error: { message: string } }).error.message).toBe(
      'no such endpoint: POST /v1/status',
    );
  });

  it('answers 500 with the error code when a source fails', async () => {
    const failing = await startApi(
      {
        ...sourceFor(speaker),
        status: () => {
          throw Object.assign(new Error('status is broken'), { code: 'TEST_BROKEN' });
        },
      },
      { host: '127.0.0.1', port: 0 },
    );
    try {
      const res = await fetch(
        `http://127.0.0.1:${(failing.server.address() as { port: number }).port}/v1/status`,
      );
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ error: { code: 'TEST_BROKEN', message: 'status is broken' } });
    } finally {
      await failing.close();
    }
  });

  it('requires a token off loopback, and checks it when set', async () => {
    await expect(startApi(sourceFor(speaker), { host: '0.0.0.0', port: 0 })).rejects.toMatchObject({
      code: 'MARGAY_ERR_API_LISTEN',
      exitCode: 1,
    });
    const token = 'a-very-secret-token-123';
    const guarded = await startApi(sourceFor(speaker), { host: '127.0.0.1', port: 0, token });
    try {
      const url = `http://127.0.0.1:${(guarded.server.address() as { port: number }).port}`;
      expect((await fetch(`${url}/v1/bgp/peers`)).status).toBe(401);
      expect(
        (await fetch(`${url}/v1/bgp/peers`, { headers: { authorization: 'Bearer wrong' } })).status,
      ).toBe(401);
      expect(
        (await fetch(`${url}/v1/bgp/peers`, { headers: { authorization: `Bearer ${token}` } })).status,
      ).toBe(200);
      // The scheme is case-insensitive (RFC 7235 §2.1); the token is not.
      for (const header of [`bearer ${token}`, `BEARER ${token}`]) {
        expect((await fetch(`${url}/v1/bgp/peers`, { headers: { authorization: header } })).status).toBe(200);
      }
      for (const header of [`Bearer ${token.toUpperCase()}`, `Basic ${token}`, token, `Bearer ${token} x`]) {
        expect((await fetch(`${url}/v1/bgp/peers`, { headers: { authorization: header } })).status).toBe(401);
      }
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      await guarded.close();
    }
  });
});

describe('probes beyond loopback', () => {
  it('answer without a token, with the status and reason code only; the token shows the reason', async () => {
    const token = 'a-very-secret-token-123';
    const detail = 'datastore: /etc/margay/cluster.yaml line 3: spec.peerIP: "x" is not an address';
    const source: StatusSource = {
      ...sourceFor(speaker),
      ready: () => ({ ok: false, code: 'DATASTORE_ERROR', reason: detail }),
    };
    const api = await startApi(source, { host: '127.0.0.1', port: 0, token });
    try {
      const url = `http://127.0.0.1:${(api.server.address() as { port: number }).port}/readyz`;
      const anonymous = await fetch(url);
      expect(anonymous.status).toBe(503);
      expect(await anonymous.json()).toEqual({ ok: false, code: 'DATASTORE_ERROR' });
      const wrong = await fetch(url, { headers: { authorization: 'Bearer not-the-token-at-all' } });
      expect(await wrong.json()).toEqual({ ok: false, code: 'DATASTORE_ERROR' });
      const holder = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      expect(holder.status).toBe(503);
      expect(await holder.json()).toEqual({ ok: false, code: 'DATASTORE_ERROR', reason: detail });
    } finally {
      await api.close();
    }
    // Without a token (loopback), everyone is local: the reason is shown.
    expect((await get('/readyz')).json()).toEqual({ ok: false, reason: 'not yet' });
  });
});

describe('margay speaker process', () => {
  it('exits 2 naming the field when the config is bad', () => {
    const dir = mkdtempSync(join(tmpdir(), 'margay-speaker-'));
    const path = join(dir, 'bad.yaml');
    writeFileSync(
      path,
      'asn: 64512\nrouterId: 192.0.2.1\npeers:\n  - { address: 192.0.2.2, asn: 70000000000 }\n',
    );
    const run = spawnSync(process.execPath, [MAIN, 'speaker', '--config', path], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('peers[0].asn: must be 1..4294967295');
  });

  it('exits 2 on an unknown command or flag', () => {
    expect(spawnSync(process.execPath, [MAIN, 'fly'], { encoding: 'utf8' }).status).toBe(2);
    const run = spawnSync(process.execPath, [MAIN, 'speaker', '--conf', 'x'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('unknown flag --conf');
  });
});
