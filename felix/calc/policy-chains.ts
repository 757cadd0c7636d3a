// One NetworkPolicy rendered as iptables chains (pure; Felix felix/rules/policy.go).
//
// Per policy and direction one chain, `mgy-pi-<hash>` (ingress) / `mgy-po-<hash>` (egress), shared
// by every endpoint the policy selects. Each (peer × port entry) of each rule becomes one rule that
// sets the accept mark bit, followed by a RETURN when the bit is set (Felix's mark-bit accept
// pattern): the caller clears the bit, jumps to the chains of every policy that selects the
// endpoint in turn, and accepts as soon as one set it — so several policies add up (a union of
// allows) and no policy can deny what another allowed.
//
// What a chain contains is a function of the policy only: peers are ipsets named by their
// selector, named ports are ipsets of (address, port) pairs. A pod joining or leaving a peer,
// changing its labels or its container ports changes set members, never a rule.
//
// Named ports (the brief's choice to make): resolved per TARGET pod, as Kubernetes says.
// - ingress: the pod receiving the packet is the one whose port name counts. The rule matches
//   `--match-set np dst,dst` over the policy's own local target pods with that port name, so one
//   shared chain gives each selected pod its own number (web-1 "http" = 80, web-2 "http" = 8080).
// - egress: the destination pod's port name counts. The rule matches `dst,dst` over the peer's pods
//   (cluster-wide) that declare the name — one hash:ip,port entry per destination pod. The set
//   replaces the peer's own set (it holds only peer pods). With no peers, or an ipBlock peer, the
//   set covers every pod of the cluster that declares the name: a named port only ever matches a
//   pod, never an address outside the cluster.
import type { Chain, InetFamily, Rule } from '../model/iptables.ts';
import { chainName } from '../model/iptables.ts';
import type { NormPeer, NormPolicy, NormPort, NormRule, PodSetSpec } from './policy-normalize.ts';
import { podSetKey } from './policy-normalize.ts';
import type { SetNamer } from './policy-sets.ts';
import { SELECT_ALL } from './selector.ts';

export type Direction = 'ingress' | 'egress';

/** The accept mark bit policy chains set (Felix uses the same bit by default). */
export const POLICY_ACCEPT_MARK = 0x10000;
export const MARK_MATCH = [
  '-m',
  'mark',
  '--mark',
  `0x${POLICY_ACCEPT_MARK.toString(16)}/0x${POLICY_ACCEPT_MARK.toString(16)}`,
];

const ALL_PODS: PodSetSpec = {
  namespaces: { kind: 'selector', selector: SELECT_ALL },
  pods: SELECT_ALL,
  key: podSetKey({ namespaces: { kind: 'selector', selector: SELECT_ALL }, pods: SELECT_ALL }),
};

export function policyChainName(policyId: string, direction: Direction): string {
  return chainName(direction === 'ingress' ? 'pi' : 'po', policyId);
}

interface PeerAlt {
  /** The peer's match; named (and its set made) only when a rule uses it. */
  match(): readonly string[];
  readonly label: string;
  readonly podSet: PodSetSpec | undefined;
}

function peerAlts(
  peers: readonly NormPeer[] | undefined,
  direction: Direction,
  family: InetFamily,
  sets: SetNamer,
): PeerAlt[] {
  const side = direction === 'ingress' ? 'src' : 'dst';
  const field = direction === 'ingress' ? 'from' : 'to';
  if (peers === undefined) return [{ match: () => [], label: `${field} any`, podSet: undefined }];
  const out: PeerAlt[] = [];
  for (const p of peers) {
    if (p.kind === 'pods') {
      // An egress rule on a named port matches the peer's named-port set instead of its own.
      out.push({
        match: () => ['-m', 'set', '--match-set', sets.podIps(p.set, 'cluster', family), side],
        label: p.label,
        podSet: p.set,
      });
      continue;
    }
    // An ipBlock of the other family matches nothing here: the peer is left out, and a rule
    // left without peers renders nothing (it must not become "from any").
    if (p.family !== family) continue;
    const match: string[] = p.isAll ? [] : [direction === 'ingress' ? '-s' : '-d', p.cidr];
    if (p.except.length > 0) match.push('-m', 'set', '!', '--match-set', sets.nets(p.except, family), side);
    out.push({ match: () => match, label: p.label, podSet: undefined });
  }
  return out;
}

