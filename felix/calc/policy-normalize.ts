// A NetworkPolicy (networking.k8s.io/v1) validated and reduced to what rendering needs (pure).
//
// Defaulting, as the API server does it (pkg/apis/networking/v1 defaults.go):
// - `policyTypes` absent or empty: Ingress, plus Egress when `egress` holds at least one rule;
//   an explicit list overrides (`[Egress]` leaves ingress open even with ingress rules present);
// - a port's protocol defaults to TCP.
// Meaning of empty fields: `from`/`to` absent or empty = every peer; `ports` absent or empty =
// every port of every protocol; a port entry without `port` = every port of its protocol.
//
// Invalid input never crashes the agent and never widens access (the API server would have refused
// the object). An invalid podSelector drops the whole policy (whom it selects is unknown); an
// invalid peer or port drops the whole rule it is in — never just the bad entry, since a rule whose
// every port entry was dropped would read as "all ports"; an unknown policyTypes entry is ignored.
// Each problem names the field (`spec.ingress[0].ports[1].endPort`).
import type { FelixErrorCodeName } from '../errors.ts';
import { cidrContains, cidrProblem, formatCidr, parseCidr } from '../model/addr.ts';
import { canonicalMember } from '../model/ipsets.ts';
import { type InetFamily, inetFamily, inetFamilyOfText } from '../model/iptables.ts';
import type {
  IPBlock,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  PolicyProtocol,
  PolicyType,
} from '../model/policy.ts';
import { POLICY_PROTOCOLS, POLICY_TYPES } from '../model/policy.ts';
import type { CanonicalSelector } from './selector.ts';
import { canonicalSelector } from './selector.ts';

/** A set of pods: those matching `pods` in the namespaces `namespaces` describes. */
export interface PodSetSpec {
  readonly namespaces:
    | { readonly kind: 'name'; readonly name: string }
    | { readonly kind: 'selector'; readonly selector: CanonicalSelector };
  readonly pods: CanonicalSelector;
  /** Canonical identity, e.g. `ns=prod;pods=app in (web)` or `nssel=env in (dev);pods=all()`. */
  readonly key: string;
}

export type NormPeer =
  | { readonly kind: 'pods'; readonly set: PodSetSpec; readonly label: string }
  | {
      readonly kind: 'ipBlock';
      readonly family: InetFamily;
      /** Canonical; a /0 is kept as written (`0.0.0.0/0`, `::/0`) and matches any address. */
      readonly cidr: string;
      readonly isAll: boolean;
      /** Canonical members for a hash:net set, sorted, deduplicated. */
      readonly except: readonly string[];
      readonly label: string;
    };

export type IptProtocol = 'tcp' | 'udp' | 'sctp';

export type NormPort =
  | { readonly kind: 'all'; readonly protocol: IptProtocol; readonly label: string }
  | {
      readonly kind: 'range';
      readonly protocol: IptProtocol;
      readonly from: number;
      readonly to: number;
      readonly label: string;
    }
  | { readonly kind: 'named'; readonly protocol: IptProtocol; readonly name: string; readonly label: string };

export interface NormRule {
  readonly index: number;
  /** undefined = every peer. */
  readonly peers: readonly NormPeer[] | undefined;
  /** undefined = every port of every protocol. */
  readonly ports: readonly NormPort[] | undefined;
}

export interface NormPolicy {
  /** `namespace/name`. */
  readonly id: string;
  readonly namespace: string;
  readonly name: string;
  /** The pods the policy applies to (its namespace, its podSelector). */
  readonly target: PodSetSpec;
  readonly policyTypes: readonly PolicyType[];
  readonly ingress: readonly NormRule[];
  readonly egress: readonly NormRule[];
}

export interface PolicyProblem {
  readonly code: Extract<FelixErrorCodeName, 'FELIX_ERR_INVALID_POLICY'>;
  /** `namespace/name` of the policy, or of the pod for pod problems. */
  readonly object: string;
  readonly field: string;
  readonly message: string;
}

const SVC_NAME_RE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** IANA_SVC_NAME (RFC 6335 §5.1): ≤ 15 characters, a-z0-9 and inner single hyphens, one letter. */
export function isPortName(s: string): boolean {
  return s.length <= 15 && SVC_NAME_RE.test(s) && /[a-z]/.test(s) && !s.includes('--');
}

/** iptables' name of each policy protocol: one string each, however many ports name it. */
const IPT_PROTOCOLS: ReadonlyMap<string, IptProtocol> = new Map(
  POLICY_PROTOCOLS.map((p) => [p, p.toLowerCase() as IptProtocol]),
);

