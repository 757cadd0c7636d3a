// The iptables reconciler of one IP family: desired tables in, `iptables-restore --noflush` out.
//
// Like Felix's Table (felix/iptables/table.go), it keeps a cache of what the kernel holds and
// writes only the difference: `apply()` diffs the desired state against the cache (no read),
// `resync()` first re-reads the kernel with one `iptables-save`, so drift made by others (a chain
// flushed, our jump deleted or pushed down by a foreign rule, a rule edited) is found and
// repaired. The first apply of a new instance reads too: a restarted agent adopts what the previous
// one wrote and, when it matches, writes nothing.
//
// A rule edited in place with our comment kept has an unchanged hash; it is caught by comparing
// the saved text of that rule with the text seen at the previous read (learned from the first
// read after we wrote it).
//
// A failed restore must not leave the cache believing the write happened: on any failure the cache
// is dropped and the next apply re-reads the kernel.
import { FelixError } from '../../errors.ts';
import type { InetFamily, IptablesTable, TableState } from '../../model/iptables.ts';
import { normalizeTables } from '../../model/iptables.ts';
import type { CommandRunner } from '../exec.ts';
import { run as defaultRun } from '../exec.ts';
import type { IptablesBackend } from './backend.ts';
import { iptablesCommands } from './backend.ts';
import type { ActualChain, ActualRule } from './parse.ts';
import { parseIptablesSave } from './parse.ts';
import type { TablePlan } from './plan.ts';
import { planTable, restoreInput } from './plan.ts';
import type { RenderedRule, RenderedTable } from './render.ts';
import { renderTable } from './render.ts';

export interface IptablesWriterOptions {
  readonly family: InetFamily;
  readonly backend: IptablesBackend;
  readonly netns?: string;
  readonly run?: CommandRunner;
}

/** What one apply did. */
export interface IptablesApplyReport {
  readonly family: InetFamily;
  readonly commandsRun: number;
  readonly bytesWritten: number;
  readonly chainsWritten: readonly string[];
  readonly chainsDeleted: readonly string[];
  readonly jumpsRepaired: readonly string[];
  readonly readKernel: boolean;
  readonly ms: number;
}

export interface IptablesStats {
  applies: number;
  commandsRun: number;
  bytesWritten: number;
  chainsWritten: number;
  chainsDeleted: number;
  jumpsRepaired: number;
  failures: number;
}

/** One rule as the status API lists it: where it is and why it is there. */
export interface DescribedRule {
  readonly table: IptablesTable;
  readonly chain: string;
  readonly position: number;
  readonly hash: string;
  readonly origin?: string;
  readonly args: string;
}

type Tables = Map<IptablesTable, Map<string, ActualChain>>;

export class IptablesWriter {
  readonly family: InetFamily;
  readonly backend: IptablesBackend;
  readonly stats: IptablesStats = {
    applies: 0,
    commandsRun: 0,
    bytesWritten: 0,
    chainsWritten: 0,
    chainsDeleted: 0,
    jumpsRepaired: 0,
    failures: 0,
  };
  #netns: string | undefined;
  #run: CommandRunner;
  #desired = new Map<IptablesTable, RenderedTable>();
  #desiredFrom: readonly TableState[] | undefined;
  #actual: Tables | undefined;
  #lastReport: IptablesApplyReport | undefined;

  constructor(opts: IptablesWriterOptions) {
    this.family = opts.family;
    this.backend = opts.backend;
    this.#netns = opts.netns;
    this.#run = opts.run ?? defaultRun;
  }

