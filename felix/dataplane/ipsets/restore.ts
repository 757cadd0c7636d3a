// `ipset save` parsing and `ipset restore` planning (pure).
//
// A changed set is updated in place (`del`/`add` of the delta only: a pod label change writes two
// lines) unless the delta is larger than the set itself or at least SWAP_MIN_DELTA entries; then a
// temporary set is filled and `swap`ped in, which costs the full set once but is atomic — packets
// never see a half-updated large set (Felix felix/ipsets/ipsets.go rewrites with swap likewise).
// Input is run with `ipset restore -exist`, so re-adding a present member or deleting an absent one
// (a cache that is a little stale) is not an error.
import { FelixError } from '../../errors.ts';
import type { IpSet, IpSetType } from '../../model/ipsets.ts';
import { IPSET_OWNED_PREFIX, memberCount, tempIpsetName } from '../../model/ipsets.ts';
import type { InetFamily } from '../../model/iptables.ts';

export interface ActualIpSet {
  readonly name: string;
  readonly type: string;
  readonly family: string;
  readonly members: Set<string>;
}

export type ActualIpSets = Map<string, ActualIpSet>;

/** Default: a delta this large is always swapped in. */
export const SWAP_MIN_DELTA = 1024;
/** Every set is created with room for this many members (ipset cannot grow maxelem later). */
export const IPSET_MAXELEM = 1_048_576;

/** The sets we own (`mgy…`) in `ipset save` output; other sets are ignored. */
export function parseIpsetSave(text: string): ActualIpSets {
  const out: ActualIpSets = new Map();
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const parts = line.split(/\s+/);
    const [verb, name] = parts;
    if (name === undefined || !name.startsWith(IPSET_OWNED_PREFIX)) continue;
    if (verb === 'create') {
      const famAt = parts.indexOf('family');
      const family = famAt > 0 ? (parts[famAt + 1] ?? 'inet') : 'inet';
      out.set(name, { name, type: parts[2] ?? '', family, members: new Set() });
    } else if (verb === 'add') {
      const set = out.get(name);
      if (set === undefined || parts[2] === undefined) {
        throw new FelixError('FELIX_ERR_PARSE', `ipset save line ${n + 1}: add before create: ${line}`);
      }
      set.members.add(parts[2]);
    } else {
      throw new FelixError('FELIX_ERR_PARSE', `ipset save line ${n + 1}: unexpected: ${line.slice(0, 200)}`);
    }
  }
  return out;
}

export interface IpsetPlan {
  readonly lines: readonly string[];
  /** The members added and deleted of every set updated in place (applyPlanToCache uses them). */
  readonly deltas: ReadonlyMap<string, MemberDelta>;
  readonly created: readonly string[];
  readonly swapped: readonly string[];
  readonly updatedInPlace: readonly string[];
  readonly destroyed: readonly string[];
  readonly entriesAdded: number;
  readonly entriesDeleted: number;
}

export interface SwapPolicy {
  /** Swap when the delta is at least this many entries (default SWAP_MIN_DELTA). */
  readonly minDelta?: number;
}

/** What an in-place update adds to and deletes from a set, each sorted. */
export interface MemberDelta {
  readonly adds: readonly string[];
  readonly dels: readonly string[];
}

/**
 * The delta from one sorted, duplicate-free member list to another (both as `normalizeIpSet`
 * keeps them), by walking the two side by side: no set of either is built.
 */
export function sortedDelta(from: readonly string[], to: readonly string[]): MemberDelta {
  const adds: string[] = [];
  const dels: string[] = [];
  let i = 0;
  let j = 0;
  while (i < from.length && j < to.length) {
    const a = from[i]!;
    const b = to[j]!;
    if (a === b) {
      i++;
      j++;
    } else if (a < b) {
      dels.push(a);
      i++;
    } else {
      adds.push(b);
      j++;
    }
  }
  for (; i < from.length; i++) dels.push(from[i]!);
  for (; j < to.length; j++) adds.push(to[j]!);
  return { adds, dels };
}

function createLine(name: string, type: IpSetType, family: InetFamily): string {
  return `create ${name} ${type} family ${family} maxelem ${IPSET_MAXELEM}`;
}

