// The RFC 4271 §4.1 message header and its §6.1 checks.
//
// `readHeader` is called by FrameReader as soon as 19 bytes are there, before any body is buffered,
// so a bad length never makes us buffer anything; and again by every decoder on the complete frame.

import { WireError } from '../errors.ts';
import {
  HEADER_LENGTH,
  HeaderSubcode,
  MAX_MESSAGE_LENGTH,
  MessageType,
  NotifyCode,
  RouteRefreshSubcode,
} from './types.ts';
import type { ByteWriter } from './writer.ts';

/**
 * Smallest legal length of each message type (RFC 4271 §4.2-§4.5). ROUTE-REFRESH has its own
 * exact-length rule below (RFC 7313 §5), which also covers short ones.
 */
const MIN_LENGTH: readonly number[] = [0, 29, 23, 21, 19, 19];

function badLength(length: number, why: string): WireError {
  // RFC 4271 §6.1: the Data field contains the erroneous Length field.
  return new WireError(
    NotifyCode.messageHeader,
    HeaderSubcode.badMessageLength,
    `bad message length ${length}: ${why}`,
    new Uint8Array([length >>> 8, length & 0xff]),
  );
}

/**
 * Checks the header at `offset` (19 bytes must be present) and returns its length and type.
 * `maxLength` is 4096, or 65535 once both sides advertised RFC 8654 Extended Message.
 */
export function readHeader(
  buf: Uint8Array,
  offset: number,
  maxLength: number,
): { length: number; type: number } {
  if (buf.length - offset < HEADER_LENGTH) {
    throw new WireError(
      NotifyCode.messageHeader,
      HeaderSubcode.badMessageLength,
      `a header needs ${HEADER_LENGTH} bytes, got ${buf.length - offset}`,
    );
  }
  // RFC 4271 §6.1: the marker must be all ones, else Connection Not Synchronized.
  for (let i = 0; i < 16; i++) {
    if (buf[offset + i] !== 0xff) {
      throw new WireError(
        NotifyCode.messageHeader,
        HeaderSubcode.connectionNotSynchronized,
        'the header marker is not all ones',
      );
    }
  }
  const length = ((buf[offset + 16] as number) << 8) | (buf[offset + 17] as number);
  const type = buf[offset + 18] as number;
  // RFC 4271 §6.1: 19 <= length <= 4096 (65535 after RFC 8654).
  if (length < HEADER_LENGTH) throw badLength(length, `below the ${HEADER_LENGTH}-byte header`);
  if (length > maxLength) throw badLength(length, `above the maximum ${maxLength}`);
  if (type < MessageType.open || type > MessageType.routeRefresh) {
    // RFC 4271 §6.1: Bad Message Type, the Data field is the erroneous Type field.
    throw new WireError(
      NotifyCode.messageHeader,
      HeaderSubcode.badMessageType,
      `unknown message type ${type}`,
      new Uint8Array([type]),
    );
  }
  // RFC 4271 §6.1: per-type minimum lengths; KEEPALIVE is exactly 19.
  if (length < (MIN_LENGTH[type] as number)) throw badLength(length, `below the minimum for type ${type}`);
  if (type === MessageType.keepalive && length !== HEADER_LENGTH) {
    throw badLength(length, 'a KEEPALIVE is exactly 19 bytes');
  }
  // RFC 8654 §5: the extended length never applies to OPEN.
  if (type === MessageType.open && length > MAX_MESSAGE_LENGTH) {
    throw badLength(length, `an OPEN may not exceed ${MAX_MESSAGE_LENGTH} bytes`);
  }
  if (type === MessageType.routeRefresh && length !== 23) {
    // RFC 7313 §5: a ROUTE-REFRESH whose body is not 4 bytes (no ORF is negotiated) is a
    // ROUTE-REFRESH Message Error / Invalid Message Length, with the message as data: as much
    // of it as the caller has (the whole frame when called from a decoder).
    const have = Math.min(buf.length - offset, length);
    throw new WireError(
      NotifyCode.routeRefresh,
      RouteRefreshSubcode.invalidMessageLength,
      `a ROUTE-REFRESH is exactly 23 bytes, this one is ${length}`,
      buf.slice(offset, offset + have),
    );
  }
  return { length, type };
}

/** Writes a header with the length field zero; `patchLength` fills it in. */
export function writeHeader(w: ByteWriter, type: number): void {
  w.room(HEADER_LENGTH, 'header');
  w.buf.fill(0xff, w.pos, w.pos + 16);
  w.pos += 16;
  w.u16(0);
  w.u8(type);
}

/** Patches the header length of the message that starts at offset 0 and ends at `w.pos`. */
export function patchLength(w: ByteWriter): void {
  w.patch16(16, w.pos);
}

/** A whole message from its type and body. */
export function frameMessage(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH + body.length);
  out.fill(0xff, 0, 16);
  out[16] = out.length >>> 8;
  out[17] = out.length & 0xff;
  out[18] = type;
  out.set(body, HEADER_LENGTH);
  return out;
}

/**
 * Checks that `frame` is exactly one message of `type` and returns it validated; every
 * decodeX starts here so it can be called on its own.
 */
export function checkFrame(frame: Uint8Array, type: number, maxLength: number): void {
  const h = readHeader(frame, 0, maxLength);
  if (h.length !== frame.length) {
    throw badLength(h.length, `the frame holds ${frame.length} bytes`);
  }
  if (h.type !== type) {
    throw new WireError(
      NotifyCode.messageHeader,
      HeaderSubcode.badMessageType,
      `expected message type ${type}, got ${h.type}`,
      new Uint8Array([h.type]),
    );
  }
}
