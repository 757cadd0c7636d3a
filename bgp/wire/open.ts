// OPEN (RFC 4271 §4.2): decode, encode, and the §6.2 checks of the peer's OPEN.
//
// Optional parameters: only type 2, Capabilities (RFC 5492), is supported; any other type is
// OPEN / Unsupported Optional Parameter. Several capabilities per parameter and several
// parameters are accepted. RFC 9072 extended parameters (Non-Ext OP Len 255, type 255,
// 2-octet lengths) are accepted on receipt and used on send only when the capabilities do not
// fit the classic one-octet length, as RFC 9072 §2 requires.

import { BgpError, WireError } from '../errors.ts';
import { decodeCapabilities, encodeCapabilities } from './capabilities.ts';
import { checkFrame, frameMessage } from './header.ts';
import { formatIpv4, parseIp } from './prefix.ts';
import { Reader } from './reader.ts';
import {
  type Capability,
  type CodecOptions,
  HEADER_LENGTH,
  HeaderSubcode,
  MAX_MESSAGE_LENGTH,
  MessageType,
  NotifyCode,
  type OpenMessage,
  OpenSubcode,
} from './types.ts';
import { ByteWriter, checkUint } from './writer.ts';

const CAPABILITIES_PARAM = 2;
/** RFC 9072 §2: the Non-Ext OP Type value that announces the extended format. */
const EXTENDED_PARAMS = 255;
export const BGP_VERSION = 4;

/** The 2/1 NOTIFICATION for `version`; its data is the largest version we support, 2 octets. */
function unsupportedVersion(version: number): WireError {
  return new WireError(
    NotifyCode.openMessage,
    OpenSubcode.unsupportedVersionNumber,
    `BGP version ${version} is not supported, only ${BGP_VERSION}`,
    new Uint8Array([BGP_VERSION >>> 8, BGP_VERSION & 0xff]),
  );
}

/**
 * `_opts` is accepted for symmetry with the other decoders; an OPEN does not depend on it. The
 * version is checked before anything else of the body (RFC 4271 §6.2): a peer speaking another
 * version may lay out the rest differently, and the 2/1 NOTIFICATION tells it which version to
 * retry with, where an error about its parameters would not.
 */
export function decodeOpen(frame: Uint8Array, _opts?: CodecOptions): OpenMessage {
  // RFC 8654 §5: Extended Message never applies to OPEN.
  checkFrame(frame, MessageType.open, MAX_MESSAGE_LENGTH);
  const r = new Reader(frame, HEADER_LENGTH, frame.length, NotifyCode.openMessage, OpenSubcode.unspecific);
  const version = r.u8('version');
  if (version !== BGP_VERSION) throw unsupportedVersion(version);
  const myAsn = r.u16('My Autonomous System');
  const holdTime = r.u16('Hold Time');
  const bgpId = formatIpv4(r.bytes(4, 'BGP Identifier'), 0);
  let optLength = r.u8('Optional Parameters Length');
  const extended = optLength > 0 && r.remaining > 0 && frame[r.pos] === EXTENDED_PARAMS;
  if (extended) {
    r.skip(1);
    optLength = r.u16('Extended Optional Parameters Length');
  }
  if (optLength !== r.remaining) {
    // As BIRD does: the parameters must fill the message exactly.
    throw new WireError(
      NotifyCode.messageHeader,
      HeaderSubcode.badMessageLength,
      `OPEN of ${frame.length} bytes carries ${optLength} bytes of optional parameters, room for ${r.remaining}`,
      new Uint8Array([frame.length >>> 8, frame.length & 0xff]),
    );
  }
  const capabilities: Capability[] = [];
  while (r.remaining > 0) {
    const type = r.u8('parameter type');
    const len = extended ? r.u16('parameter length') : r.u8('parameter length');
    const value = r.sub(len, 'parameter value');
    if (type !== CAPABILITIES_PARAM) {
      // RFC 4271 §6.2.
      throw new WireError(
        NotifyCode.openMessage,
        OpenSubcode.unsupportedOptionalParameter,
        `unsupported optional parameter type ${type}`,
      );
    }
    decodeCapabilities(value, capabilities);
  }
  return { type: 'open', version, myAsn, holdTime, bgpId, capabilities };
}

