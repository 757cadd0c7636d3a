// Desired iptables state: plain readonly records, pure helpers; no I/O, so the dataplane writer and
// the tests share them. The policy renderer (felix/calc) produces these; felix/dataplane/iptables
// writes them with hash comments.
//
// Layout (Calico Felix's, with our prefix): every chain we own is named `mgy-…` (≤ 28 characters,
// iptables' limit); builtin chains (INPUT, FORWARD, POSTROUTING, …) are never written to except for
// one jump per (builtin chain, our chain) pair, inserted at the top. A rule's `comment` is its
// origin ("policy default/allow-web ingress[0]") so every rule the kernel holds says why it is
// there, and the REST API can show it.
//
// `normalizeTables` makes the desired state a function of its content only: chains sorted by name,
// identical duplicates merged, conflicting duplicates rejected. Whatever order or repetition the
// inputs that built a state came in, the normalized value — and so the restore text — is the same.
// The records are immutable once handed over: the writer caches the rendering of a Chain object,
// so a caller builds a new Chain to change one (and reuses the old object when nothing changed).
import { createHash } from 'node:crypto';
import { FelixError } from '../errors.ts';
import type { IpFamily } from './addr.ts';

export const IPTABLES_TABLES = ['raw', 'mangle', 'nat', 'filter'] as const;
export type IptablesTable = (typeof IPTABLES_TABLES)[number];

/**
 * An address family as iptables-save, ip6tables and ipset name it. Everywhere else felix and src
 * say IpFamily (4 | 6, model/addr.ts); the iptables and ipset models keep the tools' names, and
 * these two functions are the crossing.
 */
export const INET_FAMILIES = ['inet', 'inet6'] as const;
export type InetFamily = (typeof INET_FAMILIES)[number];

export function inetFamily(family: IpFamily): InetFamily {
  return family === 4 ? 'inet' : 'inet6';
}

export function ipFamilyOfInet(family: InetFamily): IpFamily {
  return family === 'inet' ? 4 : 6;
}

/** The family of address or CIDR text by its spelling: IPv6 text is the one with a ':'. */
export function inetFamilyOfText(text: string): InetFamily {
  return text.includes(':') ? 'inet6' : 'inet';
}

/** Builtin chains per table (the jump sources we may use). */
export const BUILTIN_CHAINS: Readonly<Record<IptablesTable, readonly string[]>> = {
  raw: ['PREROUTING', 'OUTPUT'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
};

/** Every chain we own starts with this; nothing else is ever created or deleted. */
export const CHAIN_PREFIX = 'mgy-';
/** iptables' limit on chain names (XT_EXTENSION_MAXNAMELEN - 1 = 28). */
export const MAX_CHAIN_NAME = 28;

export type Action =
  | { readonly type: 'accept' }
  | { readonly type: 'drop' }
  | { readonly type: 'reject'; readonly with?: string }
  | { readonly type: 'return' }
  | { readonly type: 'jump'; readonly chain: string }
  | { readonly type: 'goto'; readonly chain: string }
  | { readonly type: 'masquerade'; readonly fullyRandom?: boolean }
  | { readonly type: 'setMark'; readonly mark: number; readonly mask: number }
  | { readonly type: 'log'; readonly prefix: string }
  | { readonly type: 'notrack' };

export interface Rule {
  /** iptables match arguments, e.g. ['-p', 'tcp', '-m', 'set', '--match-set', 'mgy-s-x', 'src']. */
  readonly match: readonly string[];
  readonly action: Action;
  /** Where the rule comes from; written after the hash in the rule's comment. */
  readonly comment?: string;
}

export interface Chain {
  readonly name: string;
  readonly rules: readonly Rule[];
}

/** A jump from a builtin chain to one of ours, inserted at the top of the builtin chain. */
export interface Jump {
  readonly from: string;
  readonly to: string;
  /** Extra match arguments, e.g. ['-o', 'mgy+']. */
  readonly match?: readonly string[];
  readonly comment?: string;
}

export interface TableState {
  readonly table: IptablesTable;
  readonly chains: readonly Chain[];
  readonly jumps: readonly Jump[];
}

/** The whole desired iptables state of a node: per family, per table. */
export interface IptablesDesired {
  readonly inet: readonly TableState[];
  readonly inet6: readonly TableState[];
}

/** One named piece of the iptables state (the name appears in conflict errors). */
export interface IptablesSource extends IptablesDesired {
  readonly source: string;
}

/** A stable, name-safe hash: base64url of sha256, cut to `length` characters. */
export function stableHash(key: string, length = 16): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, length);
}

