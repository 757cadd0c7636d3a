// This node's BGP peers, Calico's semantics (docs "Configure BGP peering"; confd's bird templates):
//
// - Node-to-node mesh (BGPConfiguration nodeToNodeMeshEnabled, default on): every other node, one
//   session per address family both nodes have an address of, at that node's address and AS
//   (iBGP when the AS numbers are equal, which is the usual case; a per-rack AS makes it eBGP, as
//   Calico's mesh does).
// - BGPPeer with peerIP: a router (a ToR). It applies to this node when `node` names it, when
//   `nodeSelector` selects it, or always when it has neither (a "global" peer; `nodeSelector:
//   all()` counts as global too). Type `global` or `node specific`.
// - BGPPeer with peerSelector: a peering between every node the BGPPeer applies to (node /
//   nodeSelector; all when neither) and every node peerSelector selects, configured on BOTH ends
//   (BGP needs both sides configured; Calico does the same), so `nodeSelector: all(), peerSelector:
//   has(route-reflector)` makes every node a client of the route reflectors and the route
//   reflectors peer with every node, each other included. Nodes with a cluster ID (annotation or
//   BGPConfiguration routeReflectorClusterIDs) are route reflectors. Calico's rule (bird template
//   "rr client" when our cluster ID is set and differs from the peer's): when we are a route
//   reflector and the peer's cluster ID differs from ours (a plain node, or an RR of another
//   cluster), the peer is our client (`route reflector client`, routeReflectorClient: true);
//   when the peer is a route reflector otherwise (we are its client, or it shares our cluster ID),
//   it is a `route reflector` peer over plain iBGP. Between two plain nodes the type is the
//   BGPPeer's (global / node specific).
// - One session per peer address: the same address from several sources is one peer, and the most
//   specific source wins (node specific > global > route reflector(s) > mesh; equal rank: the
//   first source by name). `source` lists every source, the winner first. Never a peer with one
//   of our own addresses.
// - Families: a session to a Margay node carries the family of its address only (dual-stack nodes
//   run one session per family, as Calico's bird.cfg / bird6.cfg do). A session to a router
//   (peerIP) carries its own family, plus the other family when this node has an address of it
//   and no BGPPeer of that family applies to this node (then IPv6 rides the IPv4 session, with
//   `nextHop.ipv6` = our IPv6 address, RFC 4760 §3; and vice versa, RFC 8950).
// - Timers: the BGPPeer's holdTime/keepaliveTime, else BGPConfiguration's, by the timer rule of
//   bgp/fsm/hold-time.ts (keepalive 0 exactly with hold 0, else 1..hold / 3). An inherited
//   keepalive that does not fit the BGPPeer's own hold time is dropped (the speaker then uses
//   hold / 3). A BGPPeer's own keepaliveTime that does not fit the hold time in force (an
//   inherited one: validation could not check it) leaves that BGPPeer out with a problem.
// - Every peer goes through the speaker's own check (peerProblem) before it is handed over, so
//   Speaker.setPeers never refuses the set: a peer it would refuse is left out with a problem
//   naming its object, and every other peer proceeds.
// - Export: a router that is not a Margay node (peerIP matching no node address) gets only this
//   node's own routes (`exportPolicy: 'local'`), as Calico exports only the node's blocks to
//   external peers: without it every node re-advertises the pod CIDRs it learned from the mesh
//   and the ToR learns each CIDR from every node. Node peers (mesh, peerSelector, a peerIP that
//   is a node's address) and a router we reflect to (`routeReflectorClient`) get everything the
//   BGP rules allow (route reflection unchanged).
// - ADD-PATH (RFC 7911) between route reflectors and their clients, which Calico does not do: a
//   reflector sends its clients every path of a prefix (`addPaths: 'send'`), a client receives
//   them (`'receive'`), so a client keeps every ECMP next hop of a prefix that several nodes
//   announce instead of the reflector's one best path. A session between two reflectors (another
//   cluster's as a client, or a reflector of our cluster) is 'both'. A router we reflect to
//   (peerIP with routeReflectorClient) is offered 'send'; it takes it only if it can receive.
// - Passwords (RFC 2385 TCP-MD5): BGPPeer `password` and, for the mesh, BGPConfiguration
//   `nodeMeshPassword` name a key of a Secret in the agent's namespace (Calico reads its own
//   namespace). A missing Secret or key leaves out only the sessions that need it, with a problem
//   naming the Secret and the key; its value never appears in a problem.
import type { AddPathMode, Family as BgpFamily } from '../../bgp/index.ts';
import { holdTimeProblem, keepaliveTimeProblem, peerKey, peerProblem } from '../../bgp/index.ts';
import type { Selector } from '../../felix/index.ts';
import { compileSelector } from '../../felix/index.ts';
import type { BGPConfigurationSpec, BGPPeerSpec } from '../model/bgp.ts';
import { parsePeerIP } from '../model/bgp.ts';
import type { SecretKeyRef } from '../model/secret.ts';
import { secretValue } from '../model/secret.ts';
import type { Snapshot } from '../model/snapshot.ts';
import type { IpFamily } from './addr.ts';
import { canonicalIp, compareAddresses, compareStrings } from './addr.ts';
import type { ClusterNode, ClusterNodes } from './nodes.ts';
import { nodeAddress } from './nodes.ts';
import type { DesiredPeer, PeerType } from './types.ts';

