// Every invalid object is isolated, for each of the seven kinds: the Kubernetes datastore (against
// the fake API server: no real one runs here) leaves an object that fails validation out and
// reports it as "Kind name: field: …", and the calculation leaves out an object that is valid on
// its own but not in its cluster, with a problem of the same form. Every other object of the same
// kind still reaches the calculated state, nothing throws, and the speaker accepts the peer set.
// (The file datastore refuses an invalid file as a whole, deliberately: a file is one write.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Speaker } from '../../../../bgp/speaker/speaker.ts';
import { calculate } from '../../../../src/calc/calculate.ts';
import type { CalculatedState } from '../../../../src/calc/types.ts';
import type { KubernetesDatastore } from '../../../../src/datastore/k8s/kubernetes-datastore.ts';
import type { MargayError } from '../../../../src/errors.ts';
import { DEFAULT_BGP_CONFIGURATION_SPEC } from '../../../../src/model/bgp.ts';
import type { JsonObject } from '../../../fakes/kube/resources.ts';
import { FakeKubeApiServer, type KubeObject } from '../../../fakes/kube-apiserver.ts';
import { waitUntil } from '../../fakes/wait.ts';
import { recordedDatastore } from '../datastore/k8s/fixtures.ts';
import { flatNodes, snap, withRaw } from './fixtures.ts';

const SELF = 'node-1';

const node = (
  name: string,
  o: { ip?: string; podCIDR?: string; annotations?: Record<string, string> },
): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name, annotations: o.annotations ?? {} },
  spec: o.podCIDR !== undefined ? { podCIDR: o.podCIDR, podCIDRs: [o.podCIDR] } : {},
  status: { addresses: o.ip !== undefined ? [{ type: 'InternalIP', address: o.ip }] : [] },
});

const pod = (
  namespace: string,
  name: string,
  ip: string,
  labels: Record<string, string> = {},
): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, labels },
  spec: { nodeName: SELF, containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080 }] }] },
  status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] },
});

const margay = (kind: string, name: string, spec: JsonObject): KubeObject => ({
  apiVersion: 'margay.io/v1',
  kind,
  metadata: { name },
  spec,
});

const policy = (name: string, spec: JsonObject): KubeObject => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace: 'prod' },
  spec,
});

// For each kind: a good object, one that validation refuses, and (where the kind has one) one
// that is valid alone but refused by the calculation.
const OBJECTS: KubeObject[] = [
  node(SELF, { ip: '192.0.2.11', podCIDR: '10.244.1.0/24' }),
  node('node-2', { ip: '192.0.2.12', podCIDR: '10.244.2.0/24' }),
  node('node-bad', { ip: '192.0.2.13', annotations: { 'margay.io/as-number': '65001x' } }),
  node('node-twin', { ip: '192.0.2.12', podCIDR: '10.244.4.0/24' }),

  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'prod', labels: { team: 'a' } } },
  {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'ns-bad', labels: { team: 'not a label value' } },
  },

  pod('prod', 'web-0', '10.244.1.5', { app: 'web' }),
  pod('prod', 'client-0', '10.244.1.6', { role: 'client' }),
  pod('prod', 'pod-bad', '10.244.1.300', { app: 'web' }),

  policy('allow-clients', {
    podSelector: { matchLabels: { app: 'web' } },
    ingress: [
      {
        from: [
          {
            namespaceSelector: { matchLabels: { team: 'a' } },
            podSelector: { matchLabels: { role: 'client' } },
          },
        ],
      },
    ],
  }),
  policy('policy-bad', {
    podSelector: { matchLabels: { app: 'web' } },
    ingress: [{ ports: [{ port: 70000 }] }],
  }),

  margay('BGPConfiguration', 'default', { asNumber: 64513, holdTime: 90 }),
  margay('BGPConfiguration', 'rack-1', { asNumber: 65001 }),

  margay('BGPPeer', 'tor-1', { peerIP: '192.0.2.1', asNumber: 65001 }),
  margay('BGPPeer', 'peer-bad', { peerIP: '192.0.2.2', asNumber: 65001, holdTime: 90, keepaliveTime: 0 }),
  margay('BGPPeer', 'peer-misfit', { peerIP: '192.0.2.3', asNumber: 65001, keepaliveTime: 31 }),

  margay('IPPool', 'default-pool', { cidr: '10.244.0.0/16', natOutgoing: true }),
  margay('IPPool', 'pool-bad', { cidr: '10.250.0.1/16' }),
  margay('IPPool', 'pool-overlap', { cidr: '10.244.128.0/17', natOutgoing: true }),
];

let server: FakeKubeApiServer;
let ds: KubernetesDatastore;
let errors: MargayError[];
let state: CalculatedState;

beforeAll(async () => {
  server = new FakeKubeApiServer();
  await server.start();
  for (const o of OBJECTS) server.apply(o);
  const rec = recordedDatastore(server);
  ds = rec.ds;
  errors = rec.errors;
  await ds.start();
  await waitUntil(() => ds.ready(), 'the datastore ready');
  state = calculate(ds.snapshot(), { name: SELF, ipv4: '192.0.2.11/24' });
});

afterAll(async () => {
  await ds?.stop();
  await server?.stop();
});

/** The datastore's problems of one kind, as "Kind name: field: …" lines. */
function refusedByValidation(kind: string): string[] {
  return errors.map((e) => e.message).filter((m) => m.startsWith(`${kind} `));
}

function refusedByCalculation(kind: string): string[] {
  return state.problems.filter((p) => p.startsWith(`${kind} `));
}

const FORM = /^(Node|Pod|Namespace|NetworkPolicy|BGPConfiguration|BGPPeer|IPPool) [^ :]+: [^ :][^:]*: ./;

