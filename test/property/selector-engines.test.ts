// One label-selector engine: a Kubernetes label selector, its Calico-syntax equivalent written
// out as text and parsed, and the canonical form that names NetworkPolicy ipsets select the same
// label sets, and all three agree with Kubernetes' own rules for label selectors, spelled out
// here independently of the engine (k8s.io/apimachinery labels: terms ANDed; In needs the label
// with one of the values; NotIn matches an absent label or another value; Exists/DoesNotExist).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalSelector, selectorMatches } from '../../felix/calc/selector.ts';
import { compileSelector, evaluateSelector, parseSelector } from '../../felix/calc/selector-expr.ts';
import type { LabelSelector, LabelSelectorRequirement } from '../../felix/model/policy.ts';

// Few keys and values, so selectors and label sets meet often.
const key = fc.constantFrom('app', 'tier', 'team', 'example.com/zone', 'legacy');
const value = fc.constantFrom('web', 'db', 'a', 'b', '');
const labels = fc.dictionary(key, value, { maxKeys: 5 });

const requirement: fc.Arbitrary<LabelSelectorRequirement> = fc.oneof(
  fc.record({
    key,
    operator: fc.constantFrom('In' as const, 'NotIn' as const),
    values: fc.array(value, { minLength: 1, maxLength: 3 }),
  }),
  fc.record({ key, operator: fc.constantFrom('Exists' as const, 'DoesNotExist' as const) }),
);

const labelSelector: fc.Arbitrary<LabelSelector> = fc.record(
  {
    matchLabels: fc.dictionary(key, value, { maxKeys: 3 }),
    matchExpressions: fc.array(requirement, { maxLength: 4 }),
  },
  { requiredKeys: [] },
);

/** Kubernetes' rules, written out for the test. */
function k8sMatches(sel: LabelSelector, l: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {}))
    if (!Object.hasOwn(l, k) || l[k] !== v) return false;
  for (const r of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(l, r.key);
    const values = r.values ?? [];
    const ok =
      r.operator === 'In'
        ? has && values.includes(l[r.key]!)
        : r.operator === 'NotIn'
          ? !has || !values.includes(l[r.key]!)
          : r.operator === 'Exists'
            ? has
            : !has;
    if (!ok) return false;
  }
  return true;
}

/** The Calico selector a user would write for the same thing, as text. */
function calicoText(sel: LabelSelector): string {
  const q = (v: string) => `'${v}'`;
  const terms: string[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) terms.push(`${k} == ${q(v)}`);
  for (const r of sel.matchExpressions ?? []) {
    const values = (r.values ?? []).map(q).join(', ');
    if (r.operator === 'In') terms.push(`${r.key} in {${values}}`);
    else if (r.operator === 'NotIn') terms.push(`${r.key} not in {${values}}`);
    else if (r.operator === 'Exists') terms.push(`has(${r.key})`);
    else terms.push(`!has(${r.key})`);
  }
  return terms.length === 0 ? 'all()' : terms.join(' && ');
}

describe('one selector engine', () => {
  it('a Kubernetes selector and its Calico text select the same label sets, as Kubernetes says', () => {
    fc.assert(
      fc.property(labelSelector, fc.array(labels, { minLength: 1, maxLength: 8 }), (sel, sets) => {
        const canonical = canonicalSelector(sel, 'sel');
        if (!('selector' in canonical)) throw new Error(canonical.problems.join('; '));
        const compiled = compileSelector(sel);
        const fromText = compileSelector(calicoText(sel));
        for (const l of sets) {
          const want = k8sMatches(sel, l);
          expect(selectorMatches(canonical.selector, l)).toBe(want);
          expect(compiled.matches(l)).toBe(want);
          expect(fromText.matches(l)).toBe(want);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('the canonical form is a tree of the engine: its printed text parses back to the same matcher', () => {
    fc.assert(
      fc.property(labelSelector, labels, (sel, l) => {
        const canonical = canonicalSelector(sel, 'sel');
        if (!('selector' in canonical)) throw new Error(canonical.problems.join('; '));
        const reparsed = parseSelector(compileSelector(sel).text);
        expect(evaluateSelector(reparsed, l)).toBe(evaluateSelector(canonical.selector.expr, l));
      }),
      { numRuns: 2000 },
    );
  });
});
