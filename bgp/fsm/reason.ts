// Why a session went down, as data the REST API shows (GoBGP `fsmStateReason`), with BIRD's
// wording for the message ("Error: Hold timer expired", "Received: Administrative shutdown:
// maintenance"). NOTIFICATION texts follow the IANA "BGP Error (Notification) Codes" registry.
import { CeaseSubcode, NotifyCode } from '../wire/types.ts';
import type { DownReason, DownReasonKind } from './types.ts';

const CODE_TEXT: Readonly<Record<number, string>> = {
  1: 'Message header error',
  2: 'OPEN message error',
  3: 'UPDATE message error',
  4: 'Hold timer expired',
  5: 'Finite state machine error',
  6: 'Cease',
  7: 'ROUTE-REFRESH message error',
};

const SUBCODE_TEXT: Readonly<Record<number, Readonly<Record<number, string>>>> = {
  // RFC 4271 §4.5
  1: { 1: 'Connection not synchronized', 2: 'Bad message length', 3: 'Bad message type' },
  // RFC 4271 §4.5, RFC 5492 §5, RFC 9234 §4.2
  2: {
    1: 'Unsupported version number',
    2: 'Bad peer AS',
    3: 'Bad BGP identifier',
    4: 'Unsupported optional parameter',
    5: 'Authentication failure',
    6: 'Unacceptable hold time',
    7: 'Unsupported capability',
    11: 'Role mismatch',
  },
  // RFC 4271 §4.5
  3: {
    1: 'Malformed attribute list',
    2: 'Unrecognized well-known attribute',
    3: 'Missing mandatory attribute',
    4: 'Invalid attribute flags',
    5: 'Invalid attribute length',
    6: 'Invalid ORIGIN attribute',
    7: 'AS routing loop',
    8: 'Invalid NEXT_HOP attribute',
    9: 'Optional attribute error',
    10: 'Invalid network field',
    11: 'Malformed AS_PATH',
  },
  // RFC 6608 §4
  5: {
    1: 'Unexpected message in OpenSent state',
    2: 'Unexpected message in OpenConfirm state',
    3: 'Unexpected message in Established state',
  },
  // RFC 4486 §4, RFC 8538 §3, RFC 9384
  6: {
    1: 'Maximum number of prefixes reached',
    2: 'Administrative shutdown',
    3: 'Peer de-configured',
    4: 'Administrative reset',
    5: 'Connection rejected',
    6: 'Other configuration change',
    7: 'Connection collision resolution',
    8: 'Out of resources',
    9: 'Hard reset',
    10: 'BFD down',
  },
  // RFC 7313 §5
  7: { 1: 'Invalid message length' },
};

/** "Malformed AS_PATH", "Hold timer expired", "Cease (subcode 42)", "Unknown error 9 (subcode 1)". */
export function describeNotification(code: number, subcode: number): string {
  const sub = SUBCODE_TEXT[code]?.[subcode];
  if (sub !== undefined) return sub;
  const main = CODE_TEXT[code] ?? `Unknown error ${code}`;
  return subcode === 0 ? main : `${main} (subcode ${subcode})`;
}

/** The codes of the NOTIFICATION a Cease / Hard Reset stands for (RFC 8538 §3.1). */
export interface Encapsulated {
  readonly code: number;
  readonly subcode: number;
}

/** "Hard reset (Administrative shutdown)" for a Hard Reset, else describeNotification. */
function describeWith(code: number, subcode: number, encapsulated: Encapsulated | undefined): string {
  const text = describeNotification(code, subcode);
  return encapsulated === undefined
    ? text
    : `${text} (${describeNotification(encapsulated.code, encapsulated.subcode)})`;
}

function withShutdownMessage(text: string, shutdownMessage: string | undefined): string {
  return shutdownMessage ? `${text}: ${shutdownMessage}` : text;
}

function pick(kind: DownReasonKind, message: string, extra: Partial<DownReason>): DownReason {
  const out: { -readonly [K in keyof DownReason]?: DownReason[K] } = { kind, message };
  if (extra.code !== undefined) out.code = extra.code;
  if (extra.subcode !== undefined) out.subcode = extra.subcode;
  if (extra.shutdownMessage !== undefined) out.shutdownMessage = extra.shutdownMessage;
  return out as DownReason;
}

