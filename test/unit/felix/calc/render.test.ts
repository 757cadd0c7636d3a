// The policy renderer's semantics, checked on its records: policyTypes defaulting, fail-closed
// validation, which sets hold which pods (peers cluster-wide, targets local only, named ports per
// target / per destination pod), ipBlocks per family, the fixed chains (host → pod, NDP), explain.
import { describe, expect, it } from 'vitest';
import { endpointChainName } from '../../../../felix/calc/endpoint-chains.ts';
import { policyChainName } from '../../../../felix/calc/policy-chains.ts';
import { normalizePolicy } from '../../../../felix/calc/policy-normalize.ts';
import { PolicyStore } from '../../../../felix/calc/policy-store.ts';
import type { PolicyRender } from '../../../../felix/calc/render-policy.ts';
import { renderPolicy } from '../../../../felix/calc/render-policy.ts';
import { normalizeIpSet } from '../../../../felix/model/ipsets.ts';
import type { Chain, InetFamily } from '../../../../felix/model/iptables.ts';
import { canonicalJson } from '../../../../felix/model/iptables.ts';
import type { NetworkPolicy, PolicyInput, PolicyPod } from '../../../../felix/model/policy.ts';

const PODS: PolicyPod[] = [
  {
    namespace: 'prod',
    name: 'web-1',
    nodeName: 'n1',
    labels: { app: 'web' },
    ipv4: ['10.244.1.10'],
    ipv6: ['2001:db8:a01::10'],
    ports: [{ name: 'http', containerPort: 80 }],
  },
  {
    namespace: 'prod',
    name: 'web-2',
    nodeName: 'n2',
    labels: { app: 'web' },
    ipv4: ['10.244.2.10'],
    ports: [{ name: 'http', containerPort: 8080 }],
  },
  {
    namespace: 'prod',
    name: 'db-1',
    nodeName: 'n1',
    labels: { app: 'db' },
    ipv4: ['10.244.1.11'],
    ports: [{ name: 'http', containerPort: 81, protocol: 'UDP' }],
  },
  { namespace: 'dev', name: 'tool-1', nodeName: 'n2', labels: { app: 'tool' }, ipv4: ['10.244.2.20'] },
];

function input(policies: NetworkPolicy[], pods: PolicyPod[] = PODS): PolicyInput {
  return {
    nodeName: 'n1',
    namespaces: [
      { name: 'prod', labels: { env: 'prod' } },
      { name: 'dev', labels: { env: 'dev' } },
    ],
    pods,
    policies,
  };
}

function chain(r: PolicyRender, family: InetFamily, name: string): Chain {
  const c = r.iptables[family].flatMap((t) => t.chains).find((x) => x.name === name);
  if (c === undefined) throw new Error(`no chain ${name}`);
  return c;
}

/** Members of the set a rule of `chainName` refers to with `--match-set … <side>`. */
function membersOf(
  r: PolicyRender,
  family: InetFamily,
  chainName: string,
  side: string,
  ruleIndex = 0,
): readonly string[] {
  const rules = chain(r, family, chainName).rules.filter(
    (x) => x.action.type === 'setMark' && x.action.mark !== 0,
  );
  const m = rules[ruleIndex]!.match;
  const at = m.findIndex((a, i) => a === '--match-set' && m[i + 2] === side);
  const name = m[at + 1];
  const set = r.ipsets.find((s) => s.name === name);
  if (set === undefined) throw new Error(`no set ${name} for ${side} in ${m.join(' ')}`);
  return set.members;
}

const pol = (namespace: string, name: string, spec: NetworkPolicy['spec']): NetworkPolicy => ({
  namespace,
  name,
  spec,
});

