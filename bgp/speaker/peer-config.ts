// Checking and normalising the peers handed to `Speaker.setPeers`, and telling which changes need a
// session reset. Everything is checked before anything changes, so a bad configuration is refused
// as a whole and the last good one stays in force; `peerProblem` runs the same check on one peer
// without throwing, so a caller can leave out the peer that would be refused and keep the rest.
import { ipFamily } from '../addr.ts';
import { BgpError } from '../errors.ts';
import { FSM_DEFAULTS, type FsmConfig, resolveFsmConfig, timersProblem } from '../fsm/index.ts';
import { canonicalAddress } from '../session/address.ts';
import { FAMILIES, type Family } from '../wire/index.ts';
import type { PeerConfig } from './types.ts';

export const DEFAULT_BGP_PORT = 179;

/** A peer as the speaker runs it: defaults filled, address canonical. */
export interface ResolvedPeer {
  readonly config: PeerConfig;
  /** Canonical address: the key peers are diffed and incoming connections matched by. */
  readonly address: string;
  readonly port: number;
  readonly families: readonly Family[];
  readonly isIpv6: boolean;
  readonly fsm: FsmConfig;
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
  for (const [field, value] of [
    ['allowAsIn', config.allowAsIn],
    ['maxPrefix', config.maxPrefix],
  ] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
      refuse(field, `${value} is not a non-negative integer`);
    }
  }
  if (config.exportPolicy !== undefined && config.exportPolicy !== 'all' && config.exportPolicy !== 'local') {
    refuse('exportPolicy', `${String(config.exportPolicy)} is not 'all' or 'local'`);
  }
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
  return { config, address, port, families: [...new Set(families)], isIpv6: ipFamily(address) === 6, fsm };
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

/** Fields that change nothing on the wire: applied without resetting the session. */
const COSMETIC: ReadonlySet<keyof PeerConfig> = new Set<keyof PeerConfig>(['description']);

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
