// The one label-selector engine: Calico selector expressions (`rack == 'r1' && has(tor)`), the
// syntax Calico users write in BGPPeer/IPPool/BGPConfiguration node and peer selectors, and
// Kubernetes label selectors (matchLabels/matchExpressions, as NetworkPolicy and the resources
// write them) compile into the same expression tree (`SelectorExpr`), and `evaluateSelector` is
// the one matcher. selector.ts validates Kubernetes selectors and gives them the canonical form
// that names ipsets; its matcher evaluates the tree built here (`requirementExpr`).
//
// Grammar (Calico "Selector reference"; whitespace is free between tokens):
//   expr    := and ('||' and)*                      left-associative, lowest precedence
//   and     := unary ('&&' unary)*
//   unary   := '!' unary | primary
//   primary := '(' expr ')' | 'all()' | 'has(' KEY ')'
//            | KEY ('==' | '!=') STRING
//            | KEY 'in' SET | KEY 'not' 'in' SET
//            | KEY 'contains' STRING | KEY 'starts' 'with' STRING | KEY 'ends' 'with' STRING
//   SET     := '{' [STRING (',' STRING)*] '}'
//   STRING  := '…' | "…"   (no escapes, as in Calico)
// An empty (or all-whitespace) selector is `all()`.
//
// Semantics (Calico): `k == v`, `k in {…}`, `contains`/`starts with`/`ends with` need the label;
// `k != v` and `k not in {…}` also match objects WITHOUT the label (like Kubernetes NotIn).
//
// Errors carry the 0-based position and what was expected there, because an operator reads
// "expected a quoted string after ==" faster than "syntax error".
import type { LabelSelector, SelectorOperator } from '../model/policy.ts';

export type SelectorExpr =
  | { readonly op: 'all' }
  | { readonly op: 'has'; readonly key: string }
  | {
      readonly op: '==' | '!=' | 'contains' | 'starts with' | 'ends with';
      readonly key: string;
      readonly value: string;
    }
  | { readonly op: 'in' | 'not in'; readonly key: string; readonly values: readonly string[] }
  | { readonly op: '!'; readonly operand: SelectorExpr }
  | { readonly op: '&&' | '||'; readonly left: SelectorExpr; readonly right: SelectorExpr };

export type Labels = Readonly<Record<string, string>>;

export class SelectorParseError extends Error {
  /** 0-based character offset into the selector text. */
  readonly position: number;
  /** What the parser wanted at `position`, e.g. `a quoted string`. */
  readonly expected: string;
  constructor(text: string, position: number, expected: string, found: string) {
    super(`selector ${JSON.stringify(text)} at ${position}: expected ${expected}; found ${found}`);
    this.name = 'SelectorParseError';
    this.position = position;
    this.expected = expected;
  }
}

// A label key as Calico's tokenizer reads it: letters, digits and `_ . / -`. Keys are further
// checked against the Kubernetes label-key rules by the schema that holds the selector.
const KEY_CHAR = /[A-Za-z0-9_./-]/;

type Token =
  | { readonly t: 'key'; readonly v: string; readonly at: number }
  | { readonly t: 'str'; readonly v: string; readonly at: number }
  | { readonly t: 'sym'; readonly v: string; readonly at: number }
  | { readonly t: 'end'; readonly at: number };

// Lone `=`, `&` and `|` are tokens too, only so that the parser can say what it expected instead.
const SYMBOLS = ['&&', '||', '==', '!=', '!', '(', ')', '{', '}', ',', '=', '&', '|'] as const;

function describe(tok: Token): string {
  switch (tok.t) {
    case 'end':
      return 'the end of the selector';
    case 'str':
      return `the string ${JSON.stringify(tok.v)}`;
    default:
      return JSON.stringify(tok.v);
  }
}

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      const close = text.indexOf(c, i + 1);
      if (close < 0) throw new SelectorParseError(text, i, `a closing ${c}`, 'the end of the selector');
      out.push({ t: 'str', v: text.slice(i + 1, close), at: i });
      i = close + 1;
      continue;
    }
    const sym = SYMBOLS.find((s) => text.startsWith(s, i));
    if (sym !== undefined) {
      out.push({ t: 'sym', v: sym, at: i });
      i += sym.length;
      continue;
    }
    if (KEY_CHAR.test(c)) {
      let j = i + 1;
      while (j < text.length && KEY_CHAR.test(text[j]!)) j++;
      out.push({ t: 'key', v: text.slice(i, j), at: i });
      i = j;
      continue;
    }
    throw new SelectorParseError(
      text,
      i,
      'a label key, a string, an operator or a parenthesis',
      JSON.stringify(c),
    );
  }
  out.push({ t: 'end', at: text.length });
  return out;
}

class Parser {
  readonly #text: string;
  readonly #tokens: Token[];
  #pos = 0;

  constructor(text: string) {
    this.#text = text;
    this.#tokens = tokenize(text);
  }

