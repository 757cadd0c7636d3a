// The Kubernetes datastore reads only the Secrets BGP passwords name, in the agent's namespace,
// against the fake API server with the chart's Role modelled: get/list/watch on `secrets` with
// resourceNames, which lets a LIST or WATCH through only with `fieldSelector=metadata.name=NAME`.
// Every secret request is checked for that shape; a Secret the Role does not name is a problem of
// that Secret, not an outage; a changed value, a new reference and a dropped one reach the snapshot.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { coreV1 } from '../../../../fakes/kube/resources.ts';
import { FakeKubeApiServer, type KubeObject } from '../../../../fakes/kube-apiserver.ts';
import { waitUntil } from '../../../fakes/wait.ts';
import { bgpConfiguration, node, type Recorded, recordedDatastore, summary } from './fixtures.ts';

const NS = 'margay-system';

const secret = (name: string, password: string, ns = NS): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: ns },
  type: 'Opaque',
  data: { password: Buffer.from(password).toString('base64') },
});

const peerWithPassword = (name: string, secretName: string, peerIP = '192.0.2.1'): KubeObject => ({
  apiVersion: 'margay.io/v1',
  kind: 'BGPPeer',
  metadata: { name },
  spec: { peerIP, asNumber: 65001, password: { secretKeyRef: { name: secretName, key: 'password' } } },
});

const meshPassword = (secretName: string): KubeObject => ({
  ...bgpConfiguration(64512),
  spec: {
    asNumber: 64512,
    nodeToNodeMeshEnabled: true,
    nodeMeshPassword: { secretKeyRef: { name: secretName, key: 'password' } },
  },
});

const role = (...resourceNames: string[]) => [
  { resource: 'secrets', namespace: NS, verbs: ['get', 'list', 'watch'], resourceNames },
];

let server: FakeKubeApiServer;
let rec: Recorded | undefined;

beforeEach(async () => {
  server = new FakeKubeApiServer({
    namespaces: ['default', NS],
    resources: [coreV1('secrets', 'Secret', {})],
    rbac: role('tor-md5', 'mesh-md5', 'tor-md5-b'),
  });
  await server.start();
});

afterEach(async () => {
  await rec?.ds.stop();
  rec = undefined;
  await server.stop();
});

async function started(objects: KubeObject[], secretNamespace: string | null = NS): Promise<Recorded> {
  for (const o of objects) server.apply(o);
  rec = recordedDatastore(server, secretNamespace !== null ? { secretNamespace } : {});
  await rec.ds.start();
  await waitUntil(() => rec?.ds.ready() === true, 'ready');
  return rec;
}

const secretRequests = () => server.requests.filter((r) => r.path.includes('/secrets'));
const secretKeys = (r: Recorded) => [...r.ds.snapshot().secrets.keys()].sort();

