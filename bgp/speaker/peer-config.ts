// Checking and normalising the peers handed to `Speaker.setPeers`, and telling which changes need a
// session reset. Everything is checked before anything changes, so a bad configuration is refused
// as a whole and the last good one stays in force; `peerProblem` runs the same check on one peer
// without throwing, so a caller can leave out the peer that would be refused and keep the rest.
import { ipFamily } from '../addr.ts';
import { bfdProblem } from '../bfd/peers.ts';
import { BgpError } from '../errors.ts';
import { FSM_DEFAULTS, type FsmConfig, resolveFsmConfig, timersProblem } from '../fsm/index.ts';
import { canonicalAddress } from '../session/address.ts';
import { MD5_MAX_KEY_OCTETS, type TcpSecurity } from '../session/sockopt.ts';
import { type AddPathMode, FAMILIES, type Family } from '../wire/index.ts';
import { maxPrefixProblem, type PrefixLimitRule, prefixLimitRules } from './max-prefix.ts';
import type { PeerConfig } from './types.ts';

export const DEFAULT_BGP_PORT = 179;

/** The values of `PeerConfig.addPaths` (RFC 7911 §4 Send/Receive field). */
export const ADD_PATHS: readonly AddPathMode[] = ['send', 'receive', 'both'];

/** A peer as the speaker runs it: defaults filled, address canonical. */
export interface ResolvedPeer {
  readonly config: PeerConfig;
  /** Canonical address: the key peers are diffed and incoming connections matched by. */
  readonly address: string;
  readonly port: number;
  readonly families: readonly Family[];
  readonly isIpv6: boolean;
  readonly fsm: FsmConfig;
  /** `config.maxPrefix` for the peer's families. */
  readonly prefixLimits: readonly PrefixLimitRule[];
}

/** Why the speaker refuses a peer: the PeerConfig field and the reason. */
export interface PeerProblem {
  readonly field: string;
  readonly message: string;
}

class Refused extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

function isAsn(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 0xffffffff;
}

function resolve(config: PeerConfig): ResolvedPeer {
  const refuse = (field: string, message: string): never => {
    throw new Refused(field, message);
  };
  if (typeof config.address !== 'string' || ipFamily(config.address) === undefined) {
    refuse('address', `${String(config.address)} is not an IP address`);
  }
  const address = canonicalAddress(config.address);
  if (!isAsn(config.asn)) refuse('asn', `${String(config.asn)} is not in 1..4294967295`);
  const port = config.port ?? DEFAULT_BGP_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) refuse('port', `${port} is not a TCP port`);
  if (config.localAddress !== undefined && ipFamily(config.localAddress) !== ipFamily(address)) {
    refuse('localAddress', `${config.localAddress} is not an address of the peer's family`);
  }
  const families = config.families ?? [ipFamily(address) === 6 ? 'ipv6-unicast' : 'ipv4-unicast'];
  if (families.length === 0) refuse('families', 'at least one family is required');
  for (const f of families) {
    if (!FAMILIES.includes(f)) refuse('families', `${String(f)} is not one of ${FAMILIES.join(', ')}`);
  }
  if (config.allowAsIn !== undefined && (!Number.isInteger(config.allowAsIn) || config.allowAsIn < 0)) {
    refuse('allowAsIn', `${config.allowAsIn} is not a non-negative integer`);
  }
  const limits = maxPrefixProblem(config.maxPrefix);
  if (limits !== undefined) refuse(`maxPrefix${limits.field}`, limits.message);
  if (config.exportPolicy !== undefined && config.exportPolicy !== 'all' && config.exportPolicy !== 'local') {
    refuse('exportPolicy', `${String(config.exportPolicy)} is not 'all' or 'local'`);
  }
  if (config.addPaths !== undefined && !ADD_PATHS.includes(config.addPaths)) {
    refuse('addPaths', `${String(config.addPaths)} is not one of ${ADD_PATHS.join(', ')}`);
  }
  const security = securityProblem(config);
  if (security !== undefined) refuse(security.field, security.message);
  const bfd = bfdProblem(config.bfd);
  if (bfd !== undefined) refuse(`bfd${bfd.field}`, bfd.message);
  const gr = gracefulRestartProblem(config);
  if (gr !== undefined) refuse(gr.field, gr.message);
  const nh = config.nextHop;
  if (nh?.ipv4 !== undefined && ipFamily(nh.ipv4) !== 4) refuse('nextHop.ipv4', `${nh.ipv4} is not IPv4`);
  if (nh?.ipv6 !== undefined && ipFamily(nh.ipv6) !== 6) refuse('nextHop.ipv6', `${nh.ipv6} is not IPv6`);
  // The timer rule the configuration schemas share (bgp/fsm/hold-time.ts); its field names are ours.
  const timers = timersProblem(config.holdTime ?? FSM_DEFAULTS.holdTime, config.keepaliveTime);
  if (timers !== undefined) refuse(timers.field, timers.message);
  let fsm: FsmConfig;
  try {
    fsm = resolveFsmConfig({
      ...(config.holdTime !== undefined && { holdTime: config.holdTime }),
      ...(config.keepaliveTime !== undefined && { keepaliveTime: config.keepaliveTime }),
      ...(config.connectRetryTime !== undefined && { connectRetryTime: config.connectRetryTime }),
      passive: config.passive ?? false,
    });
  } catch (err) {
    return refuse('connectRetryTime', (err as Error).message);
  }
  const unique = [...new Set(families)];
  return {
    config,
    address,
    port,
    families: unique,
    isIpv6: ipFamily(address) === 6,
    fsm,
    prefixLimits: prefixLimitRules(config.maxPrefix, unique),
  };
}

