// The fake API server driven by the real, unmodified @kubernetes/client-node: typed API round trips,
// informers (list+watch, selectors, relist after 410), bookmarks, custom objects, conflicts, auth and
// outages — over plain HTTP and over TLS with the fake's self-signed certificate.
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  type Informer,
  KubeConfig,
  ListWatch,
  makeInformer,
  type ObjectCache,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
  Watch,
} from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeKubeApiServer, type KubeObject } from '../../fakes/kube-apiserver.ts';
import { waitUntil } from './wait.ts';

function pod(
  name: string,
  labels: Record<string, string>,
  nodeName?: string,
  namespace = 'default',
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels },
    spec: { containers: [{ name: 'c', image: 'busybox' }], ...(nodeName ? { nodeName } : {}) },
  };
}

async function apiError(promise: Promise<unknown>): Promise<{ code: number; body: Record<string, unknown> }> {
  try {
    await promise;
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    const body = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
    return { code: err.code, body: body as Record<string, unknown> };
  }
  throw new Error('expected the request to fail');
}

type Recorded = { verb: 'add' | 'update' | 'delete'; name: string; rv: string };

/** Starts an informer that records every callback and restarts itself after an error (the daemon's pattern). */
function recordingInformer(informer: Informer<V1Pod> & ObjectCache<V1Pod>): {
  events: Recorded[];
  errors: unknown[];
  stop: () => Promise<void>;
} {
  const events: Recorded[] = [];
  const errors: unknown[] = [];
  let isStopped = false;
  let retry: NodeJS.Timeout | undefined;
  const record = (verb: Recorded['verb']) => (obj: V1Pod) =>
    events.push({ verb, name: obj.metadata?.name ?? '', rv: obj.metadata?.resourceVersion ?? '' });
  informer.on('add', record('add'));
  informer.on('update', record('update'));
  informer.on('delete', record('delete'));
  informer.on('error', (err: unknown) => {
    errors.push(err);
    if (isStopped) return;
    retry = setTimeout(() => void informer.start(), 25);
  });
  return {
    events,
    errors,
    stop: async () => {
      isStopped = true;
      clearTimeout(retry);
      await informer.stop();
    },
  };
}

/** A client-node KubeConfig from the fake's kubeconfig YAML. */
function clientNodeConfig(yaml: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(yaml);
  return kc;
}

function names(objs: readonly { metadata?: { name?: string } }[]): string[] {
  return objs.map((o) => o.metadata?.name ?? '').sort();
}

