// Message dispatch, and the two fixed-size messages: KEEPALIVE (RFC 4271 §4.4) and
// ROUTE-REFRESH (RFC 2918 §3, subtypes per RFC 7313 §3).

import { BgpError, WireError } from '../errors.ts';
import { checkFrame, frameMessage, readHeader } from './header.ts';
import { decodeNotification } from './notification.ts';
import { decodeOpen } from './open.ts';
import {
  type BgpMessage,
  type CodecOptions,
  HEADER_LENGTH,
  HeaderSubcode,
  MAX_EXTENDED_MESSAGE_LENGTH,
  MAX_MESSAGE_LENGTH,
  MessageType,
  NotifyCode,
  type RouteRefreshMessage,
} from './types.ts';
import { decodeUpdateBody } from './update.ts';

/**
 * Decodes one complete frame (as FrameReader returns them). Throws WireError only; `opts` is
 * DEFAULT_CODEC_OPTIONS until both OPENs are in, then `negotiate(...).codec`.
 */
export function decodeMessage(frame: Uint8Array, opts: CodecOptions): BgpMessage {
  const { length, type } = readHeader(
    frame,
    0,
    opts.extendedMessages ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH,
  );
  if (length !== frame.length) {
    throw new WireError(
      NotifyCode.messageHeader,
      HeaderSubcode.badMessageLength,
      `header length ${length} but the frame holds ${frame.length} bytes`,
      new Uint8Array([length >>> 8, length & 0xff]),
    );
  }
  switch (type) {
    case MessageType.open:
      return decodeOpen(frame);
    case MessageType.update:
      return decodeUpdateBody(frame, opts);
    case MessageType.notification:
      return decodeNotification(frame, opts);
    case MessageType.keepalive:
      return KEEPALIVE;
    default:
      return decodeRouteRefresh(frame);
  }
}

const KEEPALIVE = Object.freeze({ type: 'keepalive' as const });

export function encodeKeepalive(): Uint8Array {
  return frameMessage(MessageType.keepalive, new Uint8Array(0));
}

export function decodeRouteRefresh(frame: Uint8Array, _opts?: CodecOptions): RouteRefreshMessage {
  // readHeader enforces the 23 bytes (RFC 7313 §5, Invalid Message Length).
  checkFrame(frame, MessageType.routeRefresh, MAX_MESSAGE_LENGTH);
  const b = frame;
  const afi = ((b[HEADER_LENGTH] as number) << 8) | (b[HEADER_LENGTH + 1] as number);
  const subtype = b[HEADER_LENGTH + 2] as number;
  const safi = b[HEADER_LENGTH + 3] as number;
  if (subtype > 2) {
    // RFC 7313 §5: an unknown subtype MUST be ignored; say so instead of failing.
    return { type: 'routeRefresh', afi, safi, subtype: 0, unknownSubtype: subtype };
  }
  return { type: 'routeRefresh', afi, safi, subtype: subtype as 0 | 1 | 2 };
}

export function encodeRouteRefresh(msg: { afi: number; safi: number; subtype?: 0 | 1 | 2 }): Uint8Array {
  const { afi, safi } = msg;
  const subtype = msg.subtype ?? 0;
  if (
    !Number.isInteger(afi) ||
    afi < 0 ||
    afi > 0xffff ||
    !Number.isInteger(safi) ||
    safi < 0 ||
    safi > 0xff
  ) {
    throw new BgpError('BGP_ERR_ENCODE', `ROUTE-REFRESH AFI/SAFI ${afi}/${safi} out of range`);
  }
  if (subtype !== 0 && subtype !== 1 && subtype !== 2) {
    throw new BgpError('BGP_ERR_ENCODE', `ROUTE-REFRESH subtype ${subtype} is not 0, 1 or 2`);
  }
  return frameMessage(MessageType.routeRefresh, new Uint8Array([afi >>> 8, afi & 0xff, subtype, safi]));
}
