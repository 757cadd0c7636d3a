// Label and field selectors with the grammar and matching rules of k8s.io/apimachinery
// (pkg/labels/selector.go, pkg/fields/selector.go). Parse errors become 400 BadRequest.
//
// Label selector: requirements separated by ',':  key | !key | key=v | key==v | key!=v |
//   key in (v1,v2) | key notin (v1,v2) | key>N | key<N.
// `!=` and `notin` also match objects that do not carry the key at all; `>`/`<` need an integer label.
// Field selector: terms `field=v`, `field==v`, `field!=v` separated by ','; `\`-escapes ',', '=', '\'.
import { badRequest } from './status.ts';

export type LabelOperator = 'exists' | 'notExists' | 'in' | 'notIn' | 'gt' | 'lt';

export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  readonly values: readonly string[];
}

export interface FieldRequirement {
  readonly field: string;
  readonly operator: 'equals' | 'notEquals';
  readonly value: string;
}

const NAME_RE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function validateKey(key: string): void {
  const slash = key.indexOf('/');
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  if (
    prefix !== undefined &&
    (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN_RE.test(prefix))
  ) {
    throw badRequest(
      `unable to parse requirement: invalid label key "${key}": prefix part must be a DNS subdomain`,
    );
  }
  if (name.length === 0 || name.length > 63 || !NAME_RE.test(name)) {
    throw badRequest(
      `unable to parse requirement: invalid label key "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
    );
  }
}

function validateValue(value: string): void {
  if (value !== '' && (value.length > 63 || !NAME_RE.test(value))) {
    throw badRequest(
      `unable to parse requirement: invalid label value: "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
    );
  }
}

type Token =
  | { readonly t: 'id'; readonly v: string }
  | { readonly t: 'op'; readonly v: '=' | '==' | '!=' | '!' | '>' | '<' }
  | { readonly t: '(' | ')' | ',' };

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i] as string;
    if (c === ' ' || c === '\t' || c === '\n') {
      i++;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ t: c });
      i++;
    } else if (c === '=' || c === '!' || c === '>' || c === '<') {
      const two = input.slice(i, i + 2);
      if (two === '==' || two === '!=') {
        tokens.push({ t: 'op', v: two });
        i += 2;
      } else {
        tokens.push({ t: 'op', v: c });
        i++;
      }
    } else {
      let j = i;
      while (j < input.length && !' \t\n(),=!<>'.includes(input[j] as string)) j++;
      tokens.push({ t: 'id', v: input.slice(i, j) });
      i = j;
    }
  }
  return tokens;
}

export function parseLabelSelector(input: string): LabelRequirement[] {
  const tokens = tokenize(input);
  const out: LabelRequirement[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw badRequest(`unable to parse requirement: ${why} in selector "${input}"`);
  };
  const next = (): Token | undefined => tokens[i++];
  const peek = (): Token | undefined => tokens[i];
  while (i < tokens.length) {
    let tok = next();
    let negated = false;
    if (tok?.t === 'op' && tok.v === '!') {
      negated = true;
      tok = next();
    }
    if (tok?.t !== 'id') return fail('found unexpected token, expected a key');
    const key = tok.v;
    validateKey(key);
    const after = peek();
    if (negated || after === undefined || after.t === ',') {
      out.push({ key, operator: negated ? 'notExists' : 'exists', values: [] });
    } else if (after.t === 'op') {
      i++;
      const val = peek();
      let value = '';
      if (val?.t === 'id') {
        value = val.v;
        i++;
      } else if (after.v === '>' || after.v === '<') {
        return fail(`for '${after.v}' operator, exactly one value is required`);
      }
      if (after.v === '>' || after.v === '<') {
        if (!/^-?\d+$/.test(value)) return fail(`for '${after.v}' operator, the value must be an integer`);
        out.push({ key, operator: after.v === '>' ? 'gt' : 'lt', values: [value] });
      } else if (after.v === '!') {
        return fail("found '!', expected an operator");
      } else {
        validateValue(value);
        out.push({ key, operator: after.v === '!=' ? 'notIn' : 'in', values: [value] });
      }
    } else if (after.t === 'id' && (after.v === 'in' || after.v === 'notin')) {
      i++;
      if (next()?.t !== '(') return fail(`found unexpected token, expected '(' after '${after.v}'`);
      const values: string[] = [];
      for (;;) {
        const v = next();
        if (v?.t === 'id') {
          validateValue(v.v);
          values.push(v.v);
          const sep = next();
          if (sep?.t === ')') break;
          if (sep?.t !== ',') return fail("found unexpected token, expected ',' or ')'");
        } else if (v?.t === ')' && values.length === 0) {
          return fail(`for '${after.v}', 'notin' operators, values set can't be empty`);
        } else {
          return fail('found unexpected token, expected a value');
        }
      }
      out.push({ key, operator: after.v === 'in' ? 'in' : 'notIn', values });
    } else {
      return fail(`found '${after.t === 'id' ? after.v : after.t}', expected: '=', '!=', '==', 'in', notin'`);
    }
    const sep = next();
    if (sep !== undefined && sep.t !== ',') return fail("found unexpected token, expected ','");
    if (sep?.t === ',' && i >= tokens.length) return fail('found trailing comma');
  }
  return out;
}

