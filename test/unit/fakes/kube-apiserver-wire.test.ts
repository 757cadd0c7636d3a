// The fake API server's wire format checked byte for byte with plain fetch: list bodies, watch event
// lines, the 410 ERROR event, paging, selectors, Status bodies, discovery, auth and clean shutdown.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeKubeApiServer, type KubeObject } from '../../fakes/kube-apiserver.ts';
import { waitUntil } from './wait.ts';

const TOKEN = 'wire-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };

interface OpenWatch {
  readonly status: number;
  readonly headers: Headers;
  readonly lines: string[];
  isEnded: boolean;
  abort(): void;
}

async function openWatch(url: string): Promise<OpenWatch> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: AUTH, signal: controller.signal });
  const w: OpenWatch = {
    status: res.status,
    headers: res.headers,
    lines: [],
    isEnded: false,
    abort: () => controller.abort(),
  };
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let pending = '';
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        pending += decoder.decode(value, { stream: true });
        let nl = pending.indexOf('\n');
        while (nl >= 0) {
          w.lines.push(pending.slice(0, nl));
          pending = pending.slice(nl + 1);
          nl = pending.indexOf('\n');
        }
      }
    } catch {
      // aborted or cut: isEnded tells
    }
    w.isEnded = true;
  })();
  return w;
}

function pod(name: string, labels: Record<string, string> = {}, namespace = 'default'): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels }, spec: { containers: [] } };
}

