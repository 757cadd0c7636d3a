// Per-endpoint chains and the fixed chains that lead to them (pure; Felix felix/rules/
// static.go, endpoints.go, dispatch.go), filter table, one copy per IP family.
//
//   FORWARD ─► mgy-FORWARD
//                -i mgy+ -j mgy-from-wl-dispatch ─(-i <veth> -g)─► mgy-fw-<pod>   egress of the source pod
//                -o mgy+ -j mgy-to-wl-dispatch   ─(-o <veth> -g)─► mgy-tw-<pod>   ingress of the destination pod
//                -i mgy+ -j ACCEPT ; -o mgy+ -j ACCEPT                             (both passed)
//   INPUT   ─► mgy-INPUT    [IPv6: neighbour discovery/MLD from pods accepted]
//                -i mgy+ -j mgy-from-wl-dispatch                                   pod → this host: egress policy
//   OUTPUT  ─► mgy-OUTPUT   -o mgy+ -j ACCEPT                                      host → local pod: always
//
// Above DISPATCH_SPLIT_AT local endpoints each dispatch chain goes by the interface name's first
// character after `mgy` to a chain per such character (`mgy-from-wl-dispatch-3`), so adding or
// removing a pod rewrites a small chain rather than one listing every pod (dispatchChains).
//
// An endpoint chain drops what policy denies and RETURNs what it allows, so pod → pod on one node
// passes both the source's egress and the destination's ingress; pod → remote pod is checked for
// egress here and for ingress on the other node (Kubernetes: both ends must allow).
//
//   mgy-tw-<pod> (to workload = ingress)            mgy-fw-<pod> (from workload = egress)
//     ctstate RELATED,ESTABLISHED → ACCEPT            ctstate RELATED,ESTABLISHED → ACCEPT
//     ctstate INVALID → DROP                          ctstate INVALID → DROP
//                                                     ! -s <pod address> → DROP (anti-spoofing)
//     clear accept bit                                clear accept bit
//     → mgy-nsi-<namespace>                           → mgy-nse-<namespace>
//     accept bit → RETURN                             accept bit → RETURN
//     dst in iso(namespace, ingress) → DROP           src in iso(namespace, egress) → DROP
//     RETURN (no ingress policy selects it: open)     RETURN (open)
//
// The three middle steps exist only when the namespace has policies of that direction. Which of
// them select this pod is membership of the policies' target sets and of the namespace's isolation
// set, so a pod's label change never rewrites its chains (the brief's requirement; Felix lists the
// selecting policies in the endpoint chain instead and rewrites it on such a change).
//
// Conntrack first: return traffic of any connection a policy allowed flows whatever the policies
// of the other direction say; INVALID packets never reach a policy.
//
// Address families: a family is in use on this node when a local endpoint has an address of it.
// Only a family in use gets endpoint chains (for every local endpoint, so a pod without an address
// of the family has its from-workload chain drop all but return traffic, as the anti-spoofing rule
// says). A family no local endpoint has an address of dispatches no endpoint: both dispatch chains
// drop every workload packet of it (IPv6 neighbour discovery to the host still passes in INPUT).
// Such a packet can only come from a pod without an address of the family, and no route of that
// family leads to a pod, so nothing that policy could allow is lost.
//
// Host → local pod (kubelet probes) is allowed by design: such packets never traverse FORWARD, and
// mgy-OUTPUT accepts them before any host rule can drop them; their replies come back through
// INPUT and the pod's from-workload chain, as ESTABLISHED. Traffic from other nodes' hosts is
// ordinary ingress (Calico's default, too).
import type { WorkloadEndpoint } from '../model/endpoints.ts';
import type { Chain, InetFamily, Jump, Rule } from '../model/iptables.ts';
import { chainName } from '../model/iptables.ts';
import type { Direction } from './policy-chains.ts';
import { MARK_MATCH, namespaceChainName, POLICY_ACCEPT_MARK } from './policy-chains.ts';

export const WORKLOAD_IFACE_MATCH = 'mgy+';
export const FORWARD_CHAIN = 'mgy-FORWARD';
export const INPUT_CHAIN = 'mgy-INPUT';
export const OUTPUT_CHAIN = 'mgy-OUTPUT';
export const FROM_WL_DISPATCH = 'mgy-from-wl-dispatch';
export const TO_WL_DISPATCH = 'mgy-to-wl-dispatch';

/** ICMPv6 a pod must be able to send its host: MLD (130-132), router and neighbour solicitation/advert. */
const NDP_TYPES = ['130', '131', '132', '133', '135', '136'];

export function endpointChainName(endpointId: string, direction: Direction): string {
  return chainName(direction === 'ingress' ? 'tw' : 'fw', endpointId);
}

