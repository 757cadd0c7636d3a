// The IPPools the calculation uses: enabled ones (`disabled: true` takes a pool out of routing,
// encapsulation and NAT outgoing decisions), each with its compiled node selector. Pools must not
// overlap (Calico refuses such a pool when it is created; a datastore cannot): of two overlapping
// pools the first by name is used and the other is refused with a problem naming both.

import type { Selector } from '../../felix/index.ts';
import { compileSelector } from '../../felix/index.ts';
import type { EncapsulationMode } from '../model/ippool.ts';
import type { Snapshot } from '../model/snapshot.ts';
import type { IpFamily } from './addr.ts';
import { canonicalCidr, cidrFamily, cidrsOverlap, compareStrings } from './addr.ts';

export interface ActivePool {
  readonly name: string;
  /** Canonical CIDR. */
  readonly cidr: string;
  readonly family: IpFamily;
  readonly vxlanMode: EncapsulationMode;
  readonly ipipMode: EncapsulationMode;
  readonly natOutgoing: boolean;
  readonly nodeSelector: Selector;
}

export function activePools(snapshot: Snapshot): { pools: ActivePool[]; problems: string[] } {
  const pools: ActivePool[] = [];
  const problems: string[] = [];
  for (const name of [...snapshot.ipPools.keys()].sort(compareStrings)) {
    const spec = snapshot.ipPools.get(name)!.spec;
    if (spec.disabled) continue;
    const cidr = canonicalCidr(spec.cidr);
    const family = cidrFamily(spec.cidr);
    if (cidr === undefined || family === undefined) {
      problems.push(`IPPool ${name}: spec.cidr: ${JSON.stringify(spec.cidr)} is not a CIDR (pool ignored)`);
      continue;
    }
    let nodeSelector: Selector;
    try {
      nodeSelector = compileSelector(spec.nodeSelector);
    } catch (e) {
      problems.push(`IPPool ${name}: spec.nodeSelector: ${(e as Error).message} (pool ignored)`);
      continue;
    }
    const clash = pools.find((p) => cidrsOverlap(p.cidr, cidr));
    if (clash !== undefined) {
      problems.push(
        `IPPool ${name}: spec.cidr: ${cidr} overlaps IPPool ${clash.name} ${clash.cidr} (pool ignored)`,
      );
      continue;
    }
    pools.push({
      name,
      cidr,
      family,
      vxlanMode: spec.vxlanMode,
      ipipMode: family === 6 ? 'Never' : spec.ipipMode,
      natOutgoing: spec.natOutgoing,
      nodeSelector,
    });
  }
  return { pools, problems };
}