describe('policyTypes defaulting (API server defaults)', () => {
  const types = (spec: NetworkPolicy['spec']) => normalizePolicy(pol('prod', 'p', spec)).policy?.policyTypes;
  it('Ingress only without egress rules', () => expect(types({ podSelector: {} })).toEqual(['Ingress']));
  it('Ingress and Egress with egress rules', () =>
    expect(types({ podSelector: {}, egress: [{}] })).toEqual(['Ingress', 'Egress']));
  it('an empty egress list adds nothing', () =>
    expect(types({ podSelector: {}, egress: [] })).toEqual(['Ingress']));
  it('explicit policyTypes override', () =>
    expect(types({ podSelector: {}, policyTypes: ['Egress'], ingress: [{}] })).toEqual(['Egress']));
  it('an empty policyTypes list is defaulted', () =>
    expect(types({ podSelector: {}, policyTypes: [] })).toEqual(['Ingress']));
});

describe('invalid input fails closed and names the field', () => {
  it('a bad port drops the whole rule, not just the entry', () => {
    const r = normalizePolicy(
      pol('prod', 'p', { podSelector: {}, ingress: [{ ports: [{ port: 80 }, { port: 70000 }] }, {}] }),
    );
    expect(r.policy?.ingress.map((x) => x.index)).toEqual([1]);
    expect(r.problems).toEqual([
      {
        code: 'FELIX_ERR_INVALID_POLICY',
        object: 'prod/p',
        field: 'spec.ingress[0]',
        message: expect.stringContaining('spec.ingress[0].ports[1].port'),
      },
    ]);
  });
  it('an invalid podSelector drops the policy', () => {
    const r = normalizePolicy(
      pol('prod', 'p', { podSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] } }),
    );
    expect(r.policy).toBeUndefined();
    expect(r.problems[0]?.field).toBe('spec.podSelector');
  });
  it.each([
    [{ port: 'http', endPort: 90 }, 'endPort'],
    [{ port: 90, endPort: 80 }, 'endPort'],
    [{ protocol: 'ICMP', port: 1 }, 'protocol'],
    [{ port: 'Not_A_Name' }, 'port'],
  ])('port %j is refused (%s)', (port, field) => {
    const r = normalizePolicy(pol('prod', 'p', { podSelector: {}, ingress: [{ ports: [port as never] }] }));
    expect(r.policy?.ingress).toEqual([]);
    expect(r.problems[0]?.message).toContain(`.${field}`);
  });
  it.each([
    [{ ipBlock: { cidr: '10.0.0.0/8', except: ['11.0.0.0/16'] } }, 'not strictly inside'],
    [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.0.0.0/8'] } }, 'not strictly inside'],
    [{ ipBlock: { cidr: '10.0.0.0/8', except: ['2001:db8::/64'] } }, "cidr's family"],
    [{ ipBlock: { cidr: '10.0.0.0' } }, 'prefix length'],
    [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }, 'cannot be combined'],
    [{}, 'is required'],
  ])('peer %j is refused (%s)', (peer, text) => {
    const r = normalizePolicy(pol('prod', 'p', { podSelector: {}, ingress: [{ from: [peer] }] }));
    expect(r.policy?.ingress).toEqual([]);
    expect(r.problems[0]?.message).toContain(text);
  });
  it('bad pod addresses are reported and left out; the render still succeeds', () => {
    const r = renderPolicy(
      input([], [{ namespace: 'prod', name: 'x', nodeName: 'n1', ipv4: ['10.0.0.300', '10.244.1.1'] }]),
    );
    expect(r.explain.problems.map((p) => `${p.object} ${p.field}`)).toEqual(['prod/x ipv4[0]']);
    expect(r.explain.endpoints[0]?.ipv4).toEqual(['10.244.1.1']);
  });
  it('conflicting duplicates: one deterministic winner, reported', () => {
    const a = { ...PODS[0]!, labels: { app: 'a' } };
    const b = { ...PODS[0]!, labels: { app: 'b' } };
    const r1 = renderPolicy(input([], [a, b]));
    const r2 = renderPolicy(input([], [b, a]));
    expect(canonicalJson(r1)).toBe(canonicalJson(r2));
    expect(r1.explain.problems[0]?.field).toBe('pod');
  });
});

