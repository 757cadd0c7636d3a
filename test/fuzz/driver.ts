// The fuzz campaign itself. It runs inside the fuzzer's network namespace (campaign.ts starts it
// there) as two BGP peers of `margay speaker`: an external one (AS 65001) and an internal one
// (AS 64512). For each case it sends a valid pre-announcement and the mutated message, then a
// sentinel route whose MED counts the rounds: once the REST API shows the sentinel's new MED,
// the speaker has processed everything before it, and the RIB is compared with what the oracle
// expects. A NOTIFICATION is checked against the codes the oracle allows, the session's routes
// must then leave the RIB, and the peer connects again. Cases the oracle expects to keep the
// session go in batches; a batch that ends in an unexpected reset is run again case by case to
// find the one. Every UPDATE the speaker sends is checked too: it must never be malformed.
// At the end a clean final set of routes replaces everything, and the RIB (and what the speaker
// passes on to the other peer) must hold exactly that set.
//
// argv[2]: JSON DriverConfig. Writes the summary (JSON) to `summaryFile`; progress on stdout.
import { readFileSync, writeFileSync } from 'node:fs';
import { SpeakerApi } from './api.ts';
import { frame, MessageType, toHex } from './bytes.ts';
import {
  BLOCK,
  baseOpen,
  type FuzzCase,
  generateCase,
  type OpenCase,
  PEERS,
  type PeerName,
  type PeerProfile,
  peerOfCase,
  plainAnnouncement,
  SPEAKER,
  SUBNET,
  slotPrefixes,
  type UpdateCase,
  withdrawals,
} from './cases.ts';
import { describeState, PeerModel } from './model.ts';
import {
  judgeOpen,
  judgeUpdate,
  type Level,
  type Notif,
  type SessionContext,
  type Verdict,
} from './oracle.ts';
import { BgpConnection, type ReceivedNotification } from './peer.ts';

export interface DriverConfig {
  readonly seed: number;
  /** First case index. */
  readonly from: number;
  /** Stop after this many cases (else when the time is up). */
  readonly cases?: number;
  readonly durationMs: number;
  readonly speakerPid: number;
  readonly speakerLog: string;
  readonly api: { readonly host: string; readonly port: number; readonly token: string };
  readonly summaryFile: string;
}

export interface Disagreement {
  readonly level: Level;
  readonly case: number;
  readonly peer: PeerName;
  readonly kind: string;
  readonly mutations: readonly string[];
  readonly detail: string;
  readonly rules: readonly string[];
  readonly message?: string;
}

