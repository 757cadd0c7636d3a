// The NetworkPolicy dataplane of one node as a pure function of the cluster's pods, namespaces and
// policies: `renderPolicy(input) → { iptables, ipsets, explain }` (Felix felix/calc + felix/rules).
//
// Only what applies to this node is rendered (Felix programs only active policies): a policy is
// ACTIVE when its podSelector selects at least one local pod (a pod whose nodeName is this node),
// and a family is IN USE when a local pod has an address of it. In each family in use:
// - per active policy and direction one chain (mgy-pi-/mgy-po-);
// - per namespace with active policies and direction a dispatch chain (mgy-nsi-/mgy-nse-) over
//   them;
// - per local pod a to-workload and a from-workload chain (mgy-tw-/mgy-fw-), dispatched by
//   interface from mgy-FORWARD / mgy-INPUT;
// - the ipsets those rules name: peers, targets, isolation sets, named ports, except lists. Peers
//   stay cluster-wide: the set of an active policy's peer holds the matching pods of every node.
// A family not in use gets the fixed chains only (endpoint-chains.ts). Which chains exist depends
// on the policies and on which local pods they select; any other label change (of a remote pod, of
// a namespace, of a local pod that keeps its policies) and container ports only decide set members.
//
// This is the renderer from scratch, the reference: PolicyStore (policy-store.ts) renders the same
// incrementally, event by event.
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
import { canonicalMember } from '../model/ipsets.ts';
import type { Chain, InetFamily, IptablesDesired, TableState } from '../model/iptables.ts';
import { canonicalJson, INET_FAMILIES, normalizeTables } from '../model/iptables.ts';
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
  /** Its chains (in every family of PolicyExplain.families); none when it selects no local pod. */
  readonly chains: { readonly ingress?: string; readonly egress?: string };
  /** Local endpoints the policy selects. */
  readonly selects: readonly string[];
}

export interface PolicyExplain {
  readonly nodeName: string;
  /**
   * The families in use (a local endpoint has an address of it): endpoint, namespace and policy
   * chains exist in these only; in any other family every workload packet is dropped at dispatch.
   */
  readonly families: readonly InetFamily[];
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

/** A namespace without a policy of either direction: its endpoints are open. */
export const OPEN_NAMESPACE: NamespacePolicyState = {
  hasIngress: false,
  hasEgress: false,
  isoIngress: undefined,
  isoEgress: undefined,
};

function problemOf(object: string, field: string, message: string): PolicyProblem {
  return { code: 'FELIX_ERR_INVALID_POLICY', object, field, message };
}

// Shared by every resolved pod that has none: a cluster holds one of each pod's lists, not two.
const NO_ADDRESSES: readonly string[] = Object.freeze([]);
const NO_PORTS: readonly ResolvedPort[] = Object.freeze([]);

/**
 * Resolved port lists by content. The pods of one workload declare the same ports, so one frozen
 * list serves all of them instead of a list and its port objects held per pod (at tens of
 * thousands of pods, fewer objects for every major collection to mark). Cleared when it reaches
 * PORT_LISTS_MAX distinct lists, so that a cluster of ever-changing ports cannot grow it.
 */
const portLists = new Map<string, readonly ResolvedPort[]>();
const PORT_LISTS_MAX = 4096;

function sharedPorts(ports: ResolvedPort[]): readonly ResolvedPort[] {
  if (ports.length === 0) return NO_PORTS;
  let key = '';
  for (const p of ports) key += `${p.name ?? ''}\0${p.port}\0${p.protocol}\0`;
  const have = portLists.get(key);
  if (have !== undefined) return have;
  if (portLists.size >= PORT_LISTS_MAX) portLists.clear();
  const list = Object.freeze(ports.map((p) => Object.freeze(p)));
  portLists.set(key, list);
  return list;
}
const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});
const NO_PROBLEMS: readonly PolicyProblem[] = Object.freeze([]);

/**
 * Validates a pod: bad addresses and ports are left out (and reported), never guessed. The
 * resolved pod shares what it keeps unchanged with the one given (its labels, a list of
 * addresses already canonical and sorted), which must not change afterwards.
 */
