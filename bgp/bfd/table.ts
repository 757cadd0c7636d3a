// The BFD sessions of a speaker and the sockets they share: one receiving socket per address
// family on port 3784, one sending socket per local address (a source port from 49152–65535
// that every session from that address uses, as RFC 5881 §4 allows), and one host timer per
// session armed at the session's next deadline.
//
// A received datagram is decoded and matched to a session (RFC 5880 §6.8.6): by Your
// Discriminator when it is non-zero, else by the peer's address. A packet that fails to decode,
// matches no session or comes from another address than the session's peer is counted and
// dropped; nothing on the receive path throws.
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { canonicalIp, ipFamily } from '../addr.ts';
import { heldForMs } from './damping.ts';
import { type BfdState, decodeControl, diagName, encodeControl } from './packet.ts';
import {
  adminDown,
  adminUp,
  type BfdSession,
  type BfdStep,
  type BfdTimers,
  detectionTimeMs,
  newSession,
  nextDeadline,
  receive,
  setTimers,
  type Transition,
  tick,
  txIntervalUs,
} from './session.ts';
import { BFD_CONTROL_PORT, openBfdSocket, openSourceSocket } from './udp.ts';

export interface BfdPeer {
  /** The neighbour's address (directly connected). */
  readonly peer: string;
  /** The local address packets leave from; absent: the kernel chooses by route. */
  readonly local?: string;
  readonly timers: BfdTimers;
}

export interface BfdSessionStatus {
  readonly peer: string;
  readonly local: string | null;
  readonly state: BfdState;
  readonly remoteState: BfdState;
  readonly localDiscriminator: number;
  readonly remoteDiscriminator: number;
  /** The local diagnostic, by name. */
  readonly diag: string;
  /** The diagnostic in the last packet received, by name, or null before any. */
  readonly remoteDiag: string | null;
  readonly desiredMinTxUs: number;
  readonly requiredMinRxUs: number;
  readonly remoteMinRxUs: number;
  readonly remoteDesiredMinTxUs: number;
  readonly detectMult: number;
  readonly remoteDetectMult: number;
  /** The periodic transmit interval in use, µs, before jitter. */
  readonly txIntervalUs: number;
  /** The Detection Time in use, ms. */
  readonly detectionTimeMs: number;
  /** Times the session left Up. */
  readonly downs: number;
  /** Times the session came Up. */
  readonly ups: number;
  /** Times it left Up because the path failed (not AdminDown on either side): its flaps. */
  readonly failures: number;
  /** The damping penalty level, and how much longer the session is held in Down, ms (damping.ts). */
  readonly dampingLevel: number;
  readonly heldDownMs: number;
  /** Failures that started a hold in Down. */
  readonly holds: number;
  readonly packetsReceived: number;
  readonly packetsSent: number;
  /** When the state last changed, from the table's clock (ms), or null if it never did. */
  readonly lastChangeAt: number | null;
}

export interface BfdTableOptions {
  /** Monotonic milliseconds; defaults to performance.now(). */
  readonly clock?: () => number;
  readonly random?: () => number;
  /** The addresses to receive on, per family ('' for any); defaults to any. */
  readonly listen?: { readonly 4?: string; readonly 6?: string };
  /** The destination port; RFC 5881 fixes 3784, tests of two tables in one namespace may not. */
  readonly port?: number;
}

export interface BfdTableEvents {
  change: [key: string, transition: Transition, status: BfdSessionStatus];
  /** A socket could not be opened or failed; the message names which. */
  error: [error: Error];
}

interface Entry {
  readonly key: string;
  readonly peer: string;
  readonly family: 4 | 6;
  readonly local: string;
  session: BfdSession;
  timer: NodeJS.Timeout | undefined;
  remoteDiag: number | null;
  downs: number;
  ups: number;
  received: number;
  sent: number;
  lastChangeAt: number | null;
}

interface Sender {
  readonly socket: dgram.Socket;
  readonly port: number;
}

/** Counts of dropped datagrams, by reason. */
export type BfdDrops = Record<string, number>;

export class BfdTable extends EventEmitter<BfdTableEvents> {
  readonly #clock: () => number;
  readonly #random: () => number;
  readonly #listen: { readonly 4?: string; readonly 6?: string };
  readonly #port: number;
  readonly #entries = new Map<string, Entry>();
  readonly #byDiscr = new Map<number, Entry>();
  readonly #byPeer = new Map<string, Entry>();
  readonly #receivers = new Map<4 | 6, dgram.Socket>();
  readonly #senders = new Map<string, Sender>();
  readonly #drops: BfdDrops = {};
  /** Sends handed to dgram whose callback has not run yet, and who waits for them to end. */
  #inFlight = 0;
  #onDrained: (() => void) | undefined;
  #closed = false;

