// Selector memberships as ipsets (Felix felix/calc ipset calculation): the world a render sees
// (pods resolved, namespaces with labels, a label index), and a registry that hands out the name
// of each set a rule needs and computes its members once.
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
import { ipsetName } from '../model/ipsets.ts';
import type { IpFamily } from '../model/iptables.ts';
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

function addrs(pod: ResolvedPod, family: IpFamily): readonly string[] {
  return family === 'inet' ? pod.ipv4 : pod.ipv6;
}

/** Namespace labels with the API server's name label (see NAMESPACE_NAME_LABEL). */
export function namespaceLabels(
  name: string,
  labels: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  return { ...(labels ?? {}), [NAMESPACE_NAME_LABEL]: name };
}

export class SetRegistry {
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

  /** hash:ip of the addresses of a pod set (`sel` cluster-wide, `tgt` this node's pods). */
  podIps(set: PodSetSpec, scope: SetScope, family: IpFamily): string {
    const origin = `${scope === 'cluster' ? 'pods' : 'local pods'} ${set.key}`;
    return this.#register(scope === 'cluster' ? 'sel' : 'tgt', set.key, 'hash:ip', family, origin, () =>
      this.podsOf(set, scope).flatMap((id) => addrs(this.#world.pods.get(id)!, family)),
    );
  }

  /** hash:ip union of several local pod sets (a namespace's isolation set for one direction). */
  union(key: string, sets: readonly PodSetSpec[], family: IpFamily): string {
    const origin = `local pods selected by ${key}`;
    return this.#register('iso', key, 'hash:ip', family, origin, () => {
      const ids = new Set<string>();
      for (const s of sets) for (const id of this.podsOf(s, 'local')) ids.add(id);
      return [...ids].flatMap((id) => addrs(this.#world.pods.get(id)!, family));
    });
  }

  /**
   * hash:ip,port of (address, protocol:port) for every pod of `set` that has a container port
   * named `name` with protocol `protocol` — the port number is each pod's own.
   */
  namedPort(set: PodSetSpec, scope: SetScope, name: string, protocol: IptProtocol, family: IpFamily): string {
    const origin = `named port ${name}/${protocol} of ${scope === 'cluster' ? 'pods' : 'local pods'} ${set.key}`;
    return this.#register(
      'np',
      `${scope}|${set.key}|${name}|${protocol}`,
      'hash:ip,port',
      family,
      origin,
      () => {
        const out: string[] = [];
        for (const id of this.podsOf(set, scope)) {
          const pod = this.#world.pods.get(id)!;
          for (const p of pod.ports) {
            if (p.name !== name || p.protocol !== protocol) continue;
            for (const a of addrs(pod, family)) out.push(`${a},${protocol}:${p.port}`);
          }
        }
        return out;
      },
    );
  }

  /** hash:net of fixed networks (an ipBlock's except list). */
  nets(members: readonly string[], family: IpFamily): string {
    const origin = `ipBlock except ${members.join(' ')}`;
    return this.#register('net', members.join(' '), 'hash:net', family, origin, () => members);
  }

  /** Every set handed out so far (a set's origin says what it means, never who asked first). */
  sets(): IpSet[] {
    return [...this.#sets.values()];
  }

  #register(
    kind: string,
    key: string,
    type: IpSetType,
    family: IpFamily,
    origin: string,
    members: () => readonly string[],
  ): string {
    const name = ipsetName(kind, key, type, family);
    if (!this.#sets.has(name)) this.#sets.set(name, { name, type, family, members: members(), origin });
    return name;
  }
}
