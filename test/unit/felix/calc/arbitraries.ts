// fast-check arbitraries for the policy property tests: small clusters (pods on two nodes, three
// namespaces, a handful of policies) drawn from small pools of names, labels, ports and CIDRs, so
// selectors actually overlap and identities collide (updates of the same object).
import fc from 'fast-check';
import type {
  LabelSelector,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  PolicyNamespace,
  PolicyPod,
} from '../../../../felix/model/policy.ts';

export const NS_NAMES = ['a', 'b', 'c'] as const;
const POD_NAMES = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5'];
const POLICY_NAMES = ['q0', 'q1', 'q2'];
const LABEL_KEYS = ['app', 'tier'];
const LABEL_VALUES = ['x', 'y', 'z'];

export const labels = fc.dictionary(fc.constantFrom(...LABEL_KEYS), fc.constantFrom(...LABEL_VALUES), {
  maxKeys: 2,
});
const nsLabels = fc.dictionary(fc.constantFrom('env', 'team'), fc.constantFrom('x', 'y'), { maxKeys: 2 });

export const selector: fc.Arbitrary<LabelSelector> = fc.record(
  {
    matchLabels: fc.dictionary(
      fc.constantFrom(...LABEL_KEYS, 'env'),
      fc.constantFrom(...LABEL_VALUES, 'x', 'y'),
      { maxKeys: 1 },
    ),
    matchExpressions: fc.array(
      fc.oneof(
        fc.record({
          key: fc.constantFrom(...LABEL_KEYS, 'env', 'team'),
          operator: fc.constantFrom('In' as const, 'NotIn' as const),
          values: fc.uniqueArray(fc.constantFrom(...LABEL_VALUES), { minLength: 1, maxLength: 2 }),
        }),
        fc.record({
          key: fc.constantFrom(...LABEL_KEYS, 'env', 'team'),
          operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const),
        }),
      ),
      { maxLength: 2 },
    ),
  },
  { requiredKeys: [] },
);

export const peer: fc.Arbitrary<NetworkPolicyPeer> = fc.oneof(
  fc.record({ podSelector: selector }),
  fc.record({ namespaceSelector: selector }),
  fc.record({ podSelector: selector, namespaceSelector: selector }),
  fc.constantFrom<NetworkPolicyPeer>(
    { ipBlock: { cidr: '10.244.0.0/16', except: ['10.244.2.0/24'] } },
    { ipBlock: { cidr: '10.244.1.0/24' } },
    { ipBlock: { cidr: '0.0.0.0/0', except: ['10.244.1.0/25'] } },
    { ipBlock: { cidr: '2001:db8::/32', except: ['2001:db8:2::/48'] } },
  ),
);

export const port: fc.Arbitrary<NetworkPolicyPort> = fc.oneof(
  fc.record(
    {
      protocol: fc.constantFrom('TCP' as const, 'UDP' as const, 'SCTP' as const),
      port: fc.constantFrom(53, 80, 8080),
    },
    { requiredKeys: ['port'] },
  ),
  fc.record(
    { protocol: fc.constantFrom('TCP' as const, 'UDP' as const), port: fc.constantFrom('http', 'dns') },
    { requiredKeys: ['port'] },
  ),
  fc.record({ port: fc.constant(8000), endPort: fc.constantFrom(8000, 8080, 9000) }),
  fc.record({ protocol: fc.constantFrom('TCP' as const, 'UDP' as const) }),
);

const rule = fc.record(
  { peers: fc.array(peer, { maxLength: 2 }), ports: fc.array(port, { maxLength: 2 }) },
  { requiredKeys: [] },
);

export const policy: fc.Arbitrary<NetworkPolicy> = fc
  .record({
    namespace: fc.constantFrom(...NS_NAMES),
    name: fc.constantFrom(...POLICY_NAMES),
    podSelector: selector,
    policyTypes: fc.option(fc.subarray(['Ingress', 'Egress'] as const, { minLength: 1 }), { nil: undefined }),
    ingress: fc.option(fc.array(rule, { maxLength: 2 }), { nil: undefined }),
    egress: fc.option(fc.array(rule, { maxLength: 2 }), { nil: undefined }),
  })
  .map((p) => ({
    namespace: p.namespace,
    name: p.name,
    spec: {
      podSelector: p.podSelector,
      ...(p.policyTypes === undefined ? {} : { policyTypes: p.policyTypes }),
      ...(p.ingress === undefined
        ? {}
        : {
            ingress: p.ingress.map((r) => ({
              ...(r.peers ? { from: r.peers } : {}),
              ...(r.ports ? { ports: r.ports } : {}),
            })),
          }),
      ...(p.egress === undefined
        ? {}
        : {
            egress: p.egress.map((r) => ({
              ...(r.peers ? { to: r.peers } : {}),
              ...(r.ports ? { ports: r.ports } : {}),
            })),
          }),
    },
  }));

export const pod: fc.Arbitrary<PolicyPod> = fc
  .record({
    namespace: fc.constantFrom(...NS_NAMES),
    name: fc.constantFrom(...POD_NAMES),
    node: fc.constantFrom(1, 2),
    labels,
    v6: fc.boolean(),
    ports: fc.subarray([
      { name: 'http', containerPort: 80 },
      { name: 'http', containerPort: 8080, protocol: 'UDP' as const },
      { name: 'dns', containerPort: 53, protocol: 'UDP' as const },
      { containerPort: 9000 },
    ]),
  })
  .map((p) => {
    const host = NS_NAMES.indexOf(p.namespace) * 10 + POD_NAMES.indexOf(p.name) + 1;
    return {
      namespace: p.namespace,
      name: p.name,
      nodeName: `n${p.node}`,
      labels: p.labels,
      ipv4: [`10.244.${p.node}.${host}`],
      ...(p.v6 ? { ipv6: [`2001:db8:${p.node}::${host}`] } : {}),
      ports: p.ports,
    };
  });

export const namespace: fc.Arbitrary<PolicyNamespace> = fc.record({
  name: fc.constantFrom(...NS_NAMES),
  labels: nsLabels,
});

export const cluster = fc.record({
  pods: fc.array(pod, { maxLength: 10 }),
  namespaces: fc.array(namespace, { maxLength: 3 }),
  policies: fc.array(policy, { maxLength: 4 }),
});
export type Cluster = typeof cluster extends fc.Arbitrary<infer T> ? T : never;

/** Last record per identity wins, as a sequence of updates would leave it. */
export function lastPerId<T>(items: readonly T[], id: (t: T) => string): T[] {
  const m = new Map<string, T>();
  for (const t of items) m.set(id(t), t);
  return [...m.values()];
}

export const podId = (p: PolicyPod): string => `${p.namespace}/${p.name}`;
export const policyId = (p: NetworkPolicy): string => `${p.namespace}/${p.name}`;
export const nsId = (n: PolicyNamespace): string => n.name;