  /** Replaces the whole desired state (validated; throws FELIX_ERR_INVALID_DESIRED, state unchanged). */
  setDesired(tables: readonly TableState[]): void {
    if (tables === this.#desiredFrom) return; // the same (immutable) list: validated and rendered already
    const next = new Map<IptablesTable, RenderedTable>();
    for (const t of normalizeTables(tables)) next.set(t.table, renderTable(t));
    this.#desired = next;
    this.#desiredFrom = tables;
  }

  /** The next apply reads the kernel first instead of trusting the cache. */
  requestResync(): void {
    this.#actual = undefined;
  }

  get lastReport(): IptablesApplyReport | undefined {
    return this.#lastReport;
  }

  /** Re-reads the kernel, then writes whatever differs from the desired state. */
  async resync(): Promise<IptablesApplyReport> {
    const previous = this.#actual;
    this.#actual = undefined;
    const fresh = await this.#read();
    if (previous !== undefined) markEditedRules(previous, fresh);
    this.#actual = fresh;
    return this.#write(true);
  }

  /** Writes the difference between the desired state and the cache (reading the kernel if unknown). */
  async apply(): Promise<IptablesApplyReport> {
    if (this.#actual === undefined) {
      this.#actual = await this.#read();
      return this.#write(true);
    }
    return this.#write(false);
  }

  /** The restore input `apply()` would write now, without writing it (for tests and dry runs). */
  pendingInput(): string {
    return restoreInput(this.#plans(this.#actual ?? new Map()));
  }

  describe(): DescribedRule[] {
    const out: DescribedRule[] = [];
    for (const [table, t] of this.#desired) {
      for (const [from, jumps] of t.jumps) {
        jumps.forEach((r, i) => {
          out.push(described(table, from, i, r));
        });
      }
      for (const c of t.chains) {
        c.rules.forEach((r, i) => {
          out.push(described(table, c.name, i, r));
        });
      }
    }
    return out;
  }

  #plans(actual: Tables): TablePlan[] {
    const tables = new Set<IptablesTable>([...this.#desired.keys(), ...actual.keys()]);
    const plans: TablePlan[] = [];
    for (const table of tables) plans.push(planTable(table, this.#desired.get(table), actual.get(table)));
    // Fixed table order keeps the restore text a function of the state only.
    const order = ['raw', 'mangle', 'nat', 'filter'];
    return plans.sort((a, b) => order.indexOf(a.table) - order.indexOf(b.table));
  }

  async #read(): Promise<Tables> {
    const { save } = iptablesCommands(this.backend, this.family);
    this.stats.commandsRun++;
    try {
      const r = await this.#run({ argv: [save], ...this.#ns() });
      return parseIptablesSave(r.stdout);
    } catch (err) {
      this.stats.failures++;
      throw err;
    }
  }

  async #write(readKernel: boolean): Promise<IptablesApplyReport> {
    const started = performance.now();
    const actual = this.#actual!;
    const plans = this.#plans(actual);
    const input = restoreInput(plans);
    let commandsRun = readKernel ? 1 : 0;
    if (input !== '') {
      const { restore, restoreArgs } = iptablesCommands(this.backend, this.family);
      commandsRun++;
      this.stats.commandsRun++;
      this.stats.bytesWritten += Buffer.byteLength(input);
      try {
        await this.#run({ argv: [restore, ...restoreArgs], input, ...this.#ns() });
      } catch (err) {
        this.stats.failures++;
        this.#actual = undefined;
        throw new FelixError(
          'FELIX_ERR_RESTORE_FAILED',
          `${restore} (${this.family}) rejected a batch of ${input.split('\n').length - 1} lines: ${
            err instanceof Error ? err.message : String(err)
          }`,
          { cause: err },
        );
      }
      for (const p of plans) {
        if (p.next.size === 0 && !actual.has(p.table)) continue;
        actual.set(p.table, p.next);
      }
    }
    const report: IptablesApplyReport = {
      family: this.family,
      commandsRun,
      bytesWritten: Buffer.byteLength(input),
      chainsWritten: plans.flatMap((p) => p.chainsWritten),
      chainsDeleted: plans.flatMap((p) => p.chainsDeleted),
      jumpsRepaired: plans.flatMap((p) => p.jumpsRepaired.map((c) => `${p.table}/${c}`)),
      readKernel,
      ms: performance.now() - started,
    };
    this.stats.applies++;
    this.stats.chainsWritten += report.chainsWritten.length;
    this.stats.chainsDeleted += report.chainsDeleted.length;
    this.stats.jumpsRepaired += report.jumpsRepaired.length;
    this.#lastReport = report;
    return report;
  }

  #ns(): { netns?: string } {
    return this.#netns === undefined ? {} : { netns: this.#netns };
  }
}

function described(table: IptablesTable, chain: string, position: number, r: RenderedRule): DescribedRule {
  const base = { table, chain, position, hash: r.hash, args: r.args };
  return r.origin === undefined ? base : { ...base, origin: r.origin };
}

/**
 * A rule whose hash is unchanged but whose saved text differs from the text seen at the previous
 * read was edited in place with our comment kept: mark it so its chain is rewritten (or, in a
 * builtin chain, the jump deleted by its current text and inserted again).
 */
function markEditedRules(previous: Tables, fresh: Tables): void {
  for (const [table, chains] of fresh) {
    const before = previous.get(table);
    if (before === undefined) continue;
    for (const [name, chain] of chains) {
      const old = before.get(name);
      if (old === undefined) continue;
      let edited = false;
      const rules: ActualRule[] = chain.rules.map((r, i) => {
        const o = old.rules[i];
        if (o?.line !== undefined && r.hash !== undefined && o.hash === r.hash && o.line !== r.line) {
          edited = true;
          return { ...r, edited: true };
        }
        return r;
      });
      if (edited) chains.set(name, { ...chain, rules });
    }
  }
}
