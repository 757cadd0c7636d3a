// Workload plumbing (routed, no bridge): the host side of a pod's veth, and the pod side as the CNI
// plugin sets it up (`wirePod`, used by src/cni/wire.ts and the lab).
//
// The link-local gateway model, as Calico does it, and the choices made here:
// - IPv4: the pod has its address as a /32 and `default via 169.254.1.1 dev eth0 onlink`. Nobody
//   owns 169.254.1.1; the host veth has proxy_arp=1 (proxy_delay=0, so the first ARP is answered at
//   once) and answers with its own MAC. Pods therefore never ARP for each other: every packet goes
//   to the host, which routes it (the pod's /32 `dev mgy… scope link` on the other side).
//   Proxy ARP only answers when the host has a route to 169.254.1.1 out of another interface —
//   on a real node the default route; the lab has no default route, so `podGatewayAnchorRoute`
//   gives the node a /32 for it via its underlay interface (packets to it go nowhere useful, which
//   is fine: nothing sends to the gateway address itself, it only appears in ARP).
// - IPv6: proxy NDP would need one `ip neigh add proxy` per pod address; instead each host veth
//   carries the link-local address fe80::1/64 (link-local addresses are per-link, so every veth
//   can have the same one) and the pod routes `default via fe80::1 dev eth0`. The host answers
//   neighbour solicitation for its own address; no per-pod proxy state exists.
// - rp_filter=1 (strict) on the host veth: a pod can only send from addresses routed to its own
//   veth, so it cannot spoof another pod. accept_ra=0: the host never takes routes from a pod.
//   DAD is off on both ends (the addresses are assigned by IPAM, and DAD would delay the first
//   packet by a second).
import { workloadIfaceName } from '../../model/endpoints.ts';
import {
  canonicalAddress,
  POD_GATEWAY_V4,
  POD_GATEWAY_V6,
  parseAddress,
  type RouteSpec,
} from '../../model/routes.ts';
import type { Netlink } from '../netlink/netlink.ts';

export { workloadIfaceName };

export interface HostVethOptions {
  readonly ifaceName: string;
  readonly ipv4?: boolean;
  readonly ipv6?: boolean;
}

/** The sysctls of a host-side workload interface (pure: what `configureHostVeth` writes). */
export function hostVethSysctls(opts: HostVethOptions): [string, string][] {
  const i = opts.ifaceName;
  const out: [string, string][] = [];
  if (opts.ipv4 ?? true) {
    out.push(
      [`net/ipv4/conf/${i}/proxy_arp`, '1'],
      [`net/ipv4/neigh/${i}/proxy_delay`, '0'],
      [`net/ipv4/conf/${i}/forwarding`, '1'],
      [`net/ipv4/conf/${i}/rp_filter`, '1'],
    );
  }
  if (opts.ipv6 ?? false) {
    out.push(
      [`net/ipv6/conf/${i}/accept_ra`, '0'],
      [`net/ipv6/conf/${i}/accept_dad`, '0'],
      [`net/ipv6/conf/${i}/forwarding`, '1'],
    );
  }
  return out;
}

/** Apply the host-side settings to an existing interface (and the IPv6 gateway address). */
export async function configureHostVeth(nl: Netlink, opts: HostVethOptions): Promise<void> {
  await nl.sysctl(hostVethSysctls(opts));
  if (opts.ipv6 ?? false) {
    await nl.exec('ip', ['addr', 'replace', `${POD_GATEWAY_V6}/64`, 'dev', opts.ifaceName, 'nodad'], 6);
  }
}

/** Node-wide forwarding, which routed pods need (the lab and the agent both call it). */
export async function enableForwarding(
  nl: Netlink,
  opts: { ipv4?: boolean; ipv6?: boolean } = {},
): Promise<void> {
  const s: [string, string][] = [];
  if (opts.ipv4 ?? true) s.push(['net/ipv4/ip_forward', '1']);
  if (opts.ipv6 ?? false) s.push(['net/ipv6/conf/all/forwarding', '1']);
  await nl.sysctl(s);
}

/**
 * A /32 route for 169.254.1.1 via a non-pod interface, so proxy ARP answers for it on nodes
 * without a default route (the lab). See the file comment.
 */