describe('fake kube-apiserver wire format', () => {
  let server: FakeKubeApiServer;
  const watches: OpenWatch[] = [];

  // biome-ignore lint/suspicious/noExplicitAny: response bodies of every shape, pinned down by the assertions
  async function get(path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
    const res = await fetch(`${server.url}${path}`, {
      ...init,
      headers: { ...AUTH, ...(init.headers ?? {}) },
    });
    const text = await res.text();
    return {
      status: res.status,
      body: res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : text,
    };
  }

  async function watch(path: string): Promise<OpenWatch> {
    const w = await openWatch(`${server.url}${path}`);
    watches.push(w);
    return w;
  }

  beforeEach(async () => {
    server = new FakeKubeApiServer({ token: TOKEN });
    await server.start();
  });

  afterEach(async () => {
    for (const w of watches.splice(0)) w.abort();
    await server.stop();
  });

  it('lists with a string resourceVersion; built-in items carry no TypeMeta, custom ones do', async () => {
    server.apply(pod('p1'));
    server.apply({
      apiVersion: 'margay.io/v1',
      kind: 'IPPool',
      metadata: { name: 'pool' },
      spec: { cidr: '10.0.0.0/8' },
    });
    const pods = await get('/api/v1/pods');
    expect(pods.status).toBe(200);
    expect(pods.body).toMatchObject({
      kind: 'PodList',
      apiVersion: 'v1',
      metadata: { resourceVersion: String(server.revision) },
    });
    expect(pods.body.items[0].kind).toBeUndefined();
    expect(pods.body.items[0].metadata.name).toBe('p1');
    const pools = await get('/apis/margay.io/v1/ippools');
    expect(pools.body.kind).toBe('IPPoolList');
    expect(pools.body.items[0]).toMatchObject({ apiVersion: 'margay.io/v1', kind: 'IPPool' });
  });

  it('streams one JSON event per line, chunked, replaying history after the given resourceVersion', async () => {
    const from = server.revision;
    server.apply(pod('before'));
    const w = await watch(`/api/v1/namespaces/default/pods?watch=1&resourceVersion=${from}`);
    expect(w.status).toBe(200);
    expect(w.headers.get('content-type')).toBe('application/json');
    expect(w.headers.get('transfer-encoding')).toBe('chunked');
    server.apply(pod('after'));
    server.apply(pod('after', { v: '2' }));
    server.remove('Pod', 'default', 'before');
    server.apply(pod('elsewhere', {}, 'kube-system')); // another namespace: not on this watch
    await waitUntil(() => w.lines.length === 4, 'four event lines');
    const events = w.lines.map((l) => JSON.parse(l));
    expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual([
      'ADDED before',
      'ADDED after',
      'MODIFIED after',
      'DELETED before',
    ]);
    for (const e of events) expect(Object.keys(e)).toEqual(['type', 'object']);
    expect(events[1].object).toMatchObject({ apiVersion: 'v1', kind: 'Pod' });
    // A deleted object carries the deletion's resourceVersion, which is the newest one.
    expect(Number(events[3].object.metadata.resourceVersion)).toBe(server.revision - 1);
  });

  it('answers a resume from a compacted resourceVersion with one 410 Expired ERROR event, then ends', async () => {
    const old = server.revision;
    server.apply(pod('p'));
    server.compactHistory();
    const w = await watch(`/api/v1/pods?watch=true&resourceVersion=${old}`);
    expect(w.status).toBe(200);
    await waitUntil(() => w.isEnded, 'the stream to end');
    expect(w.lines).toEqual([
      JSON.stringify({
        type: 'ERROR',
        object: {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: `too old resource version: ${old} (${server.revision})`,
          reason: 'Expired',
          code: 410,
        },
      }),
    ]);
    // The current resourceVersion is still good.
    const ok = await watch(`/api/v1/pods?watch=true&resourceVersion=${server.revision}`);
    server.apply(pod('q'));
    await waitUntil(() => ok.lines.length === 1, 'an event after the compaction');
    expect(JSON.parse(ok.lines[0] as string).type).toBe('ADDED');
  });

  it('evicts the oldest events past the history limit', async () => {
    const small = new FakeKubeApiServer({ historyLimit: 2, namespaces: [] });
    await small.start();
    try {
      const first = small.revision;
      for (const n of ['a', 'b', 'c'])
        small.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: n } });
      const expiredWatch = await openWatch(`${small.url}/api/v1/namespaces?watch=1&resourceVersion=${first}`);
      watches.push(expiredWatch);
      await waitUntil(() => expiredWatch.isEnded, 'the expired stream to end');
      expect(JSON.parse(expiredWatch.lines[0] as string).object.code).toBe(410);
      const inWindow = await openWatch(`${small.url}/api/v1/namespaces?watch=1&resourceVersion=${first + 1}`);
      watches.push(inWindow);
      await waitUntil(() => inWindow.lines.length === 2, 'the two retained events');
      expect(inWindow.lines.map((l) => JSON.parse(l).object.metadata.name)).toEqual(['b', 'c']);
    } finally {
      await small.stop();
    }
  });

  it('sends initial ADDED events without a resourceVersion, and an initial-events-end bookmark on request', async () => {
    server.apply(pod('p1'));
    const legacy = await watch('/api/v1/pods?watch=1');
    await waitUntil(() => legacy.lines.length === 1, 'the initial event');
    expect(JSON.parse(legacy.lines[0] as string)).toMatchObject({
      type: 'ADDED',
      object: { metadata: { name: 'p1' } },
    });

    const streaming = await watch(
      '/api/v1/pods?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan',
    );
    await waitUntil(() => streaming.lines.length === 2, 'the initial event and the bookmark');
    expect(JSON.parse(streaming.lines[1] as string)).toEqual({
      type: 'BOOKMARK',
      object: {
        kind: 'Pod',
        apiVersion: 'v1',
        metadata: {
          resourceVersion: String(server.revision),
          annotations: { 'k8s.io/initial-events-end': 'true' },
        },
      },
    });
  });

  it('turns selector transitions into ADDED/DELETED for a filtered watch', async () => {
    server.apply(pod('p', { app: 'db' }));
    const w = await watch(`/api/v1/pods?watch=1&labelSelector=app%3Dweb&resourceVersion=${server.revision}`);
    server.apply(pod('p', { app: 'web' }));
    server.apply(pod('p', { app: 'web', x: 'y' }));
    server.apply(pod('p', { app: 'db' }));
    const leftAt = server.revision;
    server.remove('Pod', 'default', 'p'); // no longer matches: not sent
    await waitUntil(() => w.lines.length === 3, 'three events');
    const events = w.lines.map((l) => JSON.parse(l));
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    // The DELETED carries the last matching content with the resourceVersion of the update that left.
    expect(events[2].object.metadata.labels).toEqual({ app: 'web', x: 'y' });
    expect(events[2].object.metadata.resourceVersion).toBe(String(leftAt));
  });

  it('ends the stream after timeoutSeconds with a final bookmark', async () => {
    const w = await watch(
      `/api/v1/pods?watch=1&allowWatchBookmarks=true&timeoutSeconds=1&resourceVersion=${server.revision}`,
    );
    await waitUntil(() => w.isEnded, 'the timeout to end the stream', 3_000);
    expect(w.lines.map((l) => JSON.parse(l).type)).toEqual(['BOOKMARK']);
    expect(server.watchCount()).toBe(0);
  });

  it('pages with limit/continue at the first page revision, and 410s an expired continue token', async () => {
    for (const n of ['a', 'b', 'c', 'd', 'e']) server.apply(pod(n));
    const first = await get('/api/v1/namespaces/default/pods?limit=2');
    expect(first.body.items.map((i: KubeObject) => i.metadata.name)).toEqual(['a', 'b']);
    expect(first.body.metadata.remainingItemCount).toBe(3);
    const listRv = first.body.metadata.resourceVersion;
    server.remove('Pod', 'default', 'c'); // after the snapshot: page 2 still has c
    server.apply(pod('bb'));
    const second = await get(
      `/api/v1/namespaces/default/pods?limit=2&continue=${first.body.metadata.continue}`,
    );
    expect(second.body.items.map((i: KubeObject) => i.metadata.name)).toEqual(['c', 'd']);
    expect(second.body.metadata.resourceVersion).toBe(listRv);
    const third = await get(
      `/api/v1/namespaces/default/pods?limit=2&continue=${second.body.metadata.continue}`,
    );
    expect(third.body.items.map((i: KubeObject) => i.metadata.name)).toEqual(['e']);
    expect(third.body.metadata.continue).toBeUndefined();

    const again = await get('/api/v1/namespaces/default/pods?limit=1');
    server.compactHistory();
    const gone = await get(
      `/api/v1/namespaces/default/pods?limit=1&continue=${again.body.metadata.continue}`,
    );
    expect(gone.status).toBe(410);
    expect(gone.body).toMatchObject({ kind: 'Status', reason: 'Expired', code: 410 });
    expect(gone.body.message).toContain('The provided continue parameter is too old');
    const rest = await get(`/api/v1/namespaces/default/pods?continue=${gone.body.metadata.continue}`);
    expect(rest.body.items.map((i: KubeObject) => i.metadata.name)).toEqual(['b', 'bb', 'd', 'e']);
  });

  it('applies label selectors with =, ==, !=, in, notin, exists and !key', async () => {
    server.apply(pod('web', { app: 'web', tier: 'front' }));
    server.apply(pod('api', { app: 'api', tier: 'back' }));
    server.apply(pod('bare', {}));
    const cases: [string, string[]][] = [
      ['app=web', ['web']],
      ['app==api', ['api']],
      ['app!=web', ['api', 'bare']],
      ['app in (web,api)', ['api', 'web']],
      ['app notin (web)', ['api', 'bare']],
      ['tier', ['api', 'web']],
      ['!tier', ['bare']],
      ['app,tier=back', ['api']],
    ];
    for (const [selector, expected] of cases) {
      const res = await get(`/api/v1/pods?labelSelector=${encodeURIComponent(selector)}`);
      expect([selector, res.body.items.map((i: KubeObject) => i.metadata.name).sort()]).toEqual([
        selector,
        expected,
      ]);
    }
    const bad = await get(`/api/v1/pods?labelSelector=${encodeURIComponent('app in ()')}`);
    expect(bad.status).toBe(400);
    const field = await get('/api/v1/pods?fieldSelector=spec.bogus%3Dx');
    expect(field.status).toBe(400);
    expect(field.body.message).toBe('field label not supported: spec.bogus');
  });

  it('writes Status bodies for 401, 404, 405 and 415, and for an outage', async () => {
    const res = await fetch(`${server.url}/api/v1/pods`);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Unauthorized',
      reason: 'Unauthorized',
      code: 401,
    });
    const missing = await get('/api/v1/namespaces/default/pods/nope');
    expect(missing.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'pods "nope" not found',
      reason: 'NotFound',
      details: { name: 'nope', kind: 'pods' },
      code: 404,
    });
    expect((await get('/apis/nothing.io/v1/things')).status).toBe(404);
    expect((await get('/api/v1/pods', { method: 'POST', body: '{}' })).status).toBe(405);
    server.apply(pod('p'));
    const yamlPatch = await get('/api/v1/namespaces/default/pods/p', {
      method: 'PATCH',
      body: '{}',
      headers: { 'content-type': 'application/apply-patch+yaml' },
    });
    expect(yamlPatch.body).toMatchObject({ code: 415, reason: 'UnsupportedMediaType' });
    const failedTest = await get('/api/v1/namespaces/default/pods/p', {
      method: 'PATCH',
      body: JSON.stringify([{ op: 'test', path: '/metadata/name', value: 'q' }]),
      headers: { 'content-type': 'application/json-patch+json' },
    });
    expect(failedTest.body).toMatchObject({ code: 422, reason: 'Invalid' });

    await server.setUnavailable(true);
    const down = await get('/api/v1/pods');
    expect(down.status).toBe(503);
    expect(down.body.reason).toBe('ServiceUnavailable');
    await server.setUnavailable('refuse');
    await expect(fetch(`${server.url}/api/v1/pods`, { headers: AUTH })).rejects.toThrow();
    await server.setUnavailable(false);
    expect((await get('/api/v1/pods')).status).toBe(200);
  });

  it('rejects a create into a missing namespace and honours dryRun and delete preconditions', async () => {
    const post = (ns: string, body: unknown, query = '') =>
      get(`/api/v1/namespaces/${ns}/pods${query}`, {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      });
    const noNs = await post('ghost', pod('p', {}, 'ghost'));
    expect(noNs.body).toMatchObject({ code: 404, message: 'namespaces "ghost" not found' });
    const mismatch = await post('default', pod('p', {}, 'kube-system'));
    expect(mismatch.status).toBe(400);
    const before = server.revision;
    const dry = await post('default', pod('p'), '?dryRun=All');
    expect(dry.status).toBe(201);
    expect(server.revision).toBe(before);
    expect(server.get('Pod', 'default', 'p')).toBeUndefined();

    const created = server.apply(pod('p'));
    const wrongUid = await get('/api/v1/namespaces/default/pods/p', {
      method: 'DELETE',
      body: JSON.stringify({ preconditions: { uid: 'not-it' } }),
    });
    expect(wrongUid.body).toMatchObject({ code: 409, reason: 'Conflict' });
    const ok = await get('/api/v1/namespaces/default/pods/p', {
      method: 'DELETE',
      body: JSON.stringify({ preconditions: { uid: created.metadata.uid } }),
    });
    expect(ok.status).toBe(200);
  });

  it('deletes the objects of a deleted namespace, each with a DELETED event', async () => {
    server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
    server.apply(pod('p', {}, 'team'));
    server.apply({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'deny', namespace: 'team' },
      spec: {},
    });
    const w = await watch(
      `/apis/networking.k8s.io/v1/networkpolicies?watch=1&resourceVersion=${server.revision}`,
    );
    expect((await get('/api/v1/namespaces/team', { method: 'DELETE' })).status).toBe(200);
    expect(server.list('pods', 'team')).toEqual([]);
    await waitUntil(() => w.lines.length === 1, 'the policy DELETED event');
    expect(JSON.parse(w.lines[0] as string)).toMatchObject({
      type: 'DELETED',
      object: { metadata: { name: 'deny' } },
    });
  });

  it('serves discovery for the core group, named groups and the version', async () => {
    expect((await get('/api')).body).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const core = await get('/api/v1');
    const pods = core.body.resources.find((r: { name: string }) => r.name === 'pods');
    expect(pods).toMatchObject({ kind: 'Pod', namespaced: true, singularName: 'pod' });
    expect(core.body.resources.map((r: { name: string }) => r.name)).toContain('nodes/status');
    const groups = await get('/apis');
    expect(groups.body.groups.map((g: { name: string }) => g.name).sort()).toEqual([
      'margay.io',
      'networking.k8s.io',
    ]);
    const margay = await get('/apis/margay.io/v1');
    expect(margay.body).toMatchObject({ kind: 'APIResourceList', groupVersion: 'margay.io/v1' });
    expect(margay.body.resources.map((r: { name: string }) => r.name).sort()).toEqual([
      'bgpconfigurations',
      'bgppeers',
      'ippools',
    ]);
    expect((await get('/version')).body.major).toBe('1');
  });

  it('logs requests and closes open watch streams on stop, leaving no listening socket', async () => {
    const w = await watch('/api/v1/pods?watch=1');
    expect(server.requests.at(-1)).toMatchObject({
      method: 'GET',
      path: '/api/v1/pods',
      isWatch: true,
      status: 200,
    });
    const servers = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
    const before = servers();
    await server.stop();
    await waitUntil(() => w.isEnded, 'the watch to end');
    expect(servers()).toBe(before - 1);
    await server.start(); // afterEach stops it again
  });
});