describe('Kubernetes datastore: password Secrets', () => {
  it('reads the named Secrets by name in its namespace, and no other', async () => {
    const r = await started([
      node('node-1', 1),
      meshPassword('mesh-md5'),
      peerWithPassword('tor-1', 'tor-md5'),
      secret('tor-md5', 'tor secret'),
      secret('mesh-md5', 'mesh secret'),
      secret('unrelated', 'never read'),
      secret('tor-md5', 'other namespace', 'default'),
    ]);
    // Ready means the named Secrets are in: the first snapshot already has them.
    expect([...r.ready[0]!.secrets.keys()].sort()).toEqual([`${NS}/mesh-md5`, `${NS}/tor-md5`]);
    expect(r.ds.secretNames()).toEqual(['mesh-md5', 'tor-md5']);
    await waitUntil(() => secretRequests().filter((q) => q.isWatch).length >= 2, 'two secret watches');
    for (const q of secretRequests()) {
      expect(q.path).toBe(`/api/v1/namespaces/${NS}/secrets`);
      expect(q.query.fieldSelector).toMatch(/^metadata\.name=(tor-md5|mesh-md5)$/);
      expect(q.status).not.toBe(403);
    }
    expect(r.ds.problems()).toEqual([]);
    expect(r.ds.health().connected).toBe(true);
  });

  it('follows a changed value, a new reference and a dropped one', async () => {
    const r = await started([
      node('node-1', 1),
      peerWithPassword('tor-1', 'tor-md5'),
      secret('tor-md5', 'one'),
      secret('tor-md5-b', 'bee'),
    ]);
    await waitUntil(() => secretRequests().some((q) => q.isWatch && q.status === 200), 'secret watch');
    let before = r.changed.length;
    server.apply(secret('tor-md5', 'two'));
    await waitUntil(() => r.changed.length > before, 'the changed Secret');
    expect(summary(r.changed.at(-1)!)).toEqual([`modified Secret ${NS}/tor-md5`]);
    const s = r.ds.snapshot().secrets.get(`${NS}/tor-md5`);
    expect(Buffer.from(s!.data.password!, 'base64').toString()).toBe('two');

    before = r.changed.length;
    server.apply(peerWithPassword('tor-1', 'tor-md5-b'));
    await waitUntil(() => secretKeys(r).includes(`${NS}/tor-md5-b`), 'the newly named Secret');
    await waitUntil(() => !secretKeys(r).includes(`${NS}/tor-md5`), 'the dropped Secret gone');
    const changes = r.changed.slice(before).flatMap(summary);
    expect(changes).toContain(`added Secret ${NS}/tor-md5-b`);
    expect(changes).toContain(`deleted Secret ${NS}/tor-md5`);
    expect(r.ds.secretNames()).toEqual(['tor-md5-b']);

    before = r.changed.length;
    server.remove('Secret', NS, 'tor-md5-b');
    await waitUntil(() => r.changed.length > before, 'the deleted Secret');
    expect(summary(r.changed.at(-1)!)).toEqual([`deleted Secret ${NS}/tor-md5-b`]);
  });

  it('reports a Secret the Role does not name, and reads it once granted', async () => {
    const r = await started([
      node('node-1', 1),
      peerWithPassword('tor-1', 'tor-md5'),
      peerWithPassword('tor-2', 'not-granted', '192.0.2.2'),
      secret('tor-md5', 'one'),
      secret('not-granted', 'two'),
    ]);
    expect(secretKeys(r)).toEqual([`${NS}/tor-md5`]);
    expect(r.ds.health().connected).toBe(true);
    expect(r.ds.problems().map((p) => p.problems)).toEqual([
      [
        `Secret ${NS}/not-granted: forbidden: the agent's Role does not grant reading it ` +
          "(name it in the chart's bgp.passwordSecrets)",
      ],
    ]);
    expect(secretRequests().some((q) => q.status === 403)).toBe(true);
    server.setRbac(role('tor-md5', 'not-granted'));
    await waitUntil(() => secretKeys(r).includes(`${NS}/not-granted`), 'the granted Secret', 10_000);
    expect(r.ds.problems()).toEqual([]);
  });

  it('reads no Secret without a secret namespace (margayctl)', async () => {
    const r = await started(
      [node('node-1', 1), peerWithPassword('tor-1', 'tor-md5'), secret('tor-md5', 'x')],
      null,
    );
    expect(secretKeys(r)).toEqual([]);
    expect(secretRequests()).toEqual([]);
  });

  it('is refused a namespace-wide list by the modelled Role', async () => {
    const res = await fetch(`${server.kubeconfig().server}/api/v1/namespaces/${NS}/secrets`, {
      headers: { authorization: `Bearer ${server.kubeconfig().token ?? ''}` },
    });
    expect(res.status).toBe(403);
    const named = await fetch(
      `${server.kubeconfig().server}/api/v1/namespaces/${NS}/secrets?fieldSelector=metadata.name%3Dtor-md5`,
      { headers: { authorization: `Bearer ${server.kubeconfig().token ?? ''}` } },
    );
    expect(named.status).toBe(200);
  });
});