export function podGatewayAnchorRoute(underlayDev: string): RouteSpec {
  return {
    dst: `${POD_GATEWAY_V4}/32`,
    dev: underlayDev,
    reason: 'pod gateway 169.254.1.1: proxy ARP needs a route to it (no default route here)',
  };
}

export interface WirePodOptions {
  /** Network namespace of the node; undefined = the caller's own (the agent, the CNI plugin). */
  readonly hostNs?: string;
  /** The pod's network namespace (an `ip netns` name). */
  readonly podNs: string;
  /** Host-side veth name, normally `workloadIfaceName(namespace, name)`. */
  readonly ifaceName: string;
  /** Pod-side name (default eth0). */
  readonly podIfaceName?: string;
  /** The pod's IPv4 address (no prefix length). */
  readonly ipv4?: string;
  readonly ipv6?: string;
  readonly mtu?: number;
  /** Netlink factory (tests inject fakes); default real commands. */
  readonly netlink: (netns: string | undefined) => Netlink;
}

export interface WiredPod {
  readonly hostIface: string;
  /** The /32 and /128 routes to hand to the route reconciler (not installed here). */
  readonly routes: RouteSpec[];
}

/**
 * Create the veth pair (host end in `hostNs`, peer moved straight into `podNs`), configure both
 * ends, and give the pod its addresses and default routes. The host-side routes are returned as
 * RouteSpecs: the reconciler owns them (so they carry our protocol and are repaired on drift).
 */
export async function wirePod(o: WirePodOptions): Promise<WiredPod> {
  const host = o.netlink(o.hostNs);
  const pod = o.netlink(o.podNs);
  const podIf = o.podIfaceName ?? 'eth0';
  const ipv4 = o.ipv4 !== undefined ? canonicalAddress(o.ipv4, 'pod IPv4 address') : undefined;
  const ipv6 = o.ipv6 !== undefined ? canonicalAddress(o.ipv6, 'pod IPv6 address') : undefined;
  if (ipv4 !== undefined && parseAddress(ipv4)?.family !== 4) throw new TypeError(`not IPv4: ${ipv4}`);
  if (ipv6 !== undefined && parseAddress(ipv6)?.family !== 6) throw new TypeError(`not IPv6: ${ipv6}`);
  const mtu = o.mtu !== undefined ? ['mtu', String(o.mtu)] : [];
  await host.exec('ip', [
    'link',
    'add',
    o.ifaceName,
    ...mtu,
    'type',
    'veth',
    'peer',
    'name',
    podIf,
    'netns',
    o.podNs,
  ]);
  await configureHostVeth(host, {
    ifaceName: o.ifaceName,
    ipv4: ipv4 !== undefined,
    ipv6: ipv6 !== undefined,
  });
  await host.exec('ip', ['link', 'set', o.ifaceName, 'up']);
  if (ipv6 !== undefined) await pod.sysctl([[`net/ipv6/conf/${podIf}/accept_dad`, '0']]);
  await pod.exec('ip', ['link', 'set', 'lo', 'up']);
  await pod.exec('ip', ['link', 'set', podIf, 'up']);
  if (ipv4 !== undefined) {
    await pod.exec('ip', ['addr', 'add', `${ipv4}/32`, 'dev', podIf]);
    await pod.exec('ip', ['route', 'replace', 'default', 'via', POD_GATEWAY_V4, 'dev', podIf, 'onlink'], 4);
  }
  if (ipv6 !== undefined) {
    await pod.exec('ip', ['addr', 'add', `${ipv6}/128`, 'dev', podIf, 'nodad'], 6);
    await pod.exec('ip', ['route', 'replace', 'default', 'via', POD_GATEWAY_V6, 'dev', podIf], 6);
  }
  const reason = `local workload on ${o.ifaceName}`;
  const routes: RouteSpec[] = [];
  if (ipv4 !== undefined) routes.push({ dst: `${ipv4}/32`, dev: o.ifaceName, reason });
  if (ipv6 !== undefined) routes.push({ dst: `${ipv6}/128`, dev: o.ifaceName, reason });
  return { hostIface: o.ifaceName, routes };
}
