// The event-driven policy calculation (Felix's calc graph, reduced): datastore updates and
// deletions of pods, namespaces and policies go in one at a time; `render()` gives this node's
// policy dataplane. Each event costs what it touches, not the size of the cluster:
// - every object is validated once, when it arrives (pods resolved, policies normalized);
// - a pod set (a selector in a namespace, or in the namespaces a namespace selector picks) that a
//   rendered rule uses keeps its member pods; a pod event checks only the pod sets of its
//   namespace and those whose namespace selector picks its namespace, and moves the pod's
//   addresses (and named ports) in and out of the ipsets built on them;
// - every policy keeps the LOCAL pods its podSelector selects. A policy that selects at least one
//   is active; only active policies are rendered (their chains, their namespace's dispatch chain,
//   the sets their rules name), as Felix programs only active policies;
// - chains are re-rendered only for what an event marked: a policy change its own chains and its
//   namespace's dispatch chain, a local pod its endpoint chains (and, when policies become active
//   or inactive, its namespace's), a namespace label change nothing but set members;
// - families: only a family a local endpoint has an address of gets endpoint, namespace and policy
//   chains and sets (endpoint-chains.ts says what happens to the others).
//
// Contract of `render()` (test/property/policy-order.test.ts checks both halves):
// - its content depends only on the final set of objects — whatever order, duplication or
//   interleaving of updates and deletions built it — and equals `renderPolicy(store.input())`,
//   the renderer from scratch in render-policy.ts;
// - everything that did not change since the previous `render()` is the SAME object: each Chain,
//   each IpSet, each family's TableState list (when none of its chains changed), the `iptables`
//   object (when neither family changed), the `ipsets` array (when no set changed) and the
//   `explain` object. A chain or set rendered again with the same content keeps its old object. So
//   the Dataplane checks and diffs by identity, and `changed` says which of the three parts are new
//   objects since the previous render (all of them on the first).
//
// Slicing: `apply()` does the bookkeeping of one event only; building chains and set members is
// left to `render()`, so a caller loading many objects applies them in chunks (yielding between
// chunks). The first render of a large cluster fills every set at once; `prepare(budgetMs)` does
// that work in pieces between yields, and `render()` then only assembles.
//
// A cluster-wide set that no rule names any more (its last policy became inactive) is kept up to
// date for a while (`retain`), so a policy that becomes active again — a local pod's label going
// back and forth — does not pay for filling it from the whole cluster again. It is not rendered
// meanwhile.
import type { WorkloadEndpoint } from '../model/endpoints.ts';
import type { IpSet } from '../model/ipsets.ts';
import type { Action, Chain, InetFamily, Jump, TableState } from '../model/iptables.ts';
import { canonicalJson, INET_FAMILIES } from '../model/iptables.ts';
import type { NetworkPolicy, PolicyInput, PolicyNamespace, PolicyPod } from '../model/policy.ts';
import { renderEndpointChains, renderStaticChains } from './endpoint-chains.ts';
import { LabelIndex } from './label-index.ts';
import { MemberSet } from './member-set.ts';
import type { Direction } from './policy-chains.ts';
import { renderNamespaceChain, renderPolicyChain } from './policy-chains.ts';
import type { IptProtocol, NormPolicy, PodSetSpec, PolicyProblem } from './policy-normalize.ts';
import { normalizePolicy } from './policy-normalize.ts';
import type { ResolvedPod, SetIdentity, SetNamer, SetScope } from './policy-sets.ts';
import {
  isolationSet,
  namedPortMembers,
  namedPortSet,
  namespaceLabels,
  netsSet,
  podAddresses,
  podIpsSet,
} from './policy-sets.ts';
import type { EndpointExplain, PolicyExplain, PolicyExplainEntry, PolicyRender } from './render-policy.ts';
import {
  DIRECTIONS,
  endpointExplainEntry,
  hasType,
  OPEN_NAMESPACE,
  policyExplainEntry,
  resolvePod,
  sortProblems,
} from './render-policy.ts';
import { selectorMatches } from './selector.ts';

export type PolicyEvent =
  | { readonly type: 'podUpdated'; readonly pod: PolicyPod }
  | { readonly type: 'podDeleted'; readonly namespace: string; readonly name: string }
  | { readonly type: 'namespaceUpdated'; readonly namespace: PolicyNamespace }
  | { readonly type: 'namespaceDeleted'; readonly name: string }
  | { readonly type: 'policyUpdated'; readonly policy: NetworkPolicy }
  | { readonly type: 'policyDeleted'; readonly namespace: string; readonly name: string };

/** A render, and which of its parts are new objects since the previous render. */
export interface PolicyStoreRender extends PolicyRender {
  readonly changed: { readonly iptables: boolean; readonly ipsets: boolean; readonly explain: boolean };
}

/** The pods of one PodSetSpec (only this node's for scope `local`), and the sets built on them. */
class PodSet {
  readonly key: string;
  readonly spec: PodSetSpec;
  readonly scope: SetScope;
  readonly members = new Set<string>();
  /** Sets whose members are derived from each member pod. */
  readonly derived: Derived[] = [];
  /** Policies whose target this is (scope `local`). */
  readonly targetOf = new Set<PolicyRec>();
  /** Policies (as targets) plus derived sets. */
  holders = 0;
  /** Pods still to check while the set is filled in pieces (cluster scope, see #work). */
  fill: Iterator<string> | undefined;

  constructor(spec: PodSetSpec, scope: SetScope) {
    this.key = `${scope}|${spec.key}`;
    this.spec = spec;
    this.scope = scope;
  }
}

interface Derived {
  readonly set: MemberSet;
  readonly contribution: (pod: ResolvedPod) => readonly string[];
  /** Member pods whose contribution is not in the set yet (filled in pieces, see #work). */
  todo: Set<string> | undefined;
}

interface PodRec {
  /** The latest version given (an update that changes nothing else replaces only this). */
  raw: PolicyPod;
  readonly pod: ResolvedPod;
  readonly problems: readonly PolicyProblem[];
}