  constructor(options: BfdTableOptions = {}) {
    super();
    this.#clock = options.clock ?? (() => performance.now());
    this.#random = options.random ?? Math.random;
    this.#listen = options.listen ?? {};
    this.#port = options.port ?? BFD_CONTROL_PORT;
  }

  /**
   * Starts a session with `spec.peer`, under `key`. Opens the sockets the session needs first;
   * throws when one cannot be opened or the peer already has a session.
   */
  add(key: string, spec: BfdPeer): void {
    if (this.#closed) throw new Error('BFD table is closed');
    if (this.#entries.has(key)) throw new Error(`BFD session ${key} exists`);
    const peer = canonicalIp(spec.peer);
    const family = ipFamily(spec.peer);
    if (peer === undefined || family === undefined)
      throw new Error(`BFD peer ${spec.peer} is not an IP address`);
    if (this.#byPeer.has(peer)) throw new Error(`BFD peer ${peer} already has a session`);
    const local = spec.local === undefined ? '' : (canonicalIp(spec.local) ?? spec.local);
    if (local !== '' && ipFamily(local) !== family)
      throw new Error(`BFD local address ${spec.local} is not of the family of ${spec.peer}`);
    this.#receiver(family);
    this.#sender(family, local);
    const session = newSession(spec.timers, this.#discriminator(), this.#clock());
    const entry: Entry = {
      key,
      peer,
      family,
      local,
      session,
      timer: undefined,
      remoteDiag: null,
      downs: 0,
      ups: 0,
      received: 0,
      sent: 0,
      lastChangeAt: null,
    };
    this.#entries.set(key, entry);
    this.#byDiscr.set(session.localDiscr, entry);
    this.#byPeer.set(peer, entry);
    this.#arm(entry);
  }

  /** Ends a session: sends AdminDown once so the peer does not count a failure, then forgets it. */
  remove(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    const step = adminDown(entry.session, this.#clock(), this.#random);
    this.#send(entry, step);
    clearTimeout(entry.timer);
    this.#entries.delete(key);
    this.#byDiscr.delete(entry.session.localDiscr);
    this.#byPeer.delete(entry.peer);
  }

  /** AdminDown (true) or back to Down to come Up again (false). */
  setAdminDown(key: string, down: boolean): void {
    const entry = this.#get(key);
    const now = this.#clock();
    this.#apply(
      entry,
      down ? adminDown(entry.session, now, this.#random) : adminUp(entry.session, now, this.#random),
    );
  }

  setTimers(key: string, timers: BfdTimers): void {
    const entry = this.#get(key);
    this.#apply(entry, setTimers(entry.session, timers, this.#clock()));
  }

  status(key: string): BfdSessionStatus | undefined {
    const entry = this.#entries.get(key);
    return entry === undefined ? undefined : this.#status(entry);
  }

  keys(): string[] {
    return [...this.#entries.keys()];
  }

  /** Datagrams dropped, by reason. */
  drops(): BfdDrops {
    return { ...this.#drops };
  }

  /** The source port packets from `local` ('' for unbound) of `family` leave from, if open. */
  sourcePort(family: 4 | 6, local = ''): number | undefined {
    return this.#senders.get(`${family}/${local}`)?.port;
  }

  /**
   * Sends AdminDown on every session, stops every timer and, once the sends have left (a dgram
   * socket closed with a send pending drops it), closes every socket.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    for (const key of [...this.#entries.keys()]) this.remove(key);
    this.#closed = true;
    if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#onDrained = resolve));
    for (const s of this.#receivers.values()) s.close();
    for (const s of this.#senders.values()) s.socket.close();
    this.#receivers.clear();
    this.#senders.clear();
  }

  #get(key: string): Entry {
    const entry = this.#entries.get(key);
    if (entry === undefined) throw new Error(`no BFD session ${key}`);
    return entry;
  }

  #discriminator(): number {
    for (;;) {
      const d = 1 + Math.floor(this.#random() * 0xffff_fffe);
      if (!this.#byDiscr.has(d)) return d;
    }
  }

  #receiver(family: 4 | 6): void {
    if (this.#receivers.has(family)) return;
    const fd = openBfdSocket({ family, address: this.#listen[family] ?? '', port: this.#port });
    const socket = dgram.createSocket(family === 4 ? 'udp4' : 'udp6');
    socket.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo.address));
    socket.on('error', (err) =>
      this.emit('error', new Error(`BFD receive socket (IPv${family}): ${err.message}`)),
    );
    socket.bind({ fd });
    this.#receivers.set(family, socket);
  }

  #sender(family: 4 | 6, local: string): Sender {
    const id = `${family}/${local}`;
    const existing = this.#senders.get(id);
    if (existing !== undefined) return existing;
    const { fd, port } = openSourceSocket(family, local, this.#random);
    const socket = dgram.createSocket(family === 4 ? 'udp4' : 'udp6');
    // Peers send to port 3784, never to this one: whatever arrives here is not for us.
    socket.on('message', () => this.#drop('datagram to the source port'));
    socket.on('error', (err) => this.emit('error', new Error(`BFD send socket ${id}: ${err.message}`)));
    socket.bind({ fd });
    const sender = { socket, port };
    this.#senders.set(id, sender);
    return sender;
  }

  #drop(reason: string): void {
    this.#drops[reason] = (this.#drops[reason] ?? 0) + 1;
  }

  #onMessage(msg: Buffer, from: string): void {
    const decoded = decodeControl(msg);
    if (!decoded.ok) {
      this.#drop(decoded.reason);
      return;
    }
    const p = decoded.packet;
    const source = canonicalIp(from.split('%')[0] ?? from) ?? from;
    const entry =
      p.yourDiscriminator !== 0 ? this.#byDiscr.get(p.yourDiscriminator) : this.#byPeer.get(source);
    if (entry === undefined) {
      this.#drop(p.yourDiscriminator !== 0 ? 'unknown discriminator' : 'no session for the source address');
      return;
    }
    if (entry.peer !== source) {
      this.#drop('discriminator of another peer');
      return;
    }
    entry.received++;
    entry.remoteDiag = p.diag;
    this.#apply(entry, receive(entry.session, p, this.#clock(), this.#random));
  }

  #send(entry: Entry, step: BfdStep): void {
    if (step.send.length === 0) return;
    const sender = this.#senders.get(`${entry.family}/${entry.local}`);
    if (sender === undefined) return;
    for (const packet of step.send) {
      entry.sent++;
      this.#inFlight++;
      // A send that fails (no route while a link is down) is the failure BFD detects, not an error.
      sender.socket.send(encodeControl(packet), this.#port, entry.peer, () => {
        this.#inFlight--;
        if (this.#inFlight === 0) this.#onDrained?.();
      });
    }
  }

  #apply(entry: Entry, step: BfdStep): void {
    entry.session = step.session;
    this.#send(entry, step);
    if (step.transition !== null) {
      entry.lastChangeAt = this.#clock();
      if (step.transition.to === 'Up') entry.ups++;
      if (step.transition.from === 'Up') entry.downs++;
      this.emit('change', entry.key, step.transition, this.#status(entry));
    }
    if (this.#entries.get(entry.key) === entry) this.#arm(entry);
  }

  #arm(entry: Entry): void {
    clearTimeout(entry.timer);
    const at = nextDeadline(entry.session);
    if (at === null) {
      entry.timer = undefined;
      return;
    }
    // The tick runs in the check phase of the loop turn, after its poll phase has read the
    // datagrams waiting in the sockets: after a stall of the event loop, packets the kernel
    // received in time restart the Detection Time before it is checked, instead of the expired
    // timer declaring the session down ahead of them.
    entry.timer = setTimeout(() => setImmediate(() => this.#fire(entry)), Math.max(0, at - this.#clock()));
  }

  #fire(entry: Entry): void {
    if (this.#entries.get(entry.key) !== entry) return;
    this.#apply(entry, tick(entry.session, this.#clock(), this.#random));
  }

  #status(entry: Entry): BfdSessionStatus {
    const s = entry.session;
    return {
      peer: entry.peer,
      local: entry.local === '' ? null : entry.local,
      state: s.state,
      remoteState: s.remoteState,
      localDiscriminator: s.localDiscr,
      remoteDiscriminator: s.remoteDiscr,
      diag: diagName(s.localDiag),
      remoteDiag: entry.remoteDiag === null ? null : diagName(entry.remoteDiag),
      desiredMinTxUs: s.desiredMinTxUs,
      requiredMinRxUs: s.requiredMinRxUs,
      remoteMinRxUs: s.remoteMinRxUs,
      remoteDesiredMinTxUs: s.remoteDesiredMinTxUs,
      detectMult: s.timers.detectMult,
      remoteDetectMult: s.remoteDetectMult,
      txIntervalUs: txIntervalUs(s),
      detectionTimeMs: detectionTimeMs(s),
      downs: entry.downs,
      ups: entry.ups,
      failures: s.damping.failures,
      dampingLevel: s.damping.level,
      heldDownMs: Math.round(heldForMs(s.damping, this.#clock())),
      holds: s.damping.holds,
      packetsReceived: entry.received,
      packetsSent: entry.sent,
      lastChangeAt: entry.lastChangeAt,
    };
  }
}
