// Packing prefixes into UPDATEs in one reusable, preallocated buffer: `addPrefix` returns false
// when the message is full, so the packer starts the next UPDATE (BIRD `bgp_create_ip_reach` /
// `bgp_create_mp_reach` are the model).
//
// Use: `beginReach(attrs, family, nextHop)` (or `beginWithdraw(family)`), then `addPrefix`
// until it returns false, then `finish()` and begin again with the same attributes for the
// prefixes that did not fit. `finish()` returns a copy, so the buffer is reused at once.
//
// Layouts:
// - IPv4 unicast, IPv4 next hop: classic — attributes with NEXT_HOP, NLRI field after them.
// - IPv6 unicast, or IPv4 unicast with an IPv6 next hop (RFC 8950, only when
//   opts.extendedNextHopIpv4): MP_REACH_NLRI as the first attribute (RFC 7606 §5.1), always
//   with the Extended Length flag so its length field never changes size; its NLRI grow
//   in place while the other attributes, encoded once into a scratch buffer, are copied
//   behind them by `finish()` (room for them is reserved from the start, as BIRD does).
// - Withdrawals: the Withdrawn Routes field (IPv4) or MP_UNREACH_NLRI (IPv6).
// AS_PATH/AGGREGATOR are written 4-octet on 4-octet sessions, else 2-octet with AS_TRANS and
// AS4_PATH/AS4_AGGREGATOR (RFC 6793 §4.2.2, see attributes.ts). Inputs are never mutated.

import { BgpError } from '../errors.ts';
import { encodeAttributes } from './attributes.ts';
import { afiOf } from './family.ts';
import { frameMessage, patchLength, writeHeader } from './header.ts';
import { nlriSize, writePackedNlri } from './nlri.ts';
import { parseIp, parsePrefix } from './prefix.ts';
import { PrefixList } from './prefix-list.ts';
import {
  Afi,
  AttrFlag,
  AttrType,
  type CodecOptions,
  type Family,
  MAX_EXTENDED_MESSAGE_LENGTH,
  MAX_MESSAGE_LENGTH,
  MessageType,
  type PathAttributes,
  Safi,
} from './types.ts';
import { ByteWriter } from './writer.ts';

type Mode = 'idle' | 'reach4' | 'mpReach' | 'withdraw4' | 'mpUnreach';

const MP_FLAGS = AttrFlag.optional | AttrFlag.extendedLength;

export class UpdateWriter {
  private readonly opts: CodecOptions;
  private readonly maxLength: number;
  private readonly w: ByteWriter;
  private readonly scratch: ByteWriter;
  private mode: Mode = 'idle';
  private family: Family = 'ipv4-unicast';
  private addPath = false;
  /** Where prefixes may not pass: the end, minus what must still follow them. */
  private limit = 0;
  private attrLenAt = 0;
  private mpLenAt = 0;
  private withdrawnLenAt = 0;
  private prefixes = 0;

  constructor(opts: CodecOptions, maxLength?: number) {
    this.opts = opts;
    this.maxLength = maxLength ?? (opts.extendedMessages ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH);
    if (this.maxLength < 64 || this.maxLength > MAX_EXTENDED_MESSAGE_LENGTH) {
      throw new BgpError('BGP_ERR_ENCODE', `UPDATE size limit ${this.maxLength} is outside 64..65535`);
    }
    this.w = new ByteWriter(this.maxLength);
    this.scratch = new ByteWriter(this.maxLength);
  }

  /** Prefixes added since the last begin. */
  get count(): number {
    return this.prefixes;
  }

