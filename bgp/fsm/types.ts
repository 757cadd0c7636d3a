// The vocabulary of the RFC 4271 §8 state machine: states, session attributes, events, actions and
// the reason a session went down. Everything here is plain readonly data so a state can be logged,
// compared, replayed and shown by the REST API as it is.
//
// Units: every configured duration is in seconds, as on the wire and in BIRD/GoBGP configs;
// every timer in the state is an absolute deadline in milliseconds on the clock the caller
// injects (`FsmEnv.now`), or null when the timer is not running.

/** RFC 4271 §8.2.2 state names, spelled as the RFC (and the REST API) spells them. */
export const FSM_STATES = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'] as const;
export type FsmStateName = (typeof FSM_STATES)[number];

/** The five timers of RFC 4271 §8 (IdleHoldTimer from the optional DampPeerOscillations). */
export const TIMER_NAMES = ['connectRetry', 'hold', 'keepalive', 'delayOpen', 'idleHold'] as const;
export type TimerName = (typeof TIMER_NAMES)[number];

/** Absolute deadlines (ms) of the running timers; null = not running. */
export type FsmTimers = { readonly [T in TimerName]: number | null };

/**
 * Per-peer FSM configuration, resolved (see `resolveFsmConfig` for defaults and checks).
 * RFC 4271 §8.1.1 names the optional attributes; BIRD/GoBGP names in the comments.
 */
export interface FsmConfig {
  /** HoldTime we offer in OPEN, s: 0 or 3..65535 (RFC 4271 §4.2). Default 90. */
  readonly holdTime: number;
  /** KeepaliveTime, s. Default holdTime/3; 0 iff holdTime is 0. */
  readonly keepaliveTime: number;
  /** The "large value" the HoldTimer gets in OpenSent, s (RFC 4271 §8.2.2 suggests 4 min). */
  readonly openSentHoldTime: number;
  /** First ConnectRetryTimer value, s. RFC 4271 §10 suggests 120; default 5 (BIRD `connect retry time`). */
  readonly connectRetryTime: number;
  /** ConnectRetryTimer doubles on each restart up to this, s. Default 120. */
  readonly connectRetryMaxTime: number;
  /** ± fraction applied to ConnectRetryTimer from the injected random. Default 0.25. */
  readonly connectRetryJitter: number;
  /** PassiveTcpEstablishment: never initiate the TCP connection, wait in Active. */
  readonly passive: boolean;
  /** DelayOpen: after TCP comes up wait delayOpenTime for the peer's OPEN before sending ours. */
  readonly delayOpen: boolean;
  readonly delayOpenTime: number;
  /** DampPeerOscillations: the idle hold time doubles on every flap. Default true. */
  readonly dampPeerOscillations: boolean;
  /** First IdleHoldTimer value, s (BIRD `error wait time` min, GoBGP idle hold). Default 1. */
  readonly idleHoldTime: number;
  /** Upper bound of the doubling idle hold time, s (BIRD `error wait time` max). Default 120. */
  readonly idleHoldMaxTime: number;
  /** Established at least this long, s, resets the idle hold time (BIRD `error forget time`). Default 60. */
  readonly idleHoldStableTime: number;
  /** AllowAutomaticStart: restart by itself after the idle hold time when a session fails. */
  readonly allowAutomaticStart: boolean;
  /** SendNOTIFICATIONwithoutOPEN (RFC 4271 §8.1.1): only matters with delayOpen. Default false. */
  readonly sendNotificationWithoutOpen: boolean;
}

/** What the REST API shows about why a session is down (GoBGP `fsmStateReason`). */
export type DownReasonKind =
  | 'holdTimerExpired'
  | 'notificationSent'
  | 'notificationReceived'
  | 'connectionFailed'
  | 'connectionClosed'
  | 'adminShutdown'
  | 'collision'
  | 'fsmError'
  | 'openRejected';

export interface DownReason {
  readonly kind: DownReasonKind;
  /** NOTIFICATION code/subcode sent or received, when one was. */
  readonly code?: number;
  readonly subcode?: number;
  /** RFC 8203/9003 shutdown communication sent or received. */
  readonly shutdownMessage?: string;
  /** Human readable, BIRD style: "Received: Administrative shutdown: maintenance". */
  readonly message: string;
}