const RANK: Readonly<Record<PeerType, number>> = {
  'node specific': 4,
  global: 3,
  'route reflector': 2,
  'route reflector client': 2,
  'node-to-node mesh': 1,
};

const BGP_FAMILY: Readonly<Record<IpFamily, BgpFamily>> = { 4: 'ipv4-unicast', 6: 'ipv6-unicast' };

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface Candidate {
  readonly peer: Mutable<DesiredPeer>;
  /** The object it comes from, as problems name it: "BGPPeer tor-1", "Node node-2". */
  readonly who: string;
  readonly family: IpFamily;
  /** peerIP peers get the other family too (see the file comment). */
  readonly isRouter: boolean;
  /** Where the password comes from, for the problem of a value the speaker refuses. */
  readonly passwordFrom?: string;
}

interface ResolvedPassword {
  readonly value: string;
  /** "spec.password (Secret margay/tor-md5, key password)". */
  readonly from: string;
}

/** The password a secretKeyRef names in `namespace`, or why there is none. */
function resolvePassword(
  ref: SecretKeyRef,
  field: string,
  snapshot: Snapshot,
  namespace: string,
): ResolvedPassword | { problem: string } {
  const where = `Secret ${namespace}/${ref.name}`;
  const secret = snapshot.secrets.get(`${namespace}/${ref.name}`);
  if (secret === undefined) return { problem: `${field}: ${where} not found` };
  const value = secretValue(secret, ref.key);
  if (value === undefined) return { problem: `${field}: ${where} has no key "${ref.key}"` };
  return { value, from: `${field} (${where}, key ${ref.key})` };
}

interface SessionOptions {
  readonly holdTime?: number;
  readonly keepaliveTime?: number;
  readonly sourceAddress: string;
  readonly nextHopMode: BGPPeerSpec['nextHopMode'];
  readonly maxPrefix?: BGPPeerSpec['maxPrefix'];
  readonly ttlSecurity?: number;
  readonly bfd?: BGPPeerSpec['bfd'];
  readonly password?: ResolvedPassword;
  /** BGPPeer maxRestartTime, BGPConfiguration nodeMeshMaxRestartTime. */
  readonly restartTime?: number;
  /** BGPPeer longLivedStaleTime (RFC 9494). */
  readonly longLivedStaleTime?: number;
}

const MESH_OPTIONS: SessionOptions = { sourceAddress: 'UseNodeIP', nextHopMode: 'Auto' };

