// NOTIFICATION (RFC 4271 §4.5) with the RFC 8203 / RFC 9003 shutdown communication, and the
// RFC names of every code/subcode for display.
//
// Decisions:
// - `data` of a decoded NOTIFICATION is a copy (rare, and it is kept for the API); when a
//   shutdown communication was decoded, `data` is what follows it (usually nothing).
// - A shutdown communication is decoded when Cease 2/4 data starts with a length octet that
//   fits the data and the text is valid UTF-8; bytes after it are tolerated (RFC 9003 §2 lets
//   them be), an invalid one leaves `shutdownMessage` undefined (RFC 9003 §4: log, no error).
// - Encoding truncates the message to 255 bytes on a UTF-8 character boundary (RFC 9003 §2)
//   and the whole NOTIFICATION to 4096 bytes (any peer accepts that size).
// - Cease / Hard Reset (RFC 8538 §3.1) carries the NOTIFICATION it stands for in its Data:
//   `encodeHardReset` builds it, decoding exposes it as `encapsulated` (shutdown communication
//   included) and keeps the whole Data field in `data`, so a decoded Hard Reset re-encodes to
//   the same bytes.

import { BgpError } from '../errors.ts';
import { DEFAULT_CODEC_OPTIONS } from './family.ts';
import { checkFrame, frameMessage } from './header.ts';
import {
  CeaseSubcode,
  type CodecOptions,
  type EncapsulatedNotification,
  HEADER_LENGTH,
  MAX_EXTENDED_MESSAGE_LENGTH,
  MAX_MESSAGE_LENGTH,
  MessageType,
  type NotificationMessage,
  NotifyCode,
} from './types.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

function isShutdown(code: number, subcode: number): boolean {
  return (
    code === NotifyCode.cease &&
    (subcode === CeaseSubcode.administrativeShutdown || subcode === CeaseSubcode.administrativeReset)
  );
}

/** The Data of Cease 2/4 split into the RFC 9003 communication and what follows it, if valid. */
function splitShutdown(data: Uint8Array): { shutdownMessage: string; rest: Uint8Array } | undefined {
  if (data.length === 0) return undefined;
  const len = data[0] as number;
  if (1 + len > data.length) return undefined;
  try {
    return { shutdownMessage: utf8.decode(data.subarray(1, 1 + len)), rest: data.slice(1 + len) };
  } catch {
    return undefined; // not UTF-8: RFC 9003 §4 says log it, not fail
  }
}

export function decodeNotification(
  frame: Uint8Array,
  opts: CodecOptions = DEFAULT_CODEC_OPTIONS,
): NotificationMessage {
  checkFrame(
    frame,
    MessageType.notification,
    opts.extendedMessages ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH,
  );
  const code = frame[HEADER_LENGTH] as number;
  const subcode = frame[HEADER_LENGTH + 1] as number;
  const data = frame.slice(HEADER_LENGTH + 2);
  const msg: NotificationMessage = { type: 'notification', code, subcode, data };
  if (code === NotifyCode.cease && subcode === CeaseSubcode.hardReset && data.length >= 2) {
    // RFC 8538 §3.1: ErrCode (1), Subcode (1), Data (variable) of the NOTIFICATION it stands for.
    const inner: EncapsulatedNotification = {
      code: data[0] as number,
      subcode: data[1] as number,
      data: data.slice(2),
    };
    const split = isShutdown(inner.code, inner.subcode) ? splitShutdown(inner.data) : undefined;
    return {
      ...msg,
      encapsulated: split ? { ...inner, shutdownMessage: split.shutdownMessage, data: split.rest } : inner,
    };
  }
  if (!isShutdown(code, subcode)) return msg;
  // `data` then holds only what follows the communication, so that encoding the decoded
  // message (shutdownMessage + data) gives back the same bytes.
  const split = splitShutdown(data);
  return split ? { ...msg, shutdownMessage: split.shutdownMessage, data: split.rest } : msg;
}

/** The first `max` bytes of `bytes` or fewer, never ending inside a UTF-8 sequence. */
export function truncateUtf8(bytes: Uint8Array, max: number): Uint8Array {
  if (bytes.length <= max) return bytes;
  let n = max;
  // Back off while the first dropped byte is a continuation byte (10xxxxxx).
  while (n > 0 && ((bytes[n] as number) & 0xc0) === 0x80) n--;
  return bytes.subarray(0, n);
}

export interface NotificationInput {
  readonly code: number;
  readonly subcode: number;
  readonly data?: Uint8Array;
  /** RFC 8203/9003 shutdown communication; only for Cease / Administrative Shutdown or Reset. */
  readonly shutdownMessage?: string;
}

/** The Data field: the RFC 9003 communication (when given) followed by `data`. */
function dataOf(n: NotificationInput): Uint8Array {
  const data = n.data ?? new Uint8Array(0);
  if (n.shutdownMessage === undefined) return data;
  if (!isShutdown(n.code, n.subcode)) {
    throw new BgpError(
      'BGP_ERR_ENCODE',
      `a shutdown message goes only with Cease / Administrative Shutdown or Reset, not ${describeNotification(n.code, n.subcode)}`,
    );
  }
  // RFC 9003 §2: length octet + UTF-8 text of at most 255 bytes.
  const text = truncateUtf8(utf8Encoder.encode(n.shutdownMessage), 255);
  const withText = new Uint8Array(1 + text.length + data.length);
  withText[0] = text.length;
  withText.set(text, 1);
  withText.set(data, 1 + text.length);
  return withText;
}

