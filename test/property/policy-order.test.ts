// The policy calculation depends only on the final set of objects (Felix calc_graph_fv_test.go),
// and PolicyStore's incremental render is renderPolicy's render from scratch:
// - renderPolicy: any permutation of the input arrays, with identical duplicates, renders the same;
// - PolicyStore: any interleaving of update/delete events (stale versions first, objects created
//   and deleted again, final events repeated), rendered at random points on the way, renders what
//   renderPolicy renders for the objects it holds at each point;
// - PolicyStore after single changes (pod label changes, moves between this node and another,
//   address family changes, deletions and re-creations, namespace label changes and deletions,
//   policy changes and deletions): each render equals renderPolicy of the same objects, and
//   everything whose content did not change since the previous render is the same object;
// - node-local: only policies that select a pod of this node have chains, in the families a pod of
//   this node has an address of; every set is one a rule names; a family no local pod uses holds
//   the fixed chains only. Which policy selects a local pod is decided here by a matcher of the
//   test's own, not by the renderer;
// - a remote pod's label change, a namespace's label change, and a local pod's label change that
//   changes no policy's selection of local pods, change ipset members only.
// Seeds are printed by fast-check on failure; replay with { seed, path }.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { policyChainName } from '../../felix/calc/policy-chains.ts';
import type { PolicyEvent, PolicyStoreRender } from '../../felix/calc/policy-store.ts';
import { PolicyStore } from '../../felix/calc/policy-store.ts';
import type { PolicyRender } from '../../felix/calc/render-policy.ts';
import { renderPolicy } from '../../felix/calc/render-policy.ts';
import { normalizeIpSet } from '../../felix/model/ipsets.ts';
import type { Chain, InetFamily } from '../../felix/model/iptables.ts';
import { canonicalJson } from '../../felix/model/iptables.ts';
import type {
  LabelSelector,
  NetworkPolicy,
  PolicyInput,
  PolicyNamespace,
  PolicyPod,
} from '../../felix/model/policy.ts';
import type { Cluster } from '../unit/felix/calc/arbitraries.ts';
import {
  cluster,
  labels,
  lastPerId,
  NS_NAMES,
  namespace,
  nsId,
  pod,
  podId,
  policy,
  policyId,
} from '../unit/felix/calc/arbitraries.ts';

const NODE = 'n1';

function toInput(c: Cluster): PolicyInput {
  return { nodeName: NODE, pods: c.pods, namespaces: c.namespaces, policies: c.policies };
}

function finalState(c: Cluster): Cluster {
  return {
    pods: lastPerId(c.pods, podId),
    namespaces: lastPerId(c.namespaces, nsId),
    policies: lastPerId(c.policies, policyId),
  };
}

/** The render without the store's `changed` flags. */
function content(r: PolicyStoreRender): PolicyRender {
  return { iptables: r.iptables, ipsets: r.ipsets, explain: r.explain };
}

/** Reorders `xs` by the random keys (missing keys sort last, stable). */
function permute<T>(xs: readonly T[], keys: readonly number[]): T[] {
  return xs
    .map((x, i) => ({ x, k: keys[i] ?? Number.MAX_SAFE_INTEGER, i }))
    .sort((a, b) => a.k - b.k || a.i - b.i)
    .map((e) => e.x);
}

const keys = fc.array(fc.nat(), { maxLength: 40 });

// ---- the test's own reading of Kubernetes label selectors (the oracle for "selects") ----

