// Selector memberships as ipsets (Felix felix/calc ipset calculation): the world a render sees
// (pods resolved, namespaces with labels, a label index), what each set is (its identity: name,
// type, family, origin) and what a pod gives it (its members), and the pure renderer's registry
// that hands out the name of each set a rule needs and computes its members once. Members are
// built from canonical parts (resolved pod addresses, normalized except lists), so the sets come
// out normalized without being parsed again (ipSetOfCanonicalMembers).
//
// A set's NAME is a function of what it means (kind, canonical selector, port name, protocol,
// family), never of who is in it; its MEMBERS are the only thing pods and labels change. That is
// what makes a pod label change an ipset update and never a chain rewrite.
//
// Kinds (ipsetName's `kind`):
//   sel  hash:ip       pods of a peer (podSelector / namespaceSelector), anywhere in the cluster
//   tgt  hash:ip       local pods a policy applies to (its podSelector in its namespace)
//   iso  hash:ip       local pods of a namespace selected by any policy of one direction
//   np   hash:ip,port  (ip, proto:port) of pods in a pod set whose container port has a name
//   net  hash:net      an ipBlock's except list
import type { WorkloadEndpoint } from '../model/endpoints.ts';
import type { IpSet, IpSetType } from '../model/ipsets.ts';
import { ipSetOfCanonicalMembers, ipsetName } from '../model/ipsets.ts';
import type { InetFamily } from '../model/iptables.ts';
import { NAMESPACE_NAME_LABEL } from '../model/policy.ts';
import type { LabelIndex } from './label-index.ts';
import type { IptProtocol, PodSetSpec } from './policy-normalize.ts';
import { selectorMatches } from './selector.ts';

export interface ResolvedPort {
  readonly name: string | undefined;
  readonly port: number;
  readonly protocol: IptProtocol;
}

/** A pod after validation: canonical addresses, defaulted ports, whether it is local. */
export interface ResolvedPod {
  readonly id: string;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly ipv4: readonly string[];
  readonly ipv6: readonly string[];
  readonly ports: readonly ResolvedPort[];
  /** Set for pods of this node: the endpoint that gets chains. */
  readonly endpoint: WorkloadEndpoint | undefined;
}

/** Everything membership depends on. */
export interface PolicyWorld {
  readonly nodeName: string;
  readonly pods: ReadonlyMap<string, ResolvedPod>;
  /** Labels per namespace name, `kubernetes.io/metadata.name` included; every pod's namespace is here. */
  readonly namespaces: ReadonlyMap<string, Readonly<Record<string, string>>>;
  readonly index: LabelIndex;
}

export type SetScope = 'cluster' | 'local';

/** What a set is: its name (a function of what it means), type, family and origin text. */
export interface SetIdentity {
  readonly name: string;
  readonly type: IpSetType;
  readonly family: InetFamily;
  readonly origin: string;
}

function identity(
  kind: string,
  key: string,
  type: IpSetType,
  family: InetFamily,
  origin: string,
): SetIdentity {
  return { name: ipsetName(kind, key, type, family), type, family, origin };
}

/** hash:ip of a pod set's addresses (`sel` cluster-wide, `tgt` this node's pods). */
export function podIpsSet(set: PodSetSpec, scope: SetScope, family: InetFamily): SetIdentity {
  const origin = `${scope === 'cluster' ? 'pods' : 'local pods'} ${set.key}`;
  return identity(scope === 'cluster' ? 'sel' : 'tgt', set.key, 'hash:ip', family, origin);
}

/** hash:ip,port of (address, protocol:port) of a pod set's container ports named `name`. */
export function namedPortSet(
  set: PodSetSpec,
  scope: SetScope,
  name: string,
  protocol: IptProtocol,
  family: InetFamily,
): SetIdentity {
  const origin = `named port ${name}/${protocol} of ${scope === 'cluster' ? 'pods' : 'local pods'} ${set.key}`;
  return identity('np', `${scope}|${set.key}|${name}|${protocol}`, 'hash:ip,port', family, origin);
}

/** hash:net of fixed networks (an ipBlock's except list). */
export function netsSet(members: readonly string[], family: InetFamily): SetIdentity {
  return identity('net', members.join(' '), 'hash:net', family, `ipBlock except ${members.join(' ')}`);
}

/** hash:ip of the local pods of a namespace that a policy of one direction selects (isolation). */
export function isolationSet(
  namespace: string,
  direction: 'ingress' | 'egress',
  family: InetFamily,
): SetIdentity {
  const key = `namespace ${namespace} ${direction} policies`;
  return identity('iso', key, 'hash:ip', family, `local pods selected by ${key}`);
}

