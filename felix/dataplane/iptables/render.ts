// Rendering desired chains into iptables-restore lines with hash comments (pure).
//
// Every rule we write carries `-m comment --comment "mgy:<hash>; <origin>"` as its first match.
// The hash (16 base64url characters of sha256) covers the chain name, the rule's position and its
// full content, origin comment included; drift detection compares only these hashes with what
// `iptables-save` prints, so the way iptables re-spells a rule (`-p tcp` → `-p tcp -m tcp`,
// `10.0.0.1` → `10.0.0.1/32`) never looks like drift. This is Felix's `cali:<hash>` scheme
// (felix/iptables/table.go), with position-keyed hashes instead of a hash chain.
import { createHash } from 'node:crypto';
import type { Action, Jump, Rule, TableState } from '../../model/iptables.ts';

export const HASH_PREFIX = 'mgy:';
export const HASH_LENGTH = 16;
/** xt_comment's limit: 256 bytes including the terminating NUL. */
export const MAX_COMMENT = 255;

export interface RenderedRule {
  readonly hash: string;
  /** Arguments after the chain name, comment included: what follows `-A CHAIN` / `-I CHAIN N`. */
  readonly args: string;
  /** The origin comment, as given (for the status API). */
  readonly origin?: string;
}

export interface RenderedChain {
  readonly name: string;
  readonly rules: readonly RenderedRule[];
}

export interface RenderedTable {
  readonly table: TableState['table'];
  readonly chains: readonly RenderedChain[];
  /** Our jumps per builtin chain, in insertion order (position 1, 2, …). */
  readonly jumps: ReadonlyMap<string, readonly RenderedRule[]>;
}

export function actionArgs(action: Action): string[] {
  switch (action.type) {
    case 'accept':
      return ['-j', 'ACCEPT'];
    case 'drop':
      return ['-j', 'DROP'];
    case 'reject':
      return action.with === undefined ? ['-j', 'REJECT'] : ['-j', 'REJECT', '--reject-with', action.with];
    case 'return':
      return ['-j', 'RETURN'];
    case 'jump':
      return ['-j', action.chain];
    case 'goto':
      return ['-g', action.chain];
    case 'masquerade':
      return action.fullyRandom ? ['-j', 'MASQUERADE', '--random-fully'] : ['-j', 'MASQUERADE'];
    case 'setMark':
      return ['-j', 'MARK', '--set-xmark', `0x${action.mark.toString(16)}/0x${action.mask.toString(16)}`];
    case 'log':
      return ['-j', 'LOG', '--log-prefix', `"${sanitize(action.prefix).slice(0, 29)}"`];
    case 'notrack':
      return ['-j', 'NOTRACK'];
  }
}

/**
 * Printable ASCII only; the quotes and backslash that iptables-restore's tokenizer interprets (and
 * iptables-save escapes on the way out) become a backtick and a slash, so the saved text of a rule
 * can be fed back to `-D` verbatim.
 */
export function sanitize(text: string): string {
  return text
    .replace(/[^\x20-\x7e]/g, '?')
    .replace(/["']/g, '`')
    .replaceAll('\\', '/');
}

export function ruleHash(chain: string, position: number, body: string, origin: string | undefined): string {
  return createHash('sha256')
    .update(`${chain}\0${position}\0${body}\0${origin ?? ''}`)
    .digest('base64url')
    .slice(0, HASH_LENGTH);
}

export function commentText(hash: string, origin: string | undefined): string {
  const text =
    origin === undefined || origin === ''
      ? `${HASH_PREFIX}${hash}`
      : `${HASH_PREFIX}${hash}; ${sanitize(origin)}`;
  return text.slice(0, MAX_COMMENT);
}

function renderOne(chain: string, position: number, body: readonly string[], origin?: string): RenderedRule {
  const bodyText = body.join(' ');
  const hash = ruleHash(chain, position, bodyText, origin);
  const args = `-m comment --comment "${commentText(hash, origin)}"${bodyText === '' ? '' : ` ${bodyText}`}`;
  return origin === undefined ? { hash, args } : { hash, args, origin };
}

export function renderRule(chain: string, position: number, rule: Rule): RenderedRule {
  return renderOne(chain, position, [...rule.match, ...actionArgs(rule.action)], rule.comment);
}

export function renderJump(position: number, jump: Jump): RenderedRule {
  return renderOne(jump.from, position, [...(jump.match ?? []), '-j', jump.to], jump.comment);
}

// Rendered chains by chain object: a caller that hands over the same (immutable) Chain object again
// — the usual case for the thousands of chains a label change does not touch — is not re-hashed.
const renderedChains = new WeakMap<TableState['chains'][number], RenderedChain>();

function renderChain(chain: TableState['chains'][number]): RenderedChain {
  let r = renderedChains.get(chain);
  if (r === undefined) {
    r = { name: chain.name, rules: chain.rules.map((rule, i) => renderRule(chain.name, i, rule)) };
    renderedChains.set(chain, r);
  }
  return r;
}

/** Renders a normalized, validated table (see normalizeTables). */
export function renderTable(state: TableState): RenderedTable {
  const jumps = new Map<string, RenderedRule[]>();
  for (const j of state.jumps) {
    const list = jumps.get(j.from) ?? [];
    list.push(renderJump(list.length, j));
    jumps.set(j.from, list);
  }
  return {
    table: state.table,
    chains: state.chains.map(renderChain),
    jumps,
  };
}

/** Pulls our hash out of a rule line as iptables-save prints it; undefined for a foreign rule. */
export function hashOf(line: string): string | undefined {
  const m = /--comment "?mgy:([A-Za-z0-9_-]{16})(?=[";\s]|$)/.exec(line);
  return m?.[1];
}