export interface DriverSummary {
  readonly seed: number;
  readonly firstCase: number;
  readonly casesRun: number;
  readonly updateCases: number;
  readonly openCases: number;
  readonly messagesSent: number;
  readonly elapsedMs: number;
  /** NOTIFICATIONs received from the speaker, by "code/subcode". */
  readonly resets: Record<string, number>;
  /** Cases the RFCs answer with treat-as-withdraw / attribute discard / acceptance, where the speaker agreed. */
  readonly treatAsWithdraw: number;
  readonly attributeDiscards: number;
  readonly accepted: number;
  readonly crashed: boolean;
  readonly hangs: number;
  readonly disagreements: {
    readonly must: number;
    readonly should: number;
    /** How many cases disagree, by level, kind and what the oracle expected; one case to replay. */
    readonly byCategory: Record<string, { readonly cases: number; readonly example: number }>;
    /** The first ones, in full. */
    readonly list: readonly Disagreement[];
  };
  /** UPDATEs (or an OPEN) from the speaker that the oracle finds malformed. */
  readonly exportErrors: { readonly count: number; readonly list: readonly string[] };
  readonly final: { readonly ok: boolean; readonly problems: readonly string[] };
  readonly healthz?: number;
  readonly alive: boolean;
  readonly rssKiB?: number;
  readonly peakRssKiB?: number;
  readonly aborted?: string;
  /** The cases being run when the campaign stopped early (crash, abort): replay from the first. */
  readonly inFlight?: readonly number[];
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as DriverConfig;
const api = new SpeakerApi(cfg.api);
const BARRIER_TIMEOUT_MS = 45_000;
const FLUSH_TIMEOUT_MS = 45_000;
const LIST_LIMIT = 200;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Session {
  readonly profile: PeerProfile;
  conn: BgpConnection | undefined;
  readonly model = new PeerModel();
  /** What the speaker announced to us on the current connection. */
  readonly received = new Set<string>();
  barrier = 0;
  constructor(p: PeerProfile) {
    this.profile = p;
  }
  get name(): PeerName {
    return this.profile.name;
  }
  /** How we judge what we send: the speaker receives. */
  get ctx(): SessionContext {
    return {
      ebgp: this.name === 'ebgp',
      localAs: SPEAKER.asn,
      localId: SPEAKER.routerId,
      localAddress: SPEAKER.address,
      peerAs: this.profile.asn,
      peerAddress: this.profile.address,
      sharedSubnet: SUBNET,
      families: ['ipv4', 'ipv6'],
    };
  }
  /** How we judge what the speaker sends: we receive. */
  get exportCtx(): SessionContext {
    return {
      ebgp: this.name === 'ebgp',
      localAs: this.profile.asn,
      localId: this.profile.routerId,
      localAddress: this.profile.address,
      peerAs: SPEAKER.asn,
      peerAddress: SPEAKER.address,
      sharedSubnet: SUBNET,
      families: ['ipv4', 'ipv6'],
    };
  }
}

const sessions: Record<PeerName, Session> = { ebgp: new Session(PEERS.ebgp), ibgp: new Session(PEERS.ibgp) };

const stats = {
  casesRun: 0,
  updateCases: 0,
  openCases: 0,
  messagesSent: 0,
  resets: {} as Record<string, number>,
  treatAsWithdraw: 0,
  attributeDiscards: 0,
  accepted: 0,
  hangs: 0,
  crashed: false,
  must: 0,
  should: 0,
};
const disagreements: Disagreement[] = [];
const exportErrors: string[] = [];
let exportErrorCount = 0;
const started = Date.now();
let peakRssKiB: number | undefined;
/** The cases whose messages are on the wire now. */
let inFlight: number[] = [];
let rssKiB: number | undefined;

// ---- the speaker process ----------------------------------------------------------------------

function procStatus(): Record<string, string> | undefined {
  try {
    const out: Record<string, string> = {};
    for (const line of readFileSync(`/proc/${cfg.speakerPid}/status`, 'utf8').split('\n')) {
      const i = line.indexOf(':');
      if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
    }
    return out;
  } catch {
    return undefined;
  }
}

/** The speaker runs (a zombie has exited: its parent has not collected it yet). */
function alive(): boolean {
  const st = procStatus();
  if (st === undefined || st.State?.startsWith('Z') === true) return false;
  const kib = (s: string | undefined) => (s === undefined ? undefined : Number.parseInt(s, 10));
  rssKiB = kib(st.VmRSS) ?? rssKiB;
  const hwm = kib(st.VmHWM);
  if (hwm !== undefined) peakRssKiB = Math.max(peakRssKiB ?? 0, hwm);
  return true;
}

class Crashed extends Error {}

function assertAlive(): void {
  if (!alive()) {
    stats.crashed = true;
    throw new Crashed('the speaker process is gone');
  }
}

// ---- reporting --------------------------------------------------------------------------------

/** The recent cases, for reports (a mismatch names the last case that touched the prefix). */
const caseInfo = new Map<number, FuzzCase>();

function remember(c: FuzzCase): void {
  caseInfo.set(c.index, c);
  if (caseInfo.size > 2_000) caseInfo.delete(caseInfo.keys().next().value as number);
}

/** Disagreeing cases by level and category (see `categoryOf`). */
const byCategory = new Map<string, Set<number>>();

/** A category without the values that differ from case to case (addresses, lengths, codes' data). */
function normalize(text: string): string {
  return text
    .replace(/\b\d+\.\d+\.\d+\.\d+\b/g, 'x.x.x.x')
    .replace(/\b(length|value|type|version|Length|Hold Time|octet\(s\)|of) \d+/g, '$1 N')
    .replace(/\(data [0-9a-f-]+\)/g, '');
}

function disagree(
  d: Omit<Disagreement, 'mutations' | 'message'> & { message?: Uint8Array; category?: string },
): void {
  if (d.level === 'MUST') stats.must++;
  else stats.should++;
  const key = `${d.level} ${d.kind}: ${normalize(d.category ?? d.detail)}`;
  const cases = byCategory.get(key) ?? new Set<number>();
  cases.add(d.case);
  byCategory.set(key, cases);
  const c = caseInfo.get(d.case);
  const bytes = d.message ?? c?.bytes;
  const entry: Disagreement = {
    level: d.level,
    case: d.case,
    peer: d.peer,
    kind: d.kind,
    mutations: c?.mutations ?? [],
    detail: d.detail,
    rules: d.rules,
    ...(bytes !== undefined && { message: toHex(bytes) }),
  };
  if (disagreements.length < LIST_LIMIT) {
    disagreements.push(entry);
    console.log(`[fuzz] ${d.level} disagreement, case ${d.case} (${d.peer}): ${d.kind}: ${d.detail}`);
  }
}

function notifKey(n: { code: number; subcode: number }): string {
  return `${n.code}/${n.subcode}`;
}

function notifText(codes: readonly Notif[]): string {
  return codes
    .map((n) => `${n.code}/${n.subcode ?? '*'}${n.data !== undefined ? ` data ${n.data}` : ''}`)
    .join(' or ');
}

// ---- sessions ---------------------------------------------------------------------------------

function send(s: Session, bytes: Uint8Array): void {
  if (s.conn === undefined) throw new Error(`session ${s.name} is down`);
  stats.messagesSent++;
  s.conn.send(bytes);
}

function onExport(s: Session, body: Uint8Array): void {
  const v = judgeUpdate(frame(MessageType.update, body), s.exportCtx);
  if (v.reset === 'required' || v.malformed.length > 0) {
    exportErrorCount++;
    if (exportErrors.length < LIST_LIMIT) {
      exportErrors.push(`to ${s.name}: ${[...v.rules].join('; ')} — ${toHex(body).slice(0, 400)}`);
      console.log(`[fuzz] the speaker sent ${s.name} a malformed UPDATE: ${v.rules.join('; ')}`);
    }
  }
  for (const p of v.withdrawn) s.received.delete(p);
  for (const p of v.announced) s.received.add(p);
}

async function establish(s: Session): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    assertAlive();
    const conn = await BgpConnection.connect({
      host: SPEAKER.address,
      port: 179,
      localAddress: s.profile.address,
      timeoutMs: 30_000,
    });
    s.received.clear();
    conn.onUpdate = (body) => onExport(s, body);
    conn.send(baseOpen(s.profile));
    stats.messagesSent++;
    await conn.waitFor(() => conn.open !== undefined || conn.closed, 20_000);
    if (conn.open !== undefined && !conn.closed) {
      const theirs = judgeOpen(frame(MessageType.open, conn.open), {
        ebgp: s.name === 'ebgp',
        expectedPeerAs: SPEAKER.asn,
        localId: s.profile.routerId,
      });
      if (theirs.reset !== 'forbidden') {
        exportErrorCount++;
        exportErrors.push(`OPEN to ${s.name}: ${theirs.rules.join('; ')}`);
      }
      conn.send(frame(MessageType.keepalive, new Uint8Array(0)));
      stats.messagesSent++;
      await conn.waitFor(() => conn.keepalives > 0 || conn.closed, 20_000);
    }
    if (conn.keepalives > 0 && !conn.closed && conn.notification === undefined) {
      conn.startKeepalives(20_000);
      s.conn = conn;
      return;
    }
    const why =
      conn.notification !== undefined
        ? `NOTIFICATION ${notifKey(conn.notification)}`
        : conn.closed
          ? 'closed'
          : 'no answer';
    conn.destroy();
    if (attempt >= 6) throw new Error(`session ${s.name} not Established after ${attempt} attempts (${why})`);
    await sleep(500 * attempt);
  }
}

