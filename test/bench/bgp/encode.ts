// A tiny BGP-4 encoder for the ingest benchmark's sender. Deliberately independent of bgp/ (which is the
// code under test): it encodes only what the blaster sends — OPEN, KEEPALIVE, NOTIFICATION, UPDATEs of
// IPv4 /24 NLRI with a fixed attribute layout, End-of-RIB — and frames what it receives.
//
// The whole feed is encoded once, before connecting, into one buffer that is then cut into chunks at
// message boundaries, so a KEEPALIVE written between two chunks never lands inside an UPDATE.

import { type AttrSet, attrSet, attrSetOf, MAX_PREFIXES, prefixAddress } from './feed.ts';

export const MessageType = { open: 1, update: 2, notification: 3, keepalive: 4, routeRefresh: 5 } as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

const HEADER_LEN = 19; // RFC 4271 section 4.1
const MAX_MESSAGE_LEN = 4096;
const AS_TRANS = 23_456; // RFC 6793 section 9

function writeHeader(buf: Buffer, at: number, length: number, type: MessageType): void {
  buf.fill(0xff, at, at + 16);
  buf.writeUInt16BE(length, at + 16);
  buf.writeUInt8(type, at + 18);
}

export function ipv4ToNumber(text: string): number {
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: ${text}`);
  }
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export interface OpenOptions {
  readonly asn: number;
  readonly holdTime: number;
  readonly routerId: string;
}

/** OPEN with capabilities multiprotocol ipv4/unicast, route refresh and 4-octet AS (RFC 5492, 4760, 2918, 6793). */
export function encodeOpen(opts: OpenOptions): Buffer {
  const caps: Buffer[] = [
    Buffer.from([1, 4, 0, 1, 0, 1]), // RFC 4760 section 8: AFI 1, reserved, SAFI 1
    Buffer.from([2, 0]), // RFC 2918 route refresh
    (() => {
      const b = Buffer.alloc(6);
      b.writeUInt8(65, 0); // RFC 6793 section 3
      b.writeUInt8(4, 1);
      b.writeUInt32BE(opts.asn, 2);
      return b;
    })(),
  ];
  // One optional parameter of type 2 (capabilities) per capability, as BIRD and FRR send it.
  const params = Buffer.concat(caps.map((c) => Buffer.concat([Buffer.from([2, c.length]), c])));
  const len = HEADER_LEN + 10 + params.length;
  const buf = Buffer.alloc(len);
  writeHeader(buf, 0, len, MessageType.open);
  buf.writeUInt8(4, 19); // version
  buf.writeUInt16BE(opts.asn > 0xffff ? AS_TRANS : opts.asn, 20);
  buf.writeUInt16BE(opts.holdTime, 22);
  buf.writeUInt32BE(ipv4ToNumber(opts.routerId), 24);
  buf.writeUInt8(params.length, 28);
  params.copy(buf, 29);
  return buf;
}

export function encodeKeepalive(): Buffer {
  const buf = Buffer.alloc(HEADER_LEN);
  writeHeader(buf, 0, HEADER_LEN, MessageType.keepalive);
  return buf;
}

export function encodeNotification(code: number, subcode: number): Buffer {
  const buf = Buffer.alloc(HEADER_LEN + 2);
  writeHeader(buf, 0, buf.length, MessageType.notification);
  buf.writeUInt8(code, 19);
  buf.writeUInt8(subcode, 20);
  return buf;
}

/** RFC 4724 section 2: End-of-RIB for IPv4 unicast is an UPDATE with nothing in it. */
export function encodeEndOfRib(): Buffer {
  const buf = Buffer.alloc(HEADER_LEN + 4);
  writeHeader(buf, 0, buf.length, MessageType.update);
  return buf;
}

/** Path attributes of one set: ORIGIN, AS_PATH (4-octet ASNs), NEXT_HOP, MED, COMMUNITIES. */
export function encodeAttributes(set: AttrSet, nextHop: number): Buffer {
  const asPathLen = 2 + 4 * set.asPath.length;
  const commLen = 4 * set.communities.length;
  const len = 4 + (3 + asPathLen) + 7 + 7 + (3 + commLen);
  const buf = Buffer.alloc(len);
  let at = 0;
  // ORIGIN, well-known mandatory (RFC 4271 section 5.1.1): IGP
  at = buf.writeUInt8(0x40, at);
  at = buf.writeUInt8(1, at);
  at = buf.writeUInt8(1, at);
  at = buf.writeUInt8(0, at);
  // AS_PATH: one AS_SEQUENCE segment; 4-octet ASNs since both sides announce capability 65 (RFC 6793 section 4.1)
  at = buf.writeUInt8(0x40, at);
  at = buf.writeUInt8(2, at);
  at = buf.writeUInt8(asPathLen, at);
  at = buf.writeUInt8(2, at);
  at = buf.writeUInt8(set.asPath.length, at);
  for (const asn of set.asPath) at = buf.writeUInt32BE(asn, at);
  // NEXT_HOP (RFC 4271 section 5.1.3)
  at = buf.writeUInt8(0x40, at);
  at = buf.writeUInt8(3, at);
  at = buf.writeUInt8(4, at);
  at = buf.writeUInt32BE(nextHop, at);
  // MULTI_EXIT_DISC, optional non-transitive (RFC 4271 section 5.1.4)
  at = buf.writeUInt8(0x80, at);
  at = buf.writeUInt8(4, at);
  at = buf.writeUInt8(4, at);
  at = buf.writeUInt32BE(set.med, at);
  // COMMUNITIES, optional transitive (RFC 1997)
  at = buf.writeUInt8(0xc0, at);
  at = buf.writeUInt8(8, at);
  at = buf.writeUInt8(commLen, at);
  for (const [asn, value] of set.communities) {
    at = buf.writeUInt16BE(asn, at);
    at = buf.writeUInt16BE(value, at);
  }
  if (at !== len) throw new Error(`attribute encoding length mismatch: ${at} != ${len}`);
  return buf;
}

export interface EncodedFeed {
  /** The UPDATEs back to back, End-of-RIB not included. */
  readonly bytes: Buffer;
  /** Consecutive slices of `bytes`, each ending on a message boundary. */
  readonly chunks: readonly Buffer[];
  readonly updates: number;
  readonly prefixes: number;
}

export interface FeedOptions {
  readonly n: number;
  readonly attrSets: number;
  readonly nextHop: string;
  /** Chunks are cut at the first message boundary at or after this many bytes. */
  readonly chunkBytes?: number;
}

/** Encode N prefixes as full UPDATEs (≤ 4096 bytes), all NLRI of one attribute set together. */
export function encodeFeed(opts: FeedOptions): EncodedFeed {
  const { n, attrSets } = opts;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PREFIXES) throw new RangeError(`n must be 1..${MAX_PREFIXES}`);
  if (!Number.isInteger(attrSets) || attrSets < 1) throw new RangeError('attrSets must be ≥ 1');
  const sets = Math.min(attrSets, n);
  const nextHop = ipv4ToNumber(opts.nextHop);
  const attrs = Array.from({ length: sets }, (_, s) => encodeAttributes(attrSet(s), nextHop));

  // Upper bound: every prefix in its own 4-byte NLRI, plus a header + attributes per UPDATE.
  let bound = 0;
  for (let s = 0; s < sets; s++) {
    const count = Math.ceil((n - s) / sets);
    const perUpdate = Math.floor((MAX_MESSAGE_LEN - HEADER_LEN - 4 - attrs[s]!.length) / 4);
    bound += count * 4 + Math.ceil(count / perUpdate) * (HEADER_LEN + 4 + attrs[s]!.length);
  }
  const buf = Buffer.allocUnsafe(bound);
  const chunkBytes = opts.chunkBytes ?? 256 * 1024;
  const chunks: Buffer[] = [];
  let chunkStart = 0;
  let at = 0;
  let updates = 0;
  let prefixes = 0;

  for (let s = 0; s < sets; s++) {
    const a = attrs[s]!;
    let i = s;
    while (i < n) {
      const start = at;
      at += HEADER_LEN;
      at = buf.writeUInt16BE(0, at); // withdrawn routes length (RFC 4271 section 4.3)
      at = buf.writeUInt16BE(a.length, at);
      at += a.copy(buf, at);
      // NLRI: length in bits, then the significant octets (3 for a /24)
      while (i < n && at + 4 - start <= MAX_MESSAGE_LEN) {
        const addr = prefixAddress(i);
        buf[at] = 24;
        buf[at + 1] = addr >>> 24;
        buf[at + 2] = (addr >>> 16) & 255;
        buf[at + 3] = (addr >>> 8) & 255;
        at += 4;
        prefixes++;
        i += sets;
        if (attrSetOf(i, sets) !== s) throw new Error('attribute set assignment broke');
      }
      writeHeader(buf, start, at - start, MessageType.update);
      updates++;
      if (at - chunkStart >= chunkBytes) {
        chunks.push(buf.subarray(chunkStart, at));
        chunkStart = at;
      }
    }
  }
  if (at > chunkStart) chunks.push(buf.subarray(chunkStart, at));
  if (prefixes !== n) throw new Error(`encoded ${prefixes} prefixes, wanted ${n}`);
  return { bytes: buf.subarray(0, at), chunks, updates, prefixes };
}

export interface ReceivedMessage {
  readonly type: number;
  readonly body: Buffer;
}

/** Splits a byte stream into BGP messages; checks marker and length before buffering (RFC 4271 section 4.1). */
export class MessageFramer {
  #pending: Buffer = Buffer.alloc(0);

  push(data: Buffer): ReceivedMessage[] {
    this.#pending = this.#pending.length === 0 ? data : Buffer.concat([this.#pending, data]);
    const out: ReceivedMessage[] = [];
    let at = 0;
    while (this.#pending.length - at >= HEADER_LEN) {
      for (let k = 0; k < 16; k++) {
        if (this.#pending[at + k] !== 0xff) throw new Error('BGP header marker is not all ones');
      }
      const len = this.#pending.readUInt16BE(at + 16);
      if (len < HEADER_LEN || len > 65_535) throw new Error(`bad BGP message length ${len}`);
      if (this.#pending.length - at < len) break;
      out.push({
        type: this.#pending[at + 18]!,
        body: Buffer.from(this.#pending.subarray(at + HEADER_LEN, at + len)),
      });
      at += len;
    }
    this.#pending = this.#pending.subarray(at);
    return out;
  }
}

export interface PeerOpen {
  readonly asn: number;
  readonly holdTime: number;
  readonly routerId: string;
  readonly capabilities: readonly number[];
}

export function decodeOpen(body: Buffer): PeerOpen {
  if (body.length < 10) throw new Error('OPEN too short');
  let asn = body.readUInt16BE(1);
  const holdTime = body.readUInt16BE(3);
  const id = body.readUInt32BE(5);
  const optLen = body.readUInt8(9);
  const capabilities: number[] = [];
  let at = 10;
  const end = Math.min(body.length, 10 + optLen);
  while (at + 2 <= end) {
    const type = body[at]!;
    const len = body[at + 1]!;
    if (type === 2) {
      let c = at + 2;
      while (c + 2 <= at + 2 + len) {
        const code = body[c]!;
        const clen = body[c + 1]!;
        capabilities.push(code);
        if (code === 65 && clen === 4) asn = body.readUInt32BE(c + 2);
        c += 2 + clen;
      }
    }
    at += 2 + len;
  }
  const routerId = `${id >>> 24}.${(id >>> 16) & 255}.${(id >>> 8) & 255}.${id & 255}`;
  return { asn, holdTime, routerId, capabilities };
}
