// One configured BGP neighbour: runs the pure RFC 4271 §8 FSM against real sockets and timers.
//
// Connections (RFC 4271 §6.8 model, BIRD's outgoing/incoming `bgp_conn` pair): the session has
// a MAIN attempt — the FSM that connects out, retries with backoff, holds the idle time after
// a failure and reports up/down — and at most one SECOND attempt, created for an incoming
// connection that arrives while the main one is busy (connecting, in OpenSent/OpenConfirm or
// Established). Each attempt is one FSM state bound to one TCP connection. When an OPEN
// arrives and the other attempt has a connection too, `resolveCollision` decides which one is
// closed with Cease / Connection Collision Resolution; both speakers reach the same decision
// because it depends on who initiated each connection, not on timing. A second attempt that
// reaches Established becomes the main one (keeping the main one's damping state); an attempt
// that is not main and loses its connection is dropped without telling anybody: only the main
// attempt's transitions are the peer's state.
//
// Choices:
// - An incoming connection is taken by the main FSM only when it waits in Active with no
//   connection of its own; otherwise it becomes the second attempt, even while the main FSM
//   sits in its idle hold after an error (the peer is up again: accept it, as the peer's
//   next retry could be minutes away). A stopped peer refuses connections.
// - RFC 4724 §4.2: an OPEN with the Graceful Restart capability arriving while the main
//   attempt is Established means the peer restarted without us noticing (no FIN): the old
//   session is treated as a TCP failure (so its routes are kept stale) instead of keeping the
//   dead Established session and refusing the new one.
// - One host timer per session, armed at the earliest FSM deadline of its attempts.
// - The connect timeout is the ConnectRetryTimer: when it expires in Connect the FSM closes the
//   attempt and connects again (RFC 4271 §8.2.2 Connect, Event 9).
import { connect, Socket, type SocketConstructorOpts } from 'node:net';
import { ipFamily } from '../addr.ts';
import type { WireError } from '../errors.ts';
import {
  type DownReason,
  eventFromWireError,
  expiredTimers,
  type FsmAction,
  type FsmEvent,
  type FsmState,
  type FsmStateName,
  initialFsmState,
  nextDeadline,
  resolveCollision,
  step,
} from '../fsm/index.ts';
import {
  type BgpMessage,
  CeaseSubcode,
  encodeHardReset,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  encodeRouteRefresh,
  isHardResetCease,
  type Negotiated,
  NotifyCode,
  negotiate,
  type OpenMessage,
  OpenSubcode,
  peerAsnOf,
  validateOpen,
} from '../wire/index.ts';
import { Connection, type ConnectionDirection, type MessageCounters } from './connection.ts';
import type { EstablishedSession, PeerSessionHost, PeerSessionOptions } from './session-types.ts';
import { openTcpSocket } from './sockopt.ts';

export type {
  EstablishedSession,
  NotificationInfo,
  PeerSessionHost,
  PeerSessionOptions,
} from './session-types.ts';

interface Attempt {
  fsm: FsmState;
  conn: Connection | null;
  /** Our outgoing connect in flight. */
  pending: Socket | null;
  remoteOpen: OpenMessage | null;
  negotiated: Negotiated | null;
  isDiscarded: boolean;
}

const STATE_RANK: Readonly<Record<FsmStateName, number>> = {
  Idle: 0,
  Connect: 1,
  Active: 1,
  OpenSent: 2,
  OpenConfirm: 3,
  Established: 4,
};

const KEEPALIVE = encodeKeepalive();

export class PeerSession {
  readonly address: string;
  readonly counters: MessageCounters = { messagesIn: 0, messagesOut: 0, updatesIn: 0, updatesOut: 0 };
  readonly #o: PeerSessionOptions;
  readonly #host: PeerSessionHost;
  #main: Attempt;
  #second: Attempt | null = null;
  #timer: unknown = null;
  #timerAt = Number.POSITIVE_INFINITY;
  #state: FsmStateName = 'Idle';
  #since: number;
  #lastDownReason: DownReason | null = null;
  #established: EstablishedSession | null = null;
  readonly #closing = new Set<Promise<void>>();
  #isStopped = true;
  /** The OPEN we send; `setLocalOpen` changes it for the next connections. */
  #open: OpenMessage;