async function ensure(s: Session): Promise<void> {
  if (s.conn !== undefined && !s.conn.closed) return;
  s.conn = undefined;
  await establish(s);
}

/** Polls until the API lists no path from this session; reports what stays. */
async function waitFlushed(s: Session, caseIndex: number, why: string): Promise<void> {
  const deadline = Date.now() + FLUSH_TIMEOUT_MS;
  let left: string[] = [];
  while (Date.now() < deadline) {
    assertAlive();
    try {
      left = (await api.routes(s.profile.address)).map((p) => p.prefix);
      if (left.length === 0) break;
    } catch {
      // the API did not answer in time: try again
    }
    await sleep(100);
  }
  if (left.length > 0) {
    disagree({
      level: 'MUST',
      case: caseIndex,
      peer: s.name,
      kind: 'routes-left',
      detail: `${left.length} route(s) of the ended session still in the RIB ${FLUSH_TIMEOUT_MS / 1000} s after ${why}: ${left.slice(0, 5).join(' ')}`,
      rules: ['RFC 4271 §8.2.2: a session that goes to Idle deletes all routes learned over it'],
    });
  }
  s.model.clear();
}

/** The speaker ended the session (or we did): the connection must close and the routes go. */
async function afterReset(s: Session, caseIndex: number, why: string): Promise<void> {
  const conn = s.conn;
  s.conn = undefined;
  if (conn !== undefined) {
    if (conn.notification !== undefined && !(await conn.waitFor(() => conn.closed, 15_000))) {
      disagree({
        level: 'MUST',
        case: caseIndex,
        peer: s.name,
        kind: 'not-closed',
        detail: `the connection stayed open 15 s after the speaker's NOTIFICATION ${notifKey(conn.notification)}`,
        rules: ['RFC 4271 §4.5: the connection is closed immediately after a NOTIFICATION'],
      });
    }
    conn.destroy();
  }
  await waitFlushed(s, caseIndex, why);
}