function selects(sel: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const listed = has && (e.values ?? []).includes(labels[e.key]!);
    if (e.operator === 'In' && !listed) return false;
    if (e.operator === 'NotIn' && listed) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** `policy pod` for every policy and pod of this node it applies to. */
function localSelections(c: Cluster): Set<string> {
  const out = new Set<string>();
  for (const p of c.policies)
    for (const q of c.pods)
      if (q.nodeName === NODE && q.namespace === p.namespace && selects(p.spec.podSelector, q.labels ?? {}))
        out.add(`${policyId(p)} ${podId(q)}`);
  return out;
}

const FIXED_CHAINS = ['mgy-FORWARD', 'mgy-INPUT', 'mgy-OUTPUT', 'mgy-from-wl-dispatch', 'mgy-to-wl-dispatch'];

function chainsOf(r: PolicyRender, family: InetFamily): Chain[] {
  return r.iptables[family].flatMap((t) => t.chains);
}

/** Set names a family's rules match on. */
function matchedSets(r: PolicyRender, family: InetFamily): Set<string> {
  const out = new Set<string>();
  for (const c of chainsOf(r, family))
    for (const rule of c.rules)
      rule.match.forEach((a, i) => {
        if (a === '--match-set') out.add(rule.match[i + 1]!);
      });
  return out;
}

/** Everything unchanged since `prev` is the same object; `changed` says which parts are new. */
function expectIdentity(prev: PolicyStoreRender, next: PolicyStoreRender): void {
  const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);
  for (const f of ['inet', 'inet6'] as const) {
    const before = new Map(chainsOf(prev, f).map((c) => [c.name, c]));
    for (const c of chainsOf(next, f)) {
      const old = before.get(c.name);
      if (old !== undefined && same(old, c)) expect(c, `${f} chain ${c.name}`).toBe(old);
    }
    if (same(prev.iptables[f], next.iptables[f])) expect(next.iptables[f]).toBe(prev.iptables[f]);
  }
  const sets = new Map(prev.ipsets.map((s) => [s.name, s]));
  for (const s of next.ipsets) {
    const old = sets.get(s.name);
    if (old !== undefined && same(old, s)) expect(s, `ipset ${s.name}`).toBe(old);
  }
  for (const part of ['iptables', 'ipsets', 'explain'] as const) {
    if (same(prev[part], next[part])) expect(next[part], part).toBe(prev[part]);
    expect(next.changed[part], `changed.${part}`).toBe(next[part] !== prev[part]);
  }
}

describe('policy rendering is order independent', () => {
  it('renderPolicy: permuted arrays with identical duplicates render the same', () => {
    fc.assert(
      fc.property(cluster, keys, keys, keys, fc.array(fc.nat(), { maxLength: 4 }), (c0, k1, k2, k3, dups) => {
        const c = finalState(c0);
        const base = canonicalJson(renderPolicy(toInput(c)));
        const dup = <T>(xs: readonly T[]): T[] => [
          ...xs,
          ...dups.filter((d) => d < xs.length).map((d) => xs[d]!),
        ];
        const shuffled: Cluster = {
          pods: permute(dup(c.pods), k1),
          namespaces: permute(dup(c.namespaces), k2),
          policies: permute(dup(c.policies), k3),
        };
        expect(canonicalJson(renderPolicy(toInput(shuffled)))).toBe(base);
      }),
      { numRuns: 150 },
    );
  });

  it('PolicyStore: any interleaving of stale updates, deletes and repeats renders as renderPolicy at every point', () => {
    const noise = fc.record({
      pods: fc.array(pod, { maxLength: 6 }),
      namespaces: fc.array(namespace, { maxLength: 3 }),
      policies: fc.array(policy, { maxLength: 4 }),
    });
    fc.assert(
      fc.property(
        cluster,
        noise,
        fc.array(fc.nat(), { maxLength: 120 }),
        fc.array(fc.boolean(), { maxLength: 30 }),
        fc.array(fc.nat({ max: 9 }), { maxLength: 60 }),
        (c0, n, choices, flags, renderAt) => {
          const c = finalState(c0);
          let flag = 0;
          const coin = () => flags[flag++ % Math.max(1, flags.length)] ?? false;
          // One queue of events per identity, in the order that identity must see them.
          const queues = new Map<string, PolicyEvent[]>();
          const q = (id: string) => {
            let e = queues.get(id);
            if (e === undefined) {
              e = [];
              queues.set(id, e);
            }
            return e;
          };
          for (const p of n.pods) q(`pod ${podId(p)}`).push({ type: 'podUpdated', pod: p });
          for (const s of n.namespaces) q(`ns ${nsId(s)}`).push({ type: 'namespaceUpdated', namespace: s });
          for (const p of n.policies) q(`pol ${policyId(p)}`).push({ type: 'policyUpdated', policy: p });
          for (const [id, events] of queues) {
            // Sometimes a stale object is deleted before its final version arrives.
            if (coin()) {
              const [kind, key] = [id.slice(0, id.indexOf(' ')), id.slice(id.indexOf(' ') + 1)];
              const [ns, name] = key.split('/') as [string, string];
              if (kind === 'pod') events.push({ type: 'podDeleted', namespace: ns, name });
              if (kind === 'ns') events.push({ type: 'namespaceDeleted', name: key });
              if (kind === 'pol') events.push({ type: 'policyDeleted', namespace: ns, name });
            }
          }
          const finalIds = new Set<string>();
          const final = (id: string, e: PolicyEvent) => {
            finalIds.add(id);
            q(id).push(e);
            if (coin()) q(id).push(e); // duplicated delivery
          };
          for (const p of c.pods) final(`pod ${podId(p)}`, { type: 'podUpdated', pod: p });
          for (const s of c.namespaces) final(`ns ${nsId(s)}`, { type: 'namespaceUpdated', namespace: s });
          for (const p of c.policies) final(`pol ${policyId(p)}`, { type: 'policyUpdated', policy: p });
          // Noise objects that are not in the final state end deleted (maybe twice).
          for (const [id, events] of queues) {
            if (finalIds.has(id)) continue;
            const key = id.slice(id.indexOf(' ') + 1);
            const [ns, name] = key.split('/') as [string, string];
            const del: PolicyEvent = id.startsWith('pod ')
              ? { type: 'podDeleted', namespace: ns, name }
              : id.startsWith('ns ')
                ? { type: 'namespaceDeleted', name: key }
                : { type: 'policyDeleted', namespace: ns, name };
            events.push(del);
            if (coin()) events.push(del);
          }
          const store = new PolicyStore({ nodeName: NODE });
          const live = [...queues.values()].filter((e) => e.length > 0);
          let i = 0;
          let prev: PolicyStoreRender | undefined;
          const check = () => {
            const r = store.render();
            expect(canonicalJson(content(r))).toBe(canonicalJson(renderPolicy(store.input())));
            if (prev !== undefined) expectIdentity(prev, r);
            prev = r;
          };
          while (live.length > 0) {
            const at = (choices[i] ?? 0) % live.length;
            store.apply(live[at]!.shift()!);
            if (live[at]!.length === 0) live.splice(at, 1);
            if (renderAt[i++] === 0) check();
          }
          check();
          expect(canonicalJson(content(prev!))).toBe(canonicalJson(renderPolicy(toInput(c))));
        },
      ),
      { numRuns: 150 },
    );
  });
});

