// Kubernetes label selectors (metav1.LabelSelector), pure: validation, a canonical form, matching.
//
// Semantics (k8s.io/apimachinery labels.Selector, as NetworkPolicy uses it):
// - every term is ANDed; an empty selector (`{}`) matches every object;
// - matchLabels `k: v` is the requirement `k In (v)`;
// - `In`: the label exists and its value is one of `values`;
// - `NotIn`: the label is absent, or present with a value not in `values` (absent matches!);
// - `Exists` / `DoesNotExist`: the key is present / absent, whatever the value.
//
// The canonical form (requirements sorted by key, operator, values; values sorted and deduplicated)
// names the ipset of a selector, so two policies that spell one selector differently share one set,
// and its text (`app in (web),!legacy`) is what the status API shows. Matching is the one selector
// engine's (selector-expr.ts): the requirements compile into its expression tree, the tree Calico
// selector text parses into, and `evaluateSelector` decides.
import type { LabelSelector, SelectorOperator } from '../model/policy.ts';
import { SELECTOR_OPERATORS } from '../model/policy.ts';
import { andAll, evaluateSelector, requirementExpr, type SelectorExpr } from './selector-expr.ts';

export interface Requirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  /** Sorted, deduplicated; empty for Exists/DoesNotExist. */
  readonly values: readonly string[];
}

/** A validated selector in canonical form. */
export interface CanonicalSelector {
  readonly requirements: readonly Requirement[];
  /** `all()` for the empty selector; else e.g. `app in (web),tier notin (a,b),team,!legacy`. */
  readonly text: string;
  /** The requirements ANDed, as the selector engine's tree. */
  readonly expr: SelectorExpr;
}

// Label keys: optional DNS-subdomain prefix and "/", then a name of ≤ 63 characters
// (k8s.io/apimachinery validation IsQualifiedName); values: ≤ 63 characters, may be empty.
const NAME_RE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const PREFIX_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export function labelKeyProblem(key: string): string | undefined {
  if (typeof key !== 'string' || key === '') return 'label key must be a non-empty string';
  const slash = key.indexOf('/');
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    if (prefix.length > 253 || !PREFIX_RE.test(prefix)) return `label key ${JSON.stringify(key)}: bad prefix`;
  }
  if (name.length > 63 || !NAME_RE.test(name)) return `label key ${JSON.stringify(key)}: bad name`;
  return undefined;
}

export function labelValueProblem(value: string): string | undefined {
  if (typeof value !== 'string') return 'label value must be a string';
  if (value.length > 63 || !VALUE_RE.test(value)) return `label value ${JSON.stringify(value)} is invalid`;
  return undefined;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const OP_ORDER: Readonly<Record<SelectorOperator, number>> = { In: 0, NotIn: 1, Exists: 2, DoesNotExist: 3 };

function requirementText(r: Requirement): string {
  switch (r.operator) {
    case 'In':
      return `${r.key} in (${r.values.join(',')})`;
    case 'NotIn':
      return `${r.key} notin (${r.values.join(',')})`;
    case 'Exists':
      return r.key;
    case 'DoesNotExist':
      return `!${r.key}`;
  }
}

/**
 * Validates and canonicalizes `sel`. Returns the problems found (field paths relative to `path`)
 * instead of throwing, so the caller can name the policy field and keep everything else.
 */
export function canonicalSelector(
  sel: LabelSelector | undefined,
  path: string,
): { selector: CanonicalSelector } | { problems: string[] } {
  const problems: string[] = [];
  const reqs: Requirement[] = [];
  if (sel === null || typeof sel !== 'object')
    return { problems: [`${path}: must be a label selector object`] };
  const labels = sel.matchLabels ?? {};
  if (typeof labels !== 'object' || labels === null) problems.push(`${path}.matchLabels: must be an object`);
  else {
    for (const [key, value] of Object.entries(labels)) {
      const p = labelKeyProblem(key) ?? labelValueProblem(value);
      if (p !== undefined) problems.push(`${path}.matchLabels: ${p}`);
      else reqs.push({ key, operator: 'In', values: [value] });
    }
  }
  const exprs = sel.matchExpressions ?? [];
  if (!Array.isArray(exprs)) problems.push(`${path}.matchExpressions: must be a list`);
  else {
    exprs.forEach((e, i) => {
      const at = `${path}.matchExpressions[${i}]`;
      if (e === null || typeof e !== 'object') {
        problems.push(`${at}: must be an object`);
        return;
      }
      const keyProblem = labelKeyProblem(e.key);
      if (keyProblem !== undefined) {
        problems.push(`${at}.key: ${keyProblem}`);
        return;
      }
      if (!SELECTOR_OPERATORS.includes(e.operator)) {
        problems.push(
          `${at}.operator: ${JSON.stringify(e.operator)} is not one of ${SELECTOR_OPERATORS.join(', ')}`,
        );
        return;
      }
      const values = e.values ?? [];
      if (!Array.isArray(values)) {
        problems.push(`${at}.values: must be a list`);
        return;
      }
      const needsValues = e.operator === 'In' || e.operator === 'NotIn';
      if (needsValues && values.length === 0) {
        problems.push(`${at}.values: must be non-empty for ${e.operator}`);
        return;
      }
      if (!needsValues && values.length > 0) {
        problems.push(`${at}.values: must be empty for ${e.operator}`);
        return;
      }
      const bad = values.map(labelValueProblem).find((p) => p !== undefined);
      if (bad !== undefined) {
        problems.push(`${at}.values: ${bad}`);
        return;
      }
      reqs.push({ key: e.key, operator: e.operator, values: [...new Set(values)].sort(cmp) });
    });
  }
  if (problems.length > 0) return { problems };
  const seen = new Set<string>();
  const requirements = reqs
    .sort(
      (a, b) =>
        cmp(a.key, b.key) ||
        OP_ORDER[a.operator] - OP_ORDER[b.operator] ||
        cmp(a.values.join(','), b.values.join(',')),
    )
    .filter((r) => {
      const t = requirementText(r);
      if (seen.has(t)) return false;
      seen.add(t);
      return true;
    });
  const text = requirements.length === 0 ? 'all()' : requirements.map(requirementText).join(',');
  return { selector: { requirements, text, expr: andAll(requirements.map(requirementExpr)) } };
}

export function selectorMatches(sel: CanonicalSelector, labels: Readonly<Record<string, string>>): boolean {
  return evaluateSelector(sel.expr, labels);
}

/** The selector that matches everything (`{}`). */
export const SELECT_ALL: CanonicalSelector = { requirements: [], text: 'all()', expr: { op: 'all' } };
