// What the fuzzer expects the speaker's RIB to hold for one session, and the comparison with
// what its REST API shows. Each prefix keeps the outcomes the RFCs allow after the last message
// that named it (and which case sent that message); after each comparison the expectation
// becomes what was seen, so a later case is judged from the real state.
import type { ApiPath } from './api.ts';
import { canonicalIp, canonicalPrefix } from './bytes.ts';
import {
  formatSegments,
  type Level,
  type PrefixState,
  parseAsPathText,
  type RouteAttrs,
  type Verdict,
} from './oracle.ts';

/** RFC 1997, RFC 7999 and RFC 8326 well-known communities by the names the REST API prints. */
const COMMUNITY_NAMES: Readonly<Record<string, number>> = {
  'no-export': 0xffffff01,
  'no-advertise': 0xffffff02,
  'no-export-subconfed': 0xffffff03,
  blackhole: 0xffff029a,
  'graceful-shutdown': 0xffff0000,
};

function communityNumber(text: string): number | undefined {
  const named = COMMUNITY_NAMES[text];
  if (named !== undefined) return named;
  const m = /^(\d+):(\d+)$/.exec(text);
  if (m === null) return undefined;
  return ((Number(m[1]) << 16) | Number(m[2])) >>> 0;
}

/** The state a REST API path shows, in the oracle's terms. */
export function observedState(p: ApiPath): PrefixState {
  if (p.reason.startsWith('rejected')) return { kind: 'rejected' };
  const segs = parseAsPathText(p.asPath);
  const attrs: RouteAttrs = {
    origin: p.origin,
    asPath: segs === undefined ? `unparsed: ${p.asPath}` : formatSegments(segs),
    nextHop: canonicalIp(p.nextHop) ?? p.nextHop,
    ...(p.med !== undefined && { med: p.med }),
    localPref: p.localPref ?? Number.NaN,
    communities: [...new Set(p.communities.map((c) => communityNumber(c) ?? Number.NaN))].sort(
      (a, b) => a - b,
    ),
    largeCommunities: [...new Set(p.largeCommunities)].sort(),
    extendedCommunities: new Set(p.extendedCommunities).size,
    ...(p.originatorId !== undefined && { originatorId: p.originatorId }),
    clusterList: [...p.clusterList],
  };
  return { kind: 'installed', attrs };
}

function sameAttrs(a: RouteAttrs, b: RouteAttrs): boolean {
  return (
    a.origin === b.origin &&
    a.asPath === b.asPath &&
    a.nextHop === b.nextHop &&
    a.med === b.med &&
    a.localPref === b.localPref &&
    a.communities.join(',') === b.communities.join(',') &&
    a.largeCommunities.join(',') === b.largeCommunities.join(',') &&
    a.extendedCommunities === b.extendedCommunities &&
    a.originatorId === b.originatorId &&
    a.clusterList.join(',') === b.clusterList.join(',')
  );
}

export function stateMatches(expected: PrefixState, observed: PrefixState): boolean {
  if (expected.kind !== observed.kind) return false;
  if (expected.kind === 'installed' && observed.kind === 'installed')
    return sameAttrs(expected.attrs, observed.attrs);
  return true;
}

export function describeState(s: PrefixState): string {
  if (s.kind !== 'installed') return s.kind;
  const a = s.attrs;
  const parts = [
    `origin ${a.origin}`,
    `as-path "${a.asPath}"`,
    `next-hop ${a.nextHop}`,
    ...(a.med !== undefined ? [`med ${a.med}`] : []),
    `local-pref ${a.localPref}`,
    ...(a.communities.length > 0
      ? [`communities ${a.communities.map((c) => `${c >>> 16}:${c & 0xffff}`).join(' ')}`]
      : []),
    ...(a.largeCommunities.length > 0 ? [`large ${a.largeCommunities.join(' ')}`] : []),
    ...(a.extendedCommunities > 0 ? [`${a.extendedCommunities} extended`] : []),
    ...(a.originatorId !== undefined ? [`originator ${a.originatorId}`] : []),
    ...(a.clusterList.length > 0 ? [`cluster-list ${a.clusterList.join(' ')}`] : []),
  ];
  return `installed (${parts.join(', ')})`;
}

export interface Expectation {
  readonly states: readonly PrefixState[];
  readonly level: Level;
  readonly why: string;
  /** The case whose message last named the prefix (-1: the harness's own messages). */
  readonly caseIndex: number;
}

export interface Mismatch {
  readonly prefix: string;
  readonly expected: Expectation;
  readonly observed: PrefixState;
  /** The path was marked stale (kept from an earlier session). */
  readonly stale: boolean;
}

const ABSENT: PrefixState = { kind: 'absent' };

export class PeerModel {
  readonly #entries = new Map<string, Expectation>();

  get size(): number {
    return this.#entries.size;
  }

  /** The prefixes that may be in the RIB now. */
  possiblyPresent(): string[] {
    return [...this.#entries].filter(([, e]) => e.states.some((s) => s.kind !== 'absent')).map(([p]) => p);
  }

  /** Applies the outcome of a message the speaker kept the session through. */
  apply(v: Verdict, caseIndex: number): void {
    for (const [prefix, e] of v.prefixes) this.#entries.set(prefix, { ...e, caseIndex });
  }

  clear(): void {
    this.#entries.clear();
  }

  /** Compares with the paths the API lists for this session; then takes them as the new state. */
  compare(paths: readonly ApiPath[]): Mismatch[] {
    const seen = new Map<string, ApiPath>();
    for (const p of paths) seen.set(canonicalPrefix(p.prefix) ?? p.prefix, p);
    const out: Mismatch[] = [];
    for (const prefix of new Set([...this.#entries.keys(), ...seen.keys()])) {
      const e = this.#entries.get(prefix) ?? {
        states: [ABSENT],
        level: 'MUST',
        why: 'never announced',
        caseIndex: -1,
      };
      const path = seen.get(prefix);
      const observed = path === undefined ? ABSENT : observedState(path);
      const stale = path?.stale === true;
      if (stale || !e.states.some((s) => stateMatches(s, observed)))
        out.push({ prefix, expected: e, observed, stale });
      if (observed.kind === 'absent') this.#entries.delete(prefix);
      else
        this.#entries.set(prefix, {
          states: [observed],
          level: 'MUST',
          why: 'as seen',
          caseIndex: e.caseIndex,
        });
    }
    return out;
  }
}