describe('one invalid object of a kind leaves the others of that kind in force', () => {
  it('every problem, from validation or the calculation, starts with "Kind name: field: "', () => {
    expect(errors.length).toBe(7);
    for (const m of [...errors.map((e) => e.message), ...state.problems]) expect(m).toMatch(FORM);
  });

  it('Node', () => {
    expect(refusedByValidation('Node')).toEqual([
      'Node node-bad: metadata.annotations["margay.io/as-number"]: "65001x" must be an AS number 1..4294967295 (left out)',
    ]);
    expect(refusedByCalculation('Node')).toEqual([
      'Node node-twin: no address (annotation margay.io/ipv4-address or ipv6-address, or status.addresses InternalIP): not peered, not a VTEP',
      "Node node-twin: status.addresses: 192.0.2.12 is also node node-2's address (ignored for node-twin)",
    ]);
    expect(state.peers.filter((p) => p.peerType === 'node-to-node mesh').map((p) => p.description)).toEqual([
      'node node-2',
    ]);
  });

  it('Pod', () => {
    expect(refusedByValidation('Pod')).toEqual([
      expect.stringMatching(
        /^Pod prod\/pod-bad: status\.podIP: must be an IPv4 or IPv6 address; .*\(left out\)$/,
      ),
    ]);
    expect(state.dataplane.endpoints.map((e) => e.name).sort()).toEqual(['client-0', 'web-0']);
  });

  it('Namespace', () => {
    expect(refusedByValidation('Namespace')).toEqual([
      expect.stringMatching(/^Namespace ns-bad: metadata\.labels\.team: .*\(left out\)$/),
    ]);
    // prod still selects: the policy's peer set holds the client pod of the namespace team=a.
    const members = state.dataplane.ipsets.flatMap((s) => s.members);
    expect(members).toContain('10.244.1.6');
  });

  it('NetworkPolicy', () => {
    expect(refusedByValidation('NetworkPolicy')).toEqual([
      'NetworkPolicy prod/policy-bad: spec.ingress[0].ports[0].port: must be 1..65535 (left out)',
    ]);
    const rendered = JSON.stringify(state.dataplane.policyExplain);
    expect(rendered).toContain('allow-clients');
    expect(rendered).not.toContain('policy-bad');
  });

  it('BGPConfiguration', () => {
    expect(refusedByValidation('BGPConfiguration')).toEqual([
      expect.stringMatching(/^BGPConfiguration rack-1: metadata\.name: must be "default".*\(left out\)$/),
    ]);
    expect(state.node?.asn).toBe(64513);
  });

  it('BGPPeer', () => {
    expect(refusedByValidation('BGPPeer')).toEqual([
      'BGPPeer peer-bad: spec.keepaliveTime: 0 requires holdTime 0; with holdTime 90 it must be 1..30 seconds (RFC 4271 §4.4) (left out)',
    ]);
    expect(refusedByCalculation('BGPPeer')).toEqual([
      "BGPPeer peer-misfit: spec.keepaliveTime: 31 is more than holdTime / 3; with holdTime 90 it must be 1..30 seconds (RFC 4271 §4.4, §10) (holdTime 90 is BGPConfiguration default's) (not peered)",
    ]);
    expect(state.peers.map((p) => p.source)).toEqual(['BGPPeer tor-1', 'node node-2 (mesh)']);
    const speaker = new Speaker({ asn: 64513, routerId: '192.0.2.11', listen: null });
    speaker.setPeers(state.peers.map(({ peerType: _t, source: _s, ...p }) => p));
    expect(speaker.peers().map((p) => p.address)).toEqual(['192.0.2.1', '192.0.2.12']);
  });

  it('IPPool', () => {
    expect(refusedByValidation('IPPool')).toEqual([
      expect.stringMatching(/^IPPool pool-bad: spec\.cidr: .*host bits.*\(left out\)$/),
    ]);
    expect(refusedByCalculation('IPPool')).toEqual([
      'IPPool pool-overlap: spec.cidr: 10.244.128.0/17 overlaps IPPool default-pool 10.244.0.0/16 (pool ignored)',
    ]);
    const nat = JSON.stringify(state.dataplane.iptables.find((s) => s.source === 'nat-outgoing'));
    const sets = JSON.stringify(state.dataplane.ipsets);
    expect(`${nat}${sets}`).toContain('10.244.0.0/16');
    expect(`${nat}${sets}`).not.toContain('10.244.128.0/17');
  });
});

describe('BGPConfiguration values the calculation cannot use (validation normally stops them)', () => {
  it('an unknown community reference is skipped for its prefix; the other communities are attached', () => {
    const config = {
      apiVersion: 'margay.io/v1',
      kind: 'BGPConfiguration',
      metadata: { name: 'default', labels: {}, annotations: {} },
      spec: {
        ...DEFAULT_BGP_CONFIGURATION_SPEC,
        communities: [{ name: 'rack', value: '65001:10' }],
        prefixAdvertisements: [{ cidr: '10.244.0.0/16', communities: ['rack', 'nope', '65001:20'] }],
      },
    };
    const s = withRaw(snap(...flatNodes(1)), 'bgpConfigurations', 'default', config);
    const st = calculate(s, { name: 'node-1' });
    expect(st.problems).toEqual([
      'BGPConfiguration default: spec.prefixAdvertisements[0].communities[1]: "nope" is neither a community name nor a value (skipped for 10.244.1.0/24)',
    ]);
    expect(st.announcements).toEqual([
      { prefix: '10.244.1.0/24', nextHop: 'self', communities: [65001 * 65536 + 10, 65001 * 65536 + 20] },
    ]);
  });
});