export function protocolOf(p: PolicyProtocol | undefined): IptProtocol | undefined {
  return IPT_PROTOCOLS.get(p ?? 'TCP');
}

export function podSetKey(set: Omit<PodSetSpec, 'key'>): string {
  const ns =
    set.namespaces.kind === 'name' ? `ns=${set.namespaces.name}` : `nssel=${set.namespaces.selector.text}`;
  return `${ns};pods=${set.pods.text}`;
}

function podSet(namespaces: PodSetSpec['namespaces'], pods: CanonicalSelector): PodSetSpec {
  return { namespaces, pods, key: podSetKey({ namespaces, pods }) };
}

/** The ipset family of a CIDR by its spelling (IPv6 is the one that has a ':'). */
export function familyOfCidr(cidr: string): InetFamily {
  return inetFamilyOfText(cidr);
}

function canonicalCidr(cidr: string, family: InetFamily): { text: string; len: number; isAll: boolean } {
  const p = parseCidr(cidr);
  if (p === undefined) throw new Error(`${JSON.stringify(cidr)}: ${cidrProblem(cidr) ?? 'not a CIDR'}`);
  if (inetFamily(p.family) !== family) throw new Error(`${JSON.stringify(cidr)} is not of family ${family}`);
  return { text: formatCidr(p), len: p.length, isAll: p.length === 0 };
}