/** Ends our session with Cease / Administrative Shutdown, as an operator would. */
async function bringDown(s: Session, caseIndex: number): Promise<void> {
  const conn = s.conn;
  if (conn === undefined) return;
  conn.cease();
  stats.messagesSent++;
  await conn.waitFor(() => conn.closed, 5_000);
  await afterReset(s, caseIndex, 'our Cease');
  await waitNotEstablished(s);
}

async function waitNotEstablished(s: Session): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    assertAlive();
    try {
      const p = (await api.peers()).find((x) => x.address === s.profile.address);
      if (p !== undefined && p.state !== 'Established' && p.state !== 'OpenConfirm') return;
    } catch {
      // try again
    }
    await sleep(100);
  }
}

type Outcome =
  | { kind: 'ok' }
  | { kind: 'notification'; n: ReceivedNotification }
  | { kind: 'closed' }
  | { kind: 'hang' };

/** Sends the sentinel with the next MED and waits until the API shows it, or the session ends. */
async function barrier(s: Session): Promise<{ outcome: Outcome; verdict: Verdict }> {
  const conn = s.conn as BgpConnection;
  const seq = ++s.barrier;
  const bytes = plainAnnouncement(s.profile, [s.profile.sentinel], { med: seq });
  send(s, bytes);
  const verdict = judgeUpdate(bytes, s.ctx);
  const deadline = Date.now() + BARRIER_TIMEOUT_MS;
  for (;;) {
    if (conn.notification !== undefined)
      return { outcome: { kind: 'notification', n: conn.notification }, verdict };
    if (conn.closed) return { outcome: { kind: 'closed' }, verdict };
    assertAlive();
    try {
      const r = await api.route(s.profile.sentinel, s.profile.address);
      if (r.some((p) => p.med === seq)) return { outcome: { kind: 'ok' }, verdict };
    } catch {
      // slow answer: the deadline decides
    }
    if (Date.now() > deadline) return { outcome: { kind: 'hang' }, verdict };
    await sleep(15);
  }
}

/** Judges a reset (or its absence) for a case run alone. */
function judgeReset(s: Session, c: FuzzCase, v: Verdict, o: Outcome): void {
  // The rule that decided: the first one naming a NOTIFICATION, else the first one.
  const lead = v.rules.find((r) => /→ \d+\/\d+/.test(r)) ?? v.rules[0] ?? '';
  const base = { case: c.index, peer: s.name, rules: v.rules };
  if (o.kind === 'notification') {
    stats.resets[notifKey(o.n)] = (stats.resets[notifKey(o.n)] ?? 0) + 1;
    if (v.silentClose) return;
    if (v.reset === 'forbidden') {
      disagree({
        ...base,
        level: 'MUST',
        kind: 'unexpected-reset',
        detail: `NOTIFICATION ${notifKey(o.n)} (data ${o.n.data || '-'}); the RFCs keep the session`,
        category: `NOTIFICATION ${notifKey(o.n)}; the RFCs keep the session: ${lead}`,
      });
      return;
    }
    const match = v.codes.filter(
      (x) => x.code === o.n.code && (x.subcode === undefined || x.subcode === o.n.subcode),
    );
    if (match.length === 0) {
      disagree({
        ...base,
        level: v.codeLevel,
        kind: 'wrong-code',
        detail: `NOTIFICATION ${notifKey(o.n)}, expected ${notifText(v.codes)}`,
        category: `NOTIFICATION ${notifKey(o.n)}, expected ${notifText(v.codes)}: ${lead}`,
      });
    } else if (match.every((x) => x.data !== undefined && x.data !== o.n.data)) {
      disagree({
        ...base,
        level: 'MUST',
        kind: 'wrong-data',
        detail: `NOTIFICATION ${notifKey(o.n)} with data ${o.n.data || '-'}, expected ${notifText(match)}`,
      });
    }
  } else if (o.kind === 'closed') {
    if (v.silentClose) return;
    disagree({
      ...base,
      level: 'MUST',
      kind: 'closed-silently',
      detail: `the connection closed without a NOTIFICATION; expected ${v.reset === 'forbidden' ? 'the session to stay up' : notifText(v.codes)}`,
    });
  } else if (o.kind === 'ok') {
    if (v.silentClose) {
      disagree({
        ...base,
        level: 'MUST',
        kind: 'kept-after-notification',
        detail: 'our NOTIFICATION did not end the session',
      });
    } else if (v.reset === 'required') {
      disagree({
        ...base,
        level: 'MUST',
        kind: 'no-reset',
        detail: `the session stayed up; expected NOTIFICATION ${notifText(v.codes)}`,
        category: `the session stayed up: ${lead}`,
      });
    }
  }
}

