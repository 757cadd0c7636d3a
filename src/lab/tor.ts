// Queries of the lab's ToR router, whichever daemon it runs: its BGP sessions and the prefixes it
// learned. Used by `lab status` and by the end-to-end tests ("the ToR learned every pod CIDR").
import { birdc } from './bird.ts';
import { execHost } from './netns.ts';
import type { RouterRecord } from './state.ts';

export interface TorSession {
  /** BIRD protocol name or the neighbor address. */
  readonly peer: string;
  /** Established, Active, Connect, … (normalized to the RFC 4271 word where the daemon says it). */
  readonly state: string;
}

const RFC_STATES: Readonly<Record<string, string>> = {
  established: 'Established',
  active: 'Active',
  connect: 'Connect',
  idle: 'Idle',
  opensent: 'OpenSent',
  openconfirm: 'OpenConfirm',
};

function rfcState(s: string): string {
  return RFC_STATES[s.toLowerCase()] ?? s;
}

/** `birdc show protocols` rows of BGP protocols: name, BGP, table, state, since, info. */
export function parseBirdProtocols(out: string): TorSession[] {
  const sessions: TorSession[] = [];
  for (const line of out.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols[1] !== 'BGP' || cols[0] === undefined) continue;
    // Info starts with the BGP state when the protocol runs; otherwise the protocol state (down).
    const bgpState = /\b(Idle|Connect|Active|OpenSent|OpenConfirm|Established)\b/.exec(
      cols.slice(4).join(' '),
    );
    sessions.push({ peer: cols[0], state: bgpState?.[1] ?? cols[3] ?? '' });
  }
  return sessions;
}

/** Prefixes at the start of `birdc show route` lines (continuation lines are skipped). */
export function parseBirdRoutePrefixes(out: string): string[] {
  const prefixes = new Set<string>();
  for (const line of out.split('\n')) {
    const m = /^([0-9a-fA-F:.]+\/\d{1,3})\s/.exec(line);
    if (m?.[1]) prefixes.add(m[1]);
  }
  return [...prefixes];
}

async function inRouter(r: RouterRecord, argv: readonly string[]): Promise<string> {
  return (await execHost(['ip', 'netns', 'exec', r.ns, ...argv], { timeoutMs: 10_000 })).stdout;
}

function vtysh(r: RouterRecord, cmd: string): Promise<string> {
  return inRouter(r, ['vtysh', '--vty_socket', r.torDir as string, '-c', cmd]);
}

/** A `birdc` (BIRD) or `vtysh -c` (FRR) command on the ToR, its output as text. */
export function torCommand(r: RouterRecord, cmd: string): Promise<string> {
  if (r.tor === 'bird') return birdc(r.torSocket as string, cmd);
  if (r.tor === 'frr') return vtysh(r, cmd);
  throw new Error(`torCommand: not for a ${r.tor} ToR`);
}

function gobgp(r: RouterRecord, args: readonly string[]): Promise<string> {
  return inRouter(r, ['gobgp', '-u', '127.0.0.1', '-p', String(r.torApiPort), ...args]);
}

export async function torSessions(r: RouterRecord): Promise<TorSession[]> {
  if (r.tor === 'bird') return parseBirdProtocols(await birdc(r.torSocket as string, 'show protocols'));
  if (r.tor === 'frr') {
    const sum = JSON.parse(await vtysh(r, 'show bgp summary json')) as Record<
      string,
      { peers?: Record<string, { state?: string }> }
    >;
    const out = new Map<string, string>();
    for (const af of Object.values(sum))
      for (const [peer, p] of Object.entries(af.peers ?? {})) out.set(peer, rfcState(p.state ?? ''));
    return [...out].map(([peer, state]) => ({ peer, state }));
  }
  if (r.tor === 'gobgp') {
    const neighbors = JSON.parse(await gobgp(r, ['neighbor', '-j'])) as {
      state?: { neighbor_address?: string; session_state?: number | string };
      conf?: { neighbor_address?: string };
    }[];
    const byNumber = ['Unknown', 'Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'];
    return neighbors.map((n) => {
      const s = n.state?.session_state;
      return {
        peer: n.state?.neighbor_address ?? n.conf?.neighbor_address ?? '?',
        state: typeof s === 'number' ? (byNumber[s] ?? String(s)) : rfcState(String(s ?? '')),
      };
    });
  }
  return [];
}

/** Every prefix the ToR has a route for (both families). */
export async function torPrefixes(r: RouterRecord): Promise<string[]> {
  if (r.tor === 'bird') return parseBirdRoutePrefixes(await birdc(r.torSocket as string, 'show route'));
  if (r.tor === 'frr') {
    const out: string[] = [];
    for (const afi of ['ipv4', 'ipv6']) {
      const j = JSON.parse(await vtysh(r, `show bgp ${afi} unicast json`)) as {
        routes?: Record<string, unknown>;
      };
      out.push(...Object.keys(j.routes ?? {}));
    }
    return out;
  }
  if (r.tor === 'gobgp') {
    const out: string[] = [];
    for (const family of ['ipv4', 'ipv6']) {
      const j = JSON.parse(await gobgp(r, ['global', 'rib', '-a', family, '-j'])) as Record<string, unknown>;
      out.push(...Object.keys(j));
    }
    return out;
  }
  return [];
}
