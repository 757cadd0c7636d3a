// CalcGraph: the calculation driven by changes (Felix's calculation graph, reduced). calculate()
// (calculate.ts) answers "what does this node want" from a whole snapshot; the graph answers the
// same question after each batch of changes, doing only the work the changes call for:
//
// - Inputs: `applyChanges(changes)` with the datastore's per-object changes (the first snapshot is
//   fed as all added: `snapshotChanges`), and `setBestPath(prefix, family, nextHops)` with the
//   speaker's best paths (no next hops: none).
// - `update()` recomputes what the inputs since the last update touched and returns a CalcOutput:
//   the CalculatedState calculate() would give for the same objects, the translated remote routes
//   remoteRoutes() would give for the same best paths, and which parts changed. A part that did not
//   change is the very object of the previous output (down to each route, endpoint, chain and
//   ipset the policy store kept), so the wiring hands on only what moved and felix skips the rest
//   by identity.
//
// The parts and what wakes them:
// - cluster (this node, speaker settings, peers, announcements, blackholes, NAT outgoing, VXLAN and
//   IPIP): a Node, BGPConfiguration, BGPPeer, IPPool or Secret (BGP passwords) change recomputes
//   it whole with the functions calculate() uses (O(nodes)); a Pod, Namespace or NetworkPolicy
//   change never does.
//   Each recomputed piece that equals the previous one keeps the previous object.
// - policy: felix's PolicyStore, fed one event per Pod, Namespace and NetworkPolicy change (a
//   modification that does not change what the policy renderer sees feeds nothing); rendered on
//   update() when it was fed. Local workload endpoints come from the Pod changes directly.
// - routes: each best path is translated on its own (remoteRoute) when it changes; a cluster
//   change that moves what translation depends on (this node's addresses, other nodes' addresses,
//   pools, tunnels, announcements) translates all of them again (O(routes)).
//
// An object that makes the calculation throw is isolated: it is taken out (as if deleted), a
// problem "Kind key: …" says why, and every other object proceeds.
//
// Contract (test/unit/src/calc/graph.property.test.ts): after any sequence of changes and best
// paths, however split into batches and updates, the output equals calculate() of the final
// snapshot and remoteRoutes() of the final best paths.
import type {
  IpSet,
  IptablesSource,
  PolicyEvent,
  PolicyRender,
  RouteSpec,
  WorkloadEndpoint,
} from '../../felix/index.ts';
import { PolicyStore } from '../../felix/index.ts';
import type { Namespace, NetworkPolicy, Pod } from '../model/kube.ts';
import type { Resource, ResourceKind } from '../model/resource.ts';
import type { ResourceChange, Snapshot } from '../model/snapshot.ts';
import { SNAPSHOT_FIELD } from '../model/snapshot.ts';
import type { ParsedCidr } from './addr.ts';
import { compareParsed, compareStrings, parseCidr } from './addr.ts';
import type { ClusterPart, PodPart } from './calculate.ts';
import { assembleState, calculateCluster, sortedProblems } from './calculate.ts';
import {
  localEndpointOf,
  mergeIpsets,
  policyNamespaceOf,
  policyOf,
  policyPodOf,
  policyProblems,
  policySource,
} from './dataplane.ts';
import type { RouteContext } from './routes.ts';
import { remoteRoute, routeContext } from './routes.ts';
import type { CalcChanges, CalcOutput, CalculatedState, NodeIdentity } from './types.ts';

const CLUSTER_KINDS: ReadonlySet<ResourceKind> = new Set([
  'Node',
  'BGPConfiguration',
  'BGPPeer',
  'IPPool',
  'Secret',
]);

/** Every object of a snapshot as an `added` change, kind by kind (the graph's first input). */
export function snapshotChanges(snapshot: Snapshot): ResourceChange[] {
  const out: ResourceChange[] = [];
  for (const [kind, field] of Object.entries(SNAPSHOT_FIELD) as [ResourceKind, keyof Snapshot][]) {
    for (const [key, resource] of snapshot[field] as ReadonlyMap<string, Resource>)
      out.push({ type: 'added', kind, key, resource });
  }
  return out;
}

/** Insertions or removals of translated routes in one update beyond which the order is sorted anew. */
const ORDER_EDITS = 64;

const NO_CHANGES: CalcChanges = {
  cluster: false,
  peers: false,
  announcements: false,
  routes: false,
  policy: false,
  endpoints: false,
  problems: false,
};