function count(v: Verdict): void {
  if (v.treatAsWithdraw) stats.treatAsWithdraw++;
  else if (v.discards > 0) stats.attributeDiscards++;
  else stats.accepted++;
}

/** Compares the session's routes with the model; returns the cases found to disagree. */
async function verify(s: Session): Promise<Set<number>> {
  const bad = new Set<number>();
  const paths = await api.routes(s.profile.address);
  for (const m of s.model.compare(paths)) {
    bad.add(m.expected.caseIndex);
    const c = caseInfo.get(m.expected.caseIndex);
    const rules = c?.kind === 'update' ? judgeUpdate(c.bytes, s.ctx).rules : [];
    disagree({
      level: m.stale ? 'MUST' : m.expected.level,
      case: m.expected.caseIndex,
      peer: s.name,
      kind: m.stale ? 'stale-route' : 'route',
      detail: `${m.prefix}: ${describeState(m.observed)}; expected ${m.expected.states.map(describeState).join(' or ')} (${m.expected.why})`,
      rules,
      category: `${m.observed.kind}, expected ${[...new Set(m.expected.states.map((x) => x.kind))].join(' or ')}: ${
        m.expected.why === 'treat-as-withdraw'
          ? (rules.find((r) => r.includes('treat-as-withdraw')) ?? m.expected.why)
          : m.expected.why
      }`,
    });
  }
  return bad;
}

/**
 * Runs UPDATE cases on one session: all sent, one barrier, one comparison. Returns whether the
 * session ended.
 */
async function runUpdates(s: Session, cases: readonly UpdateCase[]): Promise<boolean> {
  if (cases.length === 0) return false;
  inFlight = cases.map((c) => c.index);
  await ensure(s);
  const pending: [Verdict, number][] = [];
  for (const c of cases) {
    send(s, c.pre);
    pending.push([judgeUpdate(c.pre, s.ctx), c.index]);
    send(s, c.bytes);
    pending.push([judgeUpdate(c.bytes, s.ctx), c.index]);
  }
  const { outcome, verdict: sentinel } = await barrier(s);
  if (outcome.kind === 'hang') {
    stats.hangs++;
    const c = cases[cases.length - 1] as UpdateCase;
    disagree({
      level: 'MUST',
      case: c.index,
      peer: s.name,
      kind: 'hang',
      detail: `no answer within ${BARRIER_TIMEOUT_MS / 1000} s to cases ${cases[0]?.index}..${c.index} (the sentinel never showed, the session did not end)`,
      rules: [],
    });
    s.conn?.destroy();
    await afterReset(s, c.index, 'a hang');
    if (stats.hangs >= 3) throw new Error('the speaker hung three times');
    return true;
  }
  if (outcome.kind !== 'ok') {
    if (cases.length > 1) {
      // One of them reset the session: which one, alone (the reset is counted when it recurs).
      await afterReset(s, cases[0]?.index ?? -1, 'an unexpected reset in a batch');
      let reproduced = false;
      for (const c of cases) reproduced = (await runUpdates(s, [c])) || reproduced;
      if (!reproduced) {
        const what = outcome.kind === 'notification' ? `NOTIFICATION ${notifKey(outcome.n)}` : 'a close';
        disagree({
          level: 'MUST',
          case: cases[0]?.index ?? -1,
          peer: s.name,
          kind: 'unexpected-reset',
          detail: `${what} after cases ${cases[0]?.index}..${cases[cases.length - 1]?.index}, which none of them causes alone`,
          rules: [],
        });
      }
      return true;
    }
    const c = cases[0] as UpdateCase;
    const v = judgeUpdate(c.bytes, s.ctx);
    judgeReset(s, c, v, outcome);
    await afterReset(s, c.index, 'the reset');
    stats.casesRun++;
    return true;
  }
  for (const [v, i] of pending) s.model.apply(v, i);
  s.model.apply(sentinel, -1);
  if (cases.length === 1) {
    const c = cases[0] as UpdateCase;
    const v = judgeUpdate(c.bytes, s.ctx);
    if (v.reset === 'required' || v.silentClose) {
      judgeReset(s, c, v, outcome);
      // The RFCs expected no route outcome here: take the RIB as it is.
      s.model.compare(await api.routes(s.profile.address));
      stats.casesRun++;
      return false;
    }
  }
  const bad = await verify(s);
  for (const c of cases) {
    stats.casesRun++;
    if (!bad.has(c.index)) count(judgeUpdate(c.bytes, s.ctx));
  }
  return false;
}

