// The desired state the Dataplane is handed (src/ renders it: policy with felix/calc, NAT outgoing
// with felix/model, routes from BGP and the node's own pods), and the pure checks that run on it
// before any part of it reaches a reconciler.
//
// iptables comes in pieces ("sources": the policy renderer's filter chains, NAT outgoing's nat
// chain, anything else); they are merged per family and table. A chain given by two sources must
// be identical in both (it is then written once); two different chains with one name are rejected
// naming both sources, and so is a rule matching a `mgy…` ipset that is not in the desired ipsets
// (the kernel would refuse the whole restore batch, and nothing would say which source was wrong).
//
// Validated once: the records are immutable once handed over (a caller builds a new object to
// change one and hands the old object again when nothing changed), so what was checked and
// normalized is remembered by object. A set given again is not canonicalized again, a chain's
// ipset references are not scanned again, and a family whose every source hands the same table
// list as in the previous merge keeps that merge. Whatever is remembered, a state is accepted or
// refused exactly as a first look would.
import { FelixError } from '../errors.ts';
import type { WorkloadEndpoint } from '../model/endpoints.ts';
import type { IpSet } from '../model/ipsets.ts';
import { IPSET_OWNED_PREFIX, memberCount, normalizeIpSet } from '../model/ipsets.ts';
import type {
  Chain,
  InetFamily,
  IptablesDesired,
  IptablesSource,
  RuleRef,
  TableState,
} from '../model/iptables.ts';
import { canonicalJson, INET_FAMILIES, normalizeTables, ruleRefs } from '../model/iptables.ts';
import type { RouteSpec } from '../model/routes.ts';
import type { IpipDesired, VxlanDesired } from '../model/tunnels.ts';

export interface DataplaneDesired {
  /** Routes besides the local workloads' (remote pod CIDRs, own blackhole, anchors…). */
  readonly routes: readonly RouteSpec[];
  /** Local pods: their /32 and /128 routes are added, their host veths configured. */
  readonly endpoints: readonly WorkloadEndpoint[];
  /** One state, or several sources merged by table (policy filter chains, NAT outgoing…). */
  readonly iptables: IptablesDesired | readonly IptablesSource[];
  readonly ipsets: readonly IpSet[];
  /** undefined: VXLAN not managed; null: no VXLAN on this node (our device is removed). */
  readonly vxlan?: VxlanDesired | null;
  /** undefined or null: not managed (tunl0 is never deleted). */
  readonly ipip?: IpipDesired | null;
}

export type MergedIptables = Readonly<Record<InetFamily, readonly TableState[]>>;

function invalid(message: string): never {
  throw new FelixError('FELIX_ERR_INVALID_DESIRED', message);
}

/** A merge and the table lists it was made from, per family (what mergeIptables may reuse). */
export interface IptablesMerge {
  readonly merged: MergedIptables;
  readonly from: Readonly<Record<InetFamily, readonly (readonly TableState[])[]>>;
  readonly names: readonly string[];
}

function sourcesOf(input: IptablesDesired | readonly IptablesSource[]): readonly IptablesSource[] {
  return Array.isArray(input)
    ? (input as readonly IptablesSource[])
    : [{ source: 'iptables', ...(input as IptablesDesired) }];
}

/**
 * Merge the iptables sources per family and table; see the file comment for the rules. A family
 * whose sources (same names, same order) hand the very table lists of `previous` keeps its merge.
 */
