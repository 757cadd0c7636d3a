// Workload endpoints (pods on this node) as plain data, the host-side interface name every
// component derives the same way, and the routes a local pod needs (routed, no bridge: the node
// routes the pod's /32 (/128) to the host veth, `scope link`).
//
// The interface name must be computable by the CNI plugin (which creates the veth), by the agent
// (which routes to it) and by a human (`margayctl`), from namespace/name alone: "mgy" + 11 hex
// characters of SHA-1 over "namespace.name", the same shape as Calico's "cali" + 11. 44 bits make a
// collision among the pods of one node practically impossible; 14 characters fit IFNAMSIZ (15).
import { createHash } from 'node:crypto';
import { FelixError } from '../errors.ts';
import { canonicalAddress, parseAddress, type RouteSpec } from './routes.ts';

export interface WorkloadEndpoint {
  /** "namespace/name". */
  readonly id: string;
  readonly namespace: string;
  readonly name: string;
  /** Host side of the pod's veth, normally `workloadIfaceName(namespace, name)`. */
  readonly ifaceName: string;
  /** Pod addresses without prefix length (each is routed as a /32). */
  readonly ipv4: readonly string[];
  /** Pod addresses without prefix length (each is routed as a /128). */
  readonly ipv6: readonly string[];
  readonly mac?: string;
}

export const WORKLOAD_IFACE_PREFIX = 'mgy';

export function workloadIfaceName(namespace: string, name: string): string {
  const h = createHash('sha1').update(`${namespace}.${name}`).digest('hex');
  return `${WORKLOAD_IFACE_PREFIX}${h.slice(0, 11)}`;
}

export interface EndpointInput {
  readonly namespace: string;
  readonly name: string;
  readonly ipv4?: readonly string[];
  readonly ipv6?: readonly string[];
  readonly mac?: string;
  /** Defaults to `workloadIfaceName(namespace, name)`. */
  readonly ifaceName?: string;
}

/** Validate and canonicalize an endpoint (addresses in canonical text, family-checked). */
export function workloadEndpoint(e: EndpointInput): WorkloadEndpoint {
  const id = `${e.namespace}/${e.name}`;
  const family = (list: readonly string[] | undefined, want: 4 | 6): string[] =>
    (list ?? []).map((a) => {
      const p = parseAddress(a);
      if (!p || p.family !== want) {
        throw new FelixError('FELIX_ERR_INVALID_ROUTE', `endpoint ${id}: invalid IPv${want} address ${a}`);
      }
      return canonicalAddress(a);
    });
  if (e.mac !== undefined && !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(e.mac)) {
    throw new FelixError('FELIX_ERR_INVALID_ROUTE', `endpoint ${id}: invalid MAC ${e.mac}`);
  }
  const out: WorkloadEndpoint = {
    id,
    namespace: e.namespace,
    name: e.name,
    ifaceName: e.ifaceName ?? workloadIfaceName(e.namespace, e.name),
    ipv4: family(e.ipv4, 4),
    ipv6: family(e.ipv6, 6),
    ...(e.mac !== undefined ? { mac: e.mac.toLowerCase() } : {}),
  };
  return out;
}

/** The /32 and /128 routes to a local pod: `dst dev <host veth> scope link`, with a reason. */
export function workloadRoutes(ep: WorkloadEndpoint, table?: number): RouteSpec[] {
  const reason = `local workload ${ep.id}`;
  const t = table !== undefined ? { table } : {};
  return [
    ...ep.ipv4.map((a) => ({ dst: `${a}/32`, dev: ep.ifaceName, reason, ...t })),
    ...ep.ipv6.map((a) => ({ dst: `${a}/128`, dev: ep.ifaceName, reason, ...t })),
  ];
}