export function resolvePod(
  pod: PolicyPod,
  nodeName: string,
): { pod: ResolvedPod; problems: readonly PolicyProblem[] } {
  // A flat string: a template literal makes a cons string, which the maps keyed by it flatten
  // into a second string, two objects per pod for as long as the pod lives.
  const id = [pod.namespace, pod.name].join('/');
  const problems: PolicyProblem[] = [];
  const addresses = (
    list: readonly string[] | undefined,
    family: InetFamily,
    field: string,
  ): readonly string[] => {
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
    const sorted = [...new Set(out)].sort(cmp);
    if (sorted.length === 0) return NO_ADDRESSES;
    return list !== undefined && sorted.length === list.length && sorted.every((a, i) => a === list[i])
      ? list
      : sorted;
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
      labels: pod.labels ?? NO_LABELS,
      ipv4,
      ipv6,
      ports: sharedPorts(ports),
      endpoint,
    },
    problems: problems.length === 0 ? NO_PROBLEMS : problems,
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

export function hasType(p: NormPolicy, d: Direction): boolean {
  return p.policyTypes.includes(d === 'ingress' ? 'Ingress' : 'Egress');
}

export const DIRECTIONS: readonly Direction[] = ['ingress', 'egress'];

/** The families some local endpoint has an address of (see endpoint-chains.ts). */
export function familiesInUse(endpoints: Iterable<WorkloadEndpoint>): InetFamily[] {
  let v4 = false;
  let v6 = false;
  for (const ep of endpoints) {
    v4 ||= ep.ipv4.length > 0;
    v6 ||= ep.ipv6.length > 0;
  }
  return INET_FAMILIES.filter((f) => (f === 'inet' ? v4 : v6));
}

/** A policy's explanation entry: its chains exist when it selects a local pod, in every family in use. */
export function policyExplainEntry(
  p: NormPolicy,
  selects: readonly string[],
  families: readonly InetFamily[],
): PolicyExplainEntry {
  const programmed = selects.length > 0 && families.length > 0;
  return {
    policy: p.id,
    policyTypes: p.policyTypes,
    chains: {
      ...(programmed && hasType(p, 'ingress') ? { ingress: policyChainName(p.id, 'ingress') } : {}),
      ...(programmed && hasType(p, 'egress') ? { egress: policyChainName(p.id, 'egress') } : {}),
    },
    selects,
  };
}

/** A local endpoint's explanation entry, given the policies selecting it per direction (sorted). */
export function endpointExplainEntry(
  ep: WorkloadEndpoint,
  ingress: readonly string[],
  egress: readonly string[],
): EndpointExplain {
  return {
    endpoint: ep.id,
    ifaceName: ep.ifaceName,
    ipv4: ep.ipv4,
    ipv6: ep.ipv6,
    ingress: { isolated: ingress.length > 0, policies: ingress },
    egress: { isolated: egress.length > 0, policies: egress },
    chains: {
      toWorkload: endpointChainName(ep.id, 'ingress'),
      fromWorkload: endpointChainName(ep.id, 'egress'),
    },
  };
}

export function sortProblems(problems: readonly PolicyProblem[]): PolicyProblem[] {
  return [...problems].sort(
    (a, b) => cmp(a.object, b.object) || cmp(a.field, b.field) || cmp(a.message, b.message),
  );
}

/** Renders a resolved state from scratch: the reference PolicyStore's incremental render equals. */
export function renderResolved(state: ResolvedState): PolicyRender {
  const { world } = state;
  const sets = new SetRegistry(world);
  const policies = [...state.policies].sort((a, b) => cmp(a.id, b.id));
  const endpoints = [...world.pods.values()]
    .map((p) => p.endpoint)
    .filter((e): e is WorkloadEndpoint => e !== undefined)
    .sort((a, b) => cmp(a.id, b.id));
  const families = familiesInUse(endpoints);
  // Active policies: those that select at least one local pod. No other policy gets a chain.
  const active = policies.filter((p) => sets.podsOf(p.target, 'local').length > 0);
  const byNamespace = new Map<string, NormPolicy[]>();
  for (const p of active) {
    const list = byNamespace.get(p.namespace) ?? [];
    list.push(p);
    byNamespace.set(p.namespace, list);
  }

  const tables = {} as Record<InetFamily, TableState[]>;
  for (const family of INET_FAMILIES) {
    const inUse = families.includes(family);
    const chains: Chain[] = [];
    if (inUse) {
      for (const p of active) {
        for (const d of DIRECTIONS) if (hasType(p, d)) chains.push(renderPolicyChain(p, d, family, sets));
      }
      const nsState = new Map<string, NamespacePolicyState>();
      for (const [ns, list] of byNamespace) {
        const iso: Partial<Record<Direction, string>> = {};
        for (const d of DIRECTIONS) {
          const of = list.filter((p) => hasType(p, d));
          if (of.length === 0) continue;
          chains.push(renderNamespaceChain(ns, of, d, family, sets));
          iso[d] = sets.isolation(
            ns,
            d,
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
      for (const ep of endpoints)
        chains.push(...renderEndpointChains(ep, family, nsState.get(ep.namespace) ?? OPEN_NAMESPACE));
    }
    const fixed = renderStaticChains(endpoints, family, inUse);
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
      for (const d of DIRECTIONS) if (hasType(p, d)) e[d].push(p.id);
    }
  }
  return {
    iptables: { inet: tables.inet, inet6: tables.inet6 },
    ipsets: sets.sets(),
    explain: {
      nodeName: world.nodeName,
      families,
      endpoints: endpoints.map((ep) =>
        endpointExplainEntry(ep, selectedBy.get(ep.id)?.ingress ?? [], selectedBy.get(ep.id)?.egress ?? []),
      ),
      policies: policies.map((p) => policyExplainEntry(p, selects.get(p.id)!, families)),
      problems: sortProblems(state.problems),
    },
  };
}

/** The policy dataplane of `input.nodeName`: desired iptables per family, ipsets, explanation. */
export function renderPolicy(input: PolicyInput): PolicyRender {
  return renderResolved(resolveInput(input));
}