// ---- single changes ----

type Change =
  | { readonly kind: 'relabel'; readonly which: number; readonly labels: Record<string, string> }
  | { readonly kind: 'move'; readonly which: number }
  | { readonly kind: 'ipv6'; readonly which: number }
  | { readonly kind: 'ports'; readonly which: number }
  | { readonly kind: 'deletePod'; readonly which: number }
  | { readonly kind: 'pod'; readonly pod: PolicyPod }
  | { readonly kind: 'namespace'; readonly namespace: PolicyNamespace }
  | { readonly kind: 'deleteNamespace'; readonly which: number }
  | { readonly kind: 'policy'; readonly policy: NetworkPolicy }
  | { readonly kind: 'deletePolicy'; readonly which: number };

const change: fc.Arbitrary<Change> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('relabel' as const), which: fc.nat(), labels }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('move' as const), which: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('ipv6' as const), which: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('ports' as const), which: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deletePod' as const), which: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pod' as const), pod }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('namespace' as const), namespace }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteNamespace' as const), which: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('policy' as const), policy }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deletePolicy' as const), which: fc.nat() }) },
);

/** The objects after `ch`, and the event that says so. */
function applyChange(c: Cluster, ch: Change): { next: Cluster; event: PolicyEvent | undefined } {
  const podAt = (which: number) => (c.pods.length === 0 ? undefined : c.pods[which % c.pods.length]!);
  const replacePod = (old: PolicyPod, p: PolicyPod): { next: Cluster; event: PolicyEvent } => ({
    next: { ...c, pods: c.pods.map((x) => (x === old ? p : x)) },
    event: { type: 'podUpdated', pod: p },
  });
  switch (ch.kind) {
    case 'relabel':
    case 'move':
    case 'ipv6':
    case 'ports': {
      const old = podAt(ch.which);
      if (old === undefined) return { next: c, event: undefined };
      if (ch.kind === 'relabel') return replacePod(old, { ...old, labels: ch.labels });
      if (ch.kind === 'move')
        return replacePod(old, { ...old, nodeName: old.nodeName === NODE ? 'n2' : NODE });
      if (ch.kind === 'ports') return replacePod(old, { ...old, ports: (old.ports ?? []).slice(1) });
      const v4 = old.ipv4![0]!;
      return replacePod(
        old,
        old.ipv6 === undefined || old.ipv6.length === 0
          ? { ...old, ipv6: [`2001:db8::${v4.split('.').join(':')}`] }
          : { ...old, ipv6: [] },
      );
    }
    case 'deletePod': {
      const old = podAt(ch.which);
      if (old === undefined) return { next: c, event: undefined };
      return {
        next: { ...c, pods: c.pods.filter((x) => x !== old) },
        event: { type: 'podDeleted', namespace: old.namespace, name: old.name },
      };
    }
    case 'pod':
      return {
        next: { ...c, pods: [...c.pods.filter((x) => podId(x) !== podId(ch.pod)), ch.pod] },
        event: { type: 'podUpdated', pod: ch.pod },
      };
    case 'namespace':
      return {
        next: {
          ...c,
          namespaces: [...c.namespaces.filter((x) => x.name !== ch.namespace.name), ch.namespace],
        },
        event: { type: 'namespaceUpdated', namespace: ch.namespace },
      };
    case 'deleteNamespace': {
      const name = NS_NAMES[ch.which % NS_NAMES.length]!;
      return {
        next: { ...c, namespaces: c.namespaces.filter((x) => x.name !== name) },
        event: { type: 'namespaceDeleted', name },
      };
    }
    case 'policy':
      return {
        next: {
          ...c,
          policies: [...c.policies.filter((x) => policyId(x) !== policyId(ch.policy)), ch.policy],
        },
        event: { type: 'policyUpdated', policy: ch.policy },
      };
    case 'deletePolicy': {
      if (c.policies.length === 0) return { next: c, event: undefined };
      const old = c.policies[ch.which % c.policies.length]!;
      return {
        next: { ...c, policies: c.policies.filter((x) => x !== old) },
        event: { type: 'policyDeleted', namespace: old.namespace, name: old.name },
      };
    }
  }
}

