// The Kubernetes datastore's parts: backoff delays, a whole sync over TLS with a bearer token (from
// a KubeConfig object, a kubeconfig file and the in-cluster configuration), and a paged LIST that
// starts over when its continue token expires. The configuration loader and the
// client have their own tests (kubeconfig.test.ts, client.test.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type KindSource, kindSources } from '../../../../../src/datastore/k8s/kinds.ts';
import { loadKubeConfig } from '../../../../../src/datastore/k8s/kubeconfig.ts';
import { Backoff } from '../../../../../src/datastore/k8s/reflector.ts';
import { FakeKubeApiServer } from '../../../../fakes/kube-apiserver.ts';
import { waitUntil } from '../../../fakes/wait.ts';
import { clusterObjects, pod, type Recorded, recordedDatastore } from './fixtures.ts';

describe('Backoff', () => {
  it('doubles up to the ceiling with equal jitter, and starts over after reset()', () => {
    const low = new Backoff({ initialMs: 100, maxMs: 1_000 }, () => 0);
    expect(Array.from({ length: 7 }, () => low.next())).toEqual([50, 100, 200, 400, 500, 500, 500]);
    const high = new Backoff({ initialMs: 100, maxMs: 1_000 }, () => 0.999_999);
    expect(Array.from({ length: 6 }, () => high.next())).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    high.reset();
    expect(high.next()).toBe(100);
  });

  it('defaults to 250 ms doubling to 30 s', () => {
    const b = new Backoff({}, () => 0.999_999);
    const delays = Array.from({ length: 12 }, () => b.next());
    expect(delays[0]).toBe(250);
    expect(Math.max(...delays)).toBe(30_000);
  });
});

describe('KubernetesDatastore over TLS with a bearer token', () => {
  let server: FakeKubeApiServer | undefined;
  let rec: Recorded | undefined;
  afterEach(async () => {
    await rec?.ds.stop();
    await server?.stop();
    rec = undefined;
    server = undefined;
  });

  it('syncs every kind', async () => {
    server = new FakeKubeApiServer({ tls: true, token: 'margay-test-token' });
    await server.start();
    for (const o of clusterObjects()) server.apply(o);
    rec = recordedDatastore(server);
    await rec.ds.start();
    await waitUntil(() => rec?.ds.ready() === true, 'ready');
    expect(rec.ds.snapshot().pods.size).toBe(2);
    expect(rec.ds.snapshot().ipPools.size).toBe(1);
    expect(rec.errors).toEqual([]);
    expect(server.requests.every((q) => q.status !== 401)).toBe(true);
  });

  it('syncs through a kubeconfig file (the path the agent and margayctl are given)', async () => {
    server = new FakeKubeApiServer({ tls: true, token: 'file-token' });
    await server.start();
    for (const o of clusterObjects()) server.apply(o);
    const dir = mkdtempSync(join(tmpdir(), 'margay-kc-'));
    try {
      const path = join(dir, 'config');
      writeFileSync(path, server.kubeconfigYaml());
      rec = recordedDatastore(server, { kubeConfig: path });
      await rec.ds.start();
      await waitUntil(() => rec?.ds.ready() === true, 'ready');
      expect(rec.ds.snapshot().pods.size).toBe(2);
      expect(rec.errors).toEqual([]);
      expect(server.requests.every((q) => q.status !== 401)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('syncs through the in-cluster configuration (service account token and CA files)', async () => {
    server = new FakeKubeApiServer({ tls: true, token: 'sa-token' });
    await server.start();
    server.apply(clusterObjects()[0]!);
    const dir = mkdtempSync(join(tmpdir(), 'margay-sa-'));
    try {
      writeFileSync(join(dir, 'ca.crt'), server.kubeconfig().certificateAuthority as string);
      writeFileSync(join(dir, 'token'), 'sa-token');
      const url = new URL(server.url);
      const kc = loadKubeConfig(undefined, {
        env: { KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port },
        serviceAccountDir: dir,
      });
      rec = recordedDatastore(server, { kubeConfig: kc });
      await rec.ds.start();
      await waitUntil(() => rec?.ds.ready() === true, 'ready');
      expect([...rec.ds.snapshot().nodes.keys()]).toEqual(['node-1']);
      expect(rec.errors).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('KubernetesDatastore paging', () => {
  let server: FakeKubeApiServer | undefined;
  let rec: Recorded | undefined;
  afterEach(async () => {
    await rec?.ds.stop();
    await server?.stop();
    rec = undefined;
    server = undefined;
  });

  it('starts a LIST over when its continue token expires mid-way, reporting an invalid object once', async () => {
    server = new FakeKubeApiServer();
    await server.start();
    const fake = server;
    fake.apply(pod('broken', 'node-1', 'not-an-ip'));
    for (let i = 0; i < 5; i++) fake.apply(pod(`web-${i}`, 'node-1', `10.244.1.${10 + i}`));
    // The Pod source, but the history is compacted just before its second page is asked for, so
    // that page's continue token has expired (410) once.
    const sources = kindSources(fake.kubeconfig()).map((source): KindSource => {
      if (source.kind !== 'Pod') return source;
      let calls = 0;
      return {
        ...source,
        list: (request) => {
          calls++;
          if (calls === 2) {
            fake.apply(pod('web-late', 'node-1', '10.244.1.99'));
            fake.compactHistory();
          }
          return source.list(request);
        },
      };
    });
    rec = recordedDatastore(fake, { sources, pageSize: 2 });
    await rec.ds.start();
    await waitUntil(() => rec?.ds.ready() === true, 'ready');
    const podLists = fake.requests.filter((q) => q.path === '/api/v1/pods' && !q.isWatch);
    expect(podLists.map((q) => q.status)).toEqual([200, 410, 200, 200, 200, 200]);
    expect([...rec.ds.snapshot().pods.keys()].sort()).toEqual([
      'default/web-0',
      'default/web-1',
      'default/web-2',
      'default/web-3',
      'default/web-4',
      'default/web-late',
    ]);
    expect(rec.ds.problems().map((p) => p.key)).toEqual(['default/broken']);
    expect(rec.errors.map((e) => e.message.split(':')[0])).toEqual(['Pod default/broken']);
  });
});