  constructor(options: PeerSessionOptions) {
    this.#o = options;
    this.#open = options.open;
    this.#host = options.host;
    this.address = options.address;
    this.#main = this.#newAttempt();
    this.#since = options.wallClock();
  }

  /** The peer's RFC 4271 state: the most advanced of its attempts. */
  get state(): FsmStateName {
    return this.#state;
  }

  /** When `state` was entered, ms since the epoch. */
  get since(): number {
    return this.#since;
  }

  get lastDownReason(): DownReason | null {
    return this.#lastDownReason;
  }

  /** The OPEN exchange of the Established session, or null. */
  get session(): EstablishedSession | null {
    return this.#established;
  }

  /** Negotiated hold time and keepalive of the Established session (or the configured ones). */
  get timers(): { readonly holdTime: number; readonly keepalive: number } {
    const f = this.#main.fsm;
    return {
      holdTime: f.negotiatedHoldTime ?? this.#o.fsm.holdTime,
      keepalive: f.negotiatedKeepaliveTime ?? this.#o.fsm.keepaliveTime,
    };
  }

  /** True when the Established connection can take another UPDATE now. */
  get canWrite(): boolean {
    return this.#established !== null && (this.#main.conn?.canWrite ?? false);
  }

  /** ManualStart (RFC 4271 §8.1.2 Event 1). */
  start(): void {
    this.#isStopped = false;
    this.#feed(this.#main, { type: 'ManualStart' });
  }

  /**
   * The OPEN of the next connections (the current session keeps what it negotiated), e.g.
   * without the RFC 4724 R bit once the session after a restart is up.
   */
  setLocalOpen(open: OpenMessage): void {
    this.#open = open;
  }