function protoArgs(port: NormPort): string[] {
  if (port.kind === 'range') {
    const dport = port.from === port.to ? String(port.from) : `${port.from}:${port.to}`;
    return ['-p', port.protocol, '-m', port.protocol, '--dport', dport];
  }
  return ['-p', port.protocol];
}

function ruleMatches(
  policy: NormPolicy,
  rule: NormRule,
  direction: Direction,
  family: InetFamily,
  sets: SetNamer,
): { match: string[]; label: string }[] {
  const peers = peerAlts(rule.peers, direction, family, sets);
  const ports: readonly (NormPort | undefined)[] = rule.ports ?? [undefined];
  const out: { match: string[]; label: string }[] = [];
  for (const peer of peers) {
    for (const port of ports) {
      const label = `${peer.label} ${port?.label ?? 'ports any'}`;
      if (port === undefined) {
        out.push({ match: [...peer.match()], label });
      } else if (port.kind !== 'named') {
        out.push({ match: [...peer.match(), ...protoArgs(port)], label });
      } else if (direction === 'ingress') {
        const np = sets.namedPort(policy.target, 'local', port.name, port.protocol, family);
        out.push({
          match: [...peer.match(), ...protoArgs(port), '-m', 'set', '--match-set', np, 'dst,dst'],
          label,
        });
      } else if (peer.podSet !== undefined) {
        const np = sets.namedPort(peer.podSet, 'cluster', port.name, port.protocol, family);
        out.push({ match: [...protoArgs(port), '-m', 'set', '--match-set', np, 'dst,dst'], label });
      } else {
        const np = sets.namedPort(ALL_PODS, 'cluster', port.name, port.protocol, family);
        out.push({
          match: [...peer.match(), ...protoArgs(port), '-m', 'set', '--match-set', np, 'dst,dst'],
          label,
        });
      }
    }
  }
  return out;
}

/** The chain of one policy for one direction and family (empty when it allows nothing). */
export function renderPolicyChain(
  policy: NormPolicy,
  direction: Direction,
  family: InetFamily,
  sets: SetNamer,
): Chain {
  const rules: Rule[] = [];
  for (const rule of direction === 'ingress' ? policy.ingress : policy.egress) {
    for (const m of ruleMatches(policy, rule, direction, family, sets)) {
      const origin = `policy ${policy.id} ${direction}[${rule.index}] ${m.label}`;
      rules.push({
        match: m.match,
        action: { type: 'setMark', mark: POLICY_ACCEPT_MARK, mask: POLICY_ACCEPT_MARK },
        comment: origin,
      });
      rules.push({ match: MARK_MATCH, action: { type: 'return' }, comment: `${origin}: allowed` });
    }
  }
  return { name: policyChainName(policy.id, direction), rules };
}

export function namespaceChainName(namespace: string, direction: Direction): string {
  return chainName(direction === 'ingress' ? 'nsi' : 'nse', namespace);
}

/**
 * A namespace's dispatch chain for one direction: for each of its policies of that direction (by
 * name), jump to the policy chain when the endpoint is in the policy's target set, return once the
 * accept bit is set. Every endpoint of the namespace jumps here; which policies apply to which pod
 * is set membership, so a label change rewrites no chain.
 */
export function renderNamespaceChain(
  namespace: string,
  policies: readonly NormPolicy[],
  direction: Direction,
  family: InetFamily,
  sets: SetNamer,
): Chain {
  const side = direction === 'ingress' ? 'dst' : 'src';
  const rules: Rule[] = [];
  for (const p of policies) {
    const target = sets.podIps(p.target, 'local', family);
    rules.push({
      match: ['-m', 'set', '--match-set', target, side],
      action: { type: 'jump', chain: policyChainName(p.id, direction) },
      comment: `policy ${p.id} selects the ${direction === 'ingress' ? 'destination' : 'source'} (${p.target.pods.text})`,
    });
    rules.push({ match: MARK_MATCH, action: { type: 'return' }, comment: `policy ${p.id} allowed` });
  }
  return { name: namespaceChainName(namespace, direction), rules };
}