/**
 * `mgy-<kind>-<hash of key>`, always ≤ 28 characters: the hash fills whatever the kind leaves
 * (at least 8 characters). Felix's `cali-pi-<hash>` naming.
 */
export function chainName(kind: string, key: string): string {
  if (!/^[a-z0-9]{1,12}$/.test(kind)) {
    throw new FelixError(
      'FELIX_ERR_INVALID_DESIRED',
      `chain kind must be 1-12 lowercase alphanumerics: ${kind}`,
    );
  }
  const room = MAX_CHAIN_NAME - CHAIN_PREFIX.length - kind.length - 1;
  return `${CHAIN_PREFIX}${kind}-${stableHash(`${kind}\0${key}`, Math.min(16, room))}`;
}

export function isOwnedChain(name: string): boolean {
  return name.startsWith(CHAIN_PREFIX);
}

const CHAIN_NAME_RE = /^[A-Za-z0-9_.:+-]+$/;
// iptables-restore splits on whitespace and understands double quotes; we never need either in an
// argument except a comment, which we sanitize ourselves.
const ARG_RE = /^[^\s"'\\]+$/;

function invalid(message: string): never {
  throw new FelixError('FELIX_ERR_INVALID_DESIRED', message);
}

function validateChainRef(
  table: TableState,
  ownNames: ReadonlySet<string>,
  target: string,
  where: string,
): void {
  if (!CHAIN_NAME_RE.test(target) || target.length > MAX_CHAIN_NAME)
    invalid(`${where}: bad chain name ${target}`);
  if (isOwnedChain(target) && !ownNames.has(target)) {
    invalid(`${where}: target ${target} is not a desired chain of table ${table.table}`);
  }
}

function validateArgs(args: readonly string[], where: string): void {
  for (const a of args) if (!ARG_RE.test(a)) invalid(`${where}: argument ${JSON.stringify(a)} needs quoting`);
}

// Chains whose own content (name, arguments, marks) was validated already; references between
// chains depend on the whole table and are checked on every call, from the list of each chain's
// jump and goto targets (found once per chain object).
const validChains = new WeakSet<Chain>();
const chainTargets = new WeakMap<Chain, readonly RuleRef[]>();

/** A name a rule refers to (a chain, an ipset), with the rule's position in its chain. */
export type RuleRef = readonly [number, string];

/**
 * The names `pick` finds in each rule of `chain`, with the rule's position: found once per chain
 * object (chains are immutable once handed over) and kept in `cache`.
 */
export function ruleRefs(
  cache: WeakMap<Chain, readonly RuleRef[]>,
  chain: Chain,
  pick: (rule: Rule, found: (name: string) => void) => void,
): readonly RuleRef[] {
  let refs = cache.get(chain);
  if (refs === undefined) {
    const out: RuleRef[] = [];
    chain.rules.forEach((rule, i) => {
      pick(rule, (name) => {
        out.push([i, name]);
      });
    });
    refs = out;
    cache.set(chain, refs);
  }
  return refs;
}

/** The (rule index, target chain) of each jump and goto in `chain`. */
function targetsOf(chain: Chain): readonly RuleRef[] {
  return ruleRefs(chainTargets, chain, (rule, found) => {
    const a = rule.action;
    if (a.type === 'jump' || a.type === 'goto') found(a.chain);
  });
}

function validateChainContent(table: TableState, chain: Chain): void {
  if (validChains.has(chain)) return;
  const where = `${table.table}/${chain.name}`;
  if (!isOwnedChain(chain.name)) invalid(`${where}: chain names must start with ${CHAIN_PREFIX}`);
  if (chain.name.length > MAX_CHAIN_NAME) invalid(`${where}: chain name longer than ${MAX_CHAIN_NAME}`);
  if (!CHAIN_NAME_RE.test(chain.name)) invalid(`${where}: bad characters in chain name`);
  chain.rules.forEach((rule, i) => {
    const at = `${where} rule ${i}`;
    validateArgs(rule.match, at);
    const a = rule.action;
    if (a.type === 'reject' && a.with !== undefined) validateArgs([a.with], at);
    if (a.type === 'setMark' && !(isU32(a.mark) && isU32(a.mask))) invalid(`${at}: mark/mask not 32-bit`);
  });
  validChains.add(chain);
}

/** Throws FELIX_ERR_INVALID_DESIRED naming the first problem in `table`. */
export function validateTable(table: TableState): void {
  const builtins = new Set(BUILTIN_CHAINS[table.table]);
  const names = new Set(table.chains.map((c) => c.name));
  for (const chain of table.chains) {
    validateChainContent(table, chain);
    for (const [i, target] of targetsOf(chain)) {
      validateChainRef(table, names, target, `${table.table}/${chain.name} rule ${i}`);
    }
  }
  for (const j of table.jumps) {
    const where = `${table.table} jump ${j.from} -> ${j.to}`;
    if (!builtins.has(j.from)) invalid(`${where}: ${j.from} is not a builtin chain of ${table.table}`);
    if (!isOwnedChain(j.to)) invalid(`${where}: jumps go to our own chains only`);
    validateChainRef(table, names, j.to, where);
    validateArgs(j.match ?? [], where);
  }
}

function isU32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

/** JSON with object keys sorted, so two equal records built in different key orders compare equal. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val !== null && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val).sort((a, b) => cmp(a[0], b[0])))
      : val,
  );
}

function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function jumpKey(j: Jump): string {
  return `${j.from}\0${j.to}\0${(j.match ?? []).join(' ')}`;
}

/** States that normalizeTables returned or accepted as they were: normalized and validated. */
const normalizedStates = new WeakSet<TableState>();

/**
 * Whether `state` is in normalized form already: chains in strictly increasing name order (so no
 * duplicates) and jumps likewise by (from, to, match).
 */
function isInNormalForm(state: TableState): boolean {
  const { chains, jumps } = state;
  for (let i = 1; i < chains.length; i++) if (!(chains[i - 1]!.name < chains[i]!.name)) return false;
  for (let i = 1; i < jumps.length; i++) if (!(jumpKey(jumps[i - 1]!) < jumpKey(jumps[i]!))) return false;
  return true;
}

/**
 * Merges any number of partial states into one normalized state per table (tables in
 * IPTABLES_TABLES order, chains by name, jumps by (from, to, match)), validating each. Identical
 * duplicates collapse; two different chains with one name are an error. Jumps from one builtin
 * chain are inserted in that sorted order; a caller who needs a specific order between its
 * chains jumps once to a dispatch chain of its own.
 */
export function normalizeTables(states: readonly TableState[]): TableState[] {
  const out: TableState[] = [];
  for (const table of IPTABLES_TABLES) {
    const parts = states.filter((s) => s.table === table);
    if (parts.length === 0) continue;
    // One part already normalized (a state this function returned, handed on) or already in
    // order (the policy front end keeps its chains sorted): validated once and used as it is.
    const only = parts.length === 1 ? parts[0]! : undefined;
    if (only !== undefined && (normalizedStates.has(only) || isInNormalForm(only))) {
      if (!normalizedStates.has(only)) {
        validateTable(only);
        normalizedStates.add(only);
      }
      out.push(only);
      continue;
    }
    const chains = new Map<string, Chain>();
    const jumps = new Map<string, Jump>();
    for (const part of parts) {
      for (const c of part.chains) {
        const prev = chains.get(c.name);
        if (prev !== undefined && !sameJson(prev, c)) {
          invalid(`${table}/${c.name}: two different chains with one name`);
        }
        chains.set(c.name, c);
      }
      for (const j of part.jumps) {
        const prev = jumps.get(jumpKey(j));
        if (prev !== undefined && prev.comment !== j.comment) {
          invalid(`${table} jump ${j.from} -> ${j.to}: two different comments for one jump`);
        }
        jumps.set(jumpKey(j), j);
      }
    }
    const state: TableState = {
      table,
      chains: [...chains.values()].sort((a, b) => cmp(a.name, b.name)),
      jumps: [...jumps.entries()].sort((a, b) => cmp(a[0], b[0])).map(([, j]) => j),
    };
    validateTable(state);
    normalizedStates.add(state);
    out.push(state);
  }
  return out;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