  /**
   * ManualStop (Event 2): Cease with `subcode` (Administrative Shutdown by default, RFC 4486),
   * its `data` and the RFC 9003 message on every connection; resolves when they are closed. On a
   * connection whose OPENs exchanged the N bit, the subcodes RFC 8538 §5.1 marks "Hard Reset"
   * go out as Cease / Hard Reset encapsulating the Cease (§3.1); the others stay graceful. With
   * `silent` the Established connection closes without a NOTIFICATION (a graceful restart toward
   * a helper without the N bit, RFC 4724 §4.2); connections not yet Established still get the
   * Cease.
   */
  async stop(
    options: {
      readonly subcode?: number;
      readonly data?: Uint8Array;
      readonly message?: string;
      readonly silent?: boolean;
    } = {},
  ): Promise<void> {
    this.#isStopped = true;
    const subcode = options.subcode ?? CeaseSubcode.administrativeShutdown;
    const eventFor = (a: Attempt): FsmEvent => ({
      type: 'ManualStop',
      subcode,
      ...(options.data !== undefined && { data: options.data }),
      ...(options.message !== undefined && { shutdownMessage: options.message }),
      ...(isHardReset(a, subcode) && { hardReset: true }),
      ...(options.silent === true && a.fsm.name === 'Established' && { silent: true }),
    });
    const second = this.#second;
    if (second !== null) {
      this.#feed(second, eventFor(second));
      this.#discard(second);
    }
    this.#feed(this.#main, eventFor(this.#main));
    this.#clearTimer();
    await Promise.all([...this.#closing]);
  }

  /**
   * AutomaticStop (Event 8), e.g. Cease / BFD Down (RFC 9384); a
   * Hard Reset when RFC 8538 §5.1 says so and the N bit was exchanged.
   */
  automaticStop(subcode: number, message?: string): void {
    this.#feed(this.#main, {
      type: 'AutomaticStop',
      subcode,
      ...(message !== undefined && { message }),
      ...(isHardReset(this.#main, subcode) && { hardReset: true }),
    });
  }

  /** Writes an UPDATE on the Established connection; false when the caller must wait for `drained`. */
  write(frame: Uint8Array): boolean {
    const conn = this.#established === null ? null : this.#main.conn;
    return conn === null ? false : conn.write(frame);
  }

  /** Writes a small control message (End-of-RIB, BoRR/EoRR) on the Established connection. */
  writeControl(frame: Uint8Array): void {
    if (this.#established !== null) this.#main.conn?.writeControl(frame);
  }

  cork(): void {
    if (this.#established !== null) this.#main.conn?.cork();
  }

  uncork(): void {
    this.#main.conn?.uncork();
  }

  /** RFC 4271 §8.2.2: UPDATEs were sent, the KeepaliveTimer restarts. */
  updatesSent(): void {
    if (this.#established !== null) this.#feed(this.#main, { type: 'UpdateMsgSent' });
  }

  /** RFC 2918: asks the peer to resend a family (only when it advertised route refresh). */
  requestRefresh(afi: number, safi: number): boolean {
    if (this.#established === null || !this.#established.negotiated.routeRefresh) return false;
    this.#main.conn?.writeControl(encodeRouteRefresh({ afi, safi }));
    return true;
  }

  /**
   * An incoming connection from this peer's address (RFC 4271 §8.1.3 Event 14). Returns why it
   * was refused, or null when the session took it.
   */
  acceptIncoming(socket: Socket): string | null {
    const main = this.#main;
    if (this.#isStopped) return 'peer is administratively stopped';
    if (main.fsm.name === 'Active' && main.conn === null && main.pending === null) {
      main.conn = this.#wrap(main, socket, 'incoming');
      this.#feed(main, { type: 'TcpConnectionConfirmed' });
      return null;
    }
    if (this.#second !== null) return 'a second connection from this peer is already being set up';
    const second = this.#newAttempt();
    this.#second = second;
    // The second attempt only ever answers: started as passive, it waits in Active.
    second.fsm = step(
      { ...this.#o.fsm, passive: true },
      second.fsm,
      { type: 'ManualStart' },
      this.#env(),
    ).state;
    second.conn = this.#wrap(second, socket, 'incoming');
    this.#feed(second, { type: 'TcpConnectionConfirmed' });
    return null;
  }

  // ---- FSM driving ----------------------------------------------------------------------

  #newAttempt(): Attempt {
    return {
      fsm: initialFsmState(this.#o.fsm, this.#o.now()),
      conn: null,
      pending: null,
      remoteOpen: null,
      negotiated: null,
      isDiscarded: false,
    };
  }

  #env() {
    return { now: this.#o.now(), random: this.#o.random };
  }

  /** Steps one attempt's FSM and executes the actions, in order. Re-entrant. */
  #feed(a: Attempt, event: FsmEvent): void {
    if (a.isDiscarded) return;
    const before = a.fsm;
    const result = step(this.#o.fsm, before, event, this.#env());
    // Nothing happened (most UPDATEs of a table: the HoldTimer deadline stays, fsm/step.ts).
    if (result.state === before && result.actions.length === 0) return;
    a.fsm = result.state;
    for (const action of result.actions) {
      if (a.isDiscarded && action.type !== 'closeConnection') continue;
      this.#execute(a, action, before);
    }
    if (a !== this.#main && !a.isDiscarded && !hasConnection(a)) this.#discard(a);
    this.#refresh(result.reason);
    this.#arm();
  }

  #execute(a: Attempt, action: FsmAction, before: FsmState): void {
    switch (action.type) {
      case 'connect':
        // Only the main attempt initiates connections; a second attempt is answer-only.
        if (a === this.#main) this.#connect(a);
        return;
      case 'closeConnection':
        this.#closeConnection(a);
        return;
      case 'sendOpen':
        a.conn?.writeControl(encodeOpen(this.#open));
        return;
      case 'sendKeepalive':
        a.conn?.writeControl(KEEPALIVE);
        return;
      case 'sendNotification': {
        const conn = a.conn;
        if (conn === null) return;
        const n = {
          code: action.code,
          subcode: action.subcode,
          ...(action.data !== undefined && { data: action.data }),
          ...(action.shutdownMessage !== undefined && { shutdownMessage: action.shutdownMessage }),
        };
        // RFC 8538 §3.1: a Hard Reset carries the NOTIFICATION it stands for.
        conn.writeControl(action.hardReset ? encodeHardReset(n) : encodeNotification(n));
        this.#host.notification({
          direction: 'sent',
          ...(action.hardReset
            ? {
                code: NotifyCode.cease,
                subcode: CeaseSubcode.hardReset,
                encapsulated: { code: action.code, subcode: action.subcode },
              }
            : { code: action.code, subcode: action.subcode }),
          ...(action.shutdownMessage !== undefined && { shutdownMessage: action.shutdownMessage }),
        });
        return;
      }
      case 'established':
        this.#onEstablished(a);
        return;
      case 'down':
        if (a !== this.#main) {
          this.#discard(a);
          return;
        }
        if (isCollision(action.reason) && this.#second !== null && hasConnection(this.#second)) {
          // The peer resolved a collision (RFC 4271 §6.8) before us: the other connection
          // carries the session; this one's end is not the peer's.
          this.#promote(this.#second);
          return;
        }
        this.#lastDownReason = action.reason;
        {
          const wasEstablished = before.name === 'Established' && this.#established !== null;
          this.#established = null;
          this.#host.down(action.reason, wasEstablished);
        }
        return;
      case 'setTimer':
      case 'clearTimer':
        // The state's deadlines are the truth; `#arm` reads them after the step.
        return;
    }
  }

  #onEstablished(a: Attempt): void {
    if (a !== this.#main) this.#promote(a);
    const conn = a.conn;
    if (conn === null || a.remoteOpen === null || a.negotiated === null) return;
    this.#established = {
      localOpen: this.#open,
      remoteOpen: a.remoteOpen,
      negotiated: a.negotiated,
      localAddress: conn.localAddress,
      remoteAddress: conn.remoteAddress,
      direction: conn.direction,
    };
    this.#host.established(this.#established);
  }

  /** Makes `a` the main attempt; the old main stays only while it holds a connection. */
  #promote(a: Attempt): void {
    const old = this.#main;
    // The damping state belongs to the peer, not to one connection.
    a.fsm = {
      ...a.fsm,
      idleHoldTime: old.fsm.idleHoldTime,
      connectRetryCounter: old.fsm.connectRetryCounter,
      // It was started answer-only; as the main attempt it connects out again when it must.
      passiveTcpEstablishment: this.#o.fsm.passive,
    };
    this.#main = a;
    this.#second = null;
    if (old.conn !== null) this.#second = old;
    else this.#discard(old);
  }

  #discard(a: Attempt): void {
    a.isDiscarded = true;
    this.#closeConnection(a);
    if (this.#second === a) this.#second = null;
  }

  #closeConnection(a: Attempt): void {
    if (a.pending !== null) {
      a.pending.destroy();
      a.pending = null;
    }
    const conn = a.conn;
    a.conn = null;
    a.remoteOpen = null;
    a.negotiated = null;
    if (conn !== null) {
      const closing = conn.close();
      this.#closing.add(closing);
      void closing.then(() => this.#closing.delete(closing));
    }
  }

  /** Recomputes the peer's displayed state and reports a change. */
  #refresh(reason: DownReason | undefined): void {
    let name = this.#main.fsm.name;
    const second = this.#second;
    if (second !== null && STATE_RANK[second.fsm.name] > STATE_RANK[name]) name = second.fsm.name;
    if (name === this.#state) return;
    const from = this.#state;
    this.#state = name;
    this.#since = this.#o.wallClock();
    this.#host.stateChanged(from, name, name === 'Idle' ? reason : undefined);
  }

  // ---- timers ---------------------------------------------------------------------------

  /**
   * Arms the host timer for the earliest FSM deadline. A timer already armed for that time or
   * earlier is left alone: every UPDATE and KEEPALIVE moves the HoldTimer's deadline later, and
   * re-arming a host timer per message costs a timer-list removal and insertion each. The early
   * timer fires, `#fire` finds nothing expired and arms for the deadline now in force.
   */
  #arm(): void {
    let at = nextDeadline(this.#main.fsm)?.at ?? Number.POSITIVE_INFINITY;
    const second = this.#second;
    if (second !== null) at = Math.min(at, nextDeadline(second.fsm)?.at ?? Number.POSITIVE_INFINITY);
    if (this.#timer !== null && this.#timerAt <= at) return;
    this.#clearTimer();
    if (at === Number.POSITIVE_INFINITY) return;
    this.#timerAt = at;
    // +1 ms: the host timer's clock and ours round differently; never fire a hair early.
    this.#timer = this.#o.timers.setTimeout(() => this.#fire(), Math.max(0, at - this.#o.now()) + 1);
  }

  #clearTimer(): void {
    if (this.#timer !== null) this.#o.timers.clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }

  /** Feeds every expired timer's event, earliest first, asking again after each step. */
  #fire(): void {
    this.#timer = null;
    this.#timerAt = Number.POSITIVE_INFINITY;
    for (const a of [this.#main, this.#second]) {
      for (let i = 0; a !== null && i < 10 && !a.isDiscarded; i++) {
        const event = expiredTimers(a.fsm, this.#o.now())[0];
        if (event === undefined) break;
        this.#feed(a, event);
      }
    }
    this.#arm();
  }

  // ---- sockets --------------------------------------------------------------------------

  #connect(a: Attempt): void {
    if (a.pending !== null || a.conn !== null) this.#closeConnection(a);
    const socket = this.#openSocket();
    a.pending = socket;
    const onError = (err: NodeJS.ErrnoException) => {
      socket.destroy();
      if (a.pending !== socket) return;
      a.pending = null;
      this.#feed(a, { type: 'TcpConnectionFails', message: err.code ?? err.message });
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      if (a.pending !== socket || a.isDiscarded) {
        socket.destroy();
        return;
      }
      a.pending = null;
      a.conn = this.#wrap(a, socket, 'outgoing');
      this.#feed(a, { type: 'Tcp_CR_Acked' });
    });
  }

  /**
   * A socket connecting to the peer. With a password or TTL options the descriptor is created
   * and keyed first (sockopt.ts), so that the SYN already carries the TCP-MD5 signature and the
   * TTL; Node connects the descriptor it is given. When that fails, the socket fails with the
   * reason as a connect error would.
   */
  #openSocket(): Socket {
    const target = {
      host: this.#o.address,
      port: this.#o.port,
      ...(this.#o.localAddress !== undefined && { localAddress: this.#o.localAddress }),
      noDelay: true,
    };
    const security = this.#o.security;
    if (security === undefined) return connect(target);
    let fd: number;
    try {
      fd = openTcpSocket(ipFamily(this.#o.address) ?? 4, this.#o.address, security);
    } catch (err) {
      const failed = new Socket();
      process.nextTick(() => failed.destroy(err as Error));
      return failed;
    }
    // manualStart: no read before the connection is up (Node starts reading on 'connect').
    const options = { fd, readable: true, writable: true, manualStart: true } as SocketConstructorOpts;
    return new Socket(options).connect(target);
  }

  #wrap(a: Attempt, socket: Socket, direction: ConnectionDirection): Connection {
    const conn: Connection = new Connection(
      socket,
      direction,
      {
        onMessage: (message) => this.#onMessage(a, message),
        onWireError: (error: WireError) => this.#feed(a, eventFromWireError(error)),
        onClosed: (detail) => {
          if (a.conn !== conn) return;
          this.#feed(a, { type: 'TcpConnectionFails', ...(detail !== undefined && { message: detail }) });
        },
        onDrain: () => {
          if (a === this.#main && this.#established !== null) this.#host.drained();
        },
        onInternalError: (error) => {
          const text = error instanceof Error ? error.message : String(error);
          this.#host.warning(`internal error while handling a message: ${text}`);
          if (a.conn === conn)
            this.#feed(a, { type: 'TcpConnectionFails', message: `internal error: ${text}` });
        },
      },
      this.counters,
    );
    return conn;
  }

  #onMessage(a: Attempt, m: BgpMessage): void {
    switch (m.type) {
      case 'open':
        this.#onOpen(a, m);
        return;
      case 'keepalive':
        this.#feed(a, { type: 'KeepAliveMsg' });
        return;
      case 'update':
        this.#feed(a, { type: 'UpdateMsg' });
        if (a === this.#main && this.#established !== null && a.conn !== null) this.#host.update(m);
        return;
      case 'notification': {
        // RFC 8538 §3.1: a Hard Reset's communication is the encapsulated NOTIFICATION's.
        const inner = m.encapsulated;
        const shutdownMessage = inner?.shutdownMessage ?? m.shutdownMessage;
        const extra = {
          ...(shutdownMessage !== undefined && { shutdownMessage }),
          ...(inner !== undefined && { encapsulated: { code: inner.code, subcode: inner.subcode } }),
        };
        this.#host.notification({ direction: 'received', code: m.code, subcode: m.subcode, ...extra });
        if (m.code === NotifyCode.openMessage && m.subcode === OpenSubcode.unsupportedVersionNumber) {
          this.#feed(a, { type: 'NotifMsgVerErr' });
        } else {
          this.#feed(a, { type: 'NotifMsg', code: m.code, subcode: m.subcode, ...extra });
        }
        return;
      }
      case 'routeRefresh':
        this.#feed(a, { type: 'RouteRefreshMsg' });
        if (a === this.#main && this.#established !== null && a.conn !== null) this.#host.routeRefresh(m);
        return;
    }
  }

  /** RFC 4271 §6.2 checks, §6.8 collision detection, then the BGPOpen event. */
  #onOpen(a: Attempt, open: OpenMessage): void {
    const conn = a.conn;
    if (conn === null) return;
    try {
      validateOpen(open, {
        peerAsn: this.#o.peerAsn,
        localBgpId: this.#o.routerId,
        localAsn: this.#o.localAsn,
      });
    } catch (err) {
      if (!isWireError(err)) throw err;
      this.#feed(a, eventFromWireError(err));
      return;
    }
    const other = a === this.#main ? this.#second : this.#main;
    if (other !== null && other.conn !== null && other.fsm.name !== 'Idle' && a.fsm.name === 'OpenSent') {
      if (other.fsm.name === 'Established' && open.capabilities.some((c) => c.kind === 'gracefulRestart')) {
        // RFC 4724 §4.2: the peer restarted; the old session's TCP connection is dead.
        this.#feed(other, {
          type: 'TcpConnectionFails',
          message: 'peer restarted (new OPEN with graceful restart)',
        });
      } else {
        const decision = resolveCollision({
          localId: this.#o.routerId,
          remoteId: open.bgpId,
          existing: { direction: other.conn.direction, state: other.fsm.name },
          arriving: { direction: conn.direction, state: a.fsm.name },
          localAsn: this.#o.localAsn,
          remoteAsn: peerAsnOf(open),
        });
        if (decision.kind === 'close') {
          // The loser gets Cease / Connection Collision Resolution; if it was the main attempt
          // the winner becomes main first, so the loser's end is not the peer's.
          const [loser, winner] = decision.close === 'arriving' ? [a, other] : [other, a];
          if (loser === this.#main) this.#promote(winner);
          this.#feed(loser, { type: 'OpenCollisionDump' });
          if (loser === a) return;
        }
      }
    }
    if (a.isDiscarded || a.conn === null) return;
    a.remoteOpen = open;
    a.negotiated = negotiate(this.#open, open);
    a.conn.setCodec(a.negotiated.codec);
    this.#feed(a, { type: 'BGPOpen', holdTime: open.holdTime });
  }
}

/**
 * RFC 8538 §5.1 / §3: this Cease goes out as a Hard Reset — only to a peer whose OPEN and ours
 * exchanged the N bit (a peer without it does not know the subcode).
 */
function isHardReset(a: Attempt, subcode: number): boolean {
  return a.negotiated?.gracefulNotification === true && isHardResetCease(subcode);
}

function isCollision(reason: DownReason): boolean {
  return reason.code === NotifyCode.cease && reason.subcode === CeaseSubcode.connectionCollisionResolution;
}

function hasConnection(a: Attempt): boolean {
  return a.conn !== null || a.pending !== null;
}

function isWireError(err: unknown): err is WireError {
  return err instanceof Error && 'notifyCode' in err && 'notifySubcode' in err;
}
