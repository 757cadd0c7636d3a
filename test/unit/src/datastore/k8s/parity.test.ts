// The same objects through either datastore give the same snapshot (and so the same calculated
// state; the snapshot equality is the datastore's part). The objects are applied to the fake API
// server and written, as `kubectl get -o yaml` would print them, into one multi-document YAML file;
// then both datastores are started and compared — also after the same edit is made in both places.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { FileDatastore } from '../../../../../src/datastore/file/file-datastore.ts';
import type { KubernetesDatastore } from '../../../../../src/datastore/k8s/kubernetes-datastore.ts';
import { diffSnapshots, snapshotResources } from '../../../../../src/model/snapshot.ts';
import { FakeKubeApiServer, type KubeObject } from '../../../../fakes/kube-apiserver.ts';
import { waitUntil } from '../../../fakes/wait.ts';
import { bgpPeer, clusterObjects, namespace, nextEvent, node, pod, recordedDatastore } from './fixtures.ts';

let server: FakeKubeApiServer;
let dir: string;
let k8s: KubernetesDatastore | undefined;
let file: FileDatastore | undefined;

beforeEach(async () => {
  // No namespaces besides the ones the test creates, so the file holds exactly what the server does.
  server = new FakeKubeApiServer({ namespaces: [] });
  await server.start();
  dir = mkdtempSync(join(tmpdir(), 'margay-k8s-parity-'));
});

afterEach(async () => {
  await k8s?.stop();
  await file?.stop();
  k8s = undefined;
  file = undefined;
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

const yamlOf = (objects: readonly KubeObject[]) => objects.map((o) => stringify(o)).join('---\n');

/** Every kind, several namespaces, annotations, dual-stack, a selector-heavy policy. */
function objects(): KubeObject[] {
  const annotated = node('node-3', 3, { rack: 'r2' });
  annotated.metadata.annotations = {
    'margay.io/as-number': '65003',
    'margay.io/ipv4-address': '198.51.100.3/24',
  };
  const dualStack = pod('db-0', 'node-3', '10.244.3.9', { app: 'db' }, 'prod');
  dualStack.status = {
    phase: 'Running',
    podIP: '10.244.3.9',
    podIPs: [{ ip: '10.244.3.9' }, { ip: 'fd00::9' }],
  };
  return [namespace('default'), namespace('kube-system'), ...clusterObjects(), annotated, dualStack];
}

describe('file and Kubernetes datastores', () => {
  it('give equal snapshots for the same objects, also after the same edits', async () => {
    const objs = objects();
    for (const o of objs) server.apply(o);
    const path = join(dir, 'cluster.yaml');
    writeFileSync(path, yamlOf(objs));

    const rec = recordedDatastore(server);
    k8s = rec.ds;
    file = new FileDatastore({ path, debounceMs: 20 });
    await Promise.all([k8s.start(), file.start()]);
    await waitUntil(() => k8s?.ready() === true && file?.ready() === true, 'both ready');
    expect([...snapshotResources(file.snapshot())]).toHaveLength(objs.length);
    expect(k8s.snapshot()).toStrictEqual(file.snapshot());
    expect(diffSnapshots(k8s.snapshot(), file.snapshot())).toEqual([]);

    // The same edits in both places: a label change, a new peer, a deleted pod.
    const edited = objs
      .filter((o) => !(o.kind === 'Pod' && o.metadata.name === 'client-0'))
      .map((o) =>
        o.kind === 'Node' && o.metadata.name === 'node-1' ? node('node-1', 1, { rack: 'r9' }) : o,
      );
    edited.push(bgpPeer('tor-2', 65002, '198.51.100.1'));
    const k8sChanged = nextEvent(k8s, 'changed');
    const fileChanged = nextEvent(file, 'changed');
    server.apply(node('node-1', 1, { rack: 'r9' }));
    server.remove('Pod', 'default', 'client-0');
    server.apply(bgpPeer('tor-2', 65002, '198.51.100.1'));
    writeFileSync(path, yamlOf(edited));
    const [a, b] = await Promise.all([k8sChanged, fileChanged]);
    expect(a.changes).toStrictEqual(b.changes);
    expect(k8s.snapshot()).toStrictEqual(file.snapshot());
    expect(rec.errors).toEqual([]);
  });
});
