// `margayctl node status`. By default the exact text `calicoctl node status` prints, because
// operators' scripts parse it: the same header line, the same three peer types, BIRD's protocol
// state and info words, BIRD's SINCE, the same table (calico-table.ts) and blank lines. `-o wide`
// is Margay's own report: every peer type Margay knows, the prefix counts, BFD, why a peer is held
// Idle, TCP-MD5 drops and routes kept after a session ended.
import type { PeerStatus } from '../../bgp/index.ts';
import { renderTable } from '../cli/table.ts';
import { renderCalicoTable } from './calico-table.ts';

type HeldIdleJson = Omit<NonNullable<NonNullable<PeerStatus['prefixLimit']>['heldIdle']>, 'until'> & {
  until: string;
};

export type PeerJson = Omit<PeerStatus, 'since' | 'prefixLimit'> & {
  since: string;
  peerType?: string;
  prefixLimit?: Omit<NonNullable<PeerStatus['prefixLimit']>, 'heldIdle'> & { heldIdle?: HeldIdleJson };
};

function peerType(p: PeerJson): string {
  if (p.peerType) return p.peerType;
  if (p.routeReflectorClient) return 'route reflector client';
  return p.type === 'ibgp' ? 'ibgp' : 'ebgp';
}

const two = (n: number) => String(n).padStart(2, '0');

/**
 * BIRD's SINCE: the local time (the process's TZ) of the last state change, HH:MM:SS when that
 * was today, else its date YYYY-MM-DD.
 */
export function since(iso: string, now: Date): string {
  const d = new Date(iso);
  if (d.toDateString() === now.toDateString()) {
    return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  }
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
}

/**
 * The RFC 4271 state and, when not up, why; a peer held Idle by its prefix limit says until when,
 * and one whose segments the kernel drops for their TCP-MD5 signature says so first. Routes of
 * an ended session that are still kept (graceful restart) are counted at the end.
 */
function info(p: PeerJson): string {
  return `${sessionInfo(p)}${staleInfo(p)}`;
}

function sessionInfo(p: PeerJson): string {
  const held = p.prefixLimit?.heldIdle;
  if (held !== undefined) return `${p.state}: ${held.reason}; held until ${held.until.slice(0, 19)}Z`;
  if (p.state !== 'Established' && p.tcpMd5 !== undefined) {
    return `${p.state}: ${p.tcpMd5}${p.lastError ? `; ${p.lastError}` : ''}`;
  }
  return p.state === 'Established' || !p.lastError ? p.state : `${p.state}: ${p.lastError}`;
}

/** "; 4 stale routes kept (long-lived: ipv4-unicast)": RFC 4724 / RFC 9494 leftovers. */
function staleInfo(p: PeerJson): string {
  const s = p.staleRoutes;
  if (s === undefined) return '';
  const phases = [
    s.restarting.length > 0 ? `restart: ${s.restarting.join(' ')}` : '',
    s.longLived.length > 0 ? `long-lived: ${s.longLived.join(' ')}` : '',
  ].filter((x) => x !== '');
  return `; ${s.routes} stale route${s.routes === 1 ? '' : 's'} kept (${phases.join(', ')})`;
}

/**
 * The BFD column of `-o wide`: the state, the negotiated transmit interval × multiplier while Up
 * or the diagnostic while not, how long a damped session is still held Down, and the flaps; '-'
 * for a peer without BFD.
 */
export function bfdText(p: PeerJson): string {
  const b = p.bfd;
  if (b === undefined) return '-';
  if (b.state === 'Unavailable') return `unavailable: ${b.error}`;
  const now = b.state === 'Up' ? `Up ${b.txIntervalMs}ms×${b.multiplier}` : `${b.state} (${b.diag})`;
  const heldMs = b.damping?.heldDownMs ?? 0;
  const damped = heldMs > 0 ? `, damped ${Math.ceil(heldMs / 1000)}s` : '';
  const flaps = b.failures ?? b.downs;
  return `${now}${damped}, ${flaps} flap${flaps === 1 ? '' : 's'}`;
}

export function peerTable(peers: readonly PeerJson[], family: 4 | 6, now = new Date(), wide = false): string {
  const mine = peers.filter((p) => (family === 4) === !p.address.includes(':'));
  if (mine.length === 0) return `No IPv${family} peers found.`;
  const rows = mine.map((p) => [
    p.address,
    peerType(p),
    BIRD_STATES[p.state].state,
    since(p.since, now),
    info(p),
    String(p.prefixes.received),
    String(p.prefixes.advertised),
    ...(wide ? [bfdText(p)] : []),
  ]);
  return renderTable(
    [
      'PEER ADDRESS',
      'PEER TYPE',
      'STATE',
      'SINCE',
      'INFO',
      'RECEIVED',
      'ADVERTISED',
      ...(wide ? ['BFD'] : []),
    ],
    rows,
  );
}