describe.each([
  { transport: 'http', tls: false },
  { transport: 'https', tls: true },
])('fake kube-apiserver with client-node over $transport', ({ tls }) => {
  let server: FakeKubeApiServer;
  let kc: KubeConfig;
  let core: CoreV1Api;

  beforeEach(async () => {
    server = new FakeKubeApiServer({ tls, token: 's3cret' });
    await server.start();
    kc = clientNodeConfig(server.kubeconfigYaml());
    core = kc.makeApiClient(CoreV1Api);
  });

  afterEach(async () => {
    await server.stop();
  });

  it('lists, creates, reads, patches and deletes pods', async () => {
    const namespaces = await core.listNamespace();
    expect(names(namespaces.items)).toEqual(['default', 'kube-system']);
    expect(namespaces.metadata?.resourceVersion).toBe(String(server.revision));

    const created = await core.createNamespacedPod({
      namespace: 'default',
      body: pod('web-1', { app: 'web' }) as V1Pod,
    });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.resourceVersion).toBe(String(server.revision));
    expect(created.metadata?.generation).toBe(1);
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect(created.status?.phase).toBe('Pending');

    const read = await core.readNamespacedPod({ namespace: 'default', name: 'web-1' });
    expect(read.metadata?.uid).toBe(created.metadata?.uid);

    // client-node's default patch content type is JSON patch.
    const patched = await core.patchNamespacedPod({
      namespace: 'default',
      name: 'web-1',
      body: [{ op: 'add', path: '/metadata/labels/tier', value: 'front' }],
    });
    expect(patched.metadata?.labels).toEqual({ app: 'web', tier: 'front' });
    expect(Number(patched.metadata?.resourceVersion)).toBeGreaterThan(
      Number(created.metadata?.resourceVersion),
    );
    expect(patched.metadata?.generation).toBe(1); // metadata only

    const merged = await core.patchNamespacedPod(
      { namespace: 'default', name: 'web-1', body: { metadata: { labels: { tier: null } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(merged.metadata?.labels).toEqual({ app: 'web' });

    const list = await core.listNamespacedPod({ namespace: 'default' });
    expect(names(list.items)).toEqual(['web-1']);

    const deleted = await core.deleteNamespacedPod({ namespace: 'default', name: 'web-1' });
    expect(deleted.metadata?.name).toBe('web-1');
    expect(server.get('Pod', 'default', 'web-1')).toBeUndefined();
  });

  it('answers Status errors: 404, 409 AlreadyExists, 422 Invalid, 409 Conflict on a stale update', async () => {
    const missing = await apiError(core.readNamespacedPod({ namespace: 'default', name: 'nope' }));
    expect(missing.code).toBe(404);
    expect(missing.body).toMatchObject({
      kind: 'Status',
      reason: 'NotFound',
      message: 'pods "nope" not found',
    });

    await core.createNamespacedPod({ namespace: 'default', body: pod('p', {}) as V1Pod });
    const dup = await apiError(
      core.createNamespacedPod({ namespace: 'default', body: pod('p', {}) as V1Pod }),
    );
    expect(dup.code).toBe(409);
    expect(dup.body.reason).toBe('AlreadyExists');

    const nameless = await apiError(
      core.createNamespacedPod({ namespace: 'default', body: { metadata: {}, spec: { containers: [] } } }),
    );
    expect(nameless.code).toBe(422);
    expect(nameless.body).toMatchObject({
      reason: 'Invalid',
      details: { causes: [{ field: 'metadata.name' }] },
    });

    server.apply({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'node-a' },
      spec: { podCIDR: '10.244.1.0/24' },
    });
    const node = await core.readNode({ name: 'node-a' });
    await core.replaceNode({
      name: 'node-a',
      body: { ...node, metadata: { ...node.metadata, labels: { x: '1' } } },
    });
    const stale = await apiError(core.replaceNode({ name: 'node-a', body: node }));
    expect(stale.code).toBe(409);
    expect(stale.body).toMatchObject({ reason: 'Conflict', details: { name: 'node-a', kind: 'nodes' } });
    expect(String(stale.body.message)).toContain('the object has been modified');
  });

  it('writes node status only through the status subresource, merging conditions by type', async () => {
    server.apply({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'node-a' },
      spec: { podCIDR: '10.244.1.0/24' },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    });
    const node = await core.readNode({ name: 'node-a' });
    // A status change through the main resource is ignored …
    const main = await core.replaceNode({
      name: 'node-a',
      body: { ...node, status: { conditions: [{ type: 'Ready', status: 'False' }] } },
    });
    expect(main.status?.conditions?.[0]?.status).toBe('True');
    // … and a spec change through /status is ignored.
    const status = await core.patchNodeStatus(
      {
        name: 'node-a',
        body: {
          spec: { podCIDR: '10.9.9.0/24' },
          status: { conditions: [{ type: 'NetworkUnavailable', status: 'False', reason: 'MargayIsUp' }] },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    expect(status.spec?.podCIDR).toBe('10.244.1.0/24');
    expect(status.status?.conditions?.map((c) => `${c.type}=${c.status}`)).toEqual([
      'Ready=True',
      'NetworkUnavailable=False',
    ]);
    expect(status.metadata?.generation).toBe(node.metadata?.generation);
  });

  it('serves margay.io custom objects through CustomObjectsApi', async () => {
    const custom = kc.makeApiClient(CustomObjectsApi);
    const ref = { group: 'margay.io', version: 'v1', plural: 'ippools' };
    const created = (await custom.createClusterCustomObject({
      ...ref,
      body: {
        apiVersion: 'margay.io/v1',
        kind: 'IPPool',
        metadata: { name: 'pool-a' },
        spec: { cidr: '10.244.0.0/16' },
      },
    })) as KubeObject;
    expect(created.metadata.generation).toBe(1);

    const list = (await custom.listClusterCustomObject(ref)) as { kind: string; items: KubeObject[] };
    expect(list.kind).toBe('IPPoolList');
    expect(list.items.map((i) => [i.kind, i.metadata.name])).toEqual([['IPPool', 'pool-a']]);

    const patched = (await custom.patchClusterCustomObject(
      { ...ref, name: 'pool-a', body: { spec: { natOutgoing: true } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as KubeObject;
    expect(patched.spec).toEqual({ cidr: '10.244.0.0/16', natOutgoing: true });
    expect(patched.metadata.generation).toBe(2);

    const stale = await apiError(
      custom.replaceClusterCustomObject({ ...ref, name: 'pool-a', body: created }),
    );
    expect(stale.code).toBe(409);
    expect(stale.body).toMatchObject({
      reason: 'Conflict',
      details: { group: 'margay.io', kind: 'ippools' },
    });

    const smp = await apiError(
      custom.patchClusterCustomObject(
        { ...ref, name: 'pool-a', body: { spec: {} } },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      ),
    );
    expect(smp.code).toBe(415);

    await custom.deleteClusterCustomObject({ ...ref, name: 'pool-a' });
    expect(server.list('ippools')).toEqual([]);
  });

  it('feeds an informer with a label selector: ADDED, MODIFIED, DELETED, and selector transitions', async () => {
    server.apply(pod('web-1', { app: 'web' }));
    server.apply(pod('db-1', { app: 'db' }));
    const informer = makeInformer(
      kc,
      '/api/v1/namespaces/default/pods',
      () => core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=web' }),
      'app=web',
    );
    const rec = recordingInformer(informer);
    try {
      await informer.start();
      expect(names(informer.list())).toEqual(['web-1']);
      await waitUntil(() => server.watchCount('pods') === 1, 'the informer to watch');

      await core.createNamespacedPod({ namespace: 'default', body: pod('web-2', { app: 'web' }) as V1Pod });
      await core.patchNamespacedPod(
        { namespace: 'default', name: 'web-1', body: { spec: { activeDeadlineSeconds: 30 } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      // db-1 starts matching → ADDED; web-2 stops matching → DELETED.
      await core.patchNamespacedPod(
        { namespace: 'default', name: 'db-1', body: { metadata: { labels: { app: 'web' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await core.patchNamespacedPod(
        { namespace: 'default', name: 'web-2', body: { metadata: { labels: { app: 'other' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await core.deleteNamespacedPod({ namespace: 'default', name: 'web-1' });

      const expected = ['add web-1', 'add web-2', 'update web-1', 'add db-1', 'delete web-2', 'delete web-1'];
      await waitUntil(() => rec.events.length >= expected.length, 'six informer events');
      expect(rec.events.map((e) => `${e.verb} ${e.name}`)).toEqual(expected);
      expect(names(informer.list())).toEqual(['db-1']);
      expect(rec.errors).toEqual([]);
    } finally {
      await rec.stop();
    }
  });

  it('relists after a dropped watch resumes into a compacted history (410), deleting exactly once', async () => {
    for (const n of ['a', 'b', 'c']) server.apply(pod(n, { app: 'web' }));
    const informer = makeInformer(kc, '/api/v1/pods', () => core.listPodForAllNamespaces());
    const rec = recordingInformer(informer);
    try {
      await informer.start();
      await waitUntil(() => server.watchCount('pods') === 1, 'the informer to watch');
      const seenRv = server.requests.find((r) => r.isWatch)?.query.resourceVersion;
      expect(seenRv).toBe(String(server.revision));

      // While the informer is disconnected: a delete, an update, a create; then the window is gone.
      expect(server.dropWatches()).toBe(1);
      server.remove('Pod', 'default', 'a');
      server.apply(pod('c', { app: 'web', v: '2' }));
      server.apply(pod('d', { app: 'web' }));
      server.compactHistory();

      await waitUntil(() => {
        const cached = informer.list().map((p) => `${p.metadata?.name}@${p.metadata?.resourceVersion}`);
        const stored = server.list('pods').map((p) => `${p.metadata.name}@${p.metadata.resourceVersion}`);
        return JSON.stringify(cached.sort()) === JSON.stringify(stored.sort());
      }, 'the informer to converge on the store');
      await waitUntil(() => server.watchCount('pods') === 1, 'the informer to watch again');

      const lists = server.requests.filter((r) => r.path === '/api/v1/pods' && !r.isWatch);
      expect(lists).toHaveLength(2);
      const resumed = server.requests.filter((r) => r.isWatch && r.query.resourceVersion === seenRv);
      expect(resumed.length).toBeGreaterThanOrEqual(2); // the first watch, and the resume answered 410

      // A delete after the relist is seen once too.
      await core.deleteNamespacedPod({ namespace: 'default', name: 'b' });
      await waitUntil(() => rec.events.some((e) => e.verb === 'delete' && e.name === 'b'), 'the delete of b');
      const deletes = rec.events.filter((e) => e.verb === 'delete').map((e) => e.name);
      expect(deletes).toEqual(['a', 'b']);
      expect(rec.events.filter((e) => e.verb === 'add').map((e) => e.name)).toEqual(['a', 'b', 'c', 'd']);
      expect(rec.events.filter((e) => e.verb === 'update').map((e) => e.name)).toEqual(['c']);
    } finally {
      await rec.stop();
    }
  });

  it('filters lists and watches by field selector (spec.nodeName)', async () => {
    server.apply(pod('on-a', {}, 'node-a'));
    server.apply(pod('on-b', {}, 'node-b'));
    const onA = await core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=node-a' });
    expect(names(onA.items)).toEqual(['on-a']);
    const notA = await core.listPodForAllNamespaces({
      fieldSelector: 'spec.nodeName!=node-a,status.phase=Pending',
    });
    expect(names(notA.items)).toEqual(['on-b']);

    const selector = 'spec.nodeName=node-a';
    const informer = new ListWatch<V1Pod>(
      '/api/v1/pods',
      new Watch(kc),
      () => core.listPodForAllNamespaces({ fieldSelector: selector }),
      false,
      undefined,
      selector,
    );
    const rec = recordingInformer(informer);
    try {
      await informer.start();
      await waitUntil(() => server.watchCount('pods') === 1, 'the informer to watch');
      server.apply(pod('late-b', {}, 'node-b'));
      server.apply(pod('late-a', {}, 'node-a'));
      await waitUntil(() => rec.events.length >= 2, 'two events');
      expect(rec.events.map((e) => `${e.verb} ${e.name}`)).toEqual(['add on-a', 'add late-a']);
      const watched = server.requests.find((r) => r.isWatch);
      expect(watched?.query.fieldSelector).toBe(selector);
    } finally {
      await rec.stop();
    }
  });

  it('sends BOOKMARK events with only the resourceVersion', async () => {
    const events: { type: string; obj: KubeObject }[] = [];
    const watch = new Watch(kc);
    const controller = await watch.watch(
      '/api/v1/pods',
      { allowWatchBookmarks: true, resourceVersion: String(server.revision) },
      (type: string, obj: KubeObject) => events.push({ type, obj }),
      () => {},
    );
    try {
      await waitUntil(() => server.watchCount('pods') === 1, 'the watch');
      server.apply(pod('p', {}));
      expect(server.sendBookmarks()).toBe(1);
      await waitUntil(() => events.length === 2, 'an event and a bookmark');
      expect(events[0]?.type).toBe('ADDED');
      expect(events[1]).toEqual({
        type: 'BOOKMARK',
        obj: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: String(server.revision) } },
      });
    } finally {
      controller.abort();
    }
  });

  it('refuses a wrong bearer token with 401', async () => {
    const other = clientNodeConfig(server.kubeconfigYaml().replace('s3cret', 'wrong'));
    const denied = await apiError(other.makeApiClient(CoreV1Api).listNamespace());
    expect(denied.code).toBe(401); // client-node does not decode 401 bodies; the wire test checks it
    expect(server.requests.at(-1)).toMatchObject({ path: '/api/v1/namespaces', status: 401 });
  });
});

describe('fake kube-apiserver outages and injected failures', () => {
  let server: FakeKubeApiServer;
  let core: CoreV1Api;
  let kc: KubeConfig;

  beforeEach(async () => {
    server = new FakeKubeApiServer({ bookmarkIntervalMs: 40 });
    await server.start();
    kc = clientNodeConfig(server.kubeconfigYaml());
    core = kc.makeApiClient(CoreV1Api);
  });

  afterEach(async () => {
    await server.stop();
  });

  it('fails the next matching request with the injected status, then recovers', async () => {
    server.failNext(/^\/api\/v1\/namespaces$/, 500, { method: 'GET' });
    const failed = await apiError(core.listNamespace());
    expect(failed.code).toBe(500);
    expect(failed.body).toMatchObject({ kind: 'Status', reason: 'InternalError', code: 500 });
    expect((await core.listNamespace()).items.length).toBe(2);
  });

  it('answers 503 during an outage and refuses connections in "refuse" mode; an informer converges after', async () => {
    server.apply(pod('a', {}));
    const informer = makeInformer(kc, '/api/v1/pods', () => core.listPodForAllNamespaces());
    const rec = recordingInformer(informer);
    try {
      await informer.start();
      await waitUntil(() => server.watchCount() === 1, 'the informer to watch');

      await server.setUnavailable(true);
      const unavailable = await apiError(core.listNamespace());
      expect(unavailable.code).toBe(503);
      expect(unavailable.body.reason).toBe('ServiceUnavailable');

      await server.setUnavailable('refuse');
      await expect(core.listNamespace()).rejects.toThrow(/ECONNREFUSED/);
      server.remove('Pod', 'default', 'a');
      server.apply(pod('b', {}));

      await server.setUnavailable(false);
      await waitUntil(() => names(informer.list()).join() === 'b', 'the informer to see b only', 10_000);
      expect(rec.errors.length).toBeGreaterThan(0);
      expect(rec.events.filter((e) => e.verb === 'delete').map((e) => e.name)).toEqual(['a']);
    } finally {
      await rec.stop();
    }
  });

  it('sends periodic bookmarks at the configured interval', async () => {
    const types: string[] = [];
    const controller = await new Watch(kc).watch(
      '/api/v1/namespaces',
      { allowWatchBookmarks: true, resourceVersion: String(server.revision) },
      (type: string) => types.push(type),
      () => {},
    );
    try {
      await waitUntil(() => types.filter((t) => t === 'BOOKMARK').length >= 2, 'two periodic bookmarks');
    } finally {
      controller.abort();
    }
  });
});