/** We sent this NOTIFICATION and closed the session. The kind follows the code. */
export function notificationSentReason(
  code: number,
  subcode: number,
  shutdownMessage?: string,
  encapsulated?: Encapsulated,
): DownReason {
  const kind: DownReasonKind =
    code === NotifyCode.holdTimerExpired
      ? 'holdTimerExpired'
      : code === NotifyCode.openMessage
        ? 'openRejected'
        : code === NotifyCode.fsm
          ? 'fsmError'
          : code === NotifyCode.cease && subcode === CeaseSubcode.connectionCollisionResolution
            ? 'collision'
            : 'notificationSent';
  const text = withShutdownMessage(`Error: ${describeWith(code, subcode, encapsulated)}`, shutdownMessage);
  return pick(kind, text, { code, subcode, shutdownMessage });
}

/** The peer's NOTIFICATION closed the session (RFC 4271 §6: the connection closes after it). */
export function notificationReceivedReason(
  code: number,
  subcode: number,
  shutdownMessage?: string,
  encapsulated?: Encapsulated,
): DownReason {
  const text = withShutdownMessage(`Received: ${describeWith(code, subcode, encapsulated)}`, shutdownMessage);
  return pick('notificationReceived', text, { code, subcode, shutdownMessage });
}

/**
 * ManualStop: an operator (or the speaker removing the peer) stopped the session. With
 * `hardReset` the Cease went out as a Hard Reset (RFC 8538 §3.1): code/subcode say so.
 */
export function adminShutdownReason(
  subcode: number,
  notified: boolean,
  shutdownMessage?: string,
  hardReset = false,
): DownReason {
  if (notified && hardReset) {
    const inner = { code: NotifyCode.cease, subcode };
    const text = withShutdownMessage(
      describeWith(NotifyCode.cease, CeaseSubcode.hardReset, inner),
      shutdownMessage,
    );
    return pick('adminShutdown', text, {
      code: NotifyCode.cease,
      subcode: CeaseSubcode.hardReset,
      shutdownMessage,
    });
  }
  const text = withShutdownMessage(describeNotification(NotifyCode.cease, subcode), shutdownMessage);
  return notified
    ? pick('adminShutdown', text, { code: NotifyCode.cease, subcode, shutdownMessage })
    : pick('adminShutdown', text, { shutdownMessage });
}

/**
 * ManualStop without a NOTIFICATION: the connection was closed so that the peer, a graceful
 * restart helper, keeps our routes (RFC 4724 §4.2).
 */
export function silentCloseReason(shutdownMessage?: string): DownReason {
  const text = withShutdownMessage('Closed without NOTIFICATION (graceful restart)', shutdownMessage);
  return pick('adminShutdown', text, { shutdownMessage });
}

/** The TCP connection failed before (connectionFailed) or after (connectionClosed) it was up. */
export function connectionReason(isUp: boolean, detail?: string): DownReason {
  const text = isUp ? 'Connection closed' : 'Connection failed';
  return pick(isUp ? 'connectionClosed' : 'connectionFailed', detail ? `${text}: ${detail}` : text, {});
}

/** An event the state does not allow, where no NOTIFICATION can be sent (no OPEN sent yet). */
export function unexpectedEventReason(event: string, state: string): DownReason {
  return pick('fsmError', `Unexpected ${event} in ${state}`, {});
}

/** A message error found before our OPEN went out; RFC 4271 §8.2.2 sends no NOTIFICATION then. */
export function messageErrorReason(code: number, subcode: number): DownReason {
  const kind: DownReasonKind = code === NotifyCode.openMessage ? 'openRejected' : 'fsmError';
  return pick(kind, `Error (not sent): ${describeNotification(code, subcode)}`, { code, subcode });
}

/** AutomaticStop (RFC 4271 §8.1.2 Event 8): Cease sent when an OPEN was, else just closed. */
export function automaticStopReason(
  subcode: number,
  notified: boolean,
  detail?: string,
  hardReset = false,
): DownReason {
  const base = notified
    ? hardReset
      ? notificationSentReason(NotifyCode.cease, CeaseSubcode.hardReset, undefined, {
          code: NotifyCode.cease,
          subcode,
        })
      : notificationSentReason(NotifyCode.cease, subcode)
    : pick('connectionClosed', `Stopped: ${describeNotification(NotifyCode.cease, subcode)}`, {});
  return detail ? { ...base, message: `${base.message}: ${detail}` } : base;
}