describe('PolicyStore after single changes', () => {
  // Every change is also rendered from scratch: the slowest property here, hence its own timeout.
  it('each render equals renderPolicy of the same objects; what did not change is the same object', () => {
    const kinds = new Set<string>();
    let steps = 0;
    fc.assert(
      fc.property(
        cluster,
        fc.array(change, { minLength: 1, maxLength: 25 }),
        fc.array(fc.boolean(), { maxLength: 25 }),
        fc.nat({ max: 3 }),
        fc.boolean(),
        fc.array(fc.nat({ max: 2 }), { maxLength: 60 }),
        (c0, changes, skipRender, retained, stepwise, partial) => {
          let c = finalState(c0);
          // Few retained sets, so released sets are both reused and dropped; sets filled one or
          // two pods per piece of work, so fills are under way when the next events arrive.
          const store = new PolicyStore({
            nodeName: NODE,
            retain: { sets: retained, members: 4 * retained },
            slice: 1 + (retained % 2),
          });
          let k = 0;
          const apply = (e: PolicyEvent) => {
            store.apply(e);
            if (stepwise)
              for (let n = partial[k++ % Math.max(1, partial.length)] ?? 0; n > 0; n--) store.prepare(0);
          };
          for (const p of c.pods) apply({ type: 'podUpdated', pod: p });
          for (const n of c.namespaces) apply({ type: 'namespaceUpdated', namespace: n });
          for (const p of c.policies) apply({ type: 'policyUpdated', policy: p });
          let prev = store.render();
          expect(canonicalJson(content(prev))).toBe(canonicalJson(renderPolicy(toInput(c))));
          const check = (what: string) => {
            // In steps of one piece of work each (the budget is spent at once), or all at once;
            // stepwise, some steps also run between events (above).
            if (stepwise) while (!store.prepare(0)) steps++;
            const r = store.render();
            expect(canonicalJson(content(r)), what).toBe(canonicalJson(renderPolicy(toInput(c))));
            expectIdentity(prev, r);
            prev = r;
          };
          let pending = false;
          changes.forEach((ch, i) => {
            const { next, event } = applyChange(c, ch);
            c = next;
            if (event === undefined) return;
            kinds.add(ch.kind);
            apply(event);
            pending = true;
            if (skipRender[i] === true) return; // several changes in one render
            check(`after ${JSON.stringify(ch)}`);
            pending = false;
          });
          if (pending) check('after the last changes');
          // Nothing applied since: the next render is the previous one, object for object.
          const again = store.render();
          expect(again.iptables).toBe(prev.iptables);
          expect(again.ipsets).toBe(prev.ipsets);
          expect(again.explain).toBe(prev.explain);
          expect(again.changed).toEqual({ iptables: false, ipsets: false, explain: false });
        },
      ),
      { numRuns: 120 },
    );
    expect([...kinds].sort()).toEqual(
      [
        'deleteNamespace',
        'deletePod',
        'deletePolicy',
        'ipv6',
        'move',
        'namespace',
        'pod',
        'policy',
        'ports',
        'relabel',
      ].sort(),
    );
    expect(steps, 'renders prepared in more than one step').toBeGreaterThan(100);
  }, 90_000);

  it('the first render marks every part changed; a render after a remote label change only the ipsets', () => {
    const store = new PolicyStore({ nodeName: NODE });
    const remote: PolicyPod = {
      namespace: 'a',
      name: 'r',
      nodeName: 'n2',
      labels: { app: 'x' },
      ipv4: ['10.244.2.1'],
    };
    store.apply({
      type: 'podUpdated',
      pod: { namespace: 'a', name: 'l', nodeName: NODE, ipv4: ['10.244.1.1'] },
    });
    store.apply({ type: 'podUpdated', pod: remote });
    store.apply({
      type: 'policyUpdated',
      policy: {
        namespace: 'a',
        name: 'q',
        spec: { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'x' } } }] }] },
      },
    });
    expect(store.render().changed).toEqual({ iptables: true, ipsets: true, explain: true });
    store.apply({ type: 'podUpdated', pod: { ...remote, labels: { app: 'y' } } });
    expect(store.render().changed).toEqual({ iptables: false, ipsets: true, explain: false });
  });
});