export function mergeIptables(
  input: IptablesDesired | readonly IptablesSource[],
  previous?: IptablesMerge,
): IptablesMerge {
  const sources = sourcesOf(input);
  const names = sources.map((s) => s.source);
  const sameNames =
    previous !== undefined &&
    previous.names.length === names.length &&
    previous.names.every((n, i) => n === names[i]);
  const merged = {} as Record<InetFamily, readonly TableState[]>;
  const from = {} as Record<InetFamily, readonly (readonly TableState[])[]>;
  for (const family of INET_FAMILIES) {
    const lists = sources.map((s) => s[family]);
    from[family] = lists;
    if (sameNames && lists.every((l, i) => l === previous.from[family][i])) {
      merged[family] = previous.merged[family];
      continue;
    }
    const states: TableState[] = [];
    // Which source gives each table; a chain name given by two sources of one table must be the
    // same chain in both (checked only for the tables that several sources give).
    const sourceOf = new Map<TableState['table'], string>();
    const shared = new Set<TableState['table']>();
    for (const src of sources) {
      for (const state of src[family]) {
        states.push(state);
        const prev = sourceOf.get(state.table);
        if (prev !== undefined && prev !== src.source) shared.add(state.table);
        sourceOf.set(state.table, src.source);
      }
    }
    for (const table of shared) {
      const owner = new Map<string, { source: string; chain: Chain }>();
      for (const src of sources) {
        for (const state of src[family]) {
          if (state.table !== table) continue;
          for (const chain of state.chains) {
            const prev = owner.get(chain.name);
            if (prev === undefined) {
              owner.set(chain.name, { source: src.source, chain });
            } else if (prev.chain !== chain && canonicalJson(prev.chain) !== canonicalJson(chain)) {
              invalid(
                `iptables ${family} table ${table}: chain ${chain.name} is given by both "${prev.source}" and "${src.source}" with different rules`,
              );
            }
          }
        }
      }
    }
    merged[family] = normalizeTables(states);
  }
  return { merged, from, names };
}

/** Per chain: the `mgy…` sets its rules match, with the rule's position (by chain object). */
const chainSetRefs = new WeakMap<Chain, readonly RuleRef[]>();

function setRefsOf(chain: Chain): readonly RuleRef[] {
  return ruleRefs(chainSetRefs, chain, (rule, found) => {
    const m = rule.match;
    for (let k = 0; k < m.length - 1; k++) {
      if (m[k] === '--match-set' && m[k + 1]!.startsWith(IPSET_OWNED_PREFIX)) found(m[k + 1]!);
    }
  });
}

/** Every `--match-set NAME` of ours in the rules must be a desired set of the same family. */
export function checkIpsetReferences(tables: MergedIptables, ipsets: readonly IpSet[]): void {
  const have = new Map<IpSet['family'], Set<string>>();
  for (const s of ipsets) {
    let names = have.get(s.family);
    if (names === undefined) {
      names = new Set();
      have.set(s.family, names);
    }
    names.add(s.name);
  }
  for (const family of INET_FAMILIES) {
    const names = have.get(family);
    for (const t of tables[family]) {
      for (const c of t.chains) {
        for (const [i, name] of setRefsOf(c)) {
          if (names?.has(name) !== true) {
            invalid(`${family} ${t.table}/${c.name} rule ${i}: ipset ${name} is not a desired ${family} set`);
          }
        }
      }
    }
  }
}

/** Given set → its normalized form (a normalized set maps to itself): each set is checked once. */
const normalizedSets = new WeakMap<IpSet, IpSet>();

/**
 * Normalized ipsets sorted by name (normalizeIpSet per set, remembered by object); a name given
 * twice must describe the same set (type, family and members after canonicalization).
 */
export function compileIpsets(ipsets: readonly IpSet[]): IpSet[] {
  const byName = new Map<string, IpSet>();
  for (const raw of ipsets) {
    let s = normalizedSets.get(raw);
    if (s === undefined) {
      s = normalizeIpSet(raw);
      normalizedSets.set(raw, s);
      normalizedSets.set(s, s);
    }
    const prev = byName.get(s.name);
    if (prev === undefined) {
      byName.set(s.name, s);
      continue;
    }
    if (
      prev !== s &&
      (prev.type !== s.type ||
        prev.family !== s.family ||
        prev.members.length !== s.members.length ||
        prev.members.some((m, i) => m !== s.members[i]))
    ) {
      invalid(`two different ipsets named ${s.name}`);
    }
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export interface DesiredCounts {
  readonly chains: number;
  readonly rules: number;
  readonly ipsets: number;
  readonly ipsetMembers: number;
}

export function countDesired(tables: MergedIptables, ipsets: readonly IpSet[]): DesiredCounts {
  let chains = 0;
  let rules = 0;
  for (const family of INET_FAMILIES) {
    for (const t of tables[family]) {
      chains += t.chains.length;
      rules += t.jumps.length;
      for (const c of t.chains) rules += c.rules.length;
    }
  }
  let ipsetMembers = 0;
  for (const s of ipsets) ipsetMembers += memberCount(s);
  return { chains, rules, ipsets: ipsets.length, ipsetMembers };
}