interface PolicyRec {
  readonly id: string;
  readonly namespace: string;
  readonly raw: NetworkPolicy;
  readonly rawJson: string;
  readonly policy: NormPolicy | undefined;
  readonly problems: readonly PolicyProblem[];
  /** Its podSelector over this node's pods (valid policies only). */
  readonly target: PodSet | undefined;
  /** Its explanation entry; undefined when it must be computed again. */
  explain: PolicyExplainEntry | undefined;
}

/** What a rendered rule asked for; the store keeps the set while a chain refers to it. */
type SetRequest =
  | {
      readonly kind: 'pods';
      readonly id: SetIdentity;
      readonly spec: PodSetSpec;
      readonly scope: SetScope;
      readonly contribution: (pod: ResolvedPod) => readonly string[];
    }
  | { readonly kind: 'nets'; readonly id: SetIdentity; readonly members: readonly string[] }
  | {
      readonly kind: 'iso';
      readonly id: SetIdentity;
      readonly namespace: string;
      readonly direction: Direction;
    };

interface StoredSet {
  readonly members: MemberSet;
  readonly request: SetRequest;
  podSet: PodSet | undefined;
  derived: Derived | undefined;
  refs: number;
}

interface ChainRec {
  readonly chain: Chain;
  readonly sets: readonly SetRequest[];
}

interface FamilyState {
  /** Keyed `<id>\0<direction>`: policy id, namespace name, endpoint (pod) id. */
  readonly policies: Map<string, ChainRec>;
  readonly namespaces: Map<string, ChainRec>;
  readonly endpoints: Map<string, ChainRec>;
  fixed: { readonly chains: readonly Chain[]; readonly jumps: readonly Jump[] } | undefined;
  /**
   * Chains replaced or removed since the last render, by name: one rendered again with the same
   * content before the next render gets its old object back.
   */
  readonly replaced: Map<string, Chain>;
  changed: boolean;
  table: readonly TableState[];
}

/** Records the sets a chain renderer names. */
class RecordingNamer implements SetNamer {
  readonly requests: SetRequest[] = [];

  podIps(spec: PodSetSpec, scope: SetScope, family: InetFamily): string {
    const id = podIpsSet(spec, scope, family);
    this.requests.push({ kind: 'pods', id, spec, scope, contribution: (p) => podAddresses(p, family) });
    return id.name;
  }

  namedPort(
    spec: PodSetSpec,
    scope: SetScope,
    name: string,
    protocol: IptProtocol,
    family: InetFamily,
  ): string {
    const id = namedPortSet(spec, scope, name, protocol, family);
    this.requests.push({
      kind: 'pods',
      id,
      spec,
      scope,
      contribution: (p) => namedPortMembers(p, name, protocol, family),
    });
    return id.name;
  }

  nets(members: readonly string[], family: InetFamily): string {
    const id = netsSet(members, family);
    this.requests.push({ kind: 'nets', id, members });
    return id.name;
  }

  isolation(namespace: string, direction: Direction, family: InetFamily): string {
    const id = isolationSet(namespace, direction, family);
    this.requests.push({ kind: 'iso', id, namespace, direction });
    return id.name;
  }
}

/** How many cluster-wide sets, and members in all, are kept by default after no chain names them. */
const RETAINED_SETS = 64;
const RETAINED_MEMBERS = 100_000;
/** Pods checked or added per piece of work when a cluster-wide set is filled. */
const SLICE = 1000;