describe('set membership', () => {
  it('peers are cluster-wide, targets only local; namespaceSelector AND podSelector', () => {
    const r = renderPolicy(
      input([
        pol('prod', 'p', {
          podSelector: { matchLabels: { app: 'web' } },
          ingress: [
            {
              from: [
                {
                  namespaceSelector: { matchLabels: { env: 'prod' } },
                  podSelector: { matchLabels: { app: 'web' } },
                },
                { namespaceSelector: {} },
              ],
            },
          ],
        }),
      ]),
    );
    const pi = policyChainName('prod/p', 'ingress');
    expect(membersOf(r, 'inet', pi, 'src', 0)).toEqual(['10.244.1.10', '10.244.2.10']);
    expect(membersOf(r, 'inet', pi, 'src', 1)).toEqual([
      '10.244.1.10',
      '10.244.1.11',
      '10.244.2.10',
      '10.244.2.20',
    ]);
    expect(membersOf(r, 'inet6', pi, 'src', 0)).toEqual(['2001:db8:a01::10']);
    const nsi = r.iptables.inet[0]!.chains.find((c) => c.name.startsWith('mgy-nsi-'))!;
    const tgt = nsi.rules[0]!.match[3]!;
    expect(r.ipsets.find((s) => s.name === tgt)?.members).toEqual(['10.244.1.10']);
  });

  it('the namespace name label selects a namespace the input does not list', () => {
    const r = renderPolicy({
      ...input([
        pol('prod', 'p', {
          podSelector: {},
          ingress: [
            { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'other' } } }] },
          ],
        }),
      ]),
      pods: [...PODS, { namespace: 'other', name: 'o', nodeName: 'n2', ipv4: ['10.244.2.99'] }],
    });
    expect(membersOf(r, 'inet', policyChainName('prod/p', 'ingress'), 'src')).toEqual(['10.244.2.99']);
  });

  it('ingress named port: each selected local pod with its own number and protocol', () => {
    const r = renderPolicy(
      input([
        pol('prod', 'p', {
          podSelector: {},
          ingress: [{ ports: [{ port: 'http' }, { port: 'http', protocol: 'UDP' }] }],
        }),
      ]),
    );
    const pi = policyChainName('prod/p', 'ingress');
    expect(membersOf(r, 'inet', pi, 'dst,dst', 0)).toEqual(['10.244.1.10,tcp:80']);
    expect(membersOf(r, 'inet', pi, 'dst,dst', 1)).toEqual(['10.244.1.11,udp:81']);
  });

  it('egress named port: one entry per destination pod of the peer, cluster-wide', () => {
    const r = renderPolicy(
      input([
        pol('prod', 'p', {
          podSelector: { matchLabels: { app: 'db' } },
          policyTypes: ['Egress'],
          egress: [
            {
              to: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: 'web' } } }],
              ports: [{ port: 'http' }],
            },
          ],
        }),
      ]),
    );
    expect(membersOf(r, 'inet', policyChainName('prod/p', 'egress'), 'dst,dst')).toEqual([
      '10.244.1.10,tcp:80',
      '10.244.2.10,tcp:8080',
    ]);
    // The named-port set stands for the peer: no set of the peer's addresses is made.
    expect(r.ipsets.map((s) => s.origin).filter((o) => o?.startsWith('pods '))).toEqual([]);
  });
});