export interface NamespacePolicyState {
  /** The namespace has at least one policy of the direction. */
  readonly hasIngress: boolean;
  readonly hasEgress: boolean;
  /** Isolation sets (names) per direction for this family, when the namespace has such policies. */
  readonly isoIngress: string | undefined;
  readonly isoEgress: string | undefined;
}

const CLEAR_MARK: Rule['action'] = { type: 'setMark', mark: 0, mask: POLICY_ACCEPT_MARK };

function conntrackRules(who: string): Rule[] {
  return [
    {
      match: ['-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED'],
      action: { type: 'accept' },
      comment: `${who}: return traffic of allowed connections`,
    },
    {
      match: ['-m', 'conntrack', '--ctstate', 'INVALID'],
      action: { type: 'drop' },
      comment: `${who}: conntrack INVALID`,
    },
  ];
}

function policyRules(ep: WorkloadEndpoint, direction: Direction, ns: NamespacePolicyState): Rule[] {
  const who = `endpoint ${ep.id}`;
  const has = direction === 'ingress' ? ns.hasIngress : ns.hasEgress;
  const iso = direction === 'ingress' ? ns.isoIngress : ns.isoEgress;
  if (!has || iso === undefined) {
    return [
      {
        match: [],
        action: { type: 'return' },
        comment: `${who}: no ${direction} policy in namespace ${ep.namespace}: open`,
      },
    ];
  }
  const side = direction === 'ingress' ? 'dst' : 'src';
  return [
    { match: [], action: CLEAR_MARK, comment: `${who}: clear the accept bit` },
    {
      match: [],
      action: { type: 'jump', chain: namespaceChainName(ep.namespace, direction) },
      comment: `${who}: ${direction} policies of ${ep.namespace}`,
    },
    { match: MARK_MATCH, action: { type: 'return' }, comment: `${who}: a policy allowed ${direction}` },
    {
      match: ['-m', 'set', '--match-set', iso, side],
      action: { type: 'drop' },
      comment: `${who}: selected by an ${direction} policy, none allowed`,
    },
    { match: [], action: { type: 'return' }, comment: `${who}: no ${direction} policy selects it: open` },
  ];
}

function antiSpoofRules(ep: WorkloadEndpoint, family: InetFamily): Rule[] {
  const addrs = family === 'inet' ? ep.ipv4 : ep.ipv6;
  const who = `endpoint ${ep.id}`;
  if (addrs.length === 0) {
    return [
      {
        match: [],
        action: { type: 'drop' },
        comment: `${who}: has no ${family === 'inet' ? 'IPv4' : 'IPv6'} address`,
      },
    ];
  }
  // Kubernetes gives a pod at most one address per family; with more, rp_filter (IPv4) is the
  // only check, since one negated -s cannot name two addresses.
  if (addrs.length > 1) return [];
  const bits = family === 'inet' ? 32 : 128;
  return [
    {
      match: ['!', '-s', `${addrs[0]}/${bits}`],
      action: { type: 'drop' },
      comment: `${who}: source is not the pod's address`,
    },
  ];
}

export function renderEndpointChains(
  ep: WorkloadEndpoint,
  family: InetFamily,
  ns: NamespacePolicyState,
): Chain[] {
  const who = `endpoint ${ep.id}`;
  return [
    {
      name: endpointChainName(ep.id, 'ingress'),
      rules: [...conntrackRules(who), ...policyRules(ep, 'ingress', ns)],
    },
    {
      name: endpointChainName(ep.id, 'egress'),
      rules: [...conntrackRules(who), ...antiSpoofRules(ep, family), ...policyRules(ep, 'egress', ns)],
    },
  ];
}

/**
 * The fixed chains, dispatch by interface, and the jumps from the builtin chains. `endpoints` are
 * dispatched when `familyInUse`; otherwise the family has no endpoint chains and the dispatch
 * chains drop (see the file comment).
 */
