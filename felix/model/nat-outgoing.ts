// NAT outgoing (pure): pod traffic from an IPPool with `natOutgoing` that leaves ALL pools is
// masqueraded to the node's address; traffic between pods (any pool, any node) keeps its source.
// Calico's layout: nat POSTROUTING → cali-nat-outgoing:
//   -m set --match-set cali40masq-ipam-pools src -m set ! --match-set cali40all-ipam-pools dst
//   -j MASQUERADE --random-fully
// Ours is the same with `mgy-` names, one set pair per family.

import type { IpSet } from './ipsets.ts';
import { type InetFamily, inetFamilyOfText, type TableState } from './iptables.ts';

export interface NatPool {
  readonly name: string;
  /** The pool's CIDR, e.g. "10.244.0.0/16" or "2001:db8:42::/48". */
  readonly cidr: string;
  readonly natOutgoing: boolean;
}

export const NAT_OUTGOING_CHAIN = 'mgy-nat-outgoing';

export function natSetNames(family: InetFamily): { masq: string; all: string } {
  const suffix = family === 'inet' ? '' : '6';
  return { masq: `mgy-masq-ipam-pools${suffix}`, all: `mgy-all-ipam-pools${suffix}` };
}

export interface NatOutgoing {
  readonly ipsets: readonly IpSet[];
  /** The nat table part; empty (no chain, no jump) when no pool of this family masquerades. */
  readonly nat: TableState;
}

function familyOf(cidr: string): InetFamily {
  return inetFamilyOfText(cidr);
}

export function renderNatOutgoing(pools: readonly NatPool[], family: InetFamily): NatOutgoing {
  const mine = pools.filter((p) => familyOf(p.cidr) === family);
  const masqPools = mine.filter((p) => p.natOutgoing);
  const names = natSetNames(family);
  const ipsets: IpSet[] = [
    {
      name: names.all,
      type: 'hash:net',
      family,
      members: mine.map((p) => p.cidr),
      origin: 'all IPPools',
    },
    {
      name: names.masq,
      type: 'hash:net',
      family,
      members: masqPools.map((p) => p.cidr),
      origin: 'IPPools with natOutgoing',
    },
  ];
  if (masqPools.length === 0) return { ipsets, nat: { table: 'nat', chains: [], jumps: [] } };
  const poolNames = masqPools
    .map((p) => p.name)
    .sort()
    .join(',');
  return {
    ipsets,
    nat: {
      table: 'nat',
      chains: [
        {
          name: NAT_OUTGOING_CHAIN,
          rules: [
            {
              match: [
                '-m',
                'set',
                '--match-set',
                names.masq,
                'src',
                '-m',
                'set',
                '!',
                '--match-set',
                names.all,
                'dst',
              ],
              action: { type: 'masquerade', fullyRandom: true },
              comment: `natOutgoing ippools ${poolNames}`,
            },
          ],
        },
      ],
      jumps: [{ from: 'POSTROUTING', to: NAT_OUTGOING_CHAIN, comment: 'natOutgoing' }],
    },
  };
}