describe('chains', () => {
  it('an ipBlock renders only in its family; a rule left without peers allows nothing', () => {
    const r = renderPolicy(
      input([
        pol('prod', 'p', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '192.0.2.0/24' } }] }] }),
      ]),
    );
    const pi = policyChainName('prod/p', 'ingress');
    expect(chain(r, 'inet', pi).rules[0]?.match).toEqual(['-s', '192.0.2.0/24']);
    expect(chain(r, 'inet6', pi).rules).toEqual([]);
  });

  it('a pod no policy selects is open; a selected one ends in the isolation drop', () => {
    const r = renderPolicy(input([pol('prod', 'p', { podSelector: { matchLabels: { app: 'db' } } })]));
    const ex = Object.fromEntries(r.explain.endpoints.map((e) => [e.endpoint, e.ingress]));
    expect(ex).toEqual({
      'prod/db-1': { isolated: true, policies: ['prod/p'] },
      'prod/web-1': { isolated: false, policies: [] },
    });
    expect(r.explain.policies).toEqual([
      {
        policy: 'prod/p',
        policyTypes: ['Ingress'],
        chains: { ingress: policyChainName('prod/p', 'ingress') },
        selects: ['prod/db-1'],
      },
    ]);
    // web-1 and db-1 share the namespace chain; the difference is set membership only.
    const tw = chain(r, 'inet', endpointChainName('prod/web-1', 'ingress'));
    expect(tw.rules.map((x) => x.action.type)).toEqual([
      'accept',
      'drop',
      'setMark',
      'jump',
      'return',
      'drop',
      'return',
    ]);
  });

  it('host → local workloads accepted in OUTPUT; IPv6 neighbour discovery accepted in INPUT', () => {
    const r = renderPolicy(input([]));
    expect(chain(r, 'inet', 'mgy-OUTPUT').rules).toEqual([
      {
        match: ['-o', 'mgy+'],
        action: { type: 'accept' },
        comment: 'host to local workloads: always allowed (kubelet probes)',
      },
    ]);
    const v6in = chain(r, 'inet6', 'mgy-INPUT').rules;
    expect(v6in.filter((x) => x.match.includes('--icmpv6-type')).map((x) => x.match.at(-1))).toEqual([
      '130',
      '131',
      '132',
      '133',
      '135',
      '136',
    ]);
    expect(chain(r, 'inet', 'mgy-INPUT').rules.some((x) => x.match.includes('ipv6-icmp'))).toBe(false);
  });

  it('anti-spoofing: a pod may send only from its own address; a v4-only pod sends no IPv6', () => {
    const r = renderPolicy(input([]));
    const fw4 = chain(r, 'inet', endpointChainName('prod/db-1', 'egress'));
    expect(fw4.rules[2]).toMatchObject({ match: ['!', '-s', '10.244.1.11/32'], action: { type: 'drop' } });
    const fw6 = chain(r, 'inet6', endpointChainName('prod/db-1', 'egress'));
    expect(fw6.rules[2]).toMatchObject({ match: [], action: { type: 'drop' } });
  });

  it('every rule says where it comes from', () => {
    const r = renderPolicy(
      input([
        pol('prod', 'p', {
          podSelector: {},
          ingress: [{ from: [{ podSelector: {} }], ports: [{ port: 80 }] }],
        }),
      ]),
    );
    for (const f of ['inet', 'inet6'] as const) {
      for (const c of r.iptables[f].flatMap((t) => t.chains))
        for (const rule of c.rules) expect(rule.comment, c.name).toBeTruthy();
    }
    expect(chain(r, 'inet', policyChainName('prod/p', 'ingress')).rules[0]?.comment).toBe(
      'policy prod/p ingress[0] from[0] ports[0]',
    );
  });
});

