// The Kubernetes datastore's parts: backoff delays, typed client-node objects back to wire JSON,
// where the client configuration comes from, and a whole sync over TLS with a bearer token.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { V1ObjectMeta, V1Pod, V1PodSpec, V1PodStatus } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { toWire } from '../../../../../src/datastore/k8s/kinds.ts';
import { loadKubeConfig } from '../../../../../src/datastore/k8s/kubeconfig.ts';
import { Backoff } from '../../../../../src/datastore/k8s/reflector.ts';
import { FakeKubeApiServer } from '../../../../fakes/kube-apiserver.ts';
import { waitUntil } from '../../../fakes/wait.ts';
import { clusterObjects, type Recorded, recordedDatastore } from './fixtures.ts';

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

describe('toWire', () => {
  it('turns typed client-node objects back into the JSON the server sent', () => {
    const p = new V1Pod();
    p.metadata = Object.assign(new V1ObjectMeta(), {
      name: 'web',
      namespace: 'prod',
      creationTimestamp: new Date('2025-01-01T00:00:00Z'),
    });
    p.spec = Object.assign(new V1PodSpec(), { containers: [], nodeName: 'node-1', hostNetwork: undefined });
    p.status = Object.assign(new V1PodStatus(), { podIP: '10.244.1.5' });
    expect(toWire(p)).toEqual({
      metadata: { name: 'web', namespace: 'prod', creationTimestamp: '2025-01-01T00:00:00Z' },
      spec: { containers: [], nodeName: 'node-1' },
      status: { podIP: '10.244.1.5' },
    });
    expect(toWire({ plain: { a: [1, undefined, 'x'] }, gone: undefined })).toEqual({
      plain: { a: [1, undefined, 'x'] },
    });
  });
});

describe('loadKubeConfig', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('names what is missing when there is no configuration at all', () => {
    expect(() => loadKubeConfig(undefined, { env: {} })).toThrow(
      expect.objectContaining({
        code: 'MARGAY_ERR_KUBECONFIG',
        message: expect.stringMatching(/KUBERNETES_SERVICE_HOST/),
      }),
    );
  });

  it('refuses in-cluster configuration without a service account token', () => {
    dir = mkdtempSync(join(tmpdir(), 'margay-sa-'));
    expect(() =>
      loadKubeConfig(undefined, {
        env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
        serviceAccountDir: dir,
      }),
    ).toThrow(/token does not exist/);
  });

  it('loads the service account in a pod', () => {
    dir = mkdtempSync(join(tmpdir(), 'margay-sa-'));
    writeFileSync(join(dir, 'token'), 'abc');
    const kc = loadKubeConfig(undefined, {
      env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
      serviceAccountDir: dir,
    });
    expect(kc.getCurrentCluster()?.server).toBe('https://10.96.0.1:443');
  });

  it('reads a kubeconfig file, from a path or $KUBECONFIG, and names a missing one', async () => {
    const server = new FakeKubeApiServer();
    await server.start();
    try {
      const kcDir = mkdtempSync(join(tmpdir(), 'margay-kc-'));
      dir = kcDir;
      const path = join(kcDir, 'config');
      writeFileSync(path, server.kubeconfigYaml());
      expect(loadKubeConfig(path).getCurrentCluster()?.server).toBe(server.url);
      expect(loadKubeConfig(undefined, { env: { KUBECONFIG: path } }).getCurrentCluster()?.server).toBe(
        server.url,
      );
      expect(() => loadKubeConfig(join(kcDir, 'nope'))).toThrow(
        expect.objectContaining({ code: 'MARGAY_ERR_KUBECONFIG', message: expect.stringContaining('nope') }),
      );
    } finally {
      await server.stop();
    }
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

  it('syncs through the in-cluster configuration (service account token and CA files)', async () => {
    server = new FakeKubeApiServer({ tls: true, token: 'sa-token' });
    await server.start();
    server.apply(clusterObjects()[0]!);
    const dir = mkdtempSync(join(tmpdir(), 'margay-sa-'));
    try {
      const caData = (parse(server.kubeconfigYaml()) as { clusters: { cluster: Record<string, string> }[] })
        .clusters[0]!.cluster['certificate-authority-data']!;
      writeFileSync(join(dir, 'ca.crt'), Buffer.from(caData, 'base64'));
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