/** The session timers, or the problem of the object `who` when they break the timer rule. */
function timers(
  o: SessionOptions,
  config: BGPConfigurationSpec,
  who: string,
): { holdTime: number; keepaliveTime?: number } | { problem: string } {
  const inheritedHold = o.holdTime === undefined;
  const holdTime = o.holdTime ?? config.holdTime;
  const holdProblem = holdTimeProblem(holdTime);
  if (holdProblem !== undefined)
    return {
      problem: `${inheritedHold ? 'BGPConfiguration default' : who}: spec.holdTime: ${holdProblem} (not peered)`,
    };
  if (o.keepaliveTime !== undefined) {
    const problem = keepaliveTimeProblem(o.keepaliveTime, holdTime);
    if (problem === undefined) return { holdTime, keepaliveTime: o.keepaliveTime };
    const from = inheritedHold ? ` (holdTime ${holdTime} is BGPConfiguration default's)` : '';
    return { problem: `${who}: spec.keepaliveTime: ${problem}${from} (not peered)` };
  }
  const inherited = config.keepaliveTime;
  if (inherited === undefined || keepaliveTimeProblem(inherited, holdTime) !== undefined) return { holdTime };
  return { holdTime, keepaliveTime: inherited };
}

/** The object field a PeerConfig field comes from, for the problem of a peer the speaker refuses. */
const BGPPEER_FIELD: Readonly<Record<string, string>> = {
  address: 'spec.peerIP',
  port: 'spec.peerIP',
  asn: 'spec.asNumber',
  holdTime: 'spec.holdTime',
  keepaliveTime: 'spec.keepaliveTime',
  localAddress: 'spec.sourceAddress',
  maxPrefix: 'spec.maxPrefix',
  ttlSecurity: 'spec.ttlSecurity',
  bfd: 'spec.bfd',
  password: 'spec.password',
  gracefulRestart: 'spec.maxRestartTime',
  'gracefulRestart.restartTime': 'spec.maxRestartTime',
  'gracefulRestart.longLivedStaleTime': 'spec.longLivedStaleTime',
};

/**
 * This node's peers. `secretNamespace` is where the Secrets of passwords are read: the namespace
 * the agent runs in.
 */