function same(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/** `next`, or `prev` when it has the same content (so that an unchanged piece keeps its identity). */
function keep<T>(prev: T | undefined, next: T): T {
  return prev !== undefined && same(prev, next) ? prev : next;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** What route translation depends on in a cluster part (routeContext's inputs), as one string. */
function routeInputsKey(c: ClusterPart): string {
  return JSON.stringify([
    c.node,
    c.announcements.map((a) => a.prefix),
    c.dataplane.vxlan,
    c.dataplane.ipip,
    c.nodes.others.map((n) => [n.name, n.ipv4?.address, n.ipv6?.address]),
    c.pools.map((p) => [p.name, p.cidr, p.family, p.vxlanMode, p.ipipMode]),
  ]);
}

export class CalcGraph {
  readonly identity: NodeIdentity;
  readonly #maps: { [F in keyof Snapshot]: Map<string, Resource> } = {
    nodes: new Map(),
    pods: new Map(),
    namespaces: new Map(),
    networkPolicies: new Map(),
    bgpConfigurations: new Map(),
    bgpPeers: new Map(),
    ipPools: new Map(),
    secrets: new Map(),
  };
  /** #maps as the Snapshot the cluster functions read (each map holds its kind only). */
  readonly #view = this.#maps as unknown as Snapshot;
  readonly #store: PolicyStore;

  // Cluster part.
  #cluster: ClusterPart | undefined;
  #clusterDirty = true;

  // Routes part.
  #routeKey = '';
  #ctx: RouteContext | undefined;
  /** The current best path per canonical prefix. */
  readonly #paths = new Map<string, { readonly parsed: ParsedCidr; readonly nextHops: readonly string[] }>();
  /** The translated route per canonical prefix (best paths that give none are not here). */
  readonly #routes = new Map<string, { readonly parsed: ParsedCidr; readonly route: RouteSpec }>();
  /** The prefixes of #routes in compareParsed order; null = to be sorted anew. */
  #order: ParsedCidr[] | null = [];
  #orderEdits = 0;
  readonly #dirtyPrefixes = new Set<string>();
  #routeList: readonly RouteSpec[] = [];

  // Policy part.
  #policyDirty = true;
  #render: PolicyRender | undefined;
  #policySource: IptablesSource | undefined;
  #policyProblems: readonly string[] = [];

  // Endpoints.
  readonly #endpoints = new Map<string, WorkloadEndpoint>();
  readonly #endpointProblems = new Map<string, string>();
  #endpointsDirty = true;
  #endpointList: readonly WorkloadEndpoint[] = [];

  /** Objects the calculation threw on, by `Kind key`: taken out and reported. */
  readonly #inputProblems = new Map<string, string>();
  #problemsDirty = true;

  #iptables: readonly IptablesSource[] = [];
  #ipsets: readonly IpSet[] = [];
  /** The two lists #ipsets was merged from. */
  #ipsetsFrom: { policy?: readonly IpSet[]; nat?: readonly IpSet[] } = {};
  #problems: readonly string[] = [];
  #output: CalcOutput | undefined;

  constructor(identity: NodeIdentity) {
    this.identity = identity;
    this.#store = new PolicyStore({ nodeName: identity.name });
  }

  /** The objects the graph holds, as a snapshot (live maps: read it, do not keep it across changes). */
  inputs(): Snapshot {
    return this.#view;
  }

  /** Whether the object of `kind` at `key` was taken out because the calculation threw on it. */
  isIsolated(kind: ResourceKind, key: string): boolean {
    return this.#inputProblems.has(`${kind} ${key}`);
  }

  /** Best paths held (prefixes). */
  get bestPaths(): number {
    return this.#paths.size;
  }

  /** Whether update() has work to do. */
  get dirty(): boolean {
    return (
      this.#output === undefined ||
      this.#clusterDirty ||
      this.#policyDirty ||
      this.#endpointsDirty ||
      this.#problemsDirty ||
      this.#dirtyPrefixes.size > 0
    );
  }

  applyChanges(changes: readonly ResourceChange[]): void {
    for (const c of changes) this.#apply(c);
  }

  /** The speaker's best path for `prefix`; no next hops (or null): none any more. */
  setBestPath(
    prefix: string,
    _family: 'ipv4-unicast' | 'ipv6-unicast',
    nextHops: readonly string[] | null,
  ): void {
    const parsed = parseCidr(prefix);
    if (parsed === undefined) return;
    if (nextHops === null || nextHops.length === 0) {
      if (!this.#paths.delete(parsed.text)) return;
    } else this.#paths.set(parsed.text, { parsed, nextHops });
    this.#dirtyPrefixes.add(parsed.text);
  }

  /** Forget every best path (a new speaker starts from none). */
  clearBestPaths(): void {
    for (const key of this.#paths.keys()) this.#dirtyPrefixes.add(key);
    this.#paths.clear();
  }

  #apply(c: ResourceChange): void {
    const field = SNAPSHOT_FIELD[c.kind];
    const map = this.#maps[field];
    const before = map.get(c.key);
    if (c.type === 'deleted') {
      if (before === undefined) return;
      map.delete(c.key);
    } else {
      if (before === c.resource) return;
      map.set(c.key, c.resource);
    }
    const after = c.type === 'deleted' ? undefined : c.resource;
    const where = `${c.kind} ${c.key}`;
    if (this.#inputProblems.delete(where)) this.#problemsDirty = true;
    if (CLUSTER_KINDS.has(c.kind)) {
      this.#clusterDirty = true;
      return;
    }
    try {
      this.#feed(c.kind, c.key, before, after);
    } catch (e) {
      // Isolated: the object is taken out of the calculation, and the problem says why.
      this.#inputProblems.set(where, `${where}: ${messageOf(e)} (ignored)`);
      this.#problemsDirty = true;
      map.delete(c.key);
      this.#remove(c.kind, c.key);
    }
  }

  /** Take an object out of the policy store and the endpoints, whatever state it was in. */
  #remove(kind: ResourceKind, key: string): void {
    const [namespace, name] = splitKey(key);
    if (kind === 'Pod') {
      this.#policy({ type: 'podDeleted', namespace, name });
      this.#endpoint(key, undefined);
    } else if (kind === 'Namespace') this.#policy({ type: 'namespaceDeleted', name: key });
    else if (kind === 'NetworkPolicy') this.#policy({ type: 'policyDeleted', namespace, name });
  }

  /** One Pod, Namespace or NetworkPolicy change into the policy store and the endpoints. */
  #feed(kind: ResourceKind, key: string, before: Resource | undefined, after: Resource | undefined): void {
    if (kind === 'Pod') {
      const prev = before === undefined ? undefined : policyPodOf(before as Pod);
      const next = after === undefined ? undefined : policyPodOf(after as Pod);
      if (next !== undefined) {
        if (prev === undefined || !same(prev, next)) this.#policy({ type: 'podUpdated', pod: next });
      } else if (prev !== undefined) {
        const [namespace, name] = splitKey(key);
        this.#policy({ type: 'podDeleted', namespace, name });
      }
      this.#endpoint(key, after as Pod | undefined);
      return;
    }
    if (kind === 'Namespace') {
      if (after !== undefined) {
        const next = policyNamespaceOf(after as Namespace);
        if (before === undefined || !same(policyNamespaceOf(before as Namespace), next))
          this.#policy({ type: 'namespaceUpdated', namespace: next });
      } else this.#policy({ type: 'namespaceDeleted', name: key });
      return;
    }
    if (kind === 'NetworkPolicy') {
      if (after !== undefined) {
        const next = policyOf(after as NetworkPolicy);
        if (before === undefined || !same(policyOf(before as NetworkPolicy), next))
          this.#policy({ type: 'policyUpdated', policy: next });
      } else {
        const [namespace, name] = splitKey(key);
        this.#policy({ type: 'policyDeleted', namespace, name });
      }
    }
  }

  #policy(event: PolicyEvent): void {
    this.#store.apply(event);
    this.#policyDirty = true;
  }

  #endpoint(key: string, pod: Pod | undefined): void {
    const local = pod === undefined ? {} : localEndpointOf(pod, this.identity.name);
    const prev = this.#endpoints.get(key);
    if (local.endpoint === undefined) {
      if (prev !== undefined) {
        this.#endpoints.delete(key);
        this.#endpointsDirty = true;
      }
    } else if (prev === undefined || !same(prev, local.endpoint)) {
      this.#endpoints.set(key, local.endpoint);
      this.#endpointsDirty = true;
    }
    const problem = this.#endpointProblems.get(key);
    if (problem === local.problem) return;
    if (local.problem === undefined) this.#endpointProblems.delete(key);
    else this.#endpointProblems.set(key, local.problem);
    this.#problemsDirty = true;
  }

  /** Recompute what the inputs since the last update touched; see the file comment. */
  update(): CalcOutput {
    const prev = this.#output;
    if (prev !== undefined && !this.dirty) return { ...prev, changed: NO_CHANGES };
    const changed = { ...NO_CHANGES };

    let cluster = this.#cluster;
    if (this.#clusterDirty || cluster === undefined) {
      this.#clusterDirty = false;
      cluster = this.#updateCluster(changed);
    }

    const key = routeInputsKey(cluster);
    if (this.#ctx === undefined || key !== this.#routeKey) {
      this.#routeKey = key;
      this.#ctx = routeContext({
        self: cluster.node,
        others: cluster.nodes.others,
        pools: cluster.pools,
        announcements: cluster.announcements,
        vxlan: cluster.dataplane.vxlan,
        ipip: cluster.dataplane.ipip,
      });
      for (const prefix of this.#paths.keys()) this.#dirtyPrefixes.add(prefix);
      for (const prefix of this.#routes.keys()) this.#dirtyPrefixes.add(prefix);
    }
    if (this.#dirtyPrefixes.size > 0) changed.routes = this.#updateRoutes(this.#ctx);

    if (this.#policyDirty || this.#render === undefined) {
      this.#policyDirty = false;
      const render = this.#store.render();
      const last = this.#render;
      this.#render = render;
      changed.policy =
        last === undefined ||
        render.iptables.inet !== last.iptables.inet ||
        render.iptables.inet6 !== last.iptables.inet6 ||
        render.ipsets !== last.ipsets ||
        render.explain !== last.explain;
      if (last === undefined || render.explain.problems !== last.explain.problems) {
        const problems = policyProblems(render.explain, (id) => this.#maps.networkPolicies.has(id));
        if (problems.join('\n') !== this.#policyProblems.join('\n')) {
          this.#policyProblems = problems;
          this.#problemsDirty = true;
        }
      }
    }
    const render = this.#render!;
    const nat = cluster.dataplane;
    if (
      this.#policySource === undefined ||
      render.iptables.inet !== this.#policySource.inet ||
      render.iptables.inet6 !== this.#policySource.inet6
    ) {
      this.#policySource = policySource(render.iptables);
    }
    if (this.#iptables[0] !== this.#policySource || this.#iptables[1] !== nat.nat) {
      this.#iptables = [this.#policySource, nat.nat];
      changed.policy = true;
    }
    if (this.#ipsetsFrom.policy !== render.ipsets || this.#ipsetsFrom.nat !== nat.natIpsets) {
      this.#ipsets = mergeIpsets(render.ipsets, nat.natIpsets);
      this.#ipsetsFrom = { policy: render.ipsets, nat: nat.natIpsets };
      changed.policy = true;
    }

    if (this.#endpointsDirty) {
      this.#endpointsDirty = false;
      // An endpoint removed and added again since the last update keeps its previous object.
      const last = new Map(this.#endpointList.map((e) => [e.id, e]));
      const list = [...this.#endpoints.keys()].sort(compareStrings).map((k) => {
        const e = this.#endpoints.get(k)!;
        const p = last.get(e.id);
        if (p === undefined || p === e || !same(p, e)) return e;
        this.#endpoints.set(k, p);
        return p;
      });
      if (list.length !== this.#endpointList.length || list.some((e, i) => e !== this.#endpointList[i])) {
        this.#endpointList = list;
        changed.endpoints = true;
      }
    }

    if (this.#problemsDirty) {
      this.#problemsDirty = false;
      const problems = sortedProblems(
        cluster.problems,
        this.#policyProblems,
        [...this.#endpointProblems.values()],
        [...this.#inputProblems.values()],
      );
      if (problems.join('\n') !== this.#problems.join('\n')) {
        this.#problems = problems;
        changed.problems = true;
      }
    }

    const prevState = prev?.state;
    // The remote routes are beside the state, not in it.
    const moved = Object.entries(changed).some(([part, v]) => v && part !== 'routes');
    let state: CalculatedState;
    if (prevState !== undefined && !moved) state = prevState;
    else {
      const pods: PodPart = {
        endpoints: this.#endpointList,
        policy: this.#policySource,
        policyIpsets: render.ipsets,
        policyExplain: render.explain,
      };
      state = assembleState(cluster, pods, this.#iptables, this.#ipsets, this.#problems);
    }
    const output: CalcOutput = { state, remoteRoutes: this.#routeList, changed };
    this.#output = output;
    return output;
  }

  #updateCluster(changed: { -readonly [K in keyof CalcChanges]: boolean }): ClusterPart {
    const prev = this.#cluster;
    let next: ClusterPart;
    try {
      next = calculateCluster(this.#view, this.identity);
    } catch (e) {
      // calculateCluster isolates every object it reads; reaching here is a bug in it. The last
      // cluster part stays in force and the problem is reported.
      const where = 'Calculation cluster';
      this.#inputProblems.set(where, `${where}: ${messageOf(e)} (last result kept)`);
      this.#problemsDirty = true;
      if (prev !== undefined) return prev;
      throw e;
    }
    if (this.#inputProblems.delete('Calculation cluster')) this.#problemsDirty = true;
    const node = keep(prev?.node ?? undefined, next.node);
    const speaker = keep(prev?.speaker, next.speaker);
    const peers = keep(prev?.peers, next.peers);
    const announcements = keep(prev?.announcements, next.announcements);
    const pd = prev?.dataplane;
    const dataplane = {
      localRoutes: keep(pd?.localRoutes, next.dataplane.localRoutes),
      nat: keep(pd?.nat, next.dataplane.nat),
      natIpsets: keep(pd?.natIpsets, next.dataplane.natIpsets),
      vxlan: keep(pd?.vxlan ?? undefined, next.dataplane.vxlan),
      ipip: keep(pd?.ipip ?? undefined, next.dataplane.ipip),
      problems: next.dataplane.problems,
    };
    changed.cluster =
      prev === undefined ||
      node !== prev.node ||
      speaker !== prev.speaker ||
      dataplane.localRoutes !== pd?.localRoutes ||
      dataplane.vxlan !== pd?.vxlan ||
      dataplane.ipip !== pd?.ipip;
    changed.peers = peers !== prev?.peers;
    changed.announcements = announcements !== prev?.announcements;
    if (prev === undefined || next.problems.join('\n') !== prev.problems.join('\n'))
      this.#problemsDirty = true;
    const part: ClusterPart = { ...next, node, speaker, peers, announcements, dataplane };
    this.#cluster = part;
    return part;
  }

  /** Translate the dirty prefixes; true when the route list changed. */
  #updateRoutes(ctx: RouteContext): boolean {
    let changed = false;
    for (const prefix of this.#dirtyPrefixes) {
      const path = this.#paths.get(prefix);
      const have = this.#routes.get(prefix);
      const route = path === undefined ? undefined : remoteRoute(ctx, path.parsed, path.nextHops);
      if (route === undefined) {
        if (have === undefined) continue;
        this.#routes.delete(prefix);
        this.#orderRemove(have.parsed);
        changed = true;
        continue;
      }
      if (have !== undefined && same(have.route, route)) continue;
      this.#routes.set(prefix, { parsed: path!.parsed, route });
      if (have === undefined) this.#orderInsert(path!.parsed);
      changed = true;
    }
    this.#dirtyPrefixes.clear();
    if (!changed) return false;
    let order = this.#order;
    if (order === null) {
      order = [...this.#routes.values()].map((r) => r.parsed).sort(compareParsed);
      this.#order = order;
    }
    this.#orderEdits = 0;
    this.#routeList = order.map((p) => this.#routes.get(p.text)!.route);
    return true;
  }

  #orderInsert(p: ParsedCidr): void {
    const order = this.#order;
    if (order === null) return;
    if (++this.#orderEdits > ORDER_EDITS) {
      this.#order = null;
      return;
    }
    order.splice(lowerBound(order, p), 0, p);
  }

  #orderRemove(p: ParsedCidr): void {
    const order = this.#order;
    if (order === null) return;
    if (++this.#orderEdits > ORDER_EDITS) {
      this.#order = null;
      return;
    }
    const at = lowerBound(order, p);
    if (at < order.length && order[at]!.text === p.text) order.splice(at, 1);
  }
}

/** The first position in sorted `xs` whose prefix is not before `p`. */
function lowerBound(xs: readonly ParsedCidr[], p: ParsedCidr): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareParsed(xs[mid]!, p) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** `namespace/name` → [namespace, name]. */
function splitKey(key: string): [string, string] {
  const at = key.indexOf('/');
  return [key.slice(0, at), key.slice(at + 1)];
}