async function runOpen(s: Session, c: OpenCase): Promise<void> {
  inFlight = [c.index];
  await bringDown(s, c.index);
  const v = judgeOpen(c.bytes, {
    ebgp: s.name === 'ebgp',
    expectedPeerAs: s.profile.asn,
    localId: SPEAKER.routerId,
  });
  const conn = await BgpConnection.connect({
    host: SPEAKER.address,
    port: 179,
    localAddress: s.profile.address,
    timeoutMs: 30_000,
  });
  conn.send(c.bytes);
  stats.messagesSent++;
  await conn.waitFor(() => conn.notification !== undefined || conn.closed || conn.keepalives > 0, 30_000);
  const o: Outcome =
    conn.notification !== undefined
      ? { kind: 'notification', n: conn.notification }
      : conn.keepalives > 0
        ? { kind: 'ok' }
        : conn.closed
          ? { kind: 'closed' }
          : { kind: 'hang' };
  stats.casesRun++;
  if (o.kind === 'hang') {
    stats.hangs++;
    assertAlive();
    disagree({
      level: 'MUST',
      case: c.index,
      peer: s.name,
      kind: 'hang',
      detail: 'no answer to the OPEN within 30 s',
      rules: v.rules,
    });
  } else {
    const before = stats.must + stats.should;
    judgeReset(s, c, v, o);
    if (stats.must + stats.should === before) stats.accepted += o.kind === 'ok' ? 1 : 0;
  }
  if (o.kind === 'notification' && !(await conn.waitFor(() => conn.closed, 15_000))) {
    disagree({
      level: 'MUST',
      case: c.index,
      peer: s.name,
      kind: 'not-closed',
      detail: 'the connection stayed open 15 s after the NOTIFICATION',
      rules: ['RFC 4271 §4.5'],
    });
  }
  if (o.kind === 'ok') {
    conn.send(frame(MessageType.keepalive, new Uint8Array(0)));
    conn.cease();
    stats.messagesSent += 2;
    await conn.waitFor(() => conn.closed, 5_000);
  }
  conn.destroy();
  await waitNotEstablished(s);
}

// ---- the final check ----------------------------------------------------------------------------

function finalSet(p: PeerProfile): string[] {
  const out: string[] = [];
  for (let k = 0; k < 12; k++) out.push(slotPrefixes(p, k * 7).v4[k % 2] as string);
  for (let k = 0; k < 4; k++) out.push(slotPrefixes(p, k * 5 + 1).v6);
  return out;
}