export function desiredPeers(
  nodes: ClusterNodes,
  snapshot: Snapshot,
  secretNamespace: string,
): { peers: DesiredPeer[]; problems: string[] } {
  const self = nodes.self;
  const problems: string[] = [];
  if (self === undefined || (self.ipv4 === undefined && self.ipv6 === undefined))
    return { peers: [], problems };
  const config = nodes.config;
  const own = new Set([self.ipv4?.address, self.ipv6?.address].filter((a) => a !== undefined));
  const nodeAddresses = new Set(
    [self, ...nodes.others].flatMap((n) => [n.ipv4?.address, n.ipv6?.address]).filter((a) => a !== undefined),
  );
  const candidates: Candidate[] = [];

  /** Session settings shared by all kinds; undefined (with a problem) when it cannot be set up. */
  const session = (
    family: IpFamily,
    o: SessionOptions,
    who: string,
  ):
    | {
        localAddress?: string;
        holdTime: number;
        keepaliveTime?: number;
        gracefulRestart?: { restartTime?: number; longLivedStaleTime?: number };
      }
    | undefined => {
    const mine = nodeAddress(self, family);
    if (mine === undefined) return undefined;
    let localAddress: string | undefined;
    if (o.sourceAddress === 'UseNodeIP') localAddress = mine.address;
    else if (o.sourceAddress !== 'None') {
      const src = canonicalIp(o.sourceAddress);
      if (src?.family !== family) {
        problems.push(
          `${who}: spec.sourceAddress: ${o.sourceAddress} is not an IPv${family} address like the peer (not peered)`,
        );
        return undefined;
      }
      localAddress = src.address;
    }
    const t = timers(o, config, who);
    if ('problem' in t) {
      problems.push(t.problem);
      return undefined;
    }
    return {
      ...(localAddress !== undefined ? { localAddress } : {}),
      ...t,
      ...(o.restartTime !== undefined || o.longLivedStaleTime !== undefined
        ? {
            gracefulRestart: {
              ...(o.restartTime !== undefined ? { restartTime: o.restartTime } : {}),
              ...(o.longLivedStaleTime !== undefined ? { longLivedStaleTime: o.longLivedStaleTime } : {}),
            },
          }
        : {}),
    };
  };

  const nodePeer = (
    n: ClusterNode,
    family: IpFamily,
    peerType: PeerType,
    source: string,
    o: SessionOptions,
    routeReflectorClient: boolean,
    who: string,
  ): void => {
    const addr = nodeAddress(n, family);
    if (addr === undefined || own.has(addr.address)) return;
    const s = session(family, o, who);
    if (s === undefined) return;
    const addPaths = nodeAddPaths(
      peerType,
      routeReflectorClient,
      n.clusterId !== undefined,
      self.clusterId !== undefined,
    );
    candidates.push({
      family,
      isRouter: false,
      who: who.startsWith('BGPPeer ') ? who : `Node ${n.name}`,
      ...(o.password !== undefined ? { passwordFrom: o.password.from } : {}),
      peer: {
        address: addr.address,
        asn: n.asn,
        ...(config.listenPort !== 179 ? { port: config.listenPort } : {}),
        ...s,
        ...(routeReflectorClient ? { routeReflectorClient: true } : {}),
        ...(addPaths !== undefined ? { addPaths } : {}),
        ...(o.nextHopMode === 'Self' ? { nextHopSelf: true } : {}),
        ...(o.maxPrefix !== undefined ? { maxPrefix: o.maxPrefix } : {}),
        ...(o.ttlSecurity !== undefined ? { ttlSecurity: o.ttlSecurity } : {}),
        ...(o.bfd !== undefined ? { bfd: o.bfd } : {}),
        ...(o.password !== undefined ? { password: o.password.value } : {}),
        description: `node ${n.name}`,
        peerType,
        source,
      },
    });
  };

  // Node-to-node mesh.
  const meshOptions: SessionOptions =
    config.nodeMeshMaxRestartTime === undefined
      ? MESH_OPTIONS
      : { ...MESH_OPTIONS, restartTime: config.nodeMeshMaxRestartTime };
  const meshPassword =
    config.nodeToNodeMeshEnabled && config.nodeMeshPassword !== undefined
      ? resolvePassword(
          config.nodeMeshPassword.secretKeyRef,
          'BGPConfiguration default: spec.nodeMeshPassword',
          snapshot,
          secretNamespace,
        )
      : undefined;
  if (meshPassword !== undefined && 'problem' in meshPassword)
    problems.push(`${meshPassword.problem} (node-to-node mesh not peered)`);
  else if (config.nodeToNodeMeshEnabled) {
    for (const n of nodes.others)
      for (const family of [4, 6] as const)
        nodePeer(
          n,
          family,
          'node-to-node mesh',
          `node ${n.name} (mesh)`,
          meshPassword === undefined ? meshOptions : { ...meshOptions, password: meshPassword },
          false,
          `node ${n.name}`,
        );
  }

  for (const name of [...snapshot.bgpPeers.keys()].sort(compareStrings)) {
    const spec = snapshot.bgpPeers.get(name)!.spec;
    const who = `BGPPeer ${name}`;
    let nodeSelector: Selector | undefined;
    try {
      nodeSelector = spec.nodeSelector !== undefined ? compileSelector(spec.nodeSelector) : undefined;
    } catch (e) {
      problems.push(`${who}: spec.nodeSelector: ${(e as Error).message} (BGPPeer ignored)`);
      continue;
    }
    const applies = (n: ClusterNode): boolean =>
      spec.node !== undefined
        ? spec.node === n.name
        : nodeSelector === undefined || nodeSelector.matches(n.labels);
    const isGlobal =
      spec.node === undefined && (nodeSelector === undefined || nodeSelector.expr.op === 'all');
    const plainType: PeerType = isGlobal ? 'global' : 'node specific';
    let password: ResolvedPassword | undefined;
    if (spec.password !== undefined) {
      const p = resolvePassword(spec.password.secretKeyRef, 'spec.password', snapshot, secretNamespace);
      if ('problem' in p) {
        problems.push(`${who}: ${p.problem} (not peered)`);
        continue;
      }
      password = p;
    }
    const options: SessionOptions = {
      sourceAddress: spec.sourceAddress,
      nextHopMode: spec.nextHopMode,
      ...(spec.holdTime !== undefined ? { holdTime: spec.holdTime } : {}),
      ...(spec.keepaliveTime !== undefined ? { keepaliveTime: spec.keepaliveTime } : {}),
      ...(spec.maxPrefix !== undefined ? { maxPrefix: spec.maxPrefix } : {}),
      ...(spec.ttlSecurity !== undefined ? { ttlSecurity: spec.ttlSecurity } : {}),
      ...(spec.bfd !== undefined ? { bfd: spec.bfd } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(spec.maxRestartTime !== undefined ? { restartTime: spec.maxRestartTime } : {}),
      ...(spec.longLivedStaleTime !== undefined ? { longLivedStaleTime: spec.longLivedStaleTime } : {}),
    };

    if (spec.peerIP !== undefined) {
      if (!applies(self)) continue;
      const parsed = parsePeerIP(spec.peerIP);
      const ip = parsed !== undefined ? canonicalIp(parsed.address) : undefined;
      if (parsed === undefined || ip === undefined) {
        problems.push(`${who}: spec.peerIP: ${JSON.stringify(spec.peerIP)} is not an address (not peered)`);
        continue;
      }
      if (spec.asNumber === undefined) {
        problems.push(`${who}: spec.asNumber: required with peerIP (not peered)`);
        continue;
      }
      if (own.has(ip.address)) continue;
      if (nodeAddress(self, ip.family) === undefined) {
        problems.push(
          `${who}: spec.peerIP: ${ip.address} is IPv${ip.family}, and node ${self.name} has no IPv${ip.family} address (not peered)`,
        );
        continue;
      }
      const s = session(ip.family, options, who);
      if (s === undefined) continue;
      if (spec.nextHopMode === 'Keep' && spec.asNumber !== self.asn)
        problems.push(
          `${who}: spec.nextHopMode: Keep is not supported on eBGP sessions; the speaker sends itself as next hop`,
        );
      candidates.push({
        family: ip.family,
        isRouter: true,
        who,
        ...(password !== undefined ? { passwordFrom: password.from } : {}),
        peer: {
          address: ip.address,
          asn: spec.asNumber,
          ...(parsed.port !== undefined && parsed.port !== 179 ? { port: parsed.port } : {}),
          ...s,
          ...(spec.routeReflectorClient ? { routeReflectorClient: true, addPaths: 'send' as const } : {}),
          ...(spec.nextHopMode === 'Self' ? { nextHopSelf: true } : {}),
          ...(spec.maxPrefix !== undefined ? { maxPrefix: spec.maxPrefix } : {}),
          ...(spec.ttlSecurity !== undefined ? { ttlSecurity: spec.ttlSecurity } : {}),
          ...(spec.bfd !== undefined ? { bfd: spec.bfd } : {}),
          ...(password !== undefined ? { password: password.value } : {}),
          description: who,
          peerType: plainType,
          source: who,
        },
      });
      continue;
    }

    if (spec.peerSelector === undefined) continue;
    let peerSelector: Selector;
    try {
      peerSelector = compileSelector(spec.peerSelector);
    } catch (e) {
      problems.push(`${who}: spec.peerSelector: ${(e as Error).message} (BGPPeer ignored)`);
      continue;
    }
    // Both ends of every (applies × selected) pair configure the session.
    const remotes = new Map<string, { node: ClusterNode; localSide: boolean }>();
    if (applies(self))
      for (const n of nodes.others)
        if (peerSelector.matches(n.labels)) remotes.set(n.name, { node: n, localSide: true });
    if (peerSelector.matches(self.labels))
      for (const n of nodes.others)
        if (applies(n) && !remotes.has(n.name)) remotes.set(n.name, { node: n, localSide: false });
    for (const { node: n, localSide } of [...remotes.values()].sort((a, b) =>
      compareStrings(a.node.name, b.node.name),
    )) {
      let peerType: PeerType;
      let client = false;
      if (self.clusterId !== undefined && n.clusterId !== self.clusterId) {
        peerType = 'route reflector client';
        client = true;
      } else if (n.clusterId !== undefined) {
        peerType = 'route reflector';
      } else {
        peerType = plainType;
        client = localSide && spec.routeReflectorClient;
      }
      for (const family of [4, 6] as const)
        nodePeer(n, family, peerType, `${who} (node ${n.name})`, options, client, who);
    }
  }

  // Families: the session's own, and for routers the other one (see the file comment).
  const routerFamilies = new Set(candidates.filter((c) => c.isRouter).map((c) => c.family));
  for (const c of candidates) {
    const families: IpFamily[] = [c.family];
    const other: IpFamily = c.family === 4 ? 6 : 4;
    const otherAddress = nodeAddress(self, other);
    if (c.isRouter && otherAddress !== undefined && !routerFamilies.has(other)) {
      families.push(other);
      c.peer.nextHop = other === 6 ? { ipv6: otherAddress.address } : { ipv4: otherAddress.address };
    }
    c.peer.families = families.sort().map((f) => BGP_FAMILY[f]);
  }

  // One peer per address (as the speaker keys them): the most specific source the speaker
  // accepts wins; a source it would refuse is reported and left out.
  const byAddress = new Map<string, Candidate[]>();
  for (const c of candidates) {
    const key = peerKey(c.peer.address);
    const list = byAddress.get(key);
    if (list === undefined) byAddress.set(key, [c]);
    else list.push(c);
  }
  const peers: DesiredPeer[] = [];
  for (const list of byAddress.values()) {
    list.sort(
      (a, b) =>
        RANK[b.peer.peerType] - RANK[a.peer.peerType] ||
        compareStrings(a.peer.source, b.peer.source) ||
        compareStrings(JSON.stringify(a.peer), JSON.stringify(b.peer)),
    );
    const accepted = list.filter((c) => {
      const { peerType: _t, source: _s, ...config } = c.peer;
      const refused = peerProblem(config);
      if (refused === undefined) return true;
      const field =
        refused.field === 'password' && c.passwordFrom !== undefined
          ? c.passwordFrom
          : c.who.startsWith('BGPPeer ')
            ? (BGPPEER_FIELD[refused.field] ?? refused.field)
            : refused.field;
      problems.push(`${c.who}: ${field}: ${refused.message} (not peered)`);
      return false;
    });
    const winner = accepted[0];
    if (winner === undefined) continue;
    const isExternal =
      winner.isRouter && !nodeAddresses.has(winner.peer.address) && winner.peer.routeReflectorClient !== true;
    peers.push({
      ...winner.peer,
      ...(isExternal ? { exportPolicy: 'local' as const } : {}),
      source: [...new Set(accepted.map((c) => c.peer.source))].join('; '),
    });
  }
  peers.sort((a, b) => compareAddresses(a.address, b.address) || (a.port ?? 179) - (b.port ?? 179));
  return { peers, problems };
}

/**
 * ADD-PATH on a session to another node (see the file header): our client gets every path
 * ('send'), our reflector gives us every path ('receive'); 'both' when both ends reflect.
 */
function nodeAddPaths(
  peerType: PeerType,
  isOurClient: boolean,
  isPeerReflector: boolean,
  isSelfReflector: boolean,
): AddPathMode | undefined {
  if (isOurClient) return isPeerReflector ? 'both' : 'send';
  if (peerType === 'route reflector') return isSelfReflector ? 'both' : 'receive';
  return undefined;
}
