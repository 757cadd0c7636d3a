// Checking the routes handed to `Speaker.setLocalRoutes` before the RIB takes them. Every value
// must fit the path attribute it becomes (RFC 4271 §4.3: ORIGIN one octet 0..2, MED and
// LOCAL_PREF four octets; RFC 1997 communities four octets; RFC 8092 large communities three
// four-octet fields; RFC 4360 extended communities eight octets): a value that does not fit
// would only fail when the UPDATE is encoded for a peer, so the route would never be sent.
// The whole set is checked first, so a bad route is refused with the others and nothing changes.
import { BgpError } from '../errors.ts';
import type { LocalRoute } from './types.ts';

const U32_MAX = 0xffffffff;
const U64_MAX = (1n << 64n) - 1n;

function isUint32(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= U32_MAX;
}

/** Why the route cannot be announced: the LocalRoute field and the reason; undefined when it can. */
export function localRouteProblem(r: LocalRoute): { field: string; message: string } | undefined {
  if (r.origin !== undefined && r.origin !== 0 && r.origin !== 1 && r.origin !== 2)
    return { field: 'origin', message: `${String(r.origin)} is not 0 (IGP), 1 (EGP) or 2 (incomplete)` };
  for (const field of ['med', 'localPref'] as const) {
    const v = r[field];
    if (v !== undefined && !isUint32(v))
      return { field, message: `${String(v)} is not an integer 0..4294967295` };
  }
  if (r.communities !== undefined) {
    for (const [i, c] of r.communities.entries())
      if (!isUint32(c))
        return { field: `communities[${i}]`, message: `${String(c)} is not a 32-bit community value` };
  }
  if (r.largeCommunities !== undefined) {
    for (const [i, c] of r.largeCommunities.entries())
      for (const part of ['globalAdmin', 'localData1', 'localData2'] as const)
        if (!isUint32(c?.[part]))
          return {
            field: `largeCommunities[${i}].${part}`,
            message: `${String(c?.[part])} is not an integer 0..4294967295`,
          };
  }
  if (r.extendedCommunities !== undefined) {
    for (const [i, c] of r.extendedCommunities.entries())
      if (typeof c !== 'bigint' || c < 0n || c > U64_MAX)
        return { field: `extendedCommunities[${i}]`, message: `${String(c)} is not a 64-bit value` };
  }
  return undefined;
}

/** Throws BgpError BGP_ERR_INVALID_CONFIG naming the first route and field that cannot be sent. */
export function checkLocalRoutes(routes: readonly LocalRoute[]): void {
  for (const r of routes) {
    const problem = localRouteProblem(r);
    if (problem !== undefined)
      throw new BgpError(
        'BGP_ERR_INVALID_CONFIG',
        `local route ${String(r.prefix)}: ${problem.field}: ${problem.message}`,
      );
  }
}