function normIpBlock(b: IPBlock, at: string, label: string): NormPeer {
  if (b === null || typeof b !== 'object' || typeof b.cidr !== 'string')
    throw new Error(`${at}.cidr: required`);
  const family = familyOfCidr(b.cidr);
  let cidr: ReturnType<typeof canonicalCidr>;
  try {
    cidr = canonicalCidr(b.cidr, family);
  } catch (err) {
    throw new Error(`${at}.cidr: ${err instanceof Error ? err.message : String(err)}`);
  }
  const except: string[] = [];
  (b.except ?? []).forEach((e, i) => {
    const where = `${at}.except[${i}]`;
    if (typeof e !== 'string' || familyOfCidr(e) !== family)
      throw new Error(`${where}: must be a CIDR of the cidr's family`);
    let ex: ReturnType<typeof canonicalCidr>;
    try {
      ex = canonicalCidr(e, family);
    } catch (err) {
      throw new Error(`${where}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const inside = ex.len > cidr.len && cidrContains(cidr.text, ex.text);
    if (!inside) throw new Error(`${where}: ${e} is not strictly inside ${b.cidr}`);
    except.push(canonicalMember('hash:net', family, ex.text));
  });
  return {
    kind: 'ipBlock',
    family,
    cidr: cidr.text,
    isAll: cidr.isAll,
    except: [...new Set(except)].sort(),
    label,
  };
}

function normPeer(peer: NetworkPolicyPeer, namespace: string, at: string, label: string): NormPeer {
  if (peer === null || typeof peer !== 'object') throw new Error(`${at}: must be an object`);
  const hasSelectors = peer.podSelector !== undefined || peer.namespaceSelector !== undefined;
  if (peer.ipBlock !== undefined) {
    if (hasSelectors)
      throw new Error(`${at}: ipBlock cannot be combined with podSelector or namespaceSelector`);
    return normIpBlock(peer.ipBlock, `${at}.ipBlock`, label);
  }
  if (!hasSelectors) throw new Error(`${at}: one of podSelector, namespaceSelector or ipBlock is required`);
  const sel = (s: NetworkPolicyPeer['podSelector'], path: string): CanonicalSelector => {
    const r = canonicalSelector(s ?? {}, path);
    if ('problems' in r) throw new Error(r.problems.join('; '));
    return r.selector;
  };
  const pods = sel(peer.podSelector, `${at}.podSelector`);
  const namespaces: PodSetSpec['namespaces'] =
    peer.namespaceSelector === undefined
      ? { kind: 'name', name: namespace }
      : { kind: 'selector', selector: sel(peer.namespaceSelector, `${at}.namespaceSelector`) };
  return { kind: 'pods', set: podSet(namespaces, pods), label };
}

function normPort(p: NetworkPolicyPort, at: string, label: string): NormPort {
  if (p === null || typeof p !== 'object') throw new Error(`${at}: must be an object`);
  const protocol = protocolOf(p.protocol);
  if (protocol === undefined)
    throw new Error(`${at}.protocol: ${JSON.stringify(p.protocol)} is not TCP, UDP or SCTP`);
  if (p.port === undefined) {
    if (p.endPort !== undefined) throw new Error(`${at}.endPort: requires a numeric port`);
    return { kind: 'all', protocol, label };
  }
  if (typeof p.port === 'string') {
    if (!isPortName(p.port))
      throw new Error(`${at}.port: ${JSON.stringify(p.port)} is not a valid port name`);
    if (p.endPort !== undefined) throw new Error(`${at}.endPort: requires a numeric port, not a named one`);
    return { kind: 'named', protocol, name: p.port, label };
  }
  const isPort = (n: unknown): n is number =>
    typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;
  if (!isPort(p.port)) throw new Error(`${at}.port: ${JSON.stringify(p.port)} is not in 1-65535`);
  if (p.endPort === undefined) return { kind: 'range', protocol, from: p.port, to: p.port, label };
  if (!isPort(p.endPort) || p.endPort < p.port) {
    throw new Error(`${at}.endPort: ${JSON.stringify(p.endPort)} must be in ${p.port}-65535`);
  }
  return { kind: 'range', protocol, from: p.port, to: p.endPort, label };
}

function normRules(
  rules: readonly {
    from?: readonly NetworkPolicyPeer[];
    to?: readonly NetworkPolicyPeer[];
    ports?: readonly NetworkPolicyPort[];
  }[],
  direction: 'ingress' | 'egress',
  namespace: string,
  problem: (field: string, message: string) => void,
): NormRule[] {
  const out: NormRule[] = [];
  if (!Array.isArray(rules)) {
    problem(`spec.${direction}`, 'must be a list');
    return out;
  }
  const peerField = direction === 'ingress' ? 'from' : 'to';
  rules.forEach((rule, index) => {
    const at = `spec.${direction}[${index}]`;
    try {
      if (rule === null || typeof rule !== 'object') throw new Error(`${at}: must be an object`);
      const rawPeers = (direction === 'ingress' ? rule.from : rule.to) ?? [];
      const rawPorts = rule.ports ?? [];
      if (!Array.isArray(rawPeers)) throw new Error(`${at}.${peerField}: must be a list`);
      if (!Array.isArray(rawPorts)) throw new Error(`${at}.ports: must be a list`);
      const peers = rawPeers.map((p, i) =>
        normPeer(p, namespace, `${at}.${peerField}[${i}]`, `${peerField}[${i}]`),
      );
      const ports = rawPorts.map((p, i) => normPort(p, `${at}.ports[${i}]`, `ports[${i}]`));
      out.push({
        index,
        peers: peers.length === 0 ? undefined : peers,
        ports: ports.length === 0 ? undefined : ports,
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      problem(at, `rule ignored (fail closed): ${message}`);
    }
  });
  return out;
}

/** Validates and normalizes one policy; `policy` is undefined when its podSelector is invalid. */
export function normalizePolicy(p: NetworkPolicy): {
  policy: NormPolicy | undefined;
  problems: PolicyProblem[];
} {
  const id = `${p.namespace}/${p.name}`;
  const problems: PolicyProblem[] = [];
  const problem = (field: string, message: string): void => {
    problems.push({ code: 'FELIX_ERR_INVALID_POLICY', object: id, field, message });
  };
  if (typeof p.namespace !== 'string' || p.namespace === '' || typeof p.name !== 'string' || p.name === '') {
    problem('metadata', 'namespace and name are required');
    return { policy: undefined, problems };
  }
  const spec = p.spec;
  if (spec === null || typeof spec !== 'object') {
    problem('spec', 'required');
    return { policy: undefined, problems };
  }
  const target = canonicalSelector(spec.podSelector ?? {}, 'spec.podSelector');
  if ('problems' in target) {
    for (const m of target.problems) problem('spec.podSelector', `policy ignored: ${m}`);
    return { policy: undefined, problems };
  }
  const ingress = normRules(spec.ingress ?? [], 'ingress', p.namespace, problem);
  const egress = normRules(spec.egress ?? [], 'egress', p.namespace, problem);
  let policyTypes: PolicyType[];
  const declared = Array.isArray(spec.policyTypes) ? spec.policyTypes : [];
  if (spec.policyTypes !== undefined && !Array.isArray(spec.policyTypes))
    problem('spec.policyTypes', 'must be a list');
  const known = declared.filter((t, i) => {
    if (POLICY_TYPES.includes(t)) return true;
    problem(`spec.policyTypes[${i}]`, `${JSON.stringify(t)} is not Ingress or Egress; ignored`);
    return false;
  });
  // Only unknown entries: defaulted as if absent rather than selecting nothing (fail closed).
  if (known.length > 0) policyTypes = POLICY_TYPES.filter((t) => known.includes(t));
  else policyTypes = (spec.egress ?? []).length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
  return {
    policy: {
      id,
      namespace: p.namespace,
      name: p.name,
      target: podSet({ kind: 'name', name: p.namespace }, target.selector),
      policyTypes,
      ingress,
      egress,
    },
    problems,
  };
}