/** Members a pod gives a hash:ip set of its pod set: its addresses of the family. */
export function podAddresses(pod: ResolvedPod, family: InetFamily): readonly string[] {
  return family === 'inet' ? pod.ipv4 : pod.ipv6;
}

/** Members a pod gives a named-port set: (address, protocol:port) per matching container port. */
export function namedPortMembers(
  pod: ResolvedPod,
  name: string,
  protocol: IptProtocol,
  family: InetFamily,
): string[] {
  const out: string[] = [];
  for (const p of pod.ports) {
    if (p.name !== name || p.protocol !== protocol) continue;
    for (const a of podAddresses(pod, family)) out.push(`${a},${protocol}:${p.port}`);
  }
  return out;
}

/**
 * What a chain renderer asks for: the name of each set a rule matches. The pure renderer's
 * SetRegistry computes the members on the spot; PolicyStore records the request and keeps the
 * set's members up to date for as long as a rendered chain refers to it.
 */
export interface SetNamer {
  podIps(set: PodSetSpec, scope: SetScope, family: InetFamily): string;
  namedPort(
    set: PodSetSpec,
    scope: SetScope,
    name: string,
    protocol: IptProtocol,
    family: InetFamily,
  ): string;
  nets(members: readonly string[], family: InetFamily): string;
}

/** Namespace labels with the API server's name label (see NAMESPACE_NAME_LABEL). */
export function namespaceLabels(
  name: string,
  labels: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  return { ...(labels ?? {}), [NAMESPACE_NAME_LABEL]: name };
}

/** The pure renderer's sets: members computed from the world the first time a set is named. */
export class SetRegistry implements SetNamer {
  readonly #world: PolicyWorld;
  readonly #sets = new Map<string, IpSet>();
  readonly #podSets = new Map<string, readonly string[]>();

  constructor(world: PolicyWorld) {
    this.#world = world;
  }

  /** Ids of the pods in `set` (only this node's pods for scope `local`), sorted. */
  podsOf(set: PodSetSpec, scope: SetScope): readonly string[] {
    const cacheKey = `${scope}|${set.key}`;
    const cached = this.#podSets.get(cacheKey);
    if (cached !== undefined) return cached;
    let namespaces: Set<string>;
    if (set.namespaces.kind === 'name') namespaces = new Set([set.namespaces.name]);
    else {
      namespaces = new Set();
      for (const [name, labels] of this.#world.namespaces) {
        if (selectorMatches(set.namespaces.selector, labels)) namespaces.add(name);
      }
    }
    let ids = this.#world.index.select(set.pods, namespaces);
    if (scope === 'local') ids = ids.filter((id) => this.#world.pods.get(id)?.endpoint !== undefined);
    this.#podSets.set(cacheKey, ids);
    return ids;
  }

  podIps(set: PodSetSpec, scope: SetScope, family: InetFamily): string {
    return this.#register(podIpsSet(set, scope, family), () =>
      this.podsOf(set, scope).flatMap((id) => podAddresses(this.#world.pods.get(id)!, family)),
    );
  }

  /** The isolation set of a namespace and direction: the union of its policies' local targets. */
  isolation(
    namespace: string,
    direction: 'ingress' | 'egress',
    targets: readonly PodSetSpec[],
    family: InetFamily,
  ): string {
    return this.#register(isolationSet(namespace, direction, family), () => {
      const ids = new Set<string>();
      for (const s of targets) for (const id of this.podsOf(s, 'local')) ids.add(id);
      return [...ids].flatMap((id) => podAddresses(this.#world.pods.get(id)!, family));
    });
  }

  /**
   * hash:ip,port of (address, protocol:port) for every pod of `set` that has a container port
   * named `name` with protocol `protocol` — the port number is each pod's own.
   */
  namedPort(
    set: PodSetSpec,
    scope: SetScope,
    name: string,
    protocol: IptProtocol,
    family: InetFamily,
  ): string {
    return this.#register(namedPortSet(set, scope, name, protocol, family), () =>
      this.podsOf(set, scope).flatMap((id) =>
        namedPortMembers(this.#world.pods.get(id)!, name, protocol, family),
      ),
    );
  }

  nets(members: readonly string[], family: InetFamily): string {
    return this.#register(netsSet(members, family), () => members);
  }

  /** Every set handed out so far, normalized, by name. */
  sets(): IpSet[] {
    return [...this.#sets.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  #register(id: SetIdentity, members: () => readonly string[]): string {
    if (!this.#sets.has(id.name))
      this.#sets.set(id.name, ipSetOfCanonicalMembers({ ...id, members: members() }));
    return id.name;
  }
}