async function finalCheck(): Promise<string[]> {
  const problems: string[] = [];
  const expected = new Map<string, PeerName>();
  for (const s of Object.values(sessions)) {
    await ensure(s);
    const set = finalSet(s.profile);
    const keep = new Set([...set, s.profile.sentinel]);
    const gone = s.model.possiblyPresent().filter((p) => !keep.has(p));
    const pending: Verdict[] = [];
    for (const w of withdrawals(gone)) {
      send(s, w);
      pending.push(judgeUpdate(w, s.ctx));
    }
    // Three groups with their own attributes.
    for (let g = 0; g < 3; g++) {
      const group = set.filter((_, i) => i % 3 === g);
      const bytes = plainAnnouncement(s.profile, group, {
        med: 7000 + g,
        communities: [((65000 + g) << 16) | 7],
        localPref: 150 + g,
        origin: g,
      });
      send(s, bytes);
      pending.push(judgeUpdate(bytes, s.ctx));
    }
    const { outcome, verdict } = await barrier(s);
    if (outcome.kind !== 'ok') {
      problems.push(
        `${s.name}: the final UPDATEs ended in ${outcome.kind}${outcome.kind === 'notification' ? ` ${notifKey(outcome.n)}` : ''}`,
      );
      continue;
    }
    for (const v of pending) {
      if (v.reset !== 'forbidden' || v.treatAsWithdraw)
        problems.push(`${s.name}: a final UPDATE is not clean: ${v.rules.join('; ')}`);
      s.model.apply(v, -1);
    }
    s.model.apply(verdict, -1);
    for (const m of s.model.compare(await api.routes(s.profile.address))) {
      problems.push(
        `${s.name}: ${m.prefix}: ${describeState(m.observed)}${m.stale ? ' (stale)' : ''}; expected ${m.expected.states.map(describeState).join(' or ')}`,
      );
    }
    for (const p of keep) expected.set(p, s.name);
  }
  // The whole RIB: exactly the final sets, each from its own peer.
  const all = await api.routes();
  const seen = new Set<string>();
  for (const p of all) {
    const owner = expected.get(p.prefix);
    if (owner === undefined) problems.push(`leftover route ${p.prefix} from ${p.fromPeer}`);
    else if (p.fromPeer !== sessions[owner].profile.address)
      problems.push(`${p.prefix} from ${p.fromPeer}, expected ${sessions[owner].profile.address}`);
    if (p.stale === true) problems.push(`${p.prefix} is stale`);
    seen.add(p.prefix);
  }
  for (const p of expected.keys()) if (!seen.has(p)) problems.push(`${p} missing from the RIB`);
  // The peers' counters.
  for (const peer of await api.peers()) {
    const s = Object.values(sessions).find((x) => x.profile.address === peer.address);
    if (s === undefined) continue;
    const n = finalSet(s.profile).length + 1;
    if (peer.state !== 'Established') problems.push(`${s.name} is ${peer.state}`);
    if (peer.prefixes.received !== n || peer.prefixes.accepted !== n) {
      problems.push(
        `${s.name}: received ${peer.prefixes.received} / accepted ${peer.prefixes.accepted}, expected ${n}`,
      );
    }
  }
  // What the speaker passes on: the other session's final set, nothing more.
  const wantAtIbgp = new Set([...finalSet(PEERS.ebgp), PEERS.ebgp.sentinel]);
  const wantAtEbgp = new Set([...finalSet(PEERS.ibgp), PEERS.ibgp.sentinel]);
  const ownEbgp = new Set([...finalSet(PEERS.ebgp), PEERS.ebgp.sentinel]);
  const exportProblems = (): string[] => {
    const out: string[] = [];
    const ib = sessions.ibgp.received;
    const eb = sessions.ebgp.received;
    for (const p of wantAtIbgp)
      if (!ib.has(p)) out.push(`the speaker did not pass ${p} on to the internal peer`);
    for (const p of ib) if (!wantAtIbgp.has(p)) out.push(`the internal peer still has ${p} from the speaker`);
    for (const p of wantAtEbgp)
      if (!eb.has(p)) out.push(`the speaker did not pass ${p} on to the external peer`);
    for (const p of eb)
      if (!wantAtEbgp.has(p) && !ownEbgp.has(p))
        out.push(`the external peer still has ${p} from the speaker`);
    return out;
  };
  const deadline = Date.now() + 30_000;
  while (exportProblems().length > 0 && Date.now() < deadline) await sleep(200);
  problems.push(...exportProblems().slice(0, 20));
  return problems;
}

// ---- main ---------------------------------------------------------------------------------------

function speakerLogCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  try {
    for (const line of readFileSync(cfg.speakerLog, 'utf8').split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const e = JSON.parse(line) as { event?: string; action?: string; direction?: string };
        const key =
          e.event === 'bgp.updateError'
            ? `updateError ${e.action}`
            : e.event === 'bgp.notification'
              ? `notification ${e.direction}`
              : undefined;
        if (key !== undefined) counts[key] = (counts[key] ?? 0) + 1;
      } catch {
        // not a log line
      }
    }
  } catch {
    // no log
  }
  return counts;
}

async function healthz(): Promise<number | undefined> {
  try {
    return (await api.get('/healthz', 10_000)).status;
  } catch {
    return undefined;
  }
}

let finished = false;

