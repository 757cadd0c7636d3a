// The NetworkPolicy dataplane of one node as a pure function of the cluster's pods, namespaces and
// policies: `renderPolicy(input) → { iptables, ipsets, explain }` (Felix felix/calc + felix/rules).
//
// Output layout (see endpoint-chains.ts and policy-chains.ts for the chains themselves):
// - per policy and direction one chain (mgy-pi-/mgy-po-), rendered on every node;
// - per namespace and direction a dispatch chain (mgy-nsi-/mgy-nse-) over its policies;
// - per local pod a to-workload and a from-workload chain (mgy-tw-/mgy-fw-), dispatched by
//   interface from mgy-FORWARD / mgy-INPUT;
// - ipsets for every selector, target, isolation set, named port and except list the rules use.
// The set of chains depends on the policies and on which pods are local, never on labels; labels
// (of pods and namespaces) and container ports only decide set members.
//
// The result depends only on the content of the input: everything is sorted, duplicates that are
// identical collapse, and of two different records with one identity the one with the greater
// canonical JSON is kept (and the conflict reported), so input order never matters.
//
// `explain` is what `/v1/dataplane/policy` serves: per local endpoint the policies that select it
// in each direction and its chains, per policy its chains and the local pods it selects, and every
// problem found in the input (field paths, FELIX_ERR_INVALID_POLICY).
import type { WorkloadEndpoint } from '../model/endpoints.ts';
import { workloadIfaceName } from '../model/endpoints.ts';
import type { IpSet } from '../model/ipsets.ts';
import { canonicalMember, normalizeIpSets } from '../model/ipsets.ts';
import type { Chain, IpFamily, IptablesDesired, TableState } from '../model/iptables.ts';
import { canonicalJson, IP_FAMILIES, normalizeTables } from '../model/iptables.ts';
import type { NetworkPolicy, PolicyInput, PolicyNamespace, PolicyPod, PolicyType } from '../model/policy.ts';
import {
  endpointChainName,
  type NamespacePolicyState,
  renderEndpointChains,
  renderStaticChains,
} from './endpoint-chains.ts';
import { LabelIndex } from './label-index.ts';
import type { Direction } from './policy-chains.ts';
import { policyChainName, renderNamespaceChain, renderPolicyChain } from './policy-chains.ts';
import type { NormPolicy, PolicyProblem } from './policy-normalize.ts';
import { normalizePolicy, protocolOf } from './policy-normalize.ts';
import type { PolicyWorld, ResolvedPod, ResolvedPort } from './policy-sets.ts';
import { namespaceLabels, SetRegistry } from './policy-sets.ts';

export interface EndpointPolicies {
  /** A policy of this direction selects the endpoint: only what one of them allows passes. */
  readonly isolated: boolean;
  /** `namespace/name` of every policy of this direction that selects it, sorted. */
  readonly policies: readonly string[];
}

export interface EndpointExplain {
  readonly endpoint: string;
  readonly ifaceName: string;
  readonly ipv4: readonly string[];
  readonly ipv6: readonly string[];
  readonly ingress: EndpointPolicies;
  readonly egress: EndpointPolicies;
  readonly chains: { readonly toWorkload: string; readonly fromWorkload: string };
}

export interface PolicyExplainEntry {
  readonly policy: string;
  readonly policyTypes: readonly PolicyType[];
  readonly chains: { readonly ingress?: string; readonly egress?: string };
  /** Local endpoints the policy selects. */
  readonly selects: readonly string[];
}

export interface PolicyExplain {
  readonly nodeName: string;
  readonly endpoints: readonly EndpointExplain[];
  readonly policies: readonly PolicyExplainEntry[];
  readonly problems: readonly PolicyProblem[];
}

export interface PolicyRender {
  readonly iptables: IptablesDesired;
  readonly ipsets: readonly IpSet[];
  readonly explain: PolicyExplain;
}

