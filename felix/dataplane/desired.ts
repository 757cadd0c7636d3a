// The desired state the Dataplane is handed (src/ renders it: policy with felix/calc, NAT outgoing
// with felix/model, routes from BGP and the node's own pods), and the pure checks that run on it
// before any part of it reaches a reconciler.
//
// iptables comes in pieces ("sources": the policy renderer's filter chains, NAT outgoing's nat
// chain, anything else); they are merged per family and table. A chain given by two sources must
// be identical in both (it is then written once); two different chains with one name are rejected
// naming both sources, and so is a rule matching a `mgy…` ipset that is not in the desired ipsets
// (the kernel would refuse the whole restore batch, and nothing would say which source was wrong).
import { FelixError } from '../errors.ts';
import type { WorkloadEndpoint } from '../model/endpoints.ts';
import type { IpSet } from '../model/ipsets.ts';
import { IPSET_OWNED_PREFIX, normalizeIpSets } from '../model/ipsets.ts';
import type { Chain, IpFamily, IptablesDesired, TableState } from '../model/iptables.ts';
import { canonicalJson, IP_FAMILIES, normalizeTables } from '../model/iptables.ts';
import type { RouteSpec } from '../model/routes.ts';
import type { IpipDesired, VxlanDesired } from './links.ts';

/** One named piece of the iptables state (the name appears in conflict errors). */
export interface IptablesSource extends IptablesDesired {
  readonly source: string;
}

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

export type MergedIptables = Readonly<Record<IpFamily, readonly TableState[]>>;

function invalid(message: string): never {
  throw new FelixError('FELIX_ERR_INVALID_DESIRED', message);
}

/** Merge the iptables sources per family and table; see the file comment for the rules. */
export function mergeIptables(input: IptablesDesired | readonly IptablesSource[]): MergedIptables {
  const sources: readonly IptablesSource[] = Array.isArray(input)
    ? (input as readonly IptablesSource[])
    : [{ source: 'iptables', ...(input as IptablesDesired) }];
  const out = {} as Record<IpFamily, TableState[]>;
  for (const family of IP_FAMILIES) {
    const owner = new Map<string, { source: string; chain: Chain }>();
    const states: TableState[] = [];
    for (const src of sources) {
      for (const state of src[family]) {
        states.push(state);
        for (const chain of state.chains) {
          const key = `${state.table}\0${chain.name}`;
          const prev = owner.get(key);
          if (prev === undefined) {
            owner.set(key, { source: src.source, chain });
          } else if (prev.chain !== chain && canonicalJson(prev.chain) !== canonicalJson(chain)) {
            invalid(
              `iptables ${family} table ${state.table}: chain ${chain.name} is given by both "${prev.source}" and "${src.source}" with different rules`,
            );
          }
        }
      }
    }
    out[family] = normalizeTables(states);
  }
  return out;
}

/** Every `--match-set NAME` of ours in the rules must be a desired set of the same family. */
export function checkIpsetReferences(tables: MergedIptables, ipsets: readonly IpSet[]): void {
  const have = new Set(ipsets.map((s) => `${s.family} ${s.name}`));
  for (const family of IP_FAMILIES) {
    for (const t of tables[family]) {
      for (const c of t.chains) {
        c.rules.forEach((r, i) => {
          const m = r.match;
          for (let k = 0; k < m.length - 1; k++) {
            if (m[k] !== '--match-set') continue;
            const name = m[k + 1]!;
            if (name.startsWith(IPSET_OWNED_PREFIX) && !have.has(`${family} ${name}`)) {
              invalid(
                `${family} ${t.table}/${c.name} rule ${i}: ipset ${name} is not a desired ${family} set`,
              );
            }
          }
        });
      }
    }
  }
}

/** Normalized ipsets (duplicates must be identical: normalizeIpSets). */
export function compileIpsets(ipsets: readonly IpSet[]): IpSet[] {
  return normalizeIpSets(ipsets);
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
  for (const family of IP_FAMILIES) {
    for (const t of tables[family]) {
      chains += t.chains.length;
      rules += t.jumps.length;
      for (const c of t.chains) rules += c.rules.length;
    }
  }
  let ipsetMembers = 0;
  for (const s of ipsets) ipsetMembers += s.members.length;
  return { chains, rules, ipsets: ipsets.length, ipsetMembers };
}