  parse(): SelectorExpr {
    if (this.#peek().t === 'end') return { op: 'all' };
    const e = this.#or();
    const tok = this.#peek();
    if (tok.t !== 'end') this.#fail(tok, '&&, || or the end of the selector');
    return e;
  }

  #peek(ahead = 0): Token {
    return this.#tokens[Math.min(this.#pos + ahead, this.#tokens.length - 1)]!;
  }

  #next(): Token {
    const tok = this.#peek();
    if (this.#pos < this.#tokens.length - 1) this.#pos++;
    return tok;
  }

  #fail(tok: Token, expected: string): never {
    throw new SelectorParseError(this.#text, tok.at, expected, describe(tok));
  }

  #isSym(tok: Token, v: string): tok is Extract<Token, { t: 'sym' }> {
    return tok.t === 'sym' && tok.v === v;
  }

  #expectSym(v: string, expected = JSON.stringify(v)): void {
    const tok = this.#next();
    if (!this.#isSym(tok, v)) this.#fail(tok, expected);
  }

  #or(): SelectorExpr {
    let left = this.#and();
    while (this.#isSym(this.#peek(), '||')) {
      this.#next();
      left = { op: '||', left, right: this.#and() };
    }
    return left;
  }

  #and(): SelectorExpr {
    let left = this.#unary();
    while (this.#isSym(this.#peek(), '&&')) {
      this.#next();
      left = { op: '&&', left, right: this.#unary() };
    }
    return left;
  }

  #unary(): SelectorExpr {
    if (this.#isSym(this.#peek(), '!')) {
      this.#next();
      return { op: '!', operand: this.#unary() };
    }
    return this.#primary();
  }

  #string(after: string): string {
    const tok = this.#next();
    if (tok.t !== 'str') this.#fail(tok, `a quoted string after ${after}`);
    return tok.v;
  }

  #primary(): SelectorExpr {
    const tok = this.#next();
    if (this.#isSym(tok, '(')) {
      const e = this.#or();
      this.#expectSym(')', '&&, || or ")"');
      return e;
    }
    if (tok.t !== 'key') return this.#fail(tok, 'a label key, all(), has(KEY), "!" or "("');
    if ((tok.v === 'all' || tok.v === 'has') && this.#isSym(this.#peek(), '(')) {
      this.#next();
      if (tok.v === 'all') {
        this.#expectSym(')', '")" after all(');
        return { op: 'all' };
      }
      const key = this.#next();
      if (key.t !== 'key') this.#fail(key, 'a label key inside has()');
      this.#expectSym(')', '")" after has(KEY');
      return { op: 'has', key: key.v };
    }
    const key = tok.v;
    const op = this.#next();
    if (this.#isSym(op, '==') || this.#isSym(op, '!=')) {
      const o = op.v as '==' | '!=';
      return { op: o, key, value: this.#string(o) };
    }
    if (op.t === 'key') {
      switch (op.v) {
        case 'in':
          return { op: 'in', key, values: this.#set() };
        case 'not': {
          const inTok = this.#next();
          if (inTok.t !== 'key' || inTok.v !== 'in') this.#fail(inTok, '"in" after "not"');
          return { op: 'not in', key, values: this.#set() };
        }
        case 'contains':
          return { op: 'contains', key, value: this.#string('contains') };
        case 'starts':
        case 'ends': {
          const w = this.#next();
          if (w.t !== 'key' || w.v !== 'with') this.#fail(w, `"with" after "${op.v}"`);
          const o = op.v === 'starts' ? 'starts with' : 'ends with';
          return { op: o, key, value: this.#string(o) };
        }
      }
    }
    return this.#fail(
      op,
      `==, !=, in, not in, contains, starts with or ends with after the label key ${JSON.stringify(key)}`,
    );
  }

  #set(): string[] {
    this.#expectSym('{', '"{" to start a set of strings');
    const values: string[] = [];
    if (this.#isSym(this.#peek(), '}')) {
      this.#next();
      return values;
    }
    for (;;) {
      values.push(this.#string(values.length === 0 ? '"{"' : '","'));
      const tok = this.#next();
      if (this.#isSym(tok, '}')) return values;
      if (!this.#isSym(tok, ',')) this.#fail(tok, '"," or "}" in a set');
    }
  }
}

/** Parses a Calico selector expression. Throws SelectorParseError naming position and expectation. */
export function parseSelector(text: string): SelectorExpr {
  return new Parser(text).parse();
}

function quote(value: string): string {
  if (!value.includes("'")) return `'${value}'`;
  if (!value.includes('"')) return `"${value}"`;
  throw new TypeError(`selector value ${JSON.stringify(value)} contains both quote characters`);
}

/**
 * The canonical text of an expression; `parseSelector(printSelector(e))` is `e` again (parentheses
 * are printed exactly where the left-associative grammar needs them).
 */
export function printSelector(e: SelectorExpr): string {
  switch (e.op) {
    case 'all':
      return 'all()';
    case 'has':
      return `has(${e.key})`;
    case '==':
    case '!=':
    case 'contains':
    case 'starts with':
    case 'ends with':
      return `${e.key} ${e.op} ${quote(e.value)}`;
    case 'in':
    case 'not in':
      return `${e.key} ${e.op} {${e.values.map(quote).join(', ')}}`;
    case '!': {
      const inner = printSelector(e.operand);
      return e.operand.op === '&&' || e.operand.op === '||' ? `!(${inner})` : `!${inner}`;
    }
    case '&&': {
      const l = printSelector(e.left);
      const r = printSelector(e.right);
      return `${e.left.op === '||' ? `(${l})` : l} && ${e.right.op === '&&' || e.right.op === '||' ? `(${r})` : r}`;
    }
    case '||': {
      const r = printSelector(e.right);
      return `${printSelector(e.left)} || ${e.right.op === '||' ? `(${r})` : r}`;
    }
  }
}

/** Evaluates `e` against an object's labels. */
export function evaluateSelector(e: SelectorExpr, labels: Labels): boolean {
  switch (e.op) {
    case 'all':
      return true;
    case 'has':
      return Object.hasOwn(labels, e.key);
    case '==':
      return Object.hasOwn(labels, e.key) && labels[e.key] === e.value;
    case '!=':
      return !Object.hasOwn(labels, e.key) || labels[e.key] !== e.value;
    case 'in':
      return Object.hasOwn(labels, e.key) && e.values.includes(labels[e.key]!);
    case 'not in':
      return !Object.hasOwn(labels, e.key) || !e.values.includes(labels[e.key]!);
    case 'contains':
      return Object.hasOwn(labels, e.key) && labels[e.key]!.includes(e.value);
    case 'starts with':
      return Object.hasOwn(labels, e.key) && labels[e.key]!.startsWith(e.value);
    case 'ends with':
      return Object.hasOwn(labels, e.key) && labels[e.key]!.endsWith(e.value);
    case '!':
      return !evaluateSelector(e.operand, labels);
    case '&&':
      return evaluateSelector(e.left, labels) && evaluateSelector(e.right, labels);
    case '||':
      return evaluateSelector(e.left, labels) || evaluateSelector(e.right, labels);
  }
}

/** Every label key the expression reads (for error messages and label-key validation). */
export function selectorKeys(e: SelectorExpr): string[] {
  switch (e.op) {
    case 'all':
      return [];
    case '!':
      return selectorKeys(e.operand);
    case '&&':
    case '||':
      return [...selectorKeys(e.left), ...selectorKeys(e.right)];
    default:
      return [e.key];
  }
}

/** One Kubernetes requirement (matchExpressions entry) as the engine's tree. */
export interface RequirementLike {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values?: readonly string[] | undefined;
}

/**
 * A Kubernetes requirement as an expression: In → `in`, NotIn → `not in` (both Calico and
 * Kubernetes match an absent key with it), Exists → `has(k)`, DoesNotExist → `!has(k)`.
 */
export function requirementExpr(r: RequirementLike): SelectorExpr {
  switch (r.operator) {
    case 'In':
      return { op: 'in', key: r.key, values: r.values ?? [] };
    case 'NotIn':
      return { op: 'not in', key: r.key, values: r.values ?? [] };
    case 'Exists':
      return { op: 'has', key: r.key };
    case 'DoesNotExist':
      return { op: '!', operand: { op: 'has', key: r.key } };
  }
}

/** Terms ANDed left to right; none is `all()`. */
export function andAll(terms: readonly SelectorExpr[]): SelectorExpr {
  if (terms.length === 0) return { op: 'all' };
  return terms.reduce((left, right) => ({ op: '&&', left, right }));
}

/**
 * A Kubernetes label selector as an expression: matchLabels `k: v` → `k == 'v'`, each
 * matchExpressions entry by `requirementExpr`; all terms ANDed in the order written; `{}` →
 * `all()`.
 */
export function labelSelectorToExpr(sel: LabelSelector): SelectorExpr {
  const terms: SelectorExpr[] = [];
  for (const [key, value] of Object.entries(sel.matchLabels ?? {})) terms.push({ op: '==', key, value });
  for (const r of sel.matchExpressions ?? []) terms.push(requirementExpr(r));
  return andAll(terms);
}

/** A compiled selector: canonical text (what the status API shows) and a matcher. */
export interface Selector {
  readonly text: string;
  readonly expr: SelectorExpr;
  matches(labels: Labels | undefined): boolean;
}

const cache = new Map<string, Selector>();
const CACHE_LIMIT = 4096;

/**
 * Compiles a selector field as it appears in a resource: a Calico expression string or a
 * Kubernetes label selector object. Absent means `all()`. Throws SelectorParseError on bad text
 * (validated resources never do).
 */
export function compileSelector(input: string | LabelSelector | undefined): Selector {
  if (input === undefined) return compileSelector('all()');
  if (typeof input !== 'string') return makeSelector(labelSelectorToExpr(input));
  const hit = cache.get(input);
  if (hit !== undefined) return hit;
  const sel = makeSelector(parseSelector(input));
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(input, sel);
  return sel;
}

function makeSelector(expr: SelectorExpr): Selector {
  return {
    text: printSelector(expr),
    expr,
    matches: (labels) => evaluateSelector(expr, labels ?? {}),
  };
}