describe('node-local rendering', () => {
  const remoteOnly = pol('dev', 'tools', {
    podSelector: { matchLabels: { app: 'tool' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 'http' }] }],
  });
  const dbOnly = pol('prod', 'db', {
    podSelector: { matchLabels: { app: 'db' } },
    ingress: [{ from: [{ namespaceSelector: { matchLabels: { env: 'dev' } } }] }],
  });

  it('a policy that selects no local pod has no chain and no set, and says so', () => {
    const r = renderPolicy(input([remoteOnly, dbOnly]));
    const names = r.iptables.inet[0]!.chains.map((c) => c.name);
    expect(names).not.toContain(policyChainName('dev/tools', 'ingress'));
    expect(names).toContain(policyChainName('prod/db', 'ingress'));
    // Only the chain of prod/db and the dispatch chain of prod; dev has no local pod.
    expect(names.filter((n) => /^mgy-(p[io]|ns[ie])-/.test(n))).toHaveLength(2);
    expect(r.ipsets.map((s) => s.origin).filter((o) => o?.includes('tool') || o?.includes('ns=dev'))).toEqual(
      [],
    );
    expect(r.explain.policies.find((p) => p.policy === 'dev/tools')).toEqual({
      policy: 'dev/tools',
      policyTypes: ['Ingress'],
      chains: {},
      selects: [],
    });
    // The peer set of prod/db holds the remote dev pod: peers stay cluster-wide.
    expect(membersOf(r, 'inet', policyChainName('prod/db', 'ingress'), 'src')).toEqual(['10.244.2.20']);
  });

  it('a policy becomes active when a pod it selects comes to this node', () => {
    const here = PODS.map((p) => (p.name === 'tool-1' ? { ...p, nodeName: 'n1' } : p));
    const r = renderPolicy(input([remoteOnly], here));
    expect(chain(r, 'inet', policyChainName('dev/tools', 'ingress')).rules).toHaveLength(2);
    expect(r.explain.policies[0]?.selects).toEqual(['dev/tool-1']);
  });

  it('a family no local pod has an address of: fixed chains only, every workload packet dropped', () => {
    const v4only = PODS.map((p) => ({ ...p, ipv6: [] }));
    const r = renderPolicy(input([dbOnly], v4only));
    expect(r.explain.families).toEqual(['inet']);
    expect(r.iptables.inet6[0]!.chains.map((c) => c.name)).toEqual([
      'mgy-FORWARD',
      'mgy-INPUT',
      'mgy-OUTPUT',
      'mgy-from-wl-dispatch',
      'mgy-to-wl-dispatch',
    ]);
    expect(chain(r, 'inet6', 'mgy-from-wl-dispatch').rules).toEqual([
      {
        match: [],
        action: { type: 'drop' },
        comment: 'from a workload: no local workload has an IPv6 address',
      },
    ]);
    expect(chain(r, 'inet6', 'mgy-to-wl-dispatch').rules.map((x) => x.action.type)).toEqual(['drop']);
    expect(r.ipsets.filter((s) => s.family === 'inet6')).toEqual([]);
    // One dual-stack local pod puts IPv6 in use for all of them (a v4-only pod's IPv6 is dropped
    // by its own chain, after return traffic).
    const r2 = renderPolicy(input([dbOnly]));
    expect(r2.explain.families).toEqual(['inet', 'inet6']);
    expect(chain(r2, 'inet6', policyChainName('prod/db', 'ingress')).rules.length).toBeGreaterThan(0);
  });

  it('sets come out normalized: normalizing them again returns the same objects', () => {
    const r = renderPolicy(input([dbOnly, remoteOnly]));
    expect(r.ipsets.length).toBeGreaterThan(0);
    for (const s of r.ipsets) expect(normalizeIpSet(s)).toBe(s);
  });
});