/** The resolved state a render works on (built from a PolicyInput, or kept by PolicyStore). */
export interface ResolvedState {
  readonly world: PolicyWorld;
  /** Valid policies, any order. */
  readonly policies: readonly NormPolicy[];
  /** Problems found while resolving pods, namespaces and policies. */
  readonly problems: readonly PolicyProblem[];
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function problemOf(object: string, field: string, message: string): PolicyProblem {
  return { code: 'FELIX_ERR_INVALID_POLICY', object, field, message };
}

/** Validates a pod: bad addresses and ports are left out (and reported), never guessed. */
export function resolvePod(
  pod: PolicyPod,
  nodeName: string,
): { pod: ResolvedPod; problems: PolicyProblem[] } {
  const id = `${pod.namespace}/${pod.name}`;
  const problems: PolicyProblem[] = [];
  const addresses = (list: readonly string[] | undefined, family: IpFamily, field: string): string[] => {
    const out: string[] = [];
    (list ?? []).forEach((a, i) => {
      try {
        out.push(canonicalMember('hash:ip', family, a));
      } catch {
        problems.push(
          problemOf(
            id,
            `${field}[${i}]`,
            `${JSON.stringify(a)} is not an ${family === 'inet' ? 'IPv4' : 'IPv6'} address; ignored`,
          ),
        );
      }
    });
    return [...new Set(out)].sort(cmp);
  };
  const ipv4 = addresses(pod.ipv4, 'inet', 'ipv4');
  const ipv6 = addresses(pod.ipv6, 'inet6', 'ipv6');
  const ports: ResolvedPort[] = [];
  (pod.ports ?? []).forEach((p, i) => {
    const protocol = protocolOf(p.protocol);
    if (
      protocol === undefined ||
      !Number.isInteger(p.containerPort) ||
      p.containerPort < 1 ||
      p.containerPort > 65535
    ) {
      problems.push(problemOf(id, `ports[${i}]`, `invalid container port ${JSON.stringify(p)}; ignored`));
      return;
    }
    ports.push({ name: p.name === '' ? undefined : p.name, port: p.containerPort, protocol });
  });
  ports.sort((a, b) => cmp(a.name ?? '', b.name ?? '') || a.port - b.port || cmp(a.protocol, b.protocol));
  const endpoint: WorkloadEndpoint | undefined =
    pod.nodeName !== undefined && pod.nodeName === nodeName
      ? {
          id,
          namespace: pod.namespace,
          name: pod.name,
          ifaceName: pod.ifaceName ?? workloadIfaceName(pod.namespace, pod.name),
          ipv4,
          ipv6,
        }
      : undefined;
  return {
    pod: {
      id,
      namespace: pod.namespace,
      name: pod.name,
      labels: { ...(pod.labels ?? {}) },
      ipv4,
      ipv6,
      ports,
      endpoint,
    },
    problems,
  };
}

/**
 * One record per identity: identical duplicates collapse; of conflicting ones the greatest
 * canonical JSON wins (so the choice does not depend on order) and the conflict is reported.
 */
export function dedupe<T>(
  items: readonly T[],
  idOf: (t: T) => string,
  problems: PolicyProblem[],
  what: string,
): T[] {
  const by = new Map<string, { item: T; json: string; conflict: boolean }>();
  for (const item of items) {
    const id = idOf(item);
    const json = canonicalJson(item);
    const prev = by.get(id);
    if (prev === undefined) by.set(id, { item, json, conflict: false });
    else if (prev.json !== json)
      by.set(id, json > prev.json ? { item, json, conflict: true } : { ...prev, conflict: true });
  }
  const out: T[] = [];
  for (const [id, e] of [...by.entries()].sort((a, b) => cmp(a[0], b[0]))) {
    if (e.conflict)
      problems.push(problemOf(id, what, `given more than once with different content; one was chosen`));
    out.push(e.item);
  }
  return out;
}

/** Builds the resolved state of a whole input (a fresh label index). */
export function resolveInput(input: PolicyInput): ResolvedState {
  const problems: PolicyProblem[] = [];
  const pods = new Map<string, ResolvedPod>();
  const index = new LabelIndex();
  for (const raw of dedupe(input.pods, (p) => `${p.namespace}/${p.name}`, problems, 'pod')) {
    const r = resolvePod(raw, input.nodeName);
    problems.push(...r.problems);
    pods.set(r.pod.id, r.pod);
    index.set({ id: r.pod.id, namespace: r.pod.namespace, labels: r.pod.labels });
  }
  const namespaces = new Map<string, Readonly<Record<string, string>>>();
  for (const ns of dedupe<PolicyNamespace>(input.namespaces, (n) => n.name, problems, 'namespace')) {
    namespaces.set(ns.name, namespaceLabels(ns.name, ns.labels));
  }
  for (const pod of pods.values())
    if (!namespaces.has(pod.namespace)) namespaces.set(pod.namespace, namespaceLabels(pod.namespace, {}));
  const policies: NormPolicy[] = [];
  for (const p of dedupe<NetworkPolicy>(
    input.policies,
    (x) => `${x.namespace}/${x.name}`,
    problems,
    'policy',
  )) {
    const r = normalizePolicy(p);
    problems.push(...r.problems);
    if (r.policy !== undefined) policies.push(r.policy);
  }
  return { world: { nodeName: input.nodeName, pods, namespaces, index }, policies, problems };
}

function hasType(p: NormPolicy, d: Direction): boolean {
  return p.policyTypes.includes(d === 'ingress' ? 'Ingress' : 'Egress');
}

/** Renders a resolved state (PolicyStore keeps one up to date incrementally). */
export function renderResolved(state: ResolvedState): PolicyRender {
  const { world } = state;
  const sets = new SetRegistry(world);
  const policies = [...state.policies].sort((a, b) => cmp(a.id, b.id));
  const byNamespace = new Map<string, NormPolicy[]>();
  for (const p of policies) {
    const list = byNamespace.get(p.namespace) ?? [];
    list.push(p);
    byNamespace.set(p.namespace, list);
  }
  const endpoints = [...world.pods.values()]
    .map((p) => p.endpoint)
    .filter((e): e is WorkloadEndpoint => e !== undefined)
    .sort((a, b) => cmp(a.id, b.id));

  const tables = {} as Record<IpFamily, TableState[]>;
  for (const family of IP_FAMILIES) {
    const chains: Chain[] = [];
    for (const p of policies) {
      for (const d of ['ingress', 'egress'] as const)
        if (hasType(p, d)) chains.push(renderPolicyChain(p, d, family, sets));
    }
    const nsState = new Map<string, NamespacePolicyState>();
    for (const [ns, list] of byNamespace) {
      const iso: Partial<Record<Direction, string>> = {};
      for (const d of ['ingress', 'egress'] as const) {
        const of = list.filter((p) => hasType(p, d));
        if (of.length === 0) continue;
        chains.push(renderNamespaceChain(ns, of, d, family, sets));
        iso[d] = sets.union(
          `namespace ${ns} ${d} policies`,
          of.map((p) => p.target),
          family,
        );
      }
      nsState.set(ns, {
        hasIngress: iso.ingress !== undefined,
        hasEgress: iso.egress !== undefined,
        isoIngress: iso.ingress,
        isoEgress: iso.egress,
      });
    }
    const open: NamespacePolicyState = {
      hasIngress: false,
      hasEgress: false,
      isoIngress: undefined,
      isoEgress: undefined,
    };
    for (const ep of endpoints)
      chains.push(...renderEndpointChains(ep, family, nsState.get(ep.namespace) ?? open));
    const fixed = renderStaticChains(endpoints, family);
    chains.push(...fixed.chains);
    tables[family] = normalizeTables([{ table: 'filter', chains, jumps: fixed.jumps }]);
  }

  const selects = new Map<string, readonly string[]>();
  const selectedBy = new Map<string, Record<Direction, string[]>>();
  for (const p of policies) {
    const ids = sets.podsOf(p.target, 'local');
    selects.set(p.id, ids);
    for (const id of ids) {
      let e = selectedBy.get(id);
      if (e === undefined) {
        e = { ingress: [], egress: [] };
        selectedBy.set(id, e);
      }
      for (const d of ['ingress', 'egress'] as const) if (hasType(p, d)) e[d].push(p.id);
    }
  }
  const explainEndpoints: EndpointExplain[] = endpoints.map((ep) => {
    const of = (d: Direction): EndpointPolicies => {
      const list = selectedBy.get(ep.id)?.[d] ?? [];
      return { isolated: list.length > 0, policies: list };
    };
    return {
      endpoint: ep.id,
      ifaceName: ep.ifaceName,
      ipv4: ep.ipv4,
      ipv6: ep.ipv6,
      ingress: of('ingress'),
      egress: of('egress'),
      chains: {
        toWorkload: endpointChainName(ep.id, 'ingress'),
        fromWorkload: endpointChainName(ep.id, 'egress'),
      },
    };
  });
  const explainPolicies: PolicyExplainEntry[] = policies.map((p) => ({
    policy: p.id,
    policyTypes: p.policyTypes,
    chains: {
      ...(hasType(p, 'ingress') ? { ingress: policyChainName(p.id, 'ingress') } : {}),
      ...(hasType(p, 'egress') ? { egress: policyChainName(p.id, 'egress') } : {}),
    },
    selects: selects.get(p.id)!,
  }));
  const problems = [...state.problems].sort(
    (a, b) => cmp(a.object, b.object) || cmp(a.field, b.field) || cmp(a.message, b.message),
  );
  return {
    iptables: { inet: tables.inet, inet6: tables.inet6 },
    ipsets: normalizeIpSets(sets.sets()),
    explain: { nodeName: world.nodeName, endpoints: explainEndpoints, policies: explainPolicies, problems },
  };
}

/** The policy dataplane of `input.nodeName`: desired iptables per family, ipsets, explanation. */
export function renderPolicy(input: PolicyInput): PolicyRender {
  return renderResolved(resolveInput(input));
}
