// Margay's Kubernetes client against the fake API server (the real wire protocol): TLS with a CA,
// a client certificate and tls-server-name; LIST paging and resourceVersion semantics with the
// items as the server sent them; error answers with the server's Status message; WATCH streams,
// their ERROR events, cuts and aborts; and a raw server that splits events across chunks.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KubeApiError, KubeClient } from '../../../../../src/datastore/k8s/client.ts';
import type { KubeConfig } from '../../../../../src/datastore/k8s/kubeconfig.ts';
import { FakeKubeApiServer, type KubeObject } from '../../../../fakes/kube-apiserver.ts';
import { waitUntil } from '../../../fakes/wait.ts';
import { makePki, SERVER_NAME, type TestPki } from './pki.ts';

const pod = (name: string, labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', labels },
  spec: { containers: [{ name: 'c', image: 'busybox' }], nodeName: 'node-1' },
});

/** What a promise rejects with (the test fails if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  throw new Error('expected a rejection');
}

const names = (items: readonly unknown[]): string[] =>
  items.map((o) => (o as { metadata: { name: string } }).metadata.name);

let clients: KubeClient[] = [];
let servers: FakeKubeApiServer[] = [];

function client(config: KubeConfig): KubeClient {
  const c = new KubeClient(config);
  clients.push(c);
  return c;
}

async function fake(
  options: ConstructorParameters<typeof FakeKubeApiServer>[0] = {},
): Promise<FakeKubeApiServer> {
  const server = new FakeKubeApiServer(options);
  await server.start();
  servers.push(server);
  return server;
}

afterEach(async () => {
  for (const c of clients) c.close();
  for (const s of servers) await s.stop();
  clients = [];
  servers = [];
});

describe('KubeClient over TLS', () => {
  let pki: TestPki;
  let server: FakeKubeApiServer;
  beforeAll(() => {
    pki = makePki();
  });
  const start = async () => {
    server = await fake({
      tls: { key: pki.serverKey, cert: pki.serverCert, clientCa: pki.ca },
      token: 'not-sent-here',
    });
  };

  it('verifies the server against the CA under tls-server-name and authenticates by client certificate', async () => {
    await start();
    const page = await client({
      server: server.url,
      certificateAuthority: pki.ca,
      tlsServerName: SERVER_NAME,
      clientCertificate: pki.clientCert,
      clientKey: pki.clientKey,
    }).list('/api/v1/namespaces');
    expect(names(page.items)).toEqual(['default', 'kube-system']);
    expect(server.requests.at(-1)).toMatchObject({ path: '/api/v1/namespaces', status: 200 });
  });

  it('is refused (401, the Status message) without a client certificate or token', async () => {
    await start();
    const err = await rejection(
      client({ server: server.url, certificateAuthority: pki.ca, tlsServerName: SERVER_NAME }).list(
        '/api/v1/namespaces',
      ),
    );
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err).toMatchObject({ statusCode: 401, message: 'Unauthorized', reason: 'Unauthorized' });
  });

  it('refuses a server whose certificate is not for the host, unless tls-server-name names it', async () => {
    await start();
    const err = await rejection(
      client({
        server: server.url,
        certificateAuthority: pki.ca,
        clientCertificate: pki.clientCert,
        clientKey: pki.clientKey,
      }).list('/api/v1/namespaces'),
    );
    expect(err.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('refuses a server certificate another CA signed, unless told not to verify', async () => {
    await start();
    const strict = client({
      server: server.url,
      certificateAuthority: pki.otherCa,
      tlsServerName: SERVER_NAME,
      clientCertificate: pki.clientCert,
      clientKey: pki.clientKey,
    });
    // The server sends its CA along (it is also the client CA), which the client does not trust.
    expect((await rejection(strict.list('/api/v1/namespaces'))).code).toBe('SELF_SIGNED_CERT_IN_CHAIN');
    const insecure = client({
      server: server.url,
      insecureSkipTlsVerify: true,
      clientCertificate: pki.clientCert,
      clientKey: pki.clientKey,
    });
    expect(names((await insecure.list('/api/v1/namespaces')).items)).toEqual(['default', 'kube-system']);
  });

  it('sends the bearer token', async () => {
    await start();
    const c = client({
      server: server.url,
      certificateAuthority: pki.ca,
      tlsServerName: SERVER_NAME,
      token: 'x',
    });
    expect((await rejection(c.list('/api/v1/pods'))).statusCode).toBe(401);
    server.setToken('x');
    expect((await c.list('/api/v1/pods')).items).toEqual([]);
  });
});

describe('KubeClient LIST', () => {
  it('pages with limit and continue over one kept-alive connection, items as the server sent them', async () => {
    const server = await fake();
    for (const name of ['a', 'b', 'c', 'd', 'e']) server.apply(pod(name, { app: 'web' }));
    const c = client(server.kubeconfig());
    const first = await c.list('/api/v1/pods', { limit: 2 });
    expect(names(first.items)).toEqual(['a', 'b']);
    expect(first.continueToken).toEqual(expect.any(String));
    const second = await c.list('/api/v1/pods', { limit: 2, continueToken: first.continueToken as string });
    const third = await c.list('/api/v1/pods', { limit: 2, continueToken: second.continueToken as string });
    expect([...names(second.items), ...names(third.items)]).toEqual(['c', 'd', 'e']);
    expect(third.continueToken).toBeUndefined();
    expect(third.resourceVersion).toBe(first.resourceVersion);
    expect(server.requests.map((r) => r.query)).toEqual([
      { limit: '2' },
      { limit: '2', continue: first.continueToken },
      { limit: '2', continue: second.continueToken },
    ]);
    expect(server.connectionCount).toBe(1);
    // The JSON as sent: strings for timestamps, wire field names, no client-side defaults.
    const a = first.items[0] as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
    expect(typeof a.metadata.creationTimestamp).toBe('string');
    expect(a.metadata.labels).toEqual({ app: 'web' });
    expect(a.spec.nodeName).toBe('node-1');
    // A list's items carry no apiVersion and kind, as the real server sends them.
    const { apiVersion: _v, kind: _k, ...stored } = server.get('Pod', 'default', 'a') as KubeObject;
    expect(a).toEqual(stored);
  });

  it('reads the state at a resourceVersion with resourceVersionMatch=Exact', async () => {
    const server = await fake();
    server.apply(pod('old'));
    const c = client(server.kubeconfig());
    const before = await c.list('/api/v1/pods');
    server.remove('Pod', 'default', 'old');
    server.apply(pod('new'));
    expect(names((await c.list('/api/v1/pods')).items)).toEqual(['new']);
    const past = await c.list('/api/v1/pods', {
      resourceVersion: before.resourceVersion,
      resourceVersionMatch: 'Exact',
    });
    expect(names(past.items)).toEqual(['old']);
    expect(past.resourceVersion).toBe(before.resourceVersion);
    expect(server.requests.at(-1)?.query).toEqual({
      resourceVersion: before.resourceVersion,
      resourceVersionMatch: 'Exact',
    });
  });

  it("fails with the status code and the server's message", async () => {
    const server = await fake();
    const c = client(server.kubeconfig());
    server.failNext(/^\/api\/v1\/pods$/, 503, { message: 'etcd is not answering' });
    const err = await rejection(c.list('/api/v1/pods'));
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err).toMatchObject({
      statusCode: 503,
      message: 'etcd is not answering',
      reason: 'ServiceUnavailable',
    });
    const missing = await rejection(c.list('/apis/margay.io/v1/nothings'));
    expect(missing).toMatchObject({ statusCode: 404 });
  });

  it('fails with 410 when a continue token outlived the history', async () => {
    const server = await fake();
    for (const name of ['a', 'b', 'c']) server.apply(pod(name));
    const c = client(server.kubeconfig());
    const first = await c.list('/api/v1/pods', { limit: 1 });
    server.apply(pod('d'));
    server.compactHistory();
    const err = await rejection(
      c.list('/api/v1/pods', { limit: 1, continueToken: first.continueToken as string }),
    );
    expect(err).toMatchObject({ statusCode: 410, reason: 'Expired' });
  });

  it("fails with Node's error when the connection is refused", async () => {
    const server = await fake();
    const config = server.kubeconfig();
    await server.stop();
    expect((await rejection(client(config).list('/api/v1/pods'))).code).toBe('ECONNREFUSED');
  });
});

type Seen = [string, string];

/** A watch that records `[type, name or resourceVersion]` of each event. */
function recordingWatch(
  c: KubeClient,
  path: string,
  query: Parameters<KubeClient['watch']>[1],
): { seen: Seen[]; stream: ReturnType<KubeClient['watch']>; objects: unknown[] } {
  const seen: Seen[] = [];
  const objects: unknown[] = [];
  const stream = c.watch(path, query, (type, object) => {
    objects.push(object);
    const o = object as { metadata?: { name?: string; resourceVersion?: string }; code?: number };
    seen.push([
      type,
      type === 'BOOKMARK' ? 'bookmark' : type === 'ERROR' ? String(o.code) : (o.metadata?.name ?? ''),
    ]);
  });
  return { seen, stream, objects };
}

