// Objects of every kind the Kubernetes datastore reads, as the API server stores them, and a harness
// that runs a KubernetesDatastore against the fake API server and records its events. Shared by the
// datastore tests and the file/Kubernetes parity test.
import type { KubernetesDatastoreOptions } from '../../../../../src/datastore/k8s/kubernetes-datastore.ts';
import { KubernetesDatastore } from '../../../../../src/datastore/k8s/kubernetes-datastore.ts';
import type { Datastore, DatastoreEvents, SnapshotChanged } from '../../../../../src/datastore/types.ts';
import type { MargayError } from '../../../../../src/errors.ts';
import type { Snapshot } from '../../../../../src/model/snapshot.ts';
import type { FakeKubeApiServer, KubeObject } from '../../../../fakes/kube-apiserver.ts';

export const node = (name: string, n: number, labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
  spec: { podCIDR: `10.244.${n}.0/24`, podCIDRs: [`10.244.${n}.0/24`] },
  status: {
    addresses: [
      { type: 'InternalIP', address: `192.0.2.${10 + n}` },
      { type: 'Hostname', address: name },
    ],
  },
});

export const pod = (
  name: string,
  nodeName: string,
  ip: string,
  labels: Record<string, string> = {},
  namespace = 'default',
): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, labels },
  spec: {
    nodeName,
    containers: [{ name: 'web', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }],
  },
  status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
});

export const namespace = (name: string, labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels },
  status: { phase: 'Active' },
});

export const networkPolicy = (name: string, app: string, ns = 'default'): KubeObject => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace: ns },
  spec: {
    podSelector: { matchLabels: { app } },
    policyTypes: ['Ingress'],
    ingress: [
      {
        from: [{ podSelector: { matchLabels: { role: 'client' } } }],
        ports: [{ protocol: 'TCP', port: 'http' }],
      },
    ],
  },
});

export const bgpConfiguration = (asNumber: number): KubeObject => ({
  apiVersion: 'margay.io/v1',
  kind: 'BGPConfiguration',
  metadata: { name: 'default' },
  spec: { asNumber, nodeToNodeMeshEnabled: true },
});

export const bgpPeer = (name: string, asNumber: number, peerIP = '192.0.2.1'): KubeObject => ({
  apiVersion: 'margay.io/v1',
  kind: 'BGPPeer',
  metadata: { name },
  spec: { peerIP, asNumber },
});

export const ipPool = (name: string, cidr: string, vxlanMode = 'Never'): KubeObject => ({
  apiVersion: 'margay.io/v1',
  kind: 'IPPool',
  metadata: { name },
  spec: { cidr, vxlanMode },
});

/** One object of each of the seven kinds (namespace `prod` besides the fake's default ones). */
export function clusterObjects(): KubeObject[] {
  return [
    node('node-1', 1, { rack: 'r1' }),
    node('node-2', 2, { rack: 'r2' }),
    namespace('prod', { team: 'a' }),
    pod('web-0', 'node-1', '10.244.1.5', { app: 'web' }, 'prod'),
    pod('client-0', 'node-2', '10.244.2.7', { role: 'client' }),
    networkPolicy('allow-clients', 'web', 'prod'),
    bgpConfiguration(64513),
    bgpPeer('tor-1', 65001),
    ipPool('default-pool', '10.244.0.0/16'),
  ];
}

export interface Recorded {
  readonly ds: KubernetesDatastore;
  readonly ready: Snapshot[];
  readonly changed: SnapshotChanged[];
  readonly errors: MargayError[];
}

/** Fast timers for tests: debounce 100 ms, backoff from 20 ms, missing CRDs retried every 50 ms. */
export const FAST: KubernetesDatastoreOptions = {
  debounceMs: 100,
  backoff: { initialMs: 20, maxMs: 200 },
  crdRetryMs: 50,
};

export function recordedDatastore(
  server: FakeKubeApiServer,
  options: KubernetesDatastoreOptions = {},
): Recorded {
  const ds = new KubernetesDatastore({ kubeConfig: server.kubeconfig(), ...FAST, ...options });
  const rec: Recorded = { ds, ready: [], changed: [], errors: [] };
  ds.on('ready', (s) => rec.ready.push(s));
  ds.on('changed', (e) => rec.changed.push(e));
  ds.on('error', (e) => rec.errors.push(e));
  return rec;
}

/** The next event of a kind, with a deadline. */
export function nextEvent<E extends keyof DatastoreEvents>(
  ds: Datastore,
  event: E,
  timeoutMs = 5_000,
): Promise<Parameters<DatastoreEvents[E]>[0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ds.off(event, listener);
      reject(new Error(`no '${event}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = ((payload: Parameters<DatastoreEvents[E]>[0]) => {
      clearTimeout(timer);
      ds.off(event, listener);
      resolve(payload);
    }) as DatastoreEvents[E];
    ds.on(event, listener);
  });
}

/** "added Pod prod/web-0" for compact assertions. */
export const summary = (e: SnapshotChanged): string[] => e.changes.map((c) => `${c.type} ${c.kind} ${c.key}`);