/**
 * BIRD's protocol state (the STATE column) and BGP state (first word of INFO) for an FSM state.
 * A BGP protocol BIRD runs is `up` once Established and `start` in every other state, Idle
 * included: an Idle session waiting to retry (after an error, or held by a prefix limit) is
 * still a started protocol BIRD restarts by itself. BIRD's other words (`down` for a disabled
 * protocol, `Passive` for a listen-only one) have no counterpart here: the agent removes a peer
 * it no longer wants and configures no listen-only peers.
 */
export const BIRD_STATES: Readonly<Record<PeerStatus['state'], { state: string; info: string }>> = {
  Idle: { state: 'start', info: 'Idle' },
  Connect: { state: 'start', info: 'Connect' },
  Active: { state: 'start', info: 'Active' },
  OpenSent: { state: 'start', info: 'OpenSent' },
  OpenConfirm: { state: 'start', info: 'OpenConfirm' },
  Established: { state: 'up', info: 'Established' },
};

/**
 * calicoctl's PEER TYPE: a mesh peer, a BGPPeer for every node (`global`) or one for some nodes
 * (`node specific`). A route reflector peering comes from a BGPPeer chosen per node by selector,
 * so it is `node specific`; so is a peer of the standalone speaker, configured for that one
 * speaker.
 */
export function calicoPeerType(p: PeerJson): string {
  return p.peerType === 'node-to-node mesh' || p.peerType === 'global' ? p.peerType : 'node specific';
}

/** The C library's text for the socket errors a BGP connection meets, as BIRD prints them. */
const STRERROR: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'Connection refused',
  ECONNRESET: 'Connection reset by peer',
  ECONNABORTED: 'Software caused connection abort',
  ETIMEDOUT: 'Connection timed out',
  EHOSTUNREACH: 'No route to host',
  EHOSTDOWN: 'Host is down',
  ENETUNREACH: 'Network is unreachable',
  ENETDOWN: 'Network is down',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  EADDRINUSE: 'Address already in use',
  EPIPE: 'Broken pipe',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
};

/**
 * The last error in BIRD's words. NOTIFICATION reasons already are ("Error: Hold timer expired",
 * "Received: Administrative shutdown"); a failed or closed TCP connection, which the speaker
 * reports with the errno name ("Connection failed: ECONNREFUSED"), is BIRD's "Socket:" error with
 * the C library's text ("Socket: Connection refused"), and a connection the peer closed is
 * "Socket: Connection closed".
 */
export function birdError(lastError: string): string {
  const socket = /^Connection (failed|closed)(?:: (\S+))?$/.exec(lastError);
  if (socket === null) return lastError;
  const [, how, errno] = socket;
  if (errno === undefined)
    return how === 'closed' ? 'Socket: Connection closed' : 'Socket: Connection failed';
  return `Socket: ${STRERROR[errno] ?? errno}`;
}

/**
 * BIRD's INFO as calicoctl shows it: the BGP state, then (while not Established) the last error
 * BIRD-style ("Socket: Connection refused"), words joined by single spaces.
 */
export function calicoInfo(p: PeerJson): string {
  const error = p.state === 'Established' || p.lastError === undefined ? '' : birdError(p.lastError);
  const words = [BIRD_STATES[p.state].info, error];
  return words
    .join(' ')
    .split(/\s+/)
    .filter((w) => w !== '')
    .join(' ');
}

function calicoPeers(peers: readonly PeerJson[], family: 4 | 6, now: Date): string {
  const mine = peers.filter((p) => (family === 4) === !p.address.includes(':'));
  if (mine.length === 0) return `No IPv${family} peers found.\n`;
  return renderCalicoTable(
    ['Peer address', 'Peer type', 'State', 'Since', 'Info'],
    mine.map((p) => [
      p.address,
      calicoPeerType(p),
      BIRD_STATES[p.state].state,
      since(p.since, now),
      calicoInfo(p),
    ]),
  );
}

/**
 * `calicoctl node status` for this node, blank lines included: the header line, a blank line
 * before each family's heading, and one at the end. It says "Calico" although this is Margay:
 * scripts written for Calico look for exactly "Calico process is running".
 */
export function calicoNodeStatus(peers: readonly PeerJson[], now = new Date()): string {
  return [
    'Calico process is running.\n',
    '\nIPv4 BGP status\n',
    calicoPeers(peers, 4, now),
    '\nIPv6 BGP status\n',
    calicoPeers(peers, 6, now),
    '\n',
  ].join('');
}

/** What `calicoctl node status` prints when the node agent does not answer (scripts grep it). */
export const CALICO_NOT_RUNNING = 'Calico process is not running.\n';

export function nodeStatusReport(
  status: { mode: string; version: string },
  peers: readonly PeerJson[],
  wide = false,
  now = new Date(),
): string {
  return [
    `Margay process is running (${status.mode}, version ${status.version}).`,
    '',
    'IPv4 BGP status',
    peerTable(peers, 4, now, wide),
    '',
    'IPv6 BGP status',
    peerTable(peers, 6, now, wide),
    '',
  ].join('\n');
}
