// The Kubernetes path of a BGP password, under the chart's own RBAC: the chart is rendered (real
// helm) with a ToR BGPPeer whose password is a secretKeyRef; its BGPConfiguration, BGPPeer and
// secrets Role go into the fake kube-apiserver (test/fakes/kube-apiserver-main.ts, which enforces
// the Role's resourceNames the way RBAC does) together with the Node and the Secret; the real
// `margay agent` runs with the chart's agent configuration (secretNamespace = release namespace),
// a kubeconfig for the fake, and the dataplane off. Both run in network namespace n; BIRD 2 in t
// requires the password.
// - the session reaches Established: the agent read the Secret by name under the Role (anything
//   else is refused with 403 and the peer would stay out);
// - the Secret is changed through the API (PUT) after BIRD switched keys: the session comes back.
// Only the namespaces this file creates are touched; the lab removes them and kills BIRD, the fake
// and the agent by PID in afterAll.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { requirePrograms } from '../support/programs.ts';
import { NAMESPACE, render } from '../unit/charts/helm.ts';
import { agentStatus, NODE_AS, rekeyTor, startTor, TOR_AS, torEstablished } from './bgp/tor-password.ts';
import { type BirdHandle, Lab, waitFor } from './lib/index.ts';

const isRoot = process.getuid?.() === 0;
const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
const FAKE_MAIN = new URL('../fakes/kube-apiserver-main.ts', import.meta.url).pathname;
const API_PORT = 19098;
/** The test's own writes go around the Role, as a cluster admin's would. */
const ADMIN_TOKEN = 'test-admin-token';

const secret = (password: string) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'tor-md5', namespace: NAMESPACE },
  type: 'Opaque',
  data: { password: Buffer.from(password).toString('base64') },
});

describe.skipIf(!isRoot)(
  'agent (Kubernetes datastore): BGP password from a Secret under the chart Role',
  () => {
    const lab = new Lab();
    let n = '';
    let bird: BirdHandle;
    let kubeconfig = '';

    const established = () => torEstablished(bird, 'tor1');

    beforeAll(async () => {
      requirePrograms('ip', 'bird', 'birdc', 'curl');
      ({ n, bird } = await startTor(lab, 'k8s-key-1'));
      await lab.exec(n, ['ip', 'link', 'set', 'lo', 'up']);

      const rendered = render({
        set: [
          'bgp.nodeToNodeMesh=false',
          `bgp.asNumber=${NODE_AS}`,
          'bgp.peers[0].name=tor',
          'bgp.peers[0].peerIP=192.0.2.1',
          `bgp.peers[0].asNumber=${TOR_AS}`,
          'bgp.peers[0].password.secretKeyRef.name=tor-md5',
          'bgp.peers[0].password.secretKeyRef.key=password',
        ],
      });
      const fromChart = rendered.filter((o) => ['BGPConfiguration', 'BGPPeer', 'Role'].includes(o.kind));
      expect(fromChart.map((o) => o.kind).sort()).toEqual(['BGPConfiguration', 'BGPPeer', 'Role']);
      const cm = rendered.find((o) => o.kind === 'ConfigMap' && 'agent.json' in ((o.data as object) ?? {}));
      const chartConfig = parseYaml((cm!.data as Record<string, string>)['agent.json']!) as Record<
        string,
        unknown
      >;
      expect(chartConfig.secretNamespace).toBe(NAMESPACE);

      const dir = lab.mkdir('k8s');
      const objects = join(dir, 'objects.yaml');
      writeFileSync(
        objects,
        [
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } },
          {
            apiVersion: 'v1',
            kind: 'Node',
            metadata: { name: 'node-1', annotations: { 'margay.io/ipv4-address': '192.0.2.11/24' } },
            spec: { podCIDRs: ['10.244.1.0/24'] },
          },
          secret('k8s-key-1'),
          ...fromChart,
        ]
          .map((o) => toYaml(o))
          .join('---\n'),
      );
      kubeconfig = join(dir, 'kubeconfig.yaml');
      const fake = lab.spawn(
        n,
        [
          process.execPath,
          FAKE_MAIN,
          '--objects',
          objects,
          '--kubeconfig',
          kubeconfig,
          '--admin-token',
          ADMIN_TOKEN,
        ],
        {
          name: 'fake-apiserver',
        },
      );
      await waitFor(
        () => existsSync(kubeconfig) && readFileSync(fake.logFile, 'utf8').includes('ready http'),
        {
          describe: 'the fake kube-apiserver',
          timeoutMs: 15_000,
        },
      );

      const config = join(dir, 'agent.json');
      writeFileSync(
        config,
        JSON.stringify({
          ...chartConfig,
          nodeName: 'node-1',
          datastore: { type: 'kubernetes', kubeconfig },
          api: { listen: `127.0.0.1:${API_PORT}` },
          dataplane: { enabled: false },
          ipv4Autodetection: 'interface=eth0',
        }),
      );
      lab.spawn(n, [process.execPath, MAIN, 'agent', '--config', config], { name: 'agent' });
    }, 60_000);

    afterAll(async () => {
      await lab.teardown();
    });

    it('peers with the password the Secret holds', async () => {
      await established();
      expect((await agentStatus(lab, n, API_PORT)).problems).toEqual([]);
    }, 60_000);

    it('re-keys when the Secret changes in the API', async () => {
      await rekeyTor(bird, 'k8s-key-2');
      const kc = readFileSync(kubeconfig, 'utf8');
      const server = /server: (\S+)/.exec(kc)?.[1];
      await lab.exec(n, [
        'curl',
        '-sf',
        '-X',
        'PUT',
        '-H',
        `Authorization: Bearer ${ADMIN_TOKEN}`,
        '-H',
        'Content-Type: application/json',
        '--data',
        JSON.stringify(secret('k8s-key-2')),
        `${server}/api/v1/namespaces/${NAMESPACE}/secrets/tor-md5`,
      ]);
      await established();
    }, 60_000);
  },
);