describe('PolicyStore', () => {
  const content = (r: PolicyRender): PolicyRender => ({
    iptables: r.iptables,
    ipsets: r.ipsets,
    explain: r.explain,
  });

  it('renders what renderPolicy renders for its objects', () => {
    const store = new PolicyStore({ nodeName: 'n1' });
    const policy = pol('prod', 'p', {
      podSelector: { matchLabels: { app: 'web' } },
      ingress: [{ ports: [{ port: 'http' }] }],
    });
    for (const p of PODS) store.apply({ type: 'podUpdated', pod: p });
    store.apply({ type: 'namespaceUpdated', namespace: { name: 'prod', labels: { env: 'prod' } } });
    store.apply({ type: 'namespaceUpdated', namespace: { name: 'dev', labels: { env: 'dev' } } });
    store.apply({ type: 'policyUpdated', policy });
    store.apply({ type: 'podDeleted', namespace: 'dev', name: 'tool-1' });
    expect(canonicalJson(content(store.render()))).toBe(
      canonicalJson(renderPolicy(input([policy], PODS.slice(0, 3)))),
    );
    expect(store.input().pods).toHaveLength(3);
  });

  it('a remote pod joining a peer set changes set members only; the chains stay the same objects', () => {
    const store = new PolicyStore({ nodeName: 'n1' });
    for (const p of PODS) store.apply({ type: 'podUpdated', pod: p });
    store.apply({
      type: 'policyUpdated',
      policy: pol('prod', 'db', {
        podSelector: { matchLabels: { app: 'db' } },
        ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }],
      }),
    });
    const before = store.render();
    store.apply({
      type: 'podUpdated',
      pod: {
        namespace: 'prod',
        name: 'web-3',
        nodeName: 'n2',
        labels: { app: 'web' },
        ipv4: ['10.244.2.30'],
      },
    });
    const after = store.render();
    expect(after.changed).toEqual({ iptables: false, ipsets: true, explain: false });
    expect(after.iptables).toBe(before.iptables);
    const changedSets = after.ipsets.filter((s) => !before.ipsets.includes(s));
    expect(changedSets.map((s) => s.members)).toEqual([['10.244.1.10', '10.244.2.10', '10.244.2.30']]);
  });

  it('a set no rule names any more is kept up to date, and is current when a policy names it again', () => {
    const store = new PolicyStore({ nodeName: 'n1' });
    const local: PolicyPod = {
      namespace: 'a',
      name: 'l',
      nodeName: 'n1',
      labels: { app: 'x' },
      ipv4: ['10.244.1.1'],
    };
    const remote = (name: string, ip: string): PolicyPod => ({
      namespace: 'a',
      name,
      nodeName: 'n2',
      labels: { app: 'y' },
      ipv4: [ip],
    });
    const policy = pol('a', 'p', {
      podSelector: { matchLabels: { app: 'x' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'y' } } }] }],
    });
    const check = () => {
      const r = store.render();
      expect(canonicalJson(content(r))).toBe(canonicalJson(renderPolicy(store.input())));
      return r;
    };
    store.apply({ type: 'podUpdated', pod: local });
    store.apply({ type: 'podUpdated', pod: remote('r1', '10.244.2.1') });
    store.apply({ type: 'policyUpdated', policy });
    expect(check().ipsets.map((s) => s.members)).toContainEqual(['10.244.2.1']);
    store.apply({ type: 'podUpdated', pod: { ...local, labels: { app: 'z' } } });
    expect(check().ipsets).toEqual([]);
    store.apply({ type: 'podUpdated', pod: remote('r2', '10.244.2.2') });
    store.apply({ type: 'podDeleted', namespace: 'a', name: 'r1' });
    check();
    store.apply({ type: 'podUpdated', pod: local });
    expect(check().ipsets.map((s) => s.members)).toContainEqual(['10.244.2.2']);
  });

  it('applies an initial load in chunks; one render at the end equals renderPolicy', () => {
    const store = new PolicyStore({ nodeName: 'n1' });
    const events = [
      ...PODS.map((pod) => ({ type: 'podUpdated' as const, pod })),
      { type: 'policyUpdated' as const, policy: pol('prod', 'all', { podSelector: {} }) },
    ];
    for (let i = 0; i < events.length; i += 2) for (const e of events.slice(i, i + 2)) store.apply(e);
    expect(canonicalJson(content(store.render()))).toBe(
      canonicalJson(renderPolicy({ ...input([pol('prod', 'all', { podSelector: {} })]), namespaces: [] })),
    );
  });
});