export function matchesLabels(
  reqs: readonly LabelRequirement[],
  labels: Readonly<Record<string, string>>,
): boolean {
  for (const r of reqs) {
    const has = Object.hasOwn(labels, r.key);
    const value = labels[r.key];
    switch (r.operator) {
      case 'exists':
        if (!has) return false;
        break;
      case 'notExists':
        if (has) return false;
        break;
      case 'in':
        if (!has || !r.values.includes(value as string)) return false;
        break;
      case 'notIn':
        if (has && r.values.includes(value as string)) return false;
        break;
      case 'gt':
      case 'lt': {
        if (!has || !/^-?\d+$/.test(value as string)) return false;
        const n = Number(value);
        const bound = Number(r.values[0]);
        if (r.operator === 'gt' ? !(n > bound) : !(n < bound)) return false;
        break;
      }
    }
  }
  return true;
}

/** Splits on unescaped `sep`, keeping escapes in place. */
function splitUnescaped(input: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i] as string;
    if (c === '\\' && i + 1 < input.length) {
      cur += c + (input[i + 1] as string);
      i++;
    } else if (c === sep) {
      parts.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  parts.push(cur);
  return parts;
}

function unescapeFieldValue(value: string, term: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i] as string;
    if (c === '\\') {
      const n = value[i + 1];
      if (n !== '\\' && n !== ',' && n !== '=') throw badRequest(`invalid field selector: '${term}'`);
      out += n;
      i++;
    } else if (c === ',' || c === '=') {
      throw badRequest(`invalid field selector: '${term}'; unescaped '${c}' in value`);
    } else {
      out += c;
    }
  }
  return out;
}

/** Parses a field selector and checks every field against the ones this resource supports. */
export function parseFieldSelector(input: string, supported: readonly string[]): FieldRequirement[] {
  if (input.trim() === '') return [];
  const out: FieldRequirement[] = [];
  for (const term of splitUnescaped(input, ',')) {
    const m = /^([^=!]+?)\s*(!=|==|=)\s*(.*)$/.exec(term);
    if (m === null) throw badRequest(`invalid selector: '${input}'; can't understand '${term}'`);
    const field = (m[1] as string).trim();
    if (!supported.includes(field)) throw badRequest(`field label not supported: ${field}`);
    out.push({
      field,
      operator: m[2] === '!=' ? 'notEquals' : 'equals',
      value: unescapeFieldValue(m[3] as string, term),
    });
  }
  return out;
}

export function matchesFields(reqs: readonly FieldRequirement[], get: (field: string) => string): boolean {
  for (const r of reqs) {
    const eq = get(r.field) === r.value;
    if (r.operator === 'equals' ? !eq : eq) return false;
  }
  return true;
}