function summary(
  final: { ok: boolean; problems: string[] },
  aborted?: string,
  health?: number,
): DriverSummary & { speakerLog: Record<string, number> } {
  const isAlive = alive();
  return {
    seed: cfg.seed,
    firstCase: cfg.from,
    casesRun: stats.casesRun,
    updateCases: stats.updateCases,
    openCases: stats.openCases,
    messagesSent: stats.messagesSent,
    elapsedMs: Date.now() - started,
    resets: stats.resets,
    treatAsWithdraw: stats.treatAsWithdraw,
    attributeDiscards: stats.attributeDiscards,
    accepted: stats.accepted,
    crashed: stats.crashed || !isAlive,
    hangs: stats.hangs,
    disagreements: {
      must: stats.must,
      should: stats.should,
      byCategory: Object.fromEntries(
        [...byCategory]
          .sort((a, b) => b[1].size - a[1].size)
          .map(([k, v]) => [k, { cases: v.size, example: v.values().next().value as number }]),
      ),
      list: disagreements,
    },
    exportErrors: { count: exportErrorCount, list: exportErrors },
    final,
    ...(health !== undefined && { healthz: health }),
    alive: isAlive,
    ...(rssKiB !== undefined && { rssKiB }),
    ...(peakRssKiB !== undefined && { peakRssKiB }),
    ...(aborted !== undefined && { aborted, inFlight }),
    speakerLog: speakerLogCounts(),
  };
}

function writeSummary(s: ReturnType<typeof summary>): void {
  writeFileSync(cfg.summaryFile, JSON.stringify(s, null, 2));
}

async function main(): Promise<void> {
  const deadline = started + cfg.durationMs;
  const end = cfg.cases === undefined ? Number.POSITIVE_INFINITY : cfg.from + cfg.cases;
  const sampler = setInterval(alive, 1_000);
  let lastProgress = Date.now();
  let aborted: string | undefined;
  let final = { ok: false, problems: ['not reached'] };
  try {
    // The API first (the speaker may still be starting), then both sessions.
    const apiDeadline = Date.now() + 60_000;
    while ((await healthz()) !== 200) {
      assertAlive();
      if (Date.now() > apiDeadline) throw new Error('the speaker API did not answer within 60 s');
      await sleep(200);
    }
    await establish(sessions.ebgp);
    await establish(sessions.ibgp);
    let index = cfg.from;
    while (index < end && Date.now() < deadline) {
      const blockEnd = Math.min((Math.floor(index / BLOCK) + 1) * BLOCK, end);
      const s = sessions[peerOfCase(index)];
      let batch: UpdateCase[] = [];
      for (let i = index; i < blockEnd; i++) {
        const c = generateCase(cfg.seed, i);
        remember(c);
        if (c.kind === 'open') {
          stats.openCases++;
          await runUpdates(s, batch);
          batch = [];
          await runOpen(s, c);
          continue;
        }
        stats.updateCases++;
        const v = judgeUpdate(c.bytes, s.ctx);
        if (v.reset !== 'forbidden' || v.silentClose) {
          await runUpdates(s, batch);
          batch = [];
          await runUpdates(s, [c]);
        } else {
          batch.push(c);
        }
      }
      await runUpdates(s, batch);
      index = blockEnd;
      if (Date.now() - lastProgress > 20_000) {
        lastProgress = Date.now();
        console.log(
          `[fuzz] ${Math.round((Date.now() - started) / 1000)} s: ${stats.casesRun} cases, ${stats.messagesSent} messages, ` +
            `${Object.values(stats.resets).reduce((a, b) => a + b, 0)} resets, ${stats.must} MUST / ${stats.should} SHOULD disagreements, ` +
            `RSS ${Math.round((rssKiB ?? 0) / 1024)} MiB`,
        );
      }
    }
    const problems = await finalCheck();
    final = { ok: problems.length === 0, problems };
  } catch (err) {
    aborted = err instanceof Crashed ? 'the speaker process exited' : ((err as Error).stack ?? String(err));
    console.log(`[fuzz] aborted: ${aborted}`);
  } finally {
    clearInterval(sampler);
  }
  const health = stats.crashed ? undefined : await healthz();
  const s = summary(final, aborted, health);
  writeSummary(s);
  finished = true;
  for (const x of Object.values(sessions)) x.conn?.destroy();
  api.close();
}

process.on('SIGTERM', () => {
  if (!finished) writeSummary(summary({ ok: false, problems: ['stopped by SIGTERM'] }, 'stopped by SIGTERM'));
  process.exit(0);
});

await main();
