// Parsing `iptables-save` output into what drift detection needs: per table, per chain, the rule
// lines in order and, for ours, their hash (pure). Counters are not read (`iptables-save` without
// `-c`), so a rule's line does not change as packets flow.
import { FelixError } from '../../errors.ts';
import type { IptablesTable } from '../../model/iptables.ts';
import { IPTABLES_TABLES } from '../../model/iptables.ts';
import { hashOf } from './render.ts';

export interface ActualRule {
  /** Our hash, or undefined for a rule we did not write. */
  readonly hash: string | undefined;
  /** The `-A CHAIN …` line as iptables-save printed it; undefined for a rule we wrote since the last read. */
  readonly line: string | undefined;
  /** Our hash, but the text changed since the previous read: edited in place (see markEditedRules). */
  readonly edited?: boolean;
}

export interface ActualChain {
  readonly name: string;
  /** Policy of a builtin chain (`ACCEPT`, `DROP`), `-` for a user chain. */
  readonly policy: string;
  readonly rules: readonly ActualRule[];
}

export type ActualTable = ReadonlyMap<string, ActualChain>;
export type ActualTables = ReadonlyMap<IptablesTable, ActualTable>;

const KNOWN = new Set<string>(IPTABLES_TABLES);

export function parseIptablesSave(text: string): Map<IptablesTable, Map<string, ActualChain>> {
  const out = new Map<IptablesTable, Map<string, ActualChain>>();
  let current: Map<string, { name: string; policy: string; rules: ActualRule[] }> | undefined;
  let skip = false;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trimEnd();
    if (line === '' || line.startsWith('#')) continue;
    const fail = (why: string): never => {
      throw new FelixError('FELIX_ERR_PARSE', `iptables-save line ${n + 1}: ${why}: ${line.slice(0, 200)}`);
    };
    if (line.startsWith('*')) {
      const table = line.slice(1);
      skip = !KNOWN.has(table);
      current = new Map();
      if (!skip) out.set(table as IptablesTable, current);
      continue;
    }
    if (current === undefined) fail('content outside a table');
    const chains = current!;
    if (line === 'COMMIT') {
      current = undefined;
      continue;
    }
    if (skip) continue;
    if (line.startsWith(':')) {
      const m = /^:(\S+) (\S+)/.exec(line);
      if (!m) fail('bad chain line');
      chains.set(m![1]!, { name: m![1]!, policy: m![2]!, rules: [] });
      continue;
    }
    if (line.startsWith('-A ')) {
      const m = /^-A (\S+)/.exec(line);
      const chain = chains.get(m![1]!);
      if (chain === undefined) fail('rule for an undeclared chain');
      chain!.rules.push({ hash: hashOf(line), line });
      continue;
    }
    fail('unexpected line');
  }
  return out;
}