describe('dispatch by interface', () => {
  const local = (n: number): PolicyPod[] =>
    Array.from({ length: n }, (_, i) => ({
      namespace: 'prod',
      name: `pod-${i}`,
      nodeName: 'n1',
      labels: { app: 'web' },
      ipv4: [`10.244.1.${i + 1}`],
    }));

  /** Where a packet of `iface` entering `top` goes: its endpoint chain, or 'drop'. */
  function walk(r: PolicyRender, top: string, flag: '-i' | '-o', iface: string): string {
    let name = top;
    for (let hops = 0; hops < 4; hops++) {
      const rule = chain(r, 'inet', name).rules.find((x) => {
        const at = x.match.indexOf(flag);
        if (at < 0) return true;
        const want = x.match[at + 1]!;
        return want.endsWith('+') ? iface.startsWith(want.slice(0, -1)) : iface === want;
      });
      if (rule === undefined) return 'falls through';
      if (rule.action.type !== 'goto') return rule.action.type;
      if (/^mgy-[ft]w-/.test(rule.action.chain)) return rule.action.chain;
      name = rule.action.chain;
    }
    return 'too deep';
  }

  const dispatchNames = (r: PolicyRender) =>
    r.iptables.inet[0]!.chains.map((c) => c.name).filter((n) => n.includes('-wl-dispatch'));

  it('lists up to 16 endpoints in one chain per direction', () => {
    const r = renderPolicy(input([], local(16)));
    expect(dispatchNames(r)).toEqual(['mgy-from-wl-dispatch', 'mgy-to-wl-dispatch']);
    expect(chain(r, 'inet', 'mgy-from-wl-dispatch').rules).toHaveLength(17);
  });

  it('above 16, splits by the interface name and still takes each endpoint to its chains', () => {
    const r = renderPolicy(input([], local(60)));
    const names = dispatchNames(r);
    expect(names.length).toBeGreaterThan(4);
    expect(names.every((n) => n.length <= 28)).toBe(true);
    // No chain lists all endpoints: the largest holds well under half of them.
    const largest = Math.max(...names.map((n) => chain(r, 'inet', n).rules.length));
    expect(largest).toBeLessThan(30);
    expect(r.explain.endpoints).toHaveLength(60);
    for (const ep of r.explain.endpoints) {
      expect(walk(r, 'mgy-from-wl-dispatch', '-i', ep.ifaceName)).toBe(ep.chains.fromWorkload);
      expect(walk(r, 'mgy-to-wl-dispatch', '-o', ep.ifaceName)).toBe(ep.chains.toWorkload);
    }
    // An interface of the prefix that is no endpoint is dropped, in its group's chain or the top.
    const known = new Set(r.explain.endpoints.map((e) => e.ifaceName));
    for (const c of '0123456789abcdef') {
      const stranger = `mgy${c}0000000000`;
      if (known.has(stranger)) continue;
      expect(walk(r, 'mgy-from-wl-dispatch', '-i', stranger)).toBe('drop');
      expect(walk(r, 'mgy-to-wl-dispatch', '-o', stranger)).toBe('drop');
    }
  });

  it('a pod added rewrites only the dispatch chains of its group', () => {
    const before = renderPolicy(input([], local(60)));
    const after = renderPolicy(input([], local(61)));
    const added = after.explain.endpoints.find((e) => e.endpoint.endsWith('pod-60'))!;
    const text = (r: PolicyRender) =>
      new Map(r.iptables.inet[0]!.chains.map((c) => [c.name, canonicalJson(c.rules)] as const));
    const was = text(before);
    const changed = [...text(after)].filter(([name, rules]) => was.get(name) !== rules).map(([n]) => n);
    const dispatch = changed.filter((n) => n.includes('-wl-dispatch'));
    const group = added.ifaceName.charAt(3);
    if (before.explain.endpoints.some((e) => e.ifaceName.charAt(3) === group)) {
      expect(dispatch.sort()).toEqual([`mgy-from-wl-dispatch-${group}`, `mgy-to-wl-dispatch-${group}`]);
    } else {
      // A new group: its chains appear and the top chains gain its goto.
      expect(dispatch.sort()).toEqual(
        [
          'mgy-from-wl-dispatch',
          `mgy-from-wl-dispatch-${group}`,
          'mgy-to-wl-dispatch',
          `mgy-to-wl-dispatch-${group}`,
        ].sort(),
      );
    }
  });
});