describe('node-local rendering', () => {
  it('only policies selecting a local pod have chains, only in the families local pods use', () => {
    let active = 0;
    let inactive = 0;
    fc.assert(
      fc.property(cluster, (c0) => {
        const c = finalState(c0);
        const r = renderPolicy(toInput(c));
        const local = c.pods.filter((p) => p.nodeName === NODE);
        const families = (['inet', 'inet6'] as const).filter((f) =>
          local.some((p) => ((f === 'inet' ? p.ipv4 : p.ipv6) ?? []).length > 0),
        );
        expect(r.explain.families).toEqual(families);
        const selected = new Set([...localSelections(c)].map((s) => s.split(' ')[0]!));
        for (const f of ['inet', 'inet6'] as const) {
          const names = chainsOf(r, f).map((ch) => ch.name);
          const policyChains = new Set(names.filter((n) => /^mgy-p[io]-/.test(n)));
          if (!families.includes(f)) {
            expect(names.sort()).toEqual([...FIXED_CHAINS].sort());
            expect(r.ipsets.filter((s) => s.family === f)).toEqual([]);
            continue;
          }
          for (const p of c.policies) {
            const id = policyId(p);
            const has = [policyChainName(id, 'ingress'), policyChainName(id, 'egress')].filter((n) =>
              policyChains.has(n),
            );
            if (selected.has(id)) {
              active++;
              expect(has.length, `${f} chains of ${id}`).toBeGreaterThan(0);
            } else {
              inactive++;
              expect(has, `${f} chains of ${id}, which selects no local pod`).toEqual([]);
            }
          }
          expect(policyChains.size).toBeLessThanOrEqual(2 * selected.size);
        }
        // Every set is one a rule of its family names, and every named set exists.
        for (const f of ['inet', 'inet6'] as const) {
          const named = matchedSets(r, f);
          const have = new Set(r.ipsets.filter((s) => s.family === f).map((s) => s.name));
          expect([...have].sort()).toEqual([...named].sort());
        }
      }),
      { numRuns: 300 },
    );
    expect(active).toBeGreaterThan(50);
    expect(inactive).toBeGreaterThan(50);
  });

  it('set members are canonical, sorted and unique (canonicalizing them again changes nothing)', () => {
    fc.assert(
      fc.property(cluster, (c0) => {
        const r = renderPolicy(toInput(finalState(c0)));
        for (const s of r.ipsets)
          expect(normalizeIpSet({ ...s, members: [...s.members] }).members).toEqual(s.members);
      }),
      { numRuns: 100 },
    );
  });
});