/**
 * The session attributes of RFC 4271 §8 that this FSM keeps. `holdTime`/`keepaliveTime`/
 * `passiveTcpEstablishment`/`delayOpen` are copied from the config when the FSM leaves
 * Idle, so a configuration change applies to the next session, never to a running one.
 */
export interface FsmState {
  readonly name: FsmStateName;
  /** When `name` last changed, ms. */
  readonly lastStateChange: number;
  /** RFC 4271 §8 ConnectRetryCounter. */
  readonly connectRetryCounter: number;
  /** How many times the ConnectRetryTimer was started since ManualStart or Established (backoff exponent). */
  readonly connectRetryAttempt: number;
  /** Configured HoldTime / KeepaliveTime for this session, s. */
  readonly holdTime: number;
  readonly keepaliveTime: number;
  /** Agreed after the peer's OPEN (RFC 4271 §4.2); null before. */
  readonly negotiatedHoldTime: number | null;
  readonly negotiatedKeepaliveTime: number | null;
  readonly timers: FsmTimers;
  readonly passiveTcpEstablishment: boolean;
  readonly delayOpen: boolean;
  /** DampPeerOscillations: how long the next automatic restart waits, s. */
  readonly idleHoldTime: number;
  /** When the current session reached Established, ms; null when not Established. */
  readonly establishedAt: number | null;
  /** True before the first ManualStart and after ManualStop: automatic starts are ignored. */
  readonly isStopped: boolean;
  readonly lastDownReason: DownReason | null;
}

/** Injected clock and randomness: the FSM never reads either itself. */
export interface FsmEnv {
  /** Current time, ms, monotonic. */
  readonly now: number;
  /** Uniform in [0, 1), like Math.random. */
  readonly random: () => number;
}

/** An error found while decoding a received message: what the NOTIFICATION must carry. */
interface MessageError {
  readonly code: number;
  readonly subcode: number;
  readonly data?: Uint8Array;
  readonly message?: string;
}

/**
 * RFC 4271 §8.1 events (numbers in the comments). Folded: Event 4/5/6/7 are 1/3 with
 * `config.passive` and `config.dampPeerOscillations`; Event 20 (BGPOpen while the
 * DelayOpenTimer runs) is Event 19, step tells them apart from the state.
 */
