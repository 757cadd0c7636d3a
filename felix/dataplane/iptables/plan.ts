// The diff between a rendered desired table and the table the kernel has (pure): the
// `iptables-restore --noflush` lines that repair it, and the table as it will be afterwards.
//
// Rules of the layout (Felix felix/iptables/table.go):
// - A chain of ours whose hashes differ from the desired ones in any way (flushed, a rule deleted,
//   modified, or a foreign rule inserted) is rewritten whole: `:chain - [0:0]` (which, with
//   --noflush, creates or flushes it) then its rules. Chains that match are not mentioned, so
//   their counters survive.
// - In a builtin chain our jumps must be the first rules, in order. If they are not (jump deleted,
//   a foreign rule inserted before it, a stale jump of ours somewhere), every rule of ours in that
//   chain is deleted by its exact saved text (`-D CHAIN <spec>`) and ours are inserted again at
//   positions 1..n. Foreign rules are never touched.
// - Chains named `mgy-…` that are not desired are flushed, then deleted with `-X` at the end of the
//   batch, after the jumps to them are gone.
import type { IptablesTable } from '../../model/iptables.ts';
import { BUILTIN_CHAINS, isOwnedChain } from '../../model/iptables.ts';
import type { ActualChain, ActualRule, ActualTable } from './parse.ts';
import type { RenderedChain, RenderedTable } from './render.ts';

export interface TablePlan {
  readonly table: IptablesTable;
  /** Lines between `*table` and `COMMIT`; empty when nothing needs writing. */
  readonly lines: readonly string[];
  readonly chainsWritten: readonly string[];
  readonly chainsDeleted: readonly string[];
  /** Builtin chains whose jumps were (re)inserted. */
  readonly jumpsRepaired: readonly string[];
  /** The table as the kernel will have it once the lines are applied. */
  readonly next: Map<string, ActualChain>;
}

/**
 * Kernel chain (as cached) → the rendered chain it was last found or made equal to: a chain handed
 * again as the same object against the same cached chain is not compared rule by rule again. Both
 * are immutable records; a re-read of the kernel makes new cached chains.
 */
const chainInSync = new WeakMap<ActualChain, RenderedChain>();

function sameHashes(actual: readonly ActualRule[], desired: readonly { hash: string }[]): boolean {
  if (actual.length !== desired.length) return false;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    if (a.edited || a.hash !== desired[i]!.hash) return false;
  }
  return true;
}

export function planTable(
  table: IptablesTable,
  desired: RenderedTable | undefined,
  actual: ActualTable | undefined,
): TablePlan {
  const declare: string[] = [];
  const rules: string[] = [];
  const jumps: string[] = [];
  const removals: string[] = [];
  const chainsWritten: string[] = [];
  const chainsDeleted: string[] = [];
  const jumpsRepaired: string[] = [];
  const next = new Map<string, ActualChain>(actual ?? []);
  const wanted = new Set<string>();

  for (const chain of desired?.chains ?? []) {
    wanted.add(chain.name);
    const have = actual?.get(chain.name);
    if (have !== undefined && (chainInSync.get(have) === chain || sameHashes(have.rules, chain.rules))) {
      chainInSync.set(have, chain);
      continue;
    }
    declare.push(`:${chain.name} - [0:0]`);
    for (const r of chain.rules) rules.push(`-A ${chain.name} ${r.args}`);
    chainsWritten.push(chain.name);
    const written: ActualChain = {
      name: chain.name,
      policy: '-',
      rules: chain.rules.map((r) => ({ hash: r.hash, line: undefined })),
    };
    chainInSync.set(written, chain);
    next.set(chain.name, written);
  }

  for (const [name] of actual ?? []) {
    if (!isOwnedChain(name) || wanted.has(name)) continue;
    declare.push(`:${name} - [0:0]`);
    removals.push(`-X ${name}`);
    chainsDeleted.push(name);
    next.delete(name);
  }

  const builtins = BUILTIN_CHAINS[table];
  for (const from of builtins) {
    const expected = desired?.jumps.get(from) ?? [];
    const have = actual?.get(from)?.rules ?? [];
    const ours = have.filter((r) => r.hash !== undefined);
    if (ours.length === expected.length && sameHashes(have.slice(0, expected.length), expected)) continue;
    for (const r of ours) {
      // A rule we wrote since the last read has no saved text; it is at the top where we put it.
      if (r.line !== undefined) jumps.push(`-D ${r.line.slice(3)}`);
      else jumps.push(`-D ${from} 1`);
    }
    expected.forEach((j, i) => {
      jumps.push(`-I ${from} ${i + 1} ${j.args}`);
    });
    jumpsRepaired.push(from);
    const foreign = have.filter((r) => r.hash === undefined);
    next.set(from, {
      name: from,
      policy: actual?.get(from)?.policy ?? 'ACCEPT',
      rules: [...expected.map((j) => ({ hash: j.hash, line: undefined })), ...foreign],
    });
  }

  return {
    table,
    lines: [...declare, ...rules, ...jumps, ...removals],
    chainsWritten,
    chainsDeleted,
    jumpsRepaired,
    next,
  };
}

/** The whole restore input for a set of plans (tables with nothing to do are left out). */
export function restoreInput(plans: readonly TablePlan[]): string {
  let out = '';
  for (const p of plans) {
    if (p.lines.length === 0) continue;
    out += `*${p.table}\n${p.lines.join('\n')}\nCOMMIT\n`;
  }
  return out;
}