describe('label changes touch ipset members, never a chain, unless a local selection changes', () => {
  const chainsAndSetNames = (input: PolicyInput) => {
    const r = renderPolicy(input);
    return {
      iptables: canonicalJson(r.iptables),
      sets: r.ipsets.map((s) => `${s.name} ${s.type} ${s.family}`),
      r,
    };
  };
  it('pod labels: a remote pod, or a local pod whose policies stay the same', () => {
    let local = 0;
    fc.assert(
      fc.property(cluster, fc.nat(), labels, (c0, which, newLabels) => {
        const c = finalState(c0);
        fc.pre(c.pods.length > 0);
        const i = which % c.pods.length;
        const changed = { ...c, pods: c.pods.map((p, j) => (j === i ? { ...p, labels: newLabels } : p)) };
        const sameSelection =
          canonicalJson([...localSelections(c)]) === canonicalJson([...localSelections(changed)]);
        if (c.pods[i]!.nodeName === NODE) {
          fc.pre(sameSelection);
          local++;
        } else expect(sameSelection).toBe(true);
        const before = chainsAndSetNames(toInput(c));
        const after = chainsAndSetNames(toInput(changed));
        expect(after.iptables).toBe(before.iptables);
        expect(after.sets).toEqual(before.sets);
      }),
      { numRuns: 200 },
    );
    expect(local).toBeGreaterThan(10);
  });
  it('namespace labels', () => {
    fc.assert(
      fc.property(
        cluster,
        fc.nat(),
        fc.dictionary(fc.constantFrom('env', 'team'), fc.constantFrom('x', 'y')),
        (c0, which, newLabels) => {
          const c = finalState(c0);
          fc.pre(c.namespaces.length > 0);
          const i = which % c.namespaces.length;
          const changed = c.namespaces.map((n, j) => (j === i ? { ...n, labels: newLabels } : n));
          const before = chainsAndSetNames(toInput(c));
          const after = chainsAndSetNames(toInput({ ...c, namespaces: changed }));
          expect(after.iptables).toBe(before.iptables);
          expect(after.sets).toEqual(before.sets);
        },
      ),
      { numRuns: 100 },
    );
  });
  it('a local pod label change that changes a selection does change chains', () => {
    let seen = 0;
    fc.assert(
      fc.property(cluster, fc.nat(), labels, (c0, which, newLabels) => {
        const c = finalState(c0);
        const local = c.pods.filter((p) => p.nodeName === NODE);
        fc.pre(local.length > 0);
        const target = local[which % local.length]!;
        const changed = { ...c, pods: c.pods.map((p) => (p === target ? { ...p, labels: newLabels } : p)) };
        const activeOf = (x: Cluster) => new Set([...localSelections(x)].map((s) => s.split(' ')[0]!));
        fc.pre(canonicalJson([...activeOf(c)].sort()) !== canonicalJson([...activeOf(changed)].sort()));
        seen++;
        expect(chainsAndSetNames(toInput(changed)).iptables).not.toBe(chainsAndSetNames(toInput(c)).iptables);
      }),
      { numRuns: 100 },
    );
    expect(seen).toBeGreaterThan(10);
  });
  it('the properties are not vacuous: label changes do move set members', () => {
    let moved = 0;
    fc.assert(
      fc.property(cluster, fc.nat(), labels, (c0, which, newLabels) => {
        const c = finalState(c0);
        fc.pre(c.pods.length > 0 && c.policies.length > 0);
        const i = which % c.pods.length;
        const a = renderPolicy(toInput(c)).ipsets;
        const b = renderPolicy(
          toInput({ ...c, pods: c.pods.map((p, j) => (j === i ? { ...p, labels: newLabels } : p)) }),
        ).ipsets;
        if (canonicalJson(a) !== canonicalJson(b)) moved++;
      }),
      // A fixed seed: this counts outcomes, so a random draw could land on the threshold.
      { numRuns: 400, seed: 20261121 },
    );
    expect(moved).toBeGreaterThan(10);
  });
});
