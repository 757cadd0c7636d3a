// The ipset reconciler: desired sets in, `ipset restore` batches out, in the two phases the fixed
// apply order needs (create/update ipsets → iptables beside links and routes → delete unused ipsets):
// `applyUpdates()` creates and updates the desired sets before iptables may reference them;
// `applyDeletions()` destroys our sets nobody wants any more, after iptables stopped using them.
//
// Like the iptables writer it keeps a cache of the kernel's sets and diffs against it; the first
// apply and every `requestResync()` re-read `ipset save`, so a member added by hand is removed and
// a set destroyed by hand is created again. `stats` counts bytes and commands, so a pod label
// change can be shown to write only the affected entries.
//
// A desired set is a record that is never changed once handed over, so the writer remembers which
// desired set object each cached kernel set was last made equal to: a set handed again as the same
// object, against the same cache entry, is not compared member by member again. A re-read of the
// kernel makes new cache entries, so a resync compares everything.
import { FelixError } from '../../errors.ts';
import type { IpSet } from '../../model/ipsets.ts';
import { changeFrom } from '../../model/ipsets.ts';
import { compileIpsets } from '../desired.ts';
import type { CommandRunner } from '../exec.ts';
import { run as defaultRun } from '../exec.ts';
import type { ActualIpSet, ActualIpSets, SwapPolicy } from './restore.ts';
import { applyPlanToCache, parseIpsetSave, planUpdates, sortedDelta, unwantedSets } from './restore.ts';

export interface IpsetWriterOptions {
  readonly netns?: string;
  readonly run?: CommandRunner;
  readonly swap?: SwapPolicy;
}

export interface IpsetApplyReport {
  readonly phase: 'updates' | 'deletions';
  readonly commandsRun: number;
  readonly bytesWritten: number;
  readonly created: readonly string[];
  readonly swapped: readonly string[];
  readonly updatedInPlace: readonly string[];
  readonly destroyed: readonly string[];
  readonly entriesAdded: number;
  readonly entriesDeleted: number;
  readonly readKernel: boolean;
  readonly ms: number;
}

export interface IpsetStats {
  commandsRun: number;
  bytesWritten: number;
  entriesAdded: number;
  entriesDeleted: number;
  setsCreated: number;
  setsSwapped: number;
  setsDestroyed: number;
  failures: number;
}

export class IpsetWriter {
  readonly stats: IpsetStats = {
    commandsRun: 0,
    bytesWritten: 0,
    entriesAdded: 0,
    entriesDeleted: 0,
    setsCreated: 0,
    setsSwapped: 0,
    setsDestroyed: 0,
    failures: 0,
  };
  #netns: string | undefined;
  #run: CommandRunner;
  #swap: SwapPolicy;
  #desired: IpSet[] = [];
  #actual: ActualIpSets | undefined;
  /** Cache entry → the desired set object it was last found or made equal to. */
  #inSync = new WeakMap<ActualIpSet, IpSet>();

  constructor(opts: IpsetWriterOptions = {}) {
    this.#netns = opts.netns;
    this.#run = opts.run ?? defaultRun;
    this.#swap = opts.swap ?? {};
  }

  /** Replaces the whole desired collection (validated; throws FELIX_ERR_INVALID_DESIRED, state unchanged). */
  setDesired(sets: readonly IpSet[]): void {
    this.#desired = compileIpsets(sets);
  }

  get desired(): readonly IpSet[] {
    return this.#desired;
  }

  requestResync(): void {
    this.#actual = undefined;
  }