/**
 * Lines that make every desired set exist with exactly its members (deletions are separate).
 * `knownDelta` may give the delta from a cached set to its desired one without comparing every
 * member against the cache (the writer knows the earlier desired set the cache equals); undefined
 * means compare.
 */
export function planUpdates(
  desired: readonly IpSet[],
  actual: ActualIpSets,
  policy: SwapPolicy = {},
  knownDelta?: (set: IpSet, have: ActualIpSet) => MemberDelta | undefined,
): IpsetPlan {
  const minDelta = policy.minDelta ?? SWAP_MIN_DELTA;
  const lines: string[] = [];
  const created: string[] = [];
  const swapped: string[] = [];
  const updatedInPlace: string[] = [];
  const destroyed: string[] = [];
  const deltas = new Map<string, MemberDelta>();
  let entriesAdded = 0;
  let entriesDeleted = 0;
  for (const set of desired) {
    const have = actual.get(set.name);
    if (have !== undefined && have.type === set.type && have.family === set.family) {
      const { adds, dels } = knownDelta?.(set, have) ?? compareMembers(set, have);
      const delta = adds.length + dels.length;
      if (delta === 0) continue;
      if (delta >= minDelta || delta > memberCount(set)) {
        const temp = tempIpsetName(set.name);
        if (actual.has(temp)) lines.push(`destroy ${temp}`);
        lines.push(createLine(temp, set.type, set.family));
        for (const m of set.members) lines.push(`add ${temp} ${m}`);
        lines.push(`swap ${temp} ${set.name}`, `destroy ${temp}`);
        entriesAdded += set.members.length;
        swapped.push(set.name);
      } else {
        for (const m of dels) lines.push(`del ${set.name} ${m}`);
        for (const m of adds) lines.push(`add ${set.name} ${m}`);
        entriesAdded += adds.length;
        entriesDeleted += dels.length;
        updatedInPlace.push(set.name);
        deltas.set(set.name, { adds, dels });
      }
      continue;
    }
    if (have !== undefined) {
      // Same name, other type or family: only possible for hand-made sets, since ipsetName() hashes
      // the type in. Recreate; the kernel refuses if a rule still uses it, and we report that.
      lines.push(`destroy ${set.name}`);
      destroyed.push(set.name);
    }
    lines.push(createLine(set.name, set.type, set.family));
    for (const m of set.members) lines.push(`add ${set.name} ${m}`);
    entriesAdded += set.members.length;
    created.push(set.name);
  }
  return { lines, deltas, created, swapped, updatedInPlace, destroyed, entriesAdded, entriesDeleted };
}

/** The delta from a cached set (as `ipset save` or our writes left it) to a desired one. */
function compareMembers(set: IpSet, have: ActualIpSet): MemberDelta {
  const adds = set.members.filter((m) => !have.members.has(m));
  const want = new Set(set.members);
  const dels = [...have.members].filter((m) => !want.has(m)).sort();
  return { adds, dels };
}

/** Sets we own that are not desired (stale swap temporaries included). */
export function unwantedSets(desired: readonly IpSet[], actual: ActualIpSets): string[] {
  const want = new Set(desired.map((s) => s.name));
  return [...actual.keys()].filter((n) => !want.has(n)).sort();
}

/**
 * The expected kernel state after a successful update plan: a set updated in place gets its delta
 * applied to its cached members; a created or swapped set gets a cache entry of its members.
 */
export function applyPlanToCache(desired: readonly IpSet[], actual: ActualIpSets, plan: IpsetPlan): void {
  const touched = new Set([...plan.created, ...plan.swapped, ...plan.updatedInPlace]);
  for (const set of desired) {
    if (!touched.has(set.name)) continue;
    const delta = plan.deltas.get(set.name);
    const have = actual.get(set.name);
    if (delta !== undefined && have !== undefined) {
      for (const m of delta.dels) have.members.delete(m);
      for (const m of delta.adds) have.members.add(m);
      continue;
    }
    actual.set(set.name, {
      name: set.name,
      type: set.type,
      family: set.family,
      members: new Set(set.members),
    });
    actual.delete(tempIpsetName(set.name));
  }
}