export function encodeOpen(msg: Omit<OpenMessage, 'type'>): Uint8Array {
  const caps = encodeCapabilities(msg.capabilities);
  const w = new ByteWriter(MAX_MESSAGE_LENGTH - HEADER_LENGTH);
  w.u8(checkUint(msg.version, 8, 'version'));
  w.u16(checkUint(msg.myAsn, 16, 'My Autonomous System'));
  w.u16(checkUint(msg.holdTime, 16, 'Hold Time'));
  const id = parseIp(msg.bgpId);
  if (id.length !== 4)
    throw new BgpError('BGP_ERR_ENCODE', `BGP Identifier ${msg.bgpId} is not an IPv4 address`);
  w.bytes(id);
  if (caps.length === 0) {
    w.u8(0);
  } else if (caps.length + 2 <= 255) {
    w.u8(caps.length + 2);
    w.u8(CAPABILITIES_PARAM);
    w.u8(caps.length);
    w.bytes(caps, 'capabilities');
  } else {
    // RFC 9072 §2: Non-Ext OP Len 255, Non-Ext OP Type 255, Extended Opt. Parm. Length.
    w.u8(255);
    w.u8(EXTENDED_PARAMS);
    w.u16(caps.length + 3);
    w.u8(CAPABILITIES_PARAM);
    w.u16(caps.length);
    w.bytes(caps, 'capabilities');
  }
  return frameMessage(MessageType.open, w.toBytes());
}

/** The peer's AS: the 4-octet AS capability when present (RFC 6793 §4.1), else My AS. */
export function peerAsnOf(open: OpenMessage): number {
  for (const c of open.capabilities) if (c.kind === 'fourOctetAs') return c.asn;
  return open.myAsn;
}

export interface OpenExpectation {
  /** The configured peer AS, or 'any' (e.g. dynamic neighbours). */
  readonly peerAsn: number | 'any';
  /** Our BGP Identifier. */
  readonly localBgpId: string;
  /**
   * Our AS. With it, a peer identifier equal to ours is refused only on iBGP (RFC 6286 §2.2);
   * without it, always (the RFC 4271 §6.2 rule), since iBGP cannot be told apart.
   */
  readonly localAsn?: number;
}

function openError(subcode: number, message: string, data?: Uint8Array): WireError {
  return new WireError(NotifyCode.openMessage, subcode, message, data);
}

/** RFC 4271 §6.2 checks of a received OPEN; throws WireError with the NOTIFICATION to send. */
export function validateOpen(remote: OpenMessage, expect: OpenExpectation): void {
  // decodeOpen refuses other versions already; this covers an OPEN built in code.
  if (remote.version !== BGP_VERSION) throw unsupportedVersion(remote.version);
  const peerAsn = peerAsnOf(remote);
  // RFC 7607 §2: AS 0 in an OPEN is Bad Peer AS, in either place: the 4-octet AS capability
  // (the peer AS when present) or My Autonomous System, even when the capability names
  // another AS.
  if (peerAsn === 0 || remote.myAsn === 0) {
    const where = remote.myAsn === 0 ? 'My Autonomous System' : 'the 4-octet AS capability';
    throw openError(OpenSubcode.badPeerAs, `AS 0 in ${where} is not a valid peer AS`);
  }
  if (expect.peerAsn !== 'any' && peerAsn !== expect.peerAsn) {
    throw openError(OpenSubcode.badPeerAs, `peer AS ${peerAsn}, expected ${expect.peerAsn}`);
  }
  // RFC 6286 §2.2: a non-zero identifier; equal to ours only between different ASes.
  if (remote.bgpId === '0.0.0.0') throw openError(OpenSubcode.badBgpIdentifier, 'BGP Identifier 0.0.0.0');
  const isInternal = expect.localAsn === undefined || expect.localAsn === peerAsn;
  if (isInternal && remote.bgpId === expect.localBgpId) {
    throw openError(OpenSubcode.badBgpIdentifier, `BGP Identifier ${remote.bgpId} is our own`);
  }
  // RFC 4271 §6.2: a Hold Time of 1 or 2 seconds is unacceptable (0 and >= 3 are fine).
  if (remote.holdTime === 1 || remote.holdTime === 2) {
    throw openError(OpenSubcode.unacceptableHoldTime, `Hold Time ${remote.holdTime} is below 3 seconds`);
  }
}