describe('KubeClient WATCH', () => {
  it('streams events from a resourceVersion, with bookmarks, and ends quietly when the server ends it', async () => {
    const server = await fake();
    const c = client(server.kubeconfig());
    const { resourceVersion } = await c.list('/api/v1/pods');
    server.apply(pod('before'));
    const w = recordingWatch(c, '/api/v1/pods', {
      resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds: 42,
    });
    await w.stream.opened;
    expect(server.requests.at(-1)).toMatchObject({
      path: '/api/v1/pods',
      isWatch: true,
      query: { watch: '1', resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: '42' },
    });
    server.apply(pod('web', { v: '2' }));
    server.remove('Pod', 'default', 'before');
    await waitUntil(() => w.seen.length === 3, 'three events');
    expect(server.sendBookmarks()).toBe(1);
    await waitUntil(() => w.seen.length === 4, 'the bookmark');
    expect(w.seen).toEqual([
      ['ADDED', 'before'],
      ['ADDED', 'web'],
      ['DELETED', 'before'],
      ['BOOKMARK', 'bookmark'],
    ]);
    expect(w.objects[1]).toEqual(server.get('Pod', 'default', 'web'));
    server.dropWatches('graceful');
    expect(await w.stream.ended).toBeUndefined();
  });

  it('ends with an error when the stream is cut, and quietly when aborted', async () => {
    const server = await fake();
    const c = client(server.kubeconfig());
    const cut = recordingWatch(c, '/api/v1/pods', {});
    await cut.stream.opened;
    expect(server.dropWatches('abrupt')).toBe(1);
    expect(await cut.stream.ended).toBeInstanceOf(Error);

    const aborted = recordingWatch(c, '/api/v1/pods', {});
    await aborted.stream.opened;
    await waitUntil(() => server.watchCount('Pod') === 1, 'the watch is open');
    aborted.stream.abort();
    expect(await aborted.stream.ended).toBeUndefined();
    await waitUntil(() => server.watchCount('Pod') === 0, 'the server sees the watch closed');
  });

  it('rejects `opened` when aborted before the answer', async () => {
    const server = await fake();
    const w = recordingWatch(client(server.kubeconfig()), '/api/v1/pods', {});
    w.stream.abort();
    await expect(w.stream.opened).rejects.toThrow();
    expect(await w.stream.ended).toBeUndefined();
  });

  it('delivers the 410 ERROR event of a resume from a compacted resourceVersion', async () => {
    const server = await fake();
    const c = client(server.kubeconfig());
    const { resourceVersion } = await c.list('/api/v1/pods');
    server.apply(pod('a'));
    server.compactHistory();
    const w = recordingWatch(c, '/api/v1/pods', { resourceVersion });
    await w.stream.opened;
    expect(await w.stream.ended).toBeUndefined();
    expect(w.seen).toEqual([['ERROR', '410']]);
    expect(w.objects[0]).toMatchObject({ kind: 'Status', reason: 'Expired', code: 410 });
  });

  it('rejects `opened` with the status and message of a refused watch', async () => {
    const server = await fake();
    server.failNext(/^\/api\/v1\/pods$/, 403, { message: 'pods is forbidden' });
    const w = recordingWatch(client(server.kubeconfig()), '/api/v1/pods', {});
    const err = await rejection(w.stream.opened);
    expect(err).toMatchObject({ statusCode: 403, message: 'pods is forbidden' });
    expect(await w.stream.ended).toBe(err);
  });
});

