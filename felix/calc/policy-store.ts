// The event-driven front of the policy calculation (Felix's calc graph, reduced): datastore
// updates and deletions of pods, namespaces and policies go in one at a time; `render()` gives the
// node's desired policy dataplane. The store keeps each object already validated (pods resolved,
// policies normalized) and its label index up to date incrementally, so a pod label change costs
// one index update plus the render.
//
// Contract (tested by test/property/policy-order.test.ts, Felix calc_graph_fv_test style): the
// result depends only on the final set of objects — whatever order, duplication or interleaving
// of updates and deletions built it, `render()` equals `renderPolicy(store.input())`.
import type { NetworkPolicy, PolicyInput, PolicyNamespace, PolicyPod } from '../model/policy.ts';
import { LabelIndex } from './label-index.ts';
import type { NormPolicy, PolicyProblem } from './policy-normalize.ts';
import { normalizePolicy } from './policy-normalize.ts';
import type { ResolvedPod } from './policy-sets.ts';
import { namespaceLabels } from './policy-sets.ts';
import type { PolicyRender } from './render-policy.ts';
import { renderResolved, resolvePod } from './render-policy.ts';

export type PolicyEvent =
  | { readonly type: 'podUpdated'; readonly pod: PolicyPod }
  | { readonly type: 'podDeleted'; readonly namespace: string; readonly name: string }
  | { readonly type: 'namespaceUpdated'; readonly namespace: PolicyNamespace }
  | { readonly type: 'namespaceDeleted'; readonly name: string }
  | { readonly type: 'policyUpdated'; readonly policy: NetworkPolicy }
  | { readonly type: 'policyDeleted'; readonly namespace: string; readonly name: string };

interface PodEntry {
  readonly raw: PolicyPod;
  readonly resolved: ResolvedPod;
  readonly problems: readonly PolicyProblem[];
}

interface PolicyEntry {
  readonly raw: NetworkPolicy;
  readonly policy: NormPolicy | undefined;
  readonly problems: readonly PolicyProblem[];
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class PolicyStore {
  readonly nodeName: string;
  readonly #pods = new Map<string, PodEntry>();
  readonly #namespaces = new Map<string, PolicyNamespace>();
  readonly #policies = new Map<string, PolicyEntry>();
  readonly #index = new LabelIndex();

  constructor(opts: { readonly nodeName: string }) {
    this.nodeName = opts.nodeName;
  }

  apply(event: PolicyEvent): void {
    switch (event.type) {
      case 'podUpdated': {
        const r = resolvePod(event.pod, this.nodeName);
        this.#pods.set(r.pod.id, { raw: event.pod, resolved: r.pod, problems: r.problems });
        this.#index.set({ id: r.pod.id, namespace: r.pod.namespace, labels: r.pod.labels });
        return;
      }
      case 'podDeleted': {
        const id = `${event.namespace}/${event.name}`;
        this.#pods.delete(id);
        this.#index.delete(id);
        return;
      }
      case 'namespaceUpdated':
        this.#namespaces.set(event.namespace.name, event.namespace);
        return;
      case 'namespaceDeleted':
        this.#namespaces.delete(event.name);
        return;
      case 'policyUpdated': {
        const r = normalizePolicy(event.policy);
        this.#policies.set(`${event.policy.namespace}/${event.policy.name}`, {
          raw: event.policy,
          policy: r.policy,
          problems: r.problems,
        });
        return;
      }
      case 'policyDeleted':
        this.#policies.delete(`${event.namespace}/${event.name}`);
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

  render(): PolicyRender {
    const pods = new Map<string, ResolvedPod>();
    const problems: PolicyProblem[] = [];
    for (const [id, e] of this.#pods) {
      pods.set(id, e.resolved);
      problems.push(...e.problems);
    }
    const namespaces = new Map<string, Readonly<Record<string, string>>>();
    for (const [name, ns] of this.#namespaces) namespaces.set(name, namespaceLabels(name, ns.labels));
    for (const pod of pods.values()) {
      if (!namespaces.has(pod.namespace)) namespaces.set(pod.namespace, namespaceLabels(pod.namespace, {}));
    }
    const policies: NormPolicy[] = [];
    for (const e of this.#policies.values()) {
      problems.push(...e.problems);
      if (e.policy !== undefined) policies.push(e.policy);
    }
    return renderResolved({
      world: { nodeName: this.nodeName, pods, namespaces, index: this.#index },
      policies,
      problems,
    });
  }
}