export interface PolicyStoreOptions {
  /** This node: its pods are the endpoints. */
  readonly nodeName: string;
  /** Released cluster-wide sets kept up to date for reuse (default 64 sets, 100,000 members). */
  readonly retain?: { readonly sets: number; readonly members: number };
  /** Pods per piece of work when a set is filled from the cluster (default 1,000). */
  readonly slice?: number;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const NO_SETS: ReadonlySet<PodSet> = new Set();

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameList<T>(a: readonly T[], b: readonly T[], same: (x: T, y: T) => boolean): boolean {
  return a.length === b.length && a.every((x, i) => same(x, b[i]!));
}

function sameAction(a: Action, b: Action): boolean {
  if (a.type !== b.type) return false;
  const x = a as Readonly<Record<string, unknown>>;
  const y = b as Readonly<Record<string, unknown>>;
  const keys = Object.keys(x);
  return keys.length === Object.keys(y).length && keys.every((k) => x[k] === y[k]);
}

function sameChain(a: Chain, b: Chain): boolean {
  if (a.name !== b.name || a.rules.length !== b.rules.length) return false;
  for (let i = 0; i < a.rules.length; i++) {
    const x = a.rules[i]!;
    const y = b.rules[i]!;
    if (x.comment !== y.comment || !sameStrings(x.match, y.match)) return false;
    if (!sameAction(x.action, y.action)) return false;
  }
  return true;
}

/** What a pod gives the sets it is in: its addresses and container ports. */
function sameContribution(a: ResolvedPod, b: ResolvedPod): boolean {
  if (!sameStrings(a.ipv4, b.ipv4) || !sameStrings(a.ipv6, b.ipv6) || a.ports.length !== b.ports.length)
    return false;
  return a.ports.every((p, i) => {
    const q = b.ports[i]!;
    return p.name === q.name && p.port === q.port && p.protocol === q.protocol;
  });
}

function sameEndpoint(a: WorkloadEndpoint | undefined, b: WorkloadEndpoint | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.ifaceName === b.ifaceName && sameStrings(a.ipv4, b.ipv4) && sameStrings(a.ipv6, b.ipv6);
}

function sameProblems(a: readonly PolicyProblem[], b: readonly PolicyProblem[]): boolean {
  return sameList(a, b, (x, y) => x.object === y.object && x.field === y.field && x.message === y.message);
}

/** The pod as the calculation sees it is the same: labels, addresses, ports, endpoint, problems. */
function samePod(old: PodRec, pod: ResolvedPod, problems: readonly PolicyProblem[]): boolean {
  return (
    sameLabels(old.pod.labels, pod.labels) &&
    sameContribution(old.pod, pod) &&
    sameEndpoint(old.pod.endpoint, pod.endpoint) &&
    sameProblems(old.problems, problems)
  );
}

function sameEndpointExplain(a: EndpointExplain, b: EndpointExplain): boolean {
  return (
    a.endpoint === b.endpoint &&
    a.ifaceName === b.ifaceName &&
    sameStrings(a.ipv4, b.ipv4) &&
    sameStrings(a.ipv6, b.ipv6) &&
    sameStrings(a.ingress.policies, b.ingress.policies) &&
    sameStrings(a.egress.policies, b.egress.policies)
  );
}

function samePolicyExplain(a: PolicyExplainEntry, b: PolicyExplainEntry): boolean {
  return (
    a.policy === b.policy &&
    sameStrings(a.policyTypes, b.policyTypes) &&
    a.chains.ingress === b.chains.ingress &&
    a.chains.egress === b.chains.egress &&
    sameStrings(a.selects, b.selects)
  );
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

export class PolicyStore {
  readonly nodeName: string;
  readonly #pods = new Map<string, PodRec>();
  readonly #index = new LabelIndex();
  readonly #namespaces = new Map<string, PolicyNamespace>();
  readonly #nsLabels = new Map<string, Readonly<Record<string, string>>>();
  readonly #policies = new Map<string, PolicyRec>();
  /** Valid policies per namespace. */
  readonly #policiesByNs = new Map<string, Set<PolicyRec>>();

  // Pod sets in use, by key; those of one namespace (by name) and those with a namespace selector.
  readonly #podSets = new Map<string, PodSet>();
  readonly #podSetsByNs = new Map<string, Set<PodSet>>();
  readonly #podSetsBySelector = new Set<PodSet>();
  /** Per namespace, the namespace-selector pod sets that pick it (filled on demand). */
  readonly #selectorPodSetsOf = new Map<string, Set<PodSet>>();

  // This node's pods (and their endpoints by id, undefined after one came, went or changed).
  readonly #local = new Set<string>();
  #localSorted: readonly WorkloadEndpoint[] | undefined;
  readonly #localByNs = new Map<string, Set<string>>();
  readonly #familyCount: Record<InetFamily, number> = { inet: 0, inet6: 0 };

  readonly #sets = new Map<string, StoredSet>();
  readonly #touchedSets = new Set<MemberSet>();
  /** Cluster-wide sets no chain names any more, least recently released first (see #retire). */
  readonly #retired = new Map<string, StoredSet>();
  /** Pod sets being filled, and sets catching up with their pod set's members (see #work). */
  readonly #filling = new Set<PodSet>();
  readonly #catchingUp = new Set<Derived>();
  /** The last output of sets dropped since the last render (see MemberSet's `previous`). */
  readonly #destroyedSets = new Map<string, IpSet>();
  #setListChanged = true;
  #setsChanged = false;

  readonly #family: Record<InetFamily, FamilyState> = {
    inet: {
      policies: new Map(),
      namespaces: new Map(),
      endpoints: new Map(),
      fixed: undefined,
      replaced: new Map(),
      changed: true,
      table: [],
    },
    inet6: {
      policies: new Map(),
      namespaces: new Map(),
      endpoints: new Map(),
      fixed: undefined,
      replaced: new Map(),
      changed: true,
      table: [],
    },
  };
  #families: readonly InetFamily[] = [];

  // What the next render must redo.
  readonly #dirtyPolicies = new Set<string>();
  readonly #dirtyNamespaces = new Set<string>();
  readonly #dirtyEndpoints = new Set<string>();
  readonly #dirtyIsolation = new Set<string>();
  #fixedDirty = true;
  #explainDirty = true;
  #problemsDirty = true;
  /** Ids of the valid policies, sorted (undefined after one came or went). */
  #sortedPolicies: string[] | undefined;

  // The previous render's parts.
  #iptables: PolicyRender['iptables'] | undefined;
  #ipsets: readonly IpSet[] | undefined;
  #explain: PolicyExplain | undefined;
  #problems: readonly PolicyProblem[] = [];
  /** Explanation entries of local endpoints, and the endpoints whose entry must be made again. */
  readonly #endpointExplain = new Map<string, EndpointExplain>();
  readonly #dirtyEndpointExplain = new Set<string>();
  readonly #podProblems = new Map<string, readonly PolicyProblem[]>();

  readonly #retain: { readonly sets: number; readonly members: number };
  readonly #slice: number;

  constructor(opts: PolicyStoreOptions) {
    this.nodeName = opts.nodeName;
    this.#retain = opts.retain ?? { sets: RETAINED_SETS, members: RETAINED_MEMBERS };
    this.#slice = opts.slice ?? SLICE;
  }

  apply(event: PolicyEvent): void {
    switch (event.type) {
      case 'podUpdated':
        this.#podUpdated(event.pod);
        return;
      case 'podDeleted':
        this.#podDeleted(`${event.namespace}/${event.name}`);
        return;
      case 'namespaceUpdated':
        this.#namespaceChanged(event.namespace.name, event.namespace);
        return;
      case 'namespaceDeleted':
        this.#namespaceChanged(event.name, undefined);
        return;
      case 'policyUpdated':
        this.#policyUpdated(event.policy);
        return;
      case 'policyDeleted':
        this.#policyDeleted(`${event.namespace}/${event.name}`);
        return;
    }
  }

  /** The current objects as a PolicyInput (sorted by identity). */
  input(): PolicyInput {
    const sorted = <T>(m: ReadonlyMap<string, T>): T[] =>
      [...m.entries()].sort((a, b) => cmp(a[0], b[0])).map(([, v]) => v);
    return {
      nodeName: this.nodeName,
      namespaces: sorted(this.#namespaces),
      pods: sorted(this.#pods).map((e) => e.raw),
      policies: sorted(this.#policies).map((e) => e.raw),
    };
  }

  render(): PolicyStoreRender {
    this.#work(Number.POSITIVE_INFINITY);
    for (const f of INET_FAMILIES) this.#family[f].replaced.clear();
    this.#destroyedSets.clear();
    const prev = { iptables: this.#iptables, ipsets: this.#ipsets, explain: this.#explain };
    const iptables = this.#renderIptables();
    const ipsets = this.#renderIpsets();
    const explain = this.#renderExplain();
    return {
      iptables,
      ipsets,
      explain,
      changed: {
        iptables: iptables !== prev.iptables,
        ipsets: ipsets !== prev.ipsets,
        explain: explain !== prev.explain,
      },
    };
  }

  /**
   * Does the work the next `render()` would do for about `budgetMs` (at least one piece: the chains
   * of one policy, of one namespace or of one endpoint, or the members of one set); true when
   * nothing is left, and `render()` then only assembles the result. A caller that must not block
   * for long — the first render of a large cluster — calls it between yields until it returns true.
   */
  prepare(budgetMs: number): boolean {
    return this.#work(performance.now() + budgetMs);
  }

  #work(deadline: number): boolean {
    const families = INET_FAMILIES.filter((f) => this.#familyCount[f] > 0);
    if (!sameStrings(families, this.#families)) {
      this.#families = families;
      for (const id of this.#policies.keys()) this.#dirtyPolicies.add(id);
      for (const ns of this.#policiesByNs.keys()) this.#dirtyNamespaces.add(ns);
      for (const id of this.#local) this.#dirtyEndpoints.add(id);
      for (const rec of this.#policies.values()) rec.explain = undefined;
      this.#fixedDirty = true;
      this.#explainDirty = true;
    }
    const more = () => performance.now() < deadline;
    for (const id of this.#dirtyPolicies) {
      this.#dirtyPolicies.delete(id);
      for (const f of INET_FAMILIES) this.#renderPolicy(id, f);
      if (!more()) return false;
    }
    for (const ns of this.#dirtyNamespaces) {
      this.#dirtyNamespaces.delete(ns);
      for (const f of INET_FAMILIES) this.#renderNamespace(ns, f);
      for (const id of this.#localByNs.get(ns) ?? []) this.#dirtyEndpoints.add(id);
      if (!more()) return false;
    }
    for (const id of this.#dirtyEndpoints) {
      this.#dirtyEndpoints.delete(id);
      for (const f of INET_FAMILIES) this.#renderEndpoint(id, f);
      if (!more()) return false;
    }
    if (this.#fixedDirty) for (const f of INET_FAMILIES) this.#renderFixed(f);
    this.#fixedDirty = false;
    // A set filled from the cluster: a piece of at most `slice` pods at a time.
    for (const t of this.#filling) {
      while (t.fill !== undefined) {
        let n = 0;
        for (; n < this.#slice; n++) {
          const next = t.fill.next();
          if (next.done === true) break;
          const id = next.value;
          if (t.members.has(id)) continue;
          const rec = this.#pods.get(id);
          if (rec !== undefined && this.#matches(t, rec.pod, rec.pod.endpoint !== undefined))
            this.#join(t, id, rec.pod);
        }
        if (n < this.#slice) {
          t.fill = undefined;
          this.#filling.delete(t);
        }
        if (!more()) return false;
      }
    }
    for (const d of this.#catchingUp) {
      while (d.todo !== undefined) {
        let n = 0;
        for (const id of d.todo) {
          if (n++ === this.#slice) break;
          d.todo.delete(id);
          for (const m of d.contribution(this.#pods.get(id)!.pod)) d.set.add(m);
        }
        if (d.todo.size === 0) {
          d.todo = undefined;
          this.#catchingUp.delete(d);
        }
        if (!more()) return false;
      }
    }
    for (const ns of this.#dirtyIsolation) {
      this.#dirtyIsolation.delete(ns);
      for (const d of DIRECTIONS)
        for (const f of INET_FAMILIES) {
          const s = this.#sets.get(isolationSet(ns, d, f).name);
          if (s !== undefined) s.members.reset(this.#isolationMembers(ns, d, f));
        }
    }
    this.#retire();
    for (const m of this.#touchedSets) {
      this.#touchedSets.delete(m);
      if (this.#sets.get(m.id.name)?.members !== m) continue; // retired: brought up to date when used again
      const before = m.current;
      if (m.output() !== before) this.#setsChanged = true;
      if (!more()) return this.#touchedSets.size === 0;
    }
    return true;
  }

  // ---- events ----

  #podUpdated(raw: PolicyPod): void {
    const r = resolvePod(raw, this.nodeName);
    const pod = r.pod;
    const id = pod.id;
    const old = this.#pods.get(id);
    if (old !== undefined && samePod(old, pod, r.problems)) {
      old.raw = raw;
      return;
    }
    if (old === undefined || !sameLabels(old.pod.labels, pod.labels)) this.#index.set(pod);
    this.#pods.set(id, { raw, pod, problems: r.problems });
    this.#setPodProblems(id, r.problems);
    const isLocal = pod.endpoint !== undefined;
    const unchanged = old !== undefined && sameContribution(old.pod, pod);
    // Every pod set the pod is or was in is a candidate: its namespace did not change.
    this.#forCandidates(pod.namespace, (t) => {
      const was = old !== undefined && t.members.has(id);
      const is = this.#matches(t, pod, isLocal);
      if (was && !is) this.#leave(t, id, old.pod);
      else if (!was && is) this.#join(t, id, pod);
      else if (was && is && !unchanged) {
        for (const d of t.derived) {
          if (d.todo?.has(id)) continue; // added later, as it is then
          for (const m of d.contribution(old.pod)) d.set.remove(m);
          for (const m of d.contribution(pod)) d.set.add(m);
        }
      }
    });
    const wasLocal = old?.pod.endpoint !== undefined;
    if (wasLocal || isLocal) this.#localChanged(id, pod.namespace, old?.pod.endpoint, pod.endpoint);
  }

  #podDeleted(id: string): void {
    const old = this.#pods.get(id);
    if (old === undefined) return;
    this.#forCandidates(old.pod.namespace, (t) => {
      if (t.members.has(id)) this.#leave(t, id, old.pod);
    });
    this.#index.delete(id);
    this.#pods.delete(id);
    this.#setPodProblems(id, []);
    if (old.pod.endpoint !== undefined)
      this.#localChanged(id, old.pod.namespace, old.pod.endpoint, undefined);
  }

  #namespaceChanged(name: string, ns: PolicyNamespace | undefined): void {
    const before = this.#labelsOf(name);
    if (ns === undefined) this.#namespaces.delete(name);
    else this.#namespaces.set(name, ns);
    this.#nsLabels.delete(name);
    const after = this.#labelsOf(name);
    if (sameLabels(before, after)) return;
    const was = this.#selectorPodSetsOf.get(name) ?? this.#selectorPodSetsFor(before);
    const now = this.#selectorPodSetsFor(after);
    this.#selectorPodSetsOf.set(name, now);
    const inNs = new Set([name]);
    for (const t of now) {
      if (was.has(t)) continue;
      for (const id of this.#index.select(t.spec.pods, inNs)) {
        const rec = this.#pods.get(id)!;
        if (t.members.has(id)) continue; // found by a fill still under way
        if (t.scope === 'cluster' || rec.pod.endpoint !== undefined) this.#join(t, id, rec.pod);
      }
    }
    for (const t of was) {
      if (now.has(t)) continue;
      for (const id of this.#index.select(t.spec.pods, inNs))
        if (t.members.has(id)) this.#leave(t, id, this.#pods.get(id)!.pod);
    }
  }

  #policyUpdated(raw: NetworkPolicy): void {
    const id = `${raw.namespace}/${raw.name}`;
    const rawJson = canonicalJson(raw);
    const old = this.#policies.get(id);
    if (old !== undefined && old.rawJson === rawJson) return; // the same policy again
    if (old !== undefined) this.#dropPolicy(old);
    const r = normalizePolicy(raw);
    const target = r.policy === undefined ? undefined : this.#acquirePodSet(r.policy.target, 'local');
    const rec: PolicyRec = {
      id,
      namespace: raw.namespace,
      raw,
      rawJson,
      policy: r.policy,
      problems: r.problems,
      target,
      explain: undefined,
    };
    this.#policies.set(id, rec);
    if ((old?.policy !== undefined) !== (rec.policy !== undefined)) this.#sortedPolicies = undefined;
    if (target !== undefined) {
      target.targetOf.add(rec);
      let list = this.#policiesByNs.get(rec.namespace);
      if (list === undefined) {
        list = new Set();
        this.#policiesByNs.set(rec.namespace, list);
      }
      list.add(rec);
    }
    this.#policyMarks(rec);
  }

  #policyDeleted(id: string): void {
    const old = this.#policies.get(id);
    if (old === undefined) return;
    this.#dropPolicy(old);
    this.#policies.delete(id);
    if (old.policy !== undefined) this.#sortedPolicies = undefined;
  }

  #dropPolicy(rec: PolicyRec): void {
    if (rec.target !== undefined) {
      rec.target.targetOf.delete(rec);
      this.#releasePodSet(rec.target);
      const list = this.#policiesByNs.get(rec.namespace)!;
      list.delete(rec);
      if (list.size === 0) this.#policiesByNs.delete(rec.namespace);
    }
    this.#policyMarks(rec);
  }

  #policyMarks(rec: PolicyRec): void {
    this.#dirtyPolicies.add(rec.id);
    this.#dirtyNamespaces.add(rec.namespace);
    this.#dirtyIsolation.add(rec.namespace);
    for (const id of this.#localByNs.get(rec.namespace) ?? []) this.#dirtyEndpointExplain.add(id);
    this.#explainDirty = true;
    if (rec.problems.length > 0) this.#problemsDirty = true;
  }

  // ---- membership ----

  #matches(t: PodSet, pod: ResolvedPod, isLocal: boolean): boolean {
    if (t.scope === 'local' && !isLocal) return false;
    if (t.spec.namespaces.kind === 'name') {
      if (t.spec.namespaces.name !== pod.namespace) return false;
    } else if (!selectorMatches(t.spec.namespaces.selector, this.#labelsOf(pod.namespace))) return false;
    return selectorMatches(t.spec.pods, pod.labels);
  }

  /** Calls `f` with every pod set a pod of `namespace` could be in. */
  #forCandidates(namespace: string, f: (t: PodSet) => void): void {
    for (const t of this.#podSetsByNs.get(namespace) ?? NO_SETS) f(t);
    let bySelector = this.#selectorPodSetsOf.get(namespace);
    if (bySelector === undefined) {
      bySelector = this.#selectorPodSetsFor(this.#labelsOf(namespace));
      this.#selectorPodSetsOf.set(namespace, bySelector);
    }
    for (const t of bySelector) f(t);
  }

  #selectorPodSetsFor(labels: Readonly<Record<string, string>>): Set<PodSet> {
    const out = new Set<PodSet>();
    for (const t of this.#podSetsBySelector) {
      if (t.spec.namespaces.kind === 'selector' && selectorMatches(t.spec.namespaces.selector, labels))
        out.add(t);
    }
    return out;
  }

  #join(t: PodSet, id: string, pod: ResolvedPod): void {
    t.members.add(id);
    // A joining pod is in no set's todo: those hold members only.
    for (const d of t.derived) for (const m of d.contribution(pod)) d.set.add(m);
    if (t.scope === 'local') this.#targetChanged(t, id, t.members.size === 1);
  }

  #leave(t: PodSet, id: string, pod: ResolvedPod): void {
    t.members.delete(id);
    for (const d of t.derived) {
      if (d.todo?.delete(id)) continue; // never added
      for (const m of d.contribution(pod)) d.set.remove(m);
    }
    if (t.scope === 'local') this.#targetChanged(t, id, t.members.size === 0);
  }

  /** A local pod set gained or lost pod `id`; `flipped` when it became empty or stopped being. */
  #targetChanged(t: PodSet, id: string, flipped: boolean): void {
    if (t.spec.namespaces.kind === 'name') this.#dirtyIsolation.add(t.spec.namespaces.name);
    else for (const ns of this.#policiesByNs.keys()) this.#dirtyIsolation.add(ns);
    if (t.targetOf.size > 0) {
      this.#dirtyEndpointExplain.add(id);
      this.#explainDirty = true;
    }
    for (const p of t.targetOf) {
      p.explain = undefined;
      if (flipped) {
        this.#dirtyPolicies.add(p.id);
        this.#dirtyNamespaces.add(p.namespace);
      }
    }
  }

  #localChanged(
    id: string,
    namespace: string,
    before: WorkloadEndpoint | undefined,
    after: WorkloadEndpoint | undefined,
  ): void {
    this.#dirtyIsolation.add(namespace);
    if (sameEndpoint(before, after)) return;
    this.#explainDirty = true;
    this.#dirtyEndpointExplain.add(id);
    this.#localSorted = undefined;
    this.#dirtyEndpoints.add(id);
    this.#fixedDirty = true;
    for (const [ep, n] of [
      [before, -1],
      [after, 1],
    ] as const) {
      if (ep === undefined) continue;
      if (ep.ipv4.length > 0) this.#familyCount.inet += n;
      if (ep.ipv6.length > 0) this.#familyCount.inet6 += n;
    }
    let inNs = this.#localByNs.get(namespace);
    if (after !== undefined) {
      this.#local.add(id);
      if (inNs === undefined) {
        inNs = new Set();
        this.#localByNs.set(namespace, inNs);
      }
      inNs.add(id);
    } else {
      this.#local.delete(id);
      inNs?.delete(id);
      if (inNs?.size === 0) this.#localByNs.delete(namespace);
    }
  }

  #labelsOf(namespace: string): Readonly<Record<string, string>> {
    let labels = this.#nsLabels.get(namespace);
    if (labels === undefined) {
      labels = namespaceLabels(namespace, this.#namespaces.get(namespace)?.labels);
      this.#nsLabels.set(namespace, labels);
    }
    return labels;
  }

  #acquirePodSet(spec: PodSetSpec, scope: SetScope): PodSet {
    const key = `${scope}|${spec.key}`;
    let t = this.#podSets.get(key);
    if (t === undefined) {
      t = new PodSet(spec, scope);
      this.#podSets.set(key, t);
      if (spec.namespaces.kind === 'name') {
        let list = this.#podSetsByNs.get(spec.namespaces.name);
        if (list === undefined) {
          list = new Set();
          this.#podSetsByNs.set(spec.namespaces.name, list);
        }
        list.add(t);
      } else {
        this.#podSetsBySelector.add(t);
        for (const [ns, list] of this.#selectorPodSetsOf)
          if (selectorMatches(spec.namespaces.selector, this.#labelsOf(ns))) list.add(t);
      }
      if (scope === 'local') {
        // This node's pods: few, checked at once.
        const ids =
          spec.namespaces.kind === 'name' ? (this.#localByNs.get(spec.namespaces.name) ?? []) : this.#local;
        for (const id of ids) if (this.#matches(t, this.#pods.get(id)!.pod, true)) t.members.add(id);
      } else {
        // The cluster's pods: filled in pieces by #work. From now on pod events see the set and
        // keep its members, so the fill only adds the pods it finds that are not members yet.
        const namespaces = new Set<string>();
        if (spec.namespaces.kind === 'name') namespaces.add(spec.namespaces.name);
        else {
          for (const ns of this.#index.namespaces())
            if (selectorMatches(spec.namespaces.selector, this.#labelsOf(ns))) namespaces.add(ns);
        }
        t.fill = this.#index.candidates(spec.pods, namespaces);
        this.#filling.add(t);
      }
    }
    t.holders++;
    return t;
  }

  #releasePodSet(t: PodSet): void {
    if (--t.holders > 0) return;
    this.#podSets.delete(t.key);
    if (t.spec.namespaces.kind === 'name') {
      const list = this.#podSetsByNs.get(t.spec.namespaces.name)!;
      list.delete(t);
      if (list.size === 0) this.#podSetsByNs.delete(t.spec.namespaces.name);
    } else {
      this.#podSetsBySelector.delete(t);
      for (const list of this.#selectorPodSetsOf.values()) list.delete(t);
    }
    this.#filling.delete(t);
  }

  #setPodProblems(id: string, problems: readonly PolicyProblem[]): void {
    if (problems.length === 0 && !this.#podProblems.has(id)) return;
    if (problems.length === 0) this.#podProblems.delete(id);
    else this.#podProblems.set(id, problems);
    this.#problemsDirty = true;
    this.#explainDirty = true;
  }

  // ---- sets ----

  #acquireSet(req: SetRequest): void {
    let s = this.#sets.get(req.id.name);
    if (s === undefined) {
      s = this.#retired.get(req.id.name);
      if (s !== undefined) this.#retired.delete(req.id.name);
      else s = this.#createSet(req);
      this.#sets.set(req.id.name, s);
      this.#setListChanged = true;
    }
    s.refs++;
  }

  #createSet(req: SetRequest): StoredSet {
    const members = new MemberSet(
      req.id,
      (m) => this.#touchedSets.add(m),
      this.#destroyedSets.get(req.id.name),
    );
    const s: StoredSet = { members, request: req, podSet: undefined, derived: undefined, refs: 0 };
    if (req.kind === 'pods') {
      const t = this.#acquirePodSet(req.spec, req.scope);
      const d: Derived = { set: members, contribution: req.contribution, todo: undefined };
      t.derived.push(d);
      s.podSet = t;
      s.derived = d;
      if (t.members.size <= this.#slice) {
        for (const id of t.members) for (const m of req.contribution(this.#pods.get(id)!.pod)) members.add(m);
      } else {
        d.todo = new Set(t.members);
        this.#catchingUp.add(d);
      }
    } else if (req.kind === 'nets') {
      for (const m of req.members) members.add(m);
    } else {
      members.reset(this.#isolationMembers(req.namespace, req.direction, req.id.family));
    }
    return s;
  }

  #releaseSet(req: SetRequest): void {
    const s = this.#sets.get(req.id.name)!;
    if (--s.refs > 0) return;
    this.#sets.delete(req.id.name);
    this.#setListChanged = true;
    // A cluster-wide set costs the cluster's pods to fill again: it is kept (and kept up to date)
    // for a while, so a policy that becomes active again soon finds it ready.
    if (req.kind === 'pods' && req.scope === 'cluster') this.#retired.set(req.id.name, s);
    else this.#destroySet(s);
  }

  #destroySet(s: StoredSet): void {
    const out = s.members.current;
    if (out !== undefined && !this.#destroyedSets.has(out.name)) this.#destroyedSets.set(out.name, out);
    this.#touchedSets.delete(s.members);
    if (s.derived !== undefined) this.#catchingUp.delete(s.derived);
    if (s.podSet !== undefined) {
      const i = s.podSet.derived.indexOf(s.derived!);
      s.podSet.derived.splice(i, 1);
      this.#releasePodSet(s.podSet);
    }
  }

  /** Drops the sets no rule has named for longest, beyond what `retain` allows. */
  #retire(): void {
    let members = 0;
    for (const s of this.#retired.values()) members += s.members.size;
    for (const [name, s] of this.#retired) {
      if (this.#retired.size <= this.#retain.sets && members <= this.#retain.members) break;
      this.#retired.delete(name);
      members -= s.members.size;
      this.#destroySet(s);
    }
  }

  /** Addresses of the local pods of `namespace` that an active policy of `direction` selects. */
  #isolationMembers(namespace: string, direction: Direction, family: InetFamily): string[] {
    const ids = new Set<string>();
    for (const p of this.#policiesByNs.get(namespace) ?? []) {
      if (!hasType(p.policy!, direction)) continue;
      for (const id of p.target!.members) ids.add(id);
    }
    return [...ids].flatMap((id) => podAddresses(this.#pods.get(id)!.pod, family));
  }

  // ---- chains ----

  #setChain(
    family: InetFamily,
    map: Map<string, ChainRec>,
    key: string,
    next: { chain: Chain; namer: RecordingNamer } | undefined,
  ): void {
    const old = map.get(key);
    if (next === undefined && old === undefined) return;
    if (next !== undefined && old !== undefined && sameChain(old.chain, next.chain)) return;
    const { replaced } = this.#family[family];
    if (next !== undefined) {
      for (const r of next.namer.requests) this.#acquireSet(r);
      const earlier = replaced.get(next.chain.name);
      const chain = earlier !== undefined && sameChain(earlier, next.chain) ? earlier : next.chain;
      map.set(key, { chain, sets: next.namer.requests });
    } else map.delete(key);
    if (old !== undefined) {
      if (!replaced.has(old.chain.name)) replaced.set(old.chain.name, old.chain);
      for (const r of old.sets) this.#releaseSet(r);
    }
    this.#family[family].changed = true;
  }

  #isActive(rec: PolicyRec | undefined): rec is PolicyRec & { policy: NormPolicy; target: PodSet } {
    return rec?.policy !== undefined && rec.target !== undefined && rec.target.members.size > 0;
  }

  #renderPolicy(id: string, family: InetFamily): void {
    const rec = this.#policies.get(id);
    const want = this.#isActive(rec) && this.#families.includes(family);
    for (const d of DIRECTIONS) {
      let next: { chain: Chain; namer: RecordingNamer } | undefined;
      if (want && hasType(rec.policy, d)) {
        const namer = new RecordingNamer();
        next = { chain: renderPolicyChain(rec.policy, d, family, namer), namer };
      }
      this.#setChain(family, this.#family[family].policies, `${id}\0${d}`, next);
    }
  }

  /** Active policies of a namespace, by id. */
  #activeIn(namespace: string): NormPolicy[] {
    const out: NormPolicy[] = [];
    for (const p of this.#policiesByNs.get(namespace) ?? []) if (this.#isActive(p)) out.push(p.policy);
    return out.sort((a, b) => cmp(a.id, b.id));
  }

  #renderNamespace(namespace: string, family: InetFamily): void {
    const active = this.#families.includes(family) ? this.#activeIn(namespace) : [];
    for (const d of DIRECTIONS) {
      const of = active.filter((p) => hasType(p, d));
      let next: { chain: Chain; namer: RecordingNamer } | undefined;
      if (of.length > 0) {
        const namer = new RecordingNamer();
        next = { chain: renderNamespaceChain(namespace, of, d, family, namer), namer };
      }
      this.#setChain(family, this.#family[family].namespaces, `${namespace}\0${d}`, next);
    }
  }

  #renderEndpoint(id: string, family: InetFamily): void {
    const ep = this.#pods.get(id)?.pod.endpoint;
    const state = this.#family[family];
    if (ep === undefined || !this.#families.includes(family)) {
      for (const d of DIRECTIONS) this.#setChain(family, state.endpoints, `${id}\0${d}`, undefined);
      return;
    }
    const active = this.#activeIn(ep.namespace);
    const namers = { ingress: new RecordingNamer(), egress: new RecordingNamer() };
    const iso = (d: Direction): string | undefined =>
      active.some((p) => hasType(p, d)) ? namers[d].isolation(ep.namespace, d, family) : undefined;
    const isoIngress = iso('ingress');
    const isoEgress = iso('egress');
    const chains = renderEndpointChains(
      ep,
      family,
      isoIngress === undefined && isoEgress === undefined
        ? OPEN_NAMESPACE
        : { hasIngress: isoIngress !== undefined, hasEgress: isoEgress !== undefined, isoIngress, isoEgress },
    );
    DIRECTIONS.forEach((d, i) => {
      this.#setChain(family, state.endpoints, `${id}\0${d}`, { chain: chains[i]!, namer: namers[d] });
    });
  }

  #renderFixed(family: InetFamily): void {
    const state = this.#family[family];
    const fixed = renderStaticChains(this.#localEndpoints(), family, this.#families.includes(family));
    const prev = state.fixed;
    const chains = fixed.chains.map((c) => {
      const old = prev?.chains.find((o) => o.name === c.name);
      if (old !== undefined && sameChain(old, c)) return old;
      if (old !== undefined && !state.replaced.has(old.name)) state.replaced.set(old.name, old);
      const earlier = state.replaced.get(c.name);
      return earlier !== undefined && sameChain(earlier, c) ? earlier : c;
    });
    const jumps =
      prev !== undefined && canonicalJson(prev.jumps) === canonicalJson(fixed.jumps)
        ? prev.jumps
        : fixed.jumps;
    if (prev !== undefined && jumps === prev.jumps && chains.every((c, i) => c === prev.chains[i])) return;
    state.fixed = { chains, jumps };
    state.changed = true;
  }

  #localEndpoints(): readonly WorkloadEndpoint[] {
    this.#localSorted ??= [...this.#local].sort(cmp).map((id) => this.#pods.get(id)!.pod.endpoint!);
    return this.#localSorted;
  }

  // ---- output ----

  #renderIptables(): PolicyRender['iptables'] {
    let changed = this.#iptables === undefined;
    for (const f of INET_FAMILIES) {
      const state = this.#family[f];
      if (!state.changed) continue;
      const chains: Chain[] = [];
      for (const m of [state.policies, state.namespaces, state.endpoints])
        for (const r of m.values()) chains.push(r.chain);
      chains.push(...(state.fixed?.chains ?? []));
      chains.sort((a, b) => cmp(a.name, b.name));
      state.changed = false;
      const old = state.table[0];
      const jumps = state.fixed?.jumps ?? [];
      if (old !== undefined && old.jumps === jumps && sameList(chains, old.chains, (a, b) => a === b))
        continue;
      state.table = [{ table: 'filter', chains, jumps }];
      changed = true;
    }
    if (changed) this.#iptables = { inet: this.#family.inet.table, inet6: this.#family.inet6.table };
    return this.#iptables!;
  }

  #renderIpsets(): readonly IpSet[] {
    if (this.#setListChanged || this.#setsChanged || this.#ipsets === undefined) {
      const next = [...this.#sets.values()]
        .map((s) => s.members.output())
        .sort((a, b) => cmp(a.name, b.name));
      if (this.#ipsets === undefined || !sameList(next, this.#ipsets, (a, b) => a === b)) this.#ipsets = next;
    }
    this.#setListChanged = false;
    this.#setsChanged = false;
    return this.#ipsets;
  }

  #renderExplain(): PolicyExplain {
    const prev = this.#explain;
    if (!this.#explainDirty && prev !== undefined) return prev;
    this.#explainDirty = false;
    if (this.#problemsDirty) {
      const all: PolicyProblem[] = [];
      for (const list of this.#podProblems.values()) all.push(...list);
      for (const p of this.#policies.values()) all.push(...p.problems);
      const problems = sortProblems(all);
      if (!sameProblems(problems, this.#problems)) this.#problems = problems;
      this.#problemsDirty = false;
    }
    this.#sortedPolicies ??= [...this.#policies.values()]
      .filter((p) => p.policy !== undefined)
      .map((p) => p.id)
      .sort(cmp);
    for (const id of this.#dirtyEndpointExplain) {
      const ep = this.#pods.get(id)?.pod.endpoint;
      if (ep === undefined) {
        this.#endpointExplain.delete(id);
        continue;
      }
      const selecting = [...(this.#policiesByNs.get(ep.namespace) ?? [])]
        .filter((p) => p.target!.members.has(ep.id))
        .sort((a, b) => cmp(a.id, b.id));
      const of = (d: Direction) => selecting.filter((p) => hasType(p.policy!, d)).map((p) => p.id);
      const entry = endpointExplainEntry(ep, of('ingress'), of('egress'));
      const old = this.#endpointExplain.get(id);
      this.#endpointExplain.set(id, old !== undefined && sameEndpointExplain(old, entry) ? old : entry);
    }
    this.#dirtyEndpointExplain.clear();
    const endpoints = this.#localEndpoints().map((ep) => this.#endpointExplain.get(ep.id)!);
    let rendered: Map<string, PolicyExplainEntry> | undefined;
    const policies = this.#sortedPolicies.map((id) => {
      const p = this.#policies.get(id)!;
      if (p.explain === undefined) {
        const entry = policyExplainEntry(p.policy!, [...p.target!.members].sort(cmp), this.#families);
        rendered ??= new Map(prev?.policies.map((e) => [e.policy, e]));
        const old = rendered.get(p.id);
        p.explain = old !== undefined && samePolicyExplain(old, entry) ? old : entry;
      }
      return p.explain;
    });
    const same = <T>(a: readonly T[], b: readonly T[] | undefined): readonly T[] =>
      b !== undefined && sameList(a, b, (x, y) => x === y) ? b : a;
    const next: PolicyExplain = {
      nodeName: this.nodeName,
      families: same(this.#families, prev?.families),
      endpoints: same(endpoints, prev?.endpoints),
      policies: same(policies, prev?.policies),
      problems: this.#problems,
    };
    if (
      prev !== undefined &&
      next.families === prev.families &&
      next.endpoints === prev.endpoints &&
      next.policies === prev.policies &&
      next.problems === prev.problems
    )
      return prev;
    this.#explain = next;
    return next;
  }
}