  /** The restore input `applyUpdates()` would write against the current cache. */
  pendingUpdates(): string {
    const actual = this.#actual ?? new Map();
    return linesToInput(planUpdates(this.#changed(actual), actual, this.#swap).lines);
  }

  /** The desired sets not known to equal their cache entry. */
  #changed(actual: ActualIpSets): IpSet[] {
    return this.#desired.filter((s) => {
      const have = actual.get(s.name);
      return have === undefined || this.#inSync.get(have) !== s;
    });
  }

  async applyUpdates(): Promise<IpsetApplyReport> {
    const started = performance.now();
    const readKernel = this.#actual === undefined;
    const actual = this.#actual ?? (await this.#read());
    this.#actual = actual;
    const changed = this.#changed(actual);
    // A cached set last made equal to an earlier desired set of the same name holds exactly that
    // set's members: the delta is the change the desired set was made with from that very set
    // (changeFrom), or else the two sorted member lists walked side by side.
    const plan = planUpdates(changed, actual, this.#swap, (set, have) => {
      const earlier = this.#inSync.get(have);
      if (earlier === undefined) return undefined;
      return changeFrom(set, earlier) ?? sortedDelta(earlier.members, set.members);
    });
    const input = linesToInput(plan.lines);
    if (input !== '') await this.#restore(input);
    for (const name of plan.destroyed) actual.delete(name);
    applyPlanToCache(changed, actual, plan);
    for (const set of changed) {
      const have = actual.get(set.name);
      if (have !== undefined) this.#inSync.set(have, set);
    }
    this.stats.entriesAdded += plan.entriesAdded;
    this.stats.entriesDeleted += plan.entriesDeleted;
    this.stats.setsCreated += plan.created.length;
    this.stats.setsSwapped += plan.swapped.length;
    return {
      phase: 'updates',
      commandsRun: (readKernel ? 1 : 0) + (input === '' ? 0 : 1),
      bytesWritten: Buffer.byteLength(input),
      created: plan.created,
      swapped: plan.swapped,
      updatedInPlace: plan.updatedInPlace,
      destroyed: plan.destroyed,
      entriesAdded: plan.entriesAdded,
      entriesDeleted: plan.entriesDeleted,
      readKernel,
      ms: performance.now() - started,
    };
  }

  /**
   * Destroys our sets that are not desired. One batch first; if the kernel refuses one (a rule of
   * someone else still uses it), each remaining set is tried on its own so one stuck set does not
   * keep the others alive, and the refusals are reported together.
   */
  async applyDeletions(): Promise<IpsetApplyReport> {
    const started = performance.now();
    const readKernel = this.#actual === undefined;
    const actual = this.#actual ?? (await this.#read());
    this.#actual = actual;
    const names = unwantedSets(this.#desired, actual);
    const input = linesToInput(names.map((n) => `destroy ${n}`));
    let commandsRun = readKernel ? 1 : 0;
    let bytesWritten = 0;
    const destroyed: string[] = [];
    if (input !== '') {
      commandsRun++;
      bytesWritten += Buffer.byteLength(input);
      try {
        await this.#restore(input);
        destroyed.push(...names);
        for (const n of names) actual.delete(n);
      } catch (batchError) {
        const fresh = await this.#read();
        commandsRun++;
        this.#actual = fresh;
        const refusals: string[] = [];
        for (const name of unwantedSets(this.#desired, fresh)) {
          commandsRun++;
          try {
            await this.#restore(`destroy ${name}\n`);
            bytesWritten += name.length + 9;
            fresh.delete(name);
            destroyed.push(name);
          } catch (err) {
            refusals.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
          }
        }
        if (refusals.length > 0) {
          throw new FelixError(
            'FELIX_ERR_IPSET_RESTORE_FAILED',
            `could not destroy ${refusals.length} unused ipset(s): ${refusals.join('; ')}`,
            { cause: batchError },
          );
        }
      }
    }
    this.stats.setsDestroyed += destroyed.length;
    return {
      phase: 'deletions',
      commandsRun,
      bytesWritten,
      created: [],
      swapped: [],
      updatedInPlace: [],
      destroyed,
      entriesAdded: 0,
      entriesDeleted: 0,
      readKernel,
      ms: performance.now() - started,
    };
  }

  async #read(): Promise<ActualIpSets> {
    this.stats.commandsRun++;
    try {
      const r = await this.#run({ argv: ['ipset', 'save'], ...this.#ns() });
      return parseIpsetSave(r.stdout);
    } catch (err) {
      this.stats.failures++;
      throw err;
    }
  }

  async #restore(input: string): Promise<void> {
    this.stats.commandsRun++;
    this.stats.bytesWritten += Buffer.byteLength(input);
    try {
      await this.#run({ argv: ['ipset', 'restore', '-exist'], input, ...this.#ns() });
    } catch (err) {
      this.stats.failures++;
      this.#actual = undefined;
      throw new FelixError(
        'FELIX_ERR_IPSET_RESTORE_FAILED',
        `ipset restore failed: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }

  #ns(): { netns?: string } {
    return this.#netns === undefined ? {} : { netns: this.#netns };
  }
}

function linesToInput(lines: readonly string[]): string {
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