/** `gracefulRestart`: restartTime fits the capability's 12 bits, longLivedStaleTime its 24 bits. */
function gracefulRestartProblem(config: PeerConfig): PeerProblem | undefined {
  const gr = config.gracefulRestart;
  if (gr === undefined) return undefined;
  if (typeof gr !== 'object' || gr === null) {
    return { field: 'gracefulRestart', message: `${String(gr)} is not an object` };
  }
  const { restartTime, longLivedStaleTime } = gr;
  if (restartTime !== undefined && !isIntIn(restartTime, 0, 4095)) {
    return {
      field: 'gracefulRestart.restartTime',
      message: `${String(restartTime)} is not in 0..4095 seconds (RFC 4724 §3)`,
    };
  }
  if (longLivedStaleTime !== undefined && !isIntIn(longLivedStaleTime, 0, 0xffffff)) {
    return {
      field: 'gracefulRestart.longLivedStaleTime',
      message: `${String(longLivedStaleTime)} is not in 0..16777215 seconds (RFC 9494 §2)`,
    };
  }
  return undefined;
}

function isIntIn(n: unknown, min: number, max: number): boolean {
  return typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max;
}

/** The rules of `password`, `ttlSecurity` and `multihop` (FRR refuses the last two together). */
function securityProblem(config: PeerConfig): PeerProblem | undefined {
  const { password, ttlSecurity, multihop } = config;
  if (password !== undefined) {
    if (typeof password !== 'string') return { field: 'password', message: 'is not a string' };
    const octets = Buffer.byteLength(password, 'utf8');
    if (octets < 1 || octets > MD5_MAX_KEY_OCTETS) {
      return { field: 'password', message: `is ${octets} octets long, not 1..${MD5_MAX_KEY_OCTETS}` };
    }
  }
  if (ttlSecurity !== undefined && (!Number.isInteger(ttlSecurity) || ttlSecurity < 1 || ttlSecurity > 254)) {
    return { field: 'ttlSecurity', message: `${String(ttlSecurity)} is not a hop count in 1..254` };
  }
  if (multihop !== undefined && (!Number.isInteger(multihop) || multihop < 1 || multihop > 255)) {
    return { field: 'multihop', message: `${String(multihop)} is not a TTL in 1..255` };
  }
  if (ttlSecurity !== undefined && multihop !== undefined) {
    return { field: 'ttlSecurity', message: 'ttlSecurity and multihop cannot both be set' };
  }
  return undefined;
}

/**
 * What the peer's sockets need (sockopt.ts), or undefined for plain sockets: the key, TTL 255
 * and the minimum TTL for `ttlSecurity`, the TTL for `multihop`.
 */
export function tcpSecurityOf(config: PeerConfig): TcpSecurity | undefined {
  const { password, ttlSecurity, multihop } = config;
  if (password === undefined && ttlSecurity === undefined && multihop === undefined) return undefined;
  return {
    ...(password !== undefined && { password }),
    ...(ttlSecurity !== undefined && { ttl: 255, minTtl: 256 - ttlSecurity }),
    ...(multihop !== undefined && { ttl: multihop }),
  };
}

/** Why `setPeers` would refuse this peer on its own, or undefined when it accepts it. */
export function peerProblem(config: PeerConfig): PeerProblem | undefined {
  try {
    resolve(config);
    return undefined;
  } catch (err) {
    if (err instanceof Refused) return { field: err.field, message: err.message };
    throw err;
  }
}

/** The key the speaker identifies a peer by: its canonical address (IPv4-mapped as IPv4). */
export function peerKey(address: string): string {
  return canonicalAddress(address);
}

export function resolvePeer(config: PeerConfig, index: number): ResolvedPeer {
  try {
    return resolve(config);
  } catch (err) {
    if (!(err instanceof Refused)) throw err;
    throw new BgpError('BGP_ERR_INVALID_CONFIG', `peers[${index}].${err.field}: ${err.message}`);
  }
}

/** Checks the whole desired set; throws on the first bad peer or a duplicated address. */
export function resolvePeers(desired: readonly PeerConfig[]): Map<string, ResolvedPeer> {
  const out = new Map<string, ResolvedPeer>();
  desired.forEach((config, i) => {
    const peer = resolvePeer(config, i);
    if (out.has(peer.address))
      throw new BgpError(
        'BGP_ERR_INVALID_CONFIG',
        `peers[${i}].address: ${peer.address} is configured twice`,
      );
    out.set(peer.address, peer);
  });
  return out;
}

/**
 * Fields applied without resetting the session: the description changes nothing on the wire;
 * prefix limits are checked against the running session at once; BFD timers change by a Poll
 * Sequence of the BFD session (Speaker.setPeers).
 */
const COSMETIC: ReadonlySet<keyof PeerConfig> = new Set<keyof PeerConfig>([
  'description',
  'maxPrefix',
  'bfd',
]);

/** True when going from `a` to `b` needs the session restarted (Cease / Other Configuration Change). */
export function needsReset(a: ResolvedPeer, b: ResolvedPeer): boolean {
  const keys = new Set([...Object.keys(a.config), ...Object.keys(b.config)] as (keyof PeerConfig)[]);
  for (const key of keys) {
    if (COSMETIC.has(key)) continue;
    if (!sameValue(a.config[key], b.config[key])) return true;
  }
  return false;
}

function sameValue(x: unknown, y: unknown): boolean {
  if (x === y) return true;
  if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null) return false;
  return JSON.stringify(x) === JSON.stringify(y);
}