  /**
   * Starts an UPDATE announcing prefixes of `family` with `attrs` (its `nextHop` is ignored:
   * `nextHop` is used, and `linkLocalNextHop` for IPv6 next hops, RFC 2545 §3).
   */
  beginReach(attrs: PathAttributes, family: Family, nextHop: string, linkLocalNextHop?: string): void {
    const nh = parseIp(nextHop);
    const ll = linkLocalNextHop === undefined ? undefined : parseIp(linkLocalNextHop);
    if (ll !== undefined && (ll.length !== 16 || nh.length !== 16)) {
      throw new BgpError('BGP_ERR_ENCODE', 'a link-local next hop goes only with an IPv6 next hop');
    }
    this.start(family);
    const w = this.w;
    if (family === 'ipv4-unicast' && nh.length === 4) {
      w.u16(0); // Withdrawn Routes Length
      const attrLenAt = w.reserve16();
      encodeAttributes(w, { ...attrs, nextHop }, this.opts);
      w.patch16(attrLenAt, w.pos - attrLenAt - 2);
      this.mode = 'reach4';
      this.limit = this.maxLength;
    } else {
      if (nh.length === 4)
        throw new BgpError('BGP_ERR_ENCODE', `IPv6 prefixes need an IPv6 next hop, not ${nextHop}`);
      if (family === 'ipv4-unicast' && !this.opts.extendedNextHopIpv4) {
        // RFC 8950 §4: only when the peer advertised Extended Next Hop Encoding.
        throw new BgpError('BGP_ERR_ENCODE', `IPv6 next hop ${nextHop} for IPv4 without extended next hop`);
      }
      const s = this.scratch;
      s.pos = 0;
      const { nextHop: _ignored, ...rest } = attrs;
      encodeAttributes(s, rest, this.opts);
      w.u16(0);
      this.attrLenAt = w.reserve16();
      // RFC 4760 §3: AFI, SAFI, next hop length and address, reserved octet, NLRI.
      w.u8(MP_FLAGS);
      w.u8(AttrType.mpReachNlri);
      this.mpLenAt = w.reserve16();
      w.u16(afiOf(family));
      w.u8(Safi.unicast);
      w.u8(nh.length + (ll?.length ?? 0));
      w.bytes(nh);
      if (ll) w.bytes(ll);
      w.u8(0);
      this.mode = 'mpReach';
      this.limit = this.maxLength - s.pos;
    }
    this.checkRoom();
  }

  /** Starts an UPDATE withdrawing prefixes of `family`. */
  beginWithdraw(family: Family): void {
    this.start(family);
    const w = this.w;
    if (family === 'ipv4-unicast') {
      this.withdrawnLenAt = w.reserve16();
      this.mode = 'withdraw4';
      this.limit = this.maxLength - 2; // Total Path Attribute Length follows
    } else {
      w.u16(0);
      this.attrLenAt = w.reserve16();
      w.u8(MP_FLAGS);
      w.u8(AttrType.mpUnreachNlri);
      this.mpLenAt = w.reserve16();
      w.u16(afiOf(family));
      w.u8(Safi.unicast);
      this.mode = 'mpUnreach';
      this.limit = this.maxLength;
    }
  }

  /**
   * Adds a prefix of the family begun; false when it does not fit (nothing written: call
   * finish() and begin again). `pathId` is written when ADD-PATH send applies to the
   * family (0 when omitted), ignored otherwise.
   */
  addPrefix(prefix: string, pathId?: number): boolean {
    this.#checkBegun();
    const p = parsePrefix(prefix);
    if (p.afi !== afiOf(this.family)) {
      throw new BgpError('BGP_ERR_ENCODE', `prefix ${prefix} is not ${this.family}`);
    }
    const one = new PrefixList(p.afi, 1);
    one.pushText(prefix);
    return this.addPrefixAt(one, 0, pathId);
  }

  /** `addPrefix` for prefix `i` of a packed list (the RIB's batches): no text involved. */
  addPrefixAt(list: PrefixList, i: number, pathId?: number): boolean {
    this.#checkBegun();
    if (list.afi !== afiOf(this.family)) {
      throw new BgpError('BGP_ERR_ENCODE', `prefix ${list.at(i)} is not ${this.family}`);
    }
    const id = this.#pathIdFor(pathId);
    const length = list.lenAt(i);
    if (this.w.pos + nlriSize(length, this.addPath) > this.limit) return false;
    writePackedNlri(this.w, list.words, i * list.width, length, id);
    this.prefixes++;
    return true;
  }