export function renderStaticChains(
  endpoints: readonly WorkloadEndpoint[],
  family: InetFamily,
  familyInUse: boolean,
): { chains: Chain[]; jumps: Jump[] } {
  const wl = WORKLOAD_IFACE_MATCH;
  const version = family === 'inet' ? 'IPv4' : 'IPv6';
  const unknown = familyInUse
    ? 'an unknown workload interface'
    : `a workload: no local workload has an ${version} address`;
  const sorted = [...(familyInUse ? endpoints : [])].sort((a, b) =>
    a.ifaceName < b.ifaceName ? -1 : a.ifaceName > b.ifaceName ? 1 : 0,
  );
  const dispatch = [
    ...dispatchChains(FROM_WL_DISPATCH, sorted, 'egress', `from ${unknown}`),
    ...dispatchChains(TO_WL_DISPATCH, sorted, 'ingress', `to ${unknown}`),
  ];
  const input: Rule[] =
    family === 'inet6'
      ? NDP_TYPES.map((t) => ({
          match: ['-i', wl, '-p', 'ipv6-icmp', '-m', 'icmp6', '--icmpv6-type', t],
          action: { type: 'accept' } as const,
          comment: `IPv6 neighbour discovery / MLD from workloads (type ${t})`,
        }))
      : [];
  input.push({
    match: ['-i', wl],
    action: { type: 'jump', chain: FROM_WL_DISPATCH },
    comment: 'workload to this host: egress policy of the workload',
  });
  return {
    chains: [
      {
        name: FORWARD_CHAIN,
        rules: [
          {
            match: ['-i', wl],
            action: { type: 'jump', chain: FROM_WL_DISPATCH },
            comment: 'from local workloads: egress policy',
          },
          {
            match: ['-o', wl],
            action: { type: 'jump', chain: TO_WL_DISPATCH },
            comment: 'to local workloads: ingress policy',
          },
          {
            match: ['-i', wl],
            action: { type: 'accept' },
            comment: 'from a local workload, allowed by policy',
          },
          {
            match: ['-o', wl],
            action: { type: 'accept' },
            comment: 'to a local workload, allowed by policy',
          },
        ],
      },
      { name: INPUT_CHAIN, rules: input },
      {
        name: OUTPUT_CHAIN,
        rules: [
          {
            match: ['-o', wl],
            action: { type: 'accept' },
            comment: 'host to local workloads: always allowed (kubelet probes)',
          },
        ],
      },
      ...dispatch,
    ],
    jumps: [
      { from: 'FORWARD', to: FORWARD_CHAIN, comment: 'margay policy: forwarded traffic' },
      { from: 'INPUT', to: INPUT_CHAIN, comment: 'margay policy: traffic to this host' },
      { from: 'OUTPUT', to: OUTPUT_CHAIN, comment: 'margay policy: traffic from this host' },
    ],
  };
}

/**
 * The dispatch chains of one direction: `top` with a goto per endpoint, then a drop. Above
 * DISPATCH_SPLIT_AT endpoints, `top` dispatches by the character after the interface prefix
 * (`-i mgy3+ -g mgy-from-wl-dispatch-3`) to one chain per such character, which lists that group's
 * endpoints and drops the rest; a name without such a character is listed in `top` itself. A pod
 * added or removed then rewrites its group's chain (about one sixteenth of the node's endpoints,
 * the names being hex) instead of a chain that lists them all. Every chain ends in the same drop,
 * and gotos keep RETURN going back to mgy-FORWARD or mgy-INPUT, so what a packet meets is unchanged.
 */
function dispatchChains(
  top: string,
  sorted: readonly WorkloadEndpoint[],
  direction: Direction,
  unknown: string,
): Chain[] {
  const flag = direction === 'egress' ? '-i' : '-o';
  const toEndpoint = (ep: WorkloadEndpoint): Rule => ({
    match: [flag, ep.ifaceName],
    action: { type: 'goto', chain: endpointChainName(ep.id, direction) },
    comment: `${direction === 'egress' ? 'from' : 'to'} endpoint ${ep.id}`,
  });
  const drop: Rule = { match: [], action: { type: 'drop' }, comment: unknown };
  if (sorted.length <= DISPATCH_SPLIT_AT) return [{ name: top, rules: [...sorted.map(toEndpoint), drop] }];
  // The top chain: endpoints outside every group, a goto per group, then the drop.
  const topRules: Rule[] = [];
  const groups = new Map<string, Rule[]>();
  for (const ep of sorted) {
    const key = dispatchGroup(ep.ifaceName);
    if (key === undefined) topRules.push(toEndpoint(ep));
    else {
      const rules = groups.get(key);
      if (rules === undefined) groups.set(key, [toEndpoint(ep)]);
      else rules.push(toEndpoint(ep));
    }
  }
  const chains: Chain[] = [];
  for (const [key, rules] of groups) {
    const name = `${top}-${key}`;
    topRules.push({
      match: [flag, `${IFACE_PREFIX}${key}+`],
      action: { type: 'goto', chain: name },
      comment: `${direction === 'egress' ? 'from' : 'to'} interfaces ${IFACE_PREFIX}${key}…`,
    });
    chains.push({ name, rules: [...rules, drop] });
  }
  topRules.push(drop);
  return [{ name: top, rules: topRules }, ...chains];
}

/** The prefix of workload interface names (WORKLOAD_IFACE_MATCH without its wildcard). */
const IFACE_PREFIX = WORKLOAD_IFACE_MATCH.slice(0, -1);

/** A dispatch chain lists its endpoints directly up to this many (see dispatchChains). */
export const DISPATCH_SPLIT_AT = 16;

/** The group of an interface name: its character after the prefix, a digit or a lowercase letter. */
function dispatchGroup(ifaceName: string): string | undefined {
  if (!ifaceName.startsWith(IFACE_PREFIX)) return undefined;
  const c = ifaceName.charAt(IFACE_PREFIX.length);
  return /^[0-9a-z]$/.test(c) ? c : undefined;
}