describe('KubeClient WATCH framing', () => {
  let raw: Server;
  let body: Buffer[] = [];
  beforeAll(async () => {
    raw = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const pieces = [...body];
      const next = (): void => {
        const piece = pieces.shift();
        if (piece === undefined) res.end();
        else res.write(piece, () => setImmediate(next));
      };
      next();
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    raw.closeAllConnections();
    await new Promise<void>((resolve) => raw.close(() => resolve()));
  });
  const url = () => `http://127.0.0.1:${(raw.address() as AddressInfo).port}`;

  it('joins events split across chunks, a multi-byte character split between two', async () => {
    const text =
      '{"type":"ADDED","object":{"metadata":{"name":"café"}}}\n' +
      '{"type":"MODIFIED","object":{"metadata":{"name":"naïve-ünïcode"}}}\n' +
      '\n{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9"}}}';
    const bytes = Buffer.from(text, 'utf8');
    body = [];
    for (let i = 0; i < bytes.length; i += 3) body.push(bytes.subarray(i, i + 3));
    const w = recordingWatch(client({ server: url() }), '/api/v1/pods', {});
    await w.stream.opened;
    expect(await w.stream.ended).toBeUndefined();
    expect(w.seen).toEqual([
      ['ADDED', 'café'],
      ['MODIFIED', 'naïve-ünïcode'],
      ['BOOKMARK', 'bookmark'],
    ]);
  });

  it('ends with an error at a line that is not a watch event', async () => {
    body = [Buffer.from('{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n{"type":\n{"type":"ADDED"}\n')];
    const w = recordingWatch(client({ server: url() }), '/api/v1/pods', {});
    await w.stream.opened;
    expect((await w.stream.ended)?.message).toMatch(/not JSON/);
    expect(w.seen).toEqual([['ADDED', 'a']]);
  });
});