  /**
   * Packs every prefix of `list` into as many UPDATEs as it takes: `begin` starts each one
   * (`beginReach` or `beginWithdraw`, the same every time), `emit` gets each finished one.
   * `pathIds[i]` is prefix i's ADD-PATH path identifier (`addPrefixAt`). Returns how many were
   * emitted (0 for an empty list).
   */
  packAll(
    list: PrefixList,
    begin: (w: UpdateWriter) => void,
    emit: (update: Uint8Array) => void,
    pathIds?: readonly number[],
  ): number {
    if (list.length === 0) return 0;
    let emitted = 0;
    begin(this);
    for (let i = 0; i < list.length; i++) {
      const id = pathIds?.[i];
      if (this.addPrefixAt(list, i, id)) continue;
      emit(this.finish());
      emitted++;
      begin(this);
      this.addPrefixAt(list, i, id);
    }
    if (this.count > 0) {
      emit(this.finish());
      emitted++;
    }
    return emitted;
  }

  #checkBegun(): void {
    if (this.mode === 'idle')
      throw new BgpError('BGP_ERR_ENCODE', 'addPrefix before beginReach/beginWithdraw');
  }

  /** The path identifier to write: undefined without ADD-PATH send. */
  #pathIdFor(pathId: number | undefined): number | undefined {
    if (!this.addPath) return undefined;
    const id = pathId ?? 0;
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) {
      throw new BgpError('BGP_ERR_ENCODE', `path identifier ${id} does not fit 32 bits`);
    }
    return id;
  }

  /** Patches the lengths and returns a copy of the finished UPDATE; the writer is idle again. */
  finish(): Uint8Array {
    const w = this.w;
    switch (this.mode) {
      case 'idle':
        throw new BgpError('BGP_ERR_ENCODE', 'finish before beginReach/beginWithdraw');
      case 'reach4':
        break;
      case 'withdraw4':
        w.patch16(this.withdrawnLenAt, w.pos - this.withdrawnLenAt - 2);
        w.u16(0);
        break;
      case 'mpReach':
        w.patch16(this.mpLenAt, w.pos - this.mpLenAt - 2);
        w.bytes(this.scratch.buf.subarray(0, this.scratch.pos));
        w.patch16(this.attrLenAt, w.pos - this.attrLenAt - 2);
        break;
      case 'mpUnreach':
        w.patch16(this.mpLenAt, w.pos - this.mpLenAt - 2);
        w.patch16(this.attrLenAt, w.pos - this.attrLenAt - 2);
        break;
    }
    patchLength(w);
    this.mode = 'idle';
    return w.toBytes();
  }

  private start(family: Family): void {
    if (family !== 'ipv4-unicast' && family !== 'ipv6-unicast') {
      throw new BgpError('BGP_ERR_ENCODE', `unsupported family ${String(family)}`);
    }
    this.mode = 'idle';
    this.family = family;
    this.addPath = this.opts.addPathSend.has(family);
    this.prefixes = 0;
    this.w.pos = 0;
    writeHeader(this.w, MessageType.update);
  }

  private checkRoom(): void {
    // At least the largest prefix must fit, or packing could never make progress.
    const largest = nlriSize(this.family === 'ipv4-unicast' ? 32 : 128, this.addPath);
    if (this.w.pos + largest > this.limit) {
      this.mode = 'idle';
      throw new BgpError(
        'BGP_ERR_ENCODE',
        `path attributes leave no room for a prefix in ${this.maxLength} bytes`,
      );
    }
  }
}

/**
 * RFC 4724 §2 End-of-RIB: an empty UPDATE for IPv4 unicast, an UPDATE with only an empty
 * MP_UNREACH_NLRI otherwise (BIRD's encoding: no Extended Length flag).
 */
export function encodeEndOfRib(family: Family, _opts?: CodecOptions): Uint8Array {
  if (family === 'ipv4-unicast') return frameMessage(MessageType.update, new Uint8Array(4));
  const afi = family === 'ipv6-unicast' ? Afi.ipv6 : Afi.ipv4;
  return frameMessage(
    MessageType.update,
    new Uint8Array([
      0,
      0,
      0,
      6,
      AttrFlag.optional,
      AttrType.mpUnreachNlri,
      3,
      afi >>> 8,
      afi & 0xff,
      Safi.unicast,
    ]),
  );
}