export type FsmEvent =
  /** Event 1 (Event 4 with config.passive). Clears a previous ManualStop. */
  | { readonly type: 'ManualStart' }
  /**
   * Event 2. Cease/Administrative Shutdown by default (RFC 4486), RFC 9003 message; with
   * `hardReset`, sent as Cease / Hard Reset encapsulating that Cease (RFC 8538 §3.1).
   */
  | {
      readonly type: 'ManualStop';
      readonly subcode?: number;
      /** The NOTIFICATION's Data, e.g. AFI/SAFI and limit for Maximum Number of Prefixes Reached. */
      readonly data?: Uint8Array;
      readonly shutdownMessage?: string;
      readonly hardReset?: boolean;
      /**
       * Close the connection without any NOTIFICATION: to a peer that negotiated graceful
       * restart without the N bit, the end of a session that a NOTIFICATION would make it flush
       * (RFC 4724 §4.2: it keeps our routes as stale only when the session ends without one).
       */
      readonly silent?: boolean;
    }
  /** Event 3 (Event 5/6/7). Ignored while stopped, while not allowed, and while the IdleHoldTimer runs. */
  | { readonly type: 'AutomaticStart' }
  /** Event 8: the speaker stops the session itself, e.g. BFD Down (Cease subcode 10). */
  | {
      readonly type: 'AutomaticStop';
      readonly subcode: number;
      readonly message?: string;
      /** Send the Cease as a Hard Reset (RFC 8538 §3.1, §5.1). */
      readonly hardReset?: boolean;
    }
  /** Events 9-13. Ignored when that timer is not running (a stale timer callback). */
  | { readonly type: 'ConnectRetryTimer_Expires' }
  | { readonly type: 'HoldTimer_Expires' }
  | { readonly type: 'KeepaliveTimer_Expires' }
  | { readonly type: 'DelayOpenTimer_Expires' }
  | { readonly type: 'IdleHoldTimer_Expires' }
  /** Event 14: an incoming connection request from the peer's address. */
  | { readonly type: 'TcpConnection_Valid' }
  /** Event 15: an invalid connection request (always ignored; the session rejects it). */
  | { readonly type: 'Tcp_CR_Invalid' }
  /** Event 16: our outgoing connection completed. */
  | { readonly type: 'Tcp_CR_Acked' }
  /** Event 17: an incoming connection completed. */
  | { readonly type: 'TcpConnectionConfirmed' }
  /** Event 18: connect failed, or the established connection was closed or reset. */
  | { readonly type: 'TcpConnectionFails'; readonly message?: string }
  /**
   * Event 19/20: a valid OPEN. `holdTime` is the Hold Time of the peer's OPEN (or the value
   * already negotiated from it — the FSM takes the minimum with its own either way).
   */
  | { readonly type: 'BGPOpen'; readonly holdTime: number }
  /** Event 21: RFC 4271 §6.1 message header error (code 1). */
  | ({ readonly type: 'BGPHeaderErr' } & MessageError)
  /** Event 22: RFC 4271 §6.2 OPEN message error (code 2). */
  | ({ readonly type: 'BGPOpenMsgErr' } & MessageError)
  /** Event 23: collision detection (RFC 4271 §6.8, `resolveCollision`) chose to close this connection. */
  | { readonly type: 'OpenCollisionDump' }
  /** Event 24: NOTIFICATION with OPEN error Unsupported Version Number received. */
  | { readonly type: 'NotifMsgVerErr' }
  /** Event 25: any other NOTIFICATION received. */
  | {
      readonly type: 'NotifMsg';
      readonly code: number;
      readonly subcode: number;
      readonly shutdownMessage?: string;
      /** Of a Cease / Hard Reset: the codes of the NOTIFICATION it stands for (RFC 8538 §3.1). */
      readonly encapsulated?: { readonly code: number; readonly subcode: number };
    }
  /** Event 26/27. */
  | { readonly type: 'KeepAliveMsg' }
  | { readonly type: 'UpdateMsg' }
  /** Event 28: RFC 4271 §6.3 UPDATE error (code 3), or any other message error (e.g. code 7, RFC 7313). */
  | ({ readonly type: 'UpdateMsgErr' } & MessageError)
  /** RFC 2918 ROUTE-REFRESH received: activity like an UPDATE in Established. */
  | { readonly type: 'RouteRefreshMsg' }
  /** The session wrote an UPDATE: RFC 4271 §4.4/§8.2.2, restarts the KeepaliveTimer. */
  | { readonly type: 'UpdateMsgSent' };

export type FsmEventType = FsmEvent['type'];

/** What the session layer must do, in order. The FSM itself has no side effects. */
export type FsmAction =
  /** Initiate the outgoing TCP connection. */
  | { readonly type: 'connect' }
  /** Close this FSM's connection (after writing anything queued before this action). */
  | { readonly type: 'closeConnection' }
  | { readonly type: 'sendOpen' }
  | { readonly type: 'sendKeepalive' }
  | {
      readonly type: 'sendNotification';
      readonly code: number;
      readonly subcode: number;
      readonly data?: Uint8Array;
      readonly shutdownMessage?: string;
      /**
       * Send Cease / Hard Reset with this NOTIFICATION (code, subcode, data, communication)
       * encapsulated in its Data (RFC 8538 §3.1).
       */
      readonly hardReset?: boolean;
    }
  /** Informational: the state's timers are the truth; `nextDeadline(state)` is all a session needs. */
  | { readonly type: 'setTimer'; readonly timer: TimerName; readonly at: number }
  | { readonly type: 'clearTimer'; readonly timer: TimerName }
  /** The session reached Established: announce routes. */
  | { readonly type: 'established' }
  /** The session ended: release its resources and drop the routes learned from the peer. */
  | { readonly type: 'down'; readonly reason: DownReason };

/**
 * The four things the speaker sees, and all it sees of the FSM's states (BIRD `nest/protocol.h`
 * PS_*): start = the FSM left Idle; up = Established; down = the session ended and will be retried
 * per the idle hold time (if allowAutomaticStart); stop = ManualStop, no automatic restart.
 */
export type PeerSignal = 'start' | 'up' | 'down' | 'stop';

export interface StepResult {
  readonly state: FsmState;
  readonly actions: readonly FsmAction[];
  /** Set when this step ended a session (the same value as the `down` action carries). */
  readonly reason?: DownReason;
  readonly signal?: PeerSignal;
}
