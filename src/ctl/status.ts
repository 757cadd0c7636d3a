// `margayctl node status`: the calicoctl report. STATE is BIRD's word as calicoctl shows it
// (up / start / down), INFO the RFC 4271 state and, when the session is not up, why.
import type { PeerStatus } from '../../bgp/index.ts';
import { renderTable } from '../cli/table.ts';

type HeldIdleJson = Omit<NonNullable<NonNullable<PeerStatus['prefixLimit']>['heldIdle']>, 'until'> & {
  until: string;
};

export type PeerJson = Omit<PeerStatus, 'since' | 'prefixLimit'> & {
  since: string;
  peerType?: string;
  prefixLimit?: Omit<NonNullable<PeerStatus['prefixLimit']>, 'heldIdle'> & { heldIdle?: HeldIdleJson };
};

function stateWord(state: PeerStatus['state']): string {
  if (state === 'Established') return 'up';
  return state === 'Idle' ? 'down' : 'start';
}

function peerType(p: PeerJson): string {
  if (p.peerType) return p.peerType;
  if (p.routeReflectorClient) return 'route reflector client';
  return p.type === 'ibgp' ? 'ibgp' : 'ebgp';
}

function since(iso: string, now: Date): string {
  const d = new Date(iso);
  const sameDay = d.toDateString() === now.toDateString();
  return sameDay ? d.toISOString().slice(11, 19) : d.toISOString().slice(0, 10);
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
    stateWord(p.state),
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

export function nodeStatusReport(
  status: { mode: string; version: string },
  peers: readonly PeerJson[],
  wide = false,
): string {
  return [
    `Margay process is running (${status.mode}, version ${status.version}).`,
    '',
    'IPv4 BGP status',
    peerTable(peers, 4, new Date(), wide),
    '',
    'IPv6 BGP status',
    peerTable(peers, 6, new Date(), wide),
    '',
  ].join('\n');
}