function checkCodes(code: number, subcode: number): void {
  if (
    !Number.isInteger(code) ||
    code < 0 ||
    code > 255 ||
    !Number.isInteger(subcode) ||
    subcode < 0 ||
    subcode > 255
  ) {
    throw new BgpError('BGP_ERR_ENCODE', `NOTIFICATION code ${code}/${subcode} does not fit one octet each`);
  }
}

export function encodeNotification(n: NotificationInput): Uint8Array {
  const { code, subcode } = n;
  checkCodes(code, subcode);
  const data = dataOf(n);
  const room = MAX_MESSAGE_LENGTH - HEADER_LENGTH - 2;
  const body = new Uint8Array(2 + Math.min(data.length, room));
  body[0] = code;
  body[1] = subcode;
  body.set(data.subarray(0, room), 2);
  return frameMessage(MessageType.notification, body);
}

/**
 * RFC 8538 §5.1: the Cease subcodes whose suggested behaviour is a Hard Reset (Maximum Number
 * of Prefixes Reached, Administrative Shutdown, Peer De-configured, Hard Reset, BFD Down). The
 * others (Administrative Reset — "provide user control" — included) are graceful Ceases.
 */
export function isHardResetCease(subcode: number): boolean {
  return (
    subcode === CeaseSubcode.maxPrefixesReached ||
    subcode === CeaseSubcode.administrativeShutdown ||
    subcode === CeaseSubcode.peerDeconfigured ||
    subcode === CeaseSubcode.hardReset ||
    subcode === CeaseSubcode.bfdDown
  );
}

/**
 * RFC 8538 §3.1: Cease / Hard Reset standing for `inner` (e.g. Cease / Administrative Shutdown
 * with its RFC 9003 communication): ErrCode, Subcode and Data of `inner` in the Data field.
 * Only for a peer that exchanged the N bit (RFC 8538 §3: others do not know the subcode).
 */
export function encodeHardReset(inner: NotificationInput): Uint8Array {
  checkCodes(inner.code, inner.subcode);
  const innerData = dataOf(inner);
  const data = new Uint8Array(2 + innerData.length);
  data[0] = inner.code;
  data[1] = inner.subcode;
  data.set(innerData, 2);
  return encodeNotification({ code: NotifyCode.cease, subcode: CeaseSubcode.hardReset, data });
}

const NAMES: Readonly<Record<number, readonly [string, Readonly<Record<number, string>>]>> = {
  1: [
    'Message Header Error',
    { 0: 'Unspecific', 1: 'Connection Not Synchronized', 2: 'Bad Message Length', 3: 'Bad Message Type' },
  ],
  2: [
    'OPEN Message Error',
    {
      0: 'Unspecific',
      1: 'Unsupported Version Number',
      2: 'Bad Peer AS',
      3: 'Bad BGP Identifier',
      4: 'Unsupported Optional Parameter',
      5: 'Authentication Failure (deprecated)',
      6: 'Unacceptable Hold Time',
      7: 'Unsupported Capability',
      11: 'Role Mismatch',
    },
  ],
  3: [
    'UPDATE Message Error',
    {
      0: 'Unspecific',
      1: 'Malformed Attribute List',
      2: 'Unrecognized Well-known Attribute',
      3: 'Missing Well-known Attribute',
      4: 'Attribute Flags Error',
      5: 'Attribute Length Error',
      6: 'Invalid ORIGIN Attribute',
      7: 'AS Routing Loop (deprecated)',
      8: 'Invalid NEXT_HOP Attribute',
      9: 'Optional Attribute Error',
      10: 'Invalid Network Field',
      11: 'Malformed AS_PATH',
    },
  ],
  4: ['Hold Timer Expired', {}],
  5: [
    'Finite State Machine Error',
    {
      0: 'Unspecified Error',
      1: 'Receive Unexpected Message in OpenSent State',
      2: 'Receive Unexpected Message in OpenConfirm State',
      3: 'Receive Unexpected Message in Established State',
    },
  ],
  6: [
    'Cease',
    {
      1: 'Maximum Number of Prefixes Reached',
      2: 'Administrative Shutdown',
      3: 'Peer De-configured',
      4: 'Administrative Reset',
      5: 'Connection Rejected',
      6: 'Other Configuration Change',
      7: 'Connection Collision Resolution',
      8: 'Out of Resources',
      9: 'Hard Reset',
      10: 'BFD Down',
    },
  ],
  7: ['ROUTE-REFRESH Message Error', { 1: 'Invalid Message Length' }],
};

/** "Cease / Administrative Shutdown": the IANA names, for display. */
export function describeNotification(code: number, subcode: number): string {
  const entry = NAMES[code];
  if (entry === undefined) return `Unknown error code ${code} / subcode ${subcode}`;
  const [name, subs] = entry;
  const sub = subs[subcode];
  if (sub !== undefined) return `${name} / ${sub}`;
  return subcode === 0 ? name : `${name} / subcode ${subcode}`;
}
