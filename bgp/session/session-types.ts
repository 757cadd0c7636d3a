// The contract between a PeerSession and its owner (the speaker): what the session reports,
// and what it needs to run.
import type { DownReason, FsmConfig, FsmStateName } from '../fsm/index.ts';
import type { Negotiated, OpenMessage, RouteRefreshMessage, UpdateMessage } from '../wire/index.ts';
import type { ConnectionDirection } from './connection.ts';
import type { TcpSecurity } from './sockopt.ts';

export interface EstablishedSession {
  readonly localOpen: OpenMessage;
  readonly remoteOpen: OpenMessage;
  readonly negotiated: Negotiated;
  readonly localAddress: string;
  readonly remoteAddress: string;
  readonly direction: ConnectionDirection;
}

export interface NotificationInfo {
  readonly direction: 'sent' | 'received';
  readonly code: number;
  readonly subcode: number;
  readonly shutdownMessage?: string;
  /** Of a Cease / Hard Reset: the codes of the NOTIFICATION it stands for (RFC 8538 §3.1). */
  readonly encapsulated?: { readonly code: number; readonly subcode: number };
}

/** What the session tells its owner (the speaker). Called synchronously. */
export interface PeerSessionHost {
  /** The peer's state (the most advanced attempt's) changed. */
  readonly stateChanged: (from: FsmStateName, to: FsmStateName, reason: DownReason | undefined) => void;
  readonly established: (session: EstablishedSession) => void;
  /** The main FSM went to Idle; `wasEstablished` when it ended an Established session. */
  readonly down: (reason: DownReason, wasEstablished: boolean) => void;
  readonly update: (message: UpdateMessage) => void;
  readonly routeRefresh: (message: RouteRefreshMessage) => void;
  /** The Established connection can take UPDATEs again. */
  readonly drained: () => void;
  readonly notification: (info: NotificationInfo) => void;
  readonly warning: (reason: string) => void;
}

/** Host timers on the session's clock (`now`): global setTimeout/clearTimeout, or a test's. */
export interface HostTimers {
  readonly setTimeout: (callback: () => void, ms: number) => unknown;
  readonly clearTimeout: (handle: unknown) => void;
}

/** setTimeout/clearTimeout of the host, for the real clock. */
export const HOST_TIMERS: HostTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface PeerSessionOptions {
  /** Canonical peer address. */
  readonly address: string;
  readonly port: number;
  readonly localAddress?: string;
  /**
   * TCP-MD5 key and TTL options of the outgoing connections (sockopt.ts); incoming ones get
   * them from the speaker's listener. Absent: plain sockets.
   */
  readonly security?: TcpSecurity;
  /** The AS the peer must announce (RFC 4271 §6.2 Bad Peer AS). */
  readonly peerAsn: number;
  readonly localAsn: number;
  readonly routerId: string;
  readonly fsm: FsmConfig;
  /** The OPEN we send. */
  readonly open: OpenMessage;
  /** Monotonic clock, ms (FSM deadlines). */
  readonly now: () => number;
  /** Wall clock, ms since the epoch (`since`). */
  readonly wallClock: () => number;
  /** Fires the FSM deadlines: must run on `now`'s clock. */
  readonly timers: HostTimers;
  readonly random: () => number;
  readonly host: PeerSessionHost;
}
