// Path attributes as a descriptor table (BIRD `bgp_attr_table`, GoBGP
// `getErrorHandlingFromPathAttribute`): one entry per type code with its name, the
// Optional/Transitive flags it must carry, its decoder, its encoder and its RFC 7606 action, so
// everything about one attribute is in one place.
//
// Decoders throw WireError (via the bounded Reader or explicitly) with the RFC 4271 §6.3
// subcode; update.ts catches it and applies the entry's `onError` — only 'session-reset'
// lets the error escape. Encoders write the whole attribute (flags, type, length, value) and
// write nothing when the attribute is absent. MP_REACH_NLRI / MP_UNREACH_NLRI are encoded by
// update-writer.ts (their NLRI grow while packing); AS4_PATH / AS4_AGGREGATOR are encoded
// here, from `asPath` / `aggregator`, only on 2-octet sessions (RFC 6793 §4.2.2).

import { BgpError, WireError } from '../errors.ts';
import { decodeAsPath, encodeAsPath, hasConfed, needsAs4Path, withoutConfed } from './as-path.ts';
import { decodeMpReach, decodeMpUnreach, type MpDecodeState } from './mp-attributes.ts';
import { formatIpv4, parseIp } from './prefix.ts';
import type { Reader } from './reader.ts';
import {
  type Aggregator,
  AS_TRANS,
  type AsPathSegment,
  AttrFlag,
  AttrType,
  type CodecOptions,
  type LargeCommunity,
  NotifyCode,
  type OriginCode,
  type PathAttributes,
  UpdateSubcode,
} from './types.ts';
import { type ByteWriter, checkUint } from './writer.ts';

export type AttrErrorAction = 'treat-as-withdraw' | 'attribute-discard' | 'session-reset';

/** Mutable twin of PathAttributes, filled while decoding. */
export type MutableAttributes = { -readonly [K in keyof PathAttributes]: PathAttributes[K] };

export interface AttrDecodeState extends MpDecodeState {
  readonly opts: CodecOptions;
  readonly attrs: MutableAttributes;
  as4Path?: AsPathSegment[];
  as4Aggregator?: Aggregator;
}

export interface AttrDescriptor {
  readonly typeCode: number;
  readonly name: string;
  /** The Optional and Transitive bits the attribute must carry (RFC 4271 §5, RFC 7606 §3.c). */
  readonly flags: number;
  /** RFC 7606 §7 (and RFC 6793 §6, RFC 8092 §11, RFC 7606 §5.3 for MP_*) when malformed. */
  readonly onError: AttrErrorAction;
  /**
   * Set on the attributes an external peer must not send: from one (`CodecOptions.ebgp`) they
   * are discarded, well-formed or not, and `onError` applies to internal peers only. The value
   * is the rule, for the discard's reason.
   */
  readonly discardFromExternal?: string;
  /** Decodes the value in `r` (exactly the attribute's bytes) into `st`. */
  decode(r: Reader, st: AttrDecodeState): void;
  /** Writes the whole attribute when `attrs` has it; absent for MP_REACH/MP_UNREACH. */
  readonly encode?: (w: ByteWriter, attrs: PathAttributes, opts: CodecOptions) => void;
}

const WELL_KNOWN = AttrFlag.transitive;
const OPTIONAL_TRANSITIVE = AttrFlag.optional | AttrFlag.transitive;
const OPTIONAL = AttrFlag.optional;

function lengthError(r: Reader, name: string, why: string): WireError {
  return new WireError(
    NotifyCode.updateMessage,
    UpdateSubcode.attributeLengthError,
    `${name}: ${why} (length ${r.remaining})`,
  );
}

function exactLength(r: Reader, name: string, n: number): void {
  if (r.remaining !== n) throw lengthError(r, name, `must be ${n} bytes`);
}

function multipleOf(r: Reader, name: string, n: number): void {
  // RFC 7606 §7.8/7.10/7.14, RFC 8092 §11: a non-zero multiple of n.
  if (r.remaining === 0 || r.remaining % n !== 0)
    throw lengthError(r, name, `must be a non-zero multiple of ${n}`);
}

/** RFC 7607 §2: AS 0 in AGGREGATOR / AS4_AGGREGATOR makes the attribute malformed. */
function notAsZero(asn: number, name: string): number {
  if (asn === 0) {
    throw new WireError(
      NotifyCode.updateMessage,
      UpdateSubcode.optionalAttributeError,
      `${name} names AS 0 (RFC 7607 §2)`,
    );
  }
  return asn;
}

function readIpv4(r: Reader): string {
  const b = r.bytes(4, 'IPv4 address');
  return formatIpv4(b, 0);
}

/**
 * Writes one attribute. The value is written after a 2-octet length; when it turns out to fit
 * one octet (and `extended` is not forced) it is moved down one byte and the Extended Length
 * flag cleared, so the encoder never has to size a value twice.
 */
export function writeAttribute(
  w: ByteWriter,
  flags: number,
  typeCode: number,
  value: () => void,
  forceExtended = false,
): void {
  const start = w.pos;
  w.u8((flags & ~AttrFlag.extendedLength) | AttrFlag.extendedLength);
  w.u8(typeCode);
  const lenAt = w.reserve16();
  value();
  const len = w.pos - lenAt - 2;
  if (len > 0xffff)
    throw new BgpError('BGP_ERR_ENCODE', `attribute ${typeCode} is ${len} bytes, above 65535`);
  if (len <= 255 && !forceExtended) {
    w.buf.copyWithin(lenAt + 1, lenAt + 2, w.pos);
    w.buf[lenAt] = len;
    w.buf[start] = (w.buf[start] as number) & ~AttrFlag.extendedLength;
    w.pos -= 1;
  } else {
    w.patch16(lenAt, len);
  }
}

function writeIp4(w: ByteWriter, text: string, what: string): void {
  const b = parseIp(text);
  if (b.length !== 4) throw new BgpError('BGP_ERR_ENCODE', `${what} ${text} is not an IPv4 address`);
  w.bytes(b);
}

const descriptors: AttrDescriptor[] = [
  {
    typeCode: AttrType.origin,
    name: 'ORIGIN',
    flags: WELL_KNOWN,
    onError: 'treat-as-withdraw', // RFC 7606 §7.1
    decode(r, st) {
      exactLength(r, 'ORIGIN', 1);
      const v = r.u8();
      if (v > 2) {
        throw new WireError(
          NotifyCode.updateMessage,
          UpdateSubcode.invalidOriginAttribute,
          `ORIGIN value ${v} is undefined`,
        );
      }
      st.attrs.origin = v as OriginCode;
    },
    encode(w, a) {
      if (a.origin === undefined) return;
      const v = checkUint(a.origin, 8, 'ORIGIN');
      writeAttribute(w, WELL_KNOWN, AttrType.origin, () => w.u8(v));
    },
  },
  {
    typeCode: AttrType.asPath,
    name: 'AS_PATH',
    flags: WELL_KNOWN,
    onError: 'treat-as-withdraw', // RFC 7606 §7.2, RFC 7607 §2 (AS 0), RFC 5065 §5 (confederation)
    decode(r, st) {
      const sub = r.sub(r.remaining, 'AS_PATH', NotifyCode.updateMessage, UpdateSubcode.malformedAsPath);
      const path = decodeAsPath(sub, st.opts.fourOctetAs ? 4 : 2);
      // RFC 5065 §5: confederation segments from a neighbour outside our confederation make
      // the AS_PATH malformed. We run no confederation, so every external peer is outside it;
      // an internal peer shares our AS, and with it any confederation our AS belongs to.
      if (st.opts.ebgp === true && hasConfed(path)) {
        throw new WireError(
          NotifyCode.updateMessage,
          UpdateSubcode.malformedAsPath,
          'confederation segment from an external peer (RFC 5065 §5)',
        );
      }
      st.attrs.asPath = path;
    },
    encode(w, a, opts) {
      const path = a.asPath;
      if (path === undefined) return;
      writeAttribute(w, WELL_KNOWN, AttrType.asPath, () => encodeAsPath(w, path, opts.fourOctetAs ? 4 : 2));
    },
  },
  {
    typeCode: AttrType.nextHop,
    name: 'NEXT_HOP',
    flags: WELL_KNOWN,
    onError: 'treat-as-withdraw', // RFC 7606 §7.3
    decode(r, st) {
      exactLength(r, 'NEXT_HOP', 4);
      const first = r.buf[r.pos] as number;
      const nh = readIpv4(r);
      // RFC 4271 §6.3: it must be a valid IP host address. RFC 1122 §3.2.1.3: "this network"
      // (0.0.0.0/8), multicast (224/4) and class E with the broadcast address (240/4) are
      // not. Loopback (127/8) is kept: speakers peering over 127.0.0.1 announce it. Whether
      // it is our own address is the RIB's call. update.ts ignores a bad NEXT_HOP instead
      // when the UPDATE has no IPv4 NLRI (RFC 4760 §3).
      if (first === 0 || first >= 224) {
        throw new WireError(
          NotifyCode.updateMessage,
          UpdateSubcode.invalidNextHopAttribute,
          `NEXT_HOP ${nh} is not a host address`,
        );
      }
      st.attrs.nextHop = nh;
    },
    encode(w, a) {
      const nh = a.nextHop;
      if (nh === undefined) return;
      writeAttribute(w, WELL_KNOWN, AttrType.nextHop, () => writeIp4(w, nh, 'NEXT_HOP'));
    },
  },
  {
    typeCode: AttrType.med,
    name: 'MULTI_EXIT_DISC',
    flags: OPTIONAL,
    onError: 'treat-as-withdraw', // RFC 7606 §7.4
    decode(r, st) {
      exactLength(r, 'MULTI_EXIT_DISC', 4);
      st.attrs.med = r.u32();
    },
    encode(w, a) {
      if (a.med === undefined) return;
      const v = checkUint(a.med, 32, 'MED');
      writeAttribute(w, OPTIONAL, AttrType.med, () => w.u32(v));
    },
  },
  {
    typeCode: AttrType.localPref,
    name: 'LOCAL_PREF',
    flags: WELL_KNOWN,
    onError: 'treat-as-withdraw', // RFC 7606 §7.5, from an internal peer
    discardFromExternal: 'RFC 7606 §7.5',
    decode(r, st) {
      exactLength(r, 'LOCAL_PREF', 4);
      st.attrs.localPref = r.u32();
    },
    encode(w, a) {
      if (a.localPref === undefined) return;
      const v = checkUint(a.localPref, 32, 'LOCAL_PREF');
      writeAttribute(w, WELL_KNOWN, AttrType.localPref, () => w.u32(v));
    },
  },
  {
    typeCode: AttrType.atomicAggregate,
    name: 'ATOMIC_AGGREGATE',
    flags: WELL_KNOWN,
    onError: 'attribute-discard', // RFC 7606 §7.6
    decode(r, st) {
      exactLength(r, 'ATOMIC_AGGREGATE', 0);
      st.attrs.atomicAggregate = true;
    },
    encode(w, a) {
      if (a.atomicAggregate !== true) return;
      writeAttribute(w, WELL_KNOWN, AttrType.atomicAggregate, () => {});
    },
  },
  {
    typeCode: AttrType.aggregator,
    name: 'AGGREGATOR',
    flags: OPTIONAL_TRANSITIVE,
    onError: 'attribute-discard', // RFC 7606 §7.7, RFC 7607 §2
    decode(r, st) {
      const four = st.opts.fourOctetAs;
      exactLength(r, 'AGGREGATOR', four ? 8 : 6);
      const asn = notAsZero(four ? r.u32() : r.u16(), 'AGGREGATOR');
      st.attrs.aggregator = { asn, address: readIpv4(r) };
    },
    encode(w, a, opts) {
      const agg = a.aggregator;
      if (agg === undefined) return;
      const asn = checkUint(agg.asn, 32, 'AGGREGATOR AS');
      writeAttribute(w, OPTIONAL_TRANSITIVE, AttrType.aggregator, () => {
        if (opts.fourOctetAs) w.u32(asn);
        else w.u16(asn > 0xffff ? AS_TRANS : asn); // RFC 6793 §4.2.2
        writeIp4(w, agg.address, 'AGGREGATOR address');
      });
    },
  },
  {
    typeCode: AttrType.communities,
    name: 'COMMUNITIES',
    flags: OPTIONAL_TRANSITIVE,
    onError: 'treat-as-withdraw', // RFC 7606 §7.8
    decode(r, st) {
      multipleOf(r, 'COMMUNITIES', 4);
      const out: number[] = new Array(r.remaining / 4);
      for (let i = 0; i < out.length; i++) out[i] = r.u32();
      st.attrs.communities = out;
    },
    encode(w, a) {
      const list = a.communities;
      if (list === undefined || list.length === 0) return;
      writeAttribute(w, OPTIONAL_TRANSITIVE, AttrType.communities, () => {
        for (const c of list) w.u32(checkUint(c, 32, 'community'));
      });
    },
  },
  {
    typeCode: AttrType.originatorId,
    name: 'ORIGINATOR_ID',
    flags: OPTIONAL,
    onError: 'treat-as-withdraw', // RFC 7606 §7.9, from an internal peer
    discardFromExternal: 'RFC 7606 §7.9',
    decode(r, st) {
      exactLength(r, 'ORIGINATOR_ID', 4);
      st.attrs.originatorId = readIpv4(r);
    },
    encode(w, a) {
      const id = a.originatorId;
      if (id === undefined) return;
      writeAttribute(w, OPTIONAL, AttrType.originatorId, () => writeIp4(w, id, 'ORIGINATOR_ID'));
    },
  },
  {
    typeCode: AttrType.clusterList,
    name: 'CLUSTER_LIST',
    flags: OPTIONAL,
    onError: 'treat-as-withdraw', // RFC 7606 §7.10, from an internal peer
    discardFromExternal: 'RFC 7606 §7.10',
    decode(r, st) {
      multipleOf(r, 'CLUSTER_LIST', 4);
      const out: string[] = [];
      while (r.remaining > 0) out.push(readIpv4(r));
      st.attrs.clusterList = out;
    },
    encode(w, a) {
      const list = a.clusterList;
      if (list === undefined || list.length === 0) return;
      writeAttribute(w, OPTIONAL, AttrType.clusterList, () => {
        for (const id of list) writeIp4(w, id, 'CLUSTER_LIST id');
      });
    },
  },
  {
    typeCode: AttrType.mpReachNlri,
    name: 'MP_REACH_NLRI',
    flags: OPTIONAL,
    onError: 'session-reset', // RFC 7606 §7.11 (next hop length), §5.3 (NLRI)
    decode: (r, st) => decodeMpReach(r, st, st.opts),
  },
  {
    typeCode: AttrType.mpUnreachNlri,
    name: 'MP_UNREACH_NLRI',
    flags: OPTIONAL,
    onError: 'session-reset', // RFC 7606 §5.3
    decode: (r, st) => decodeMpUnreach(r, st, st.opts),
  },
  {
    typeCode: AttrType.extendedCommunities,
    name: 'EXTENDED_COMMUNITIES',
    flags: OPTIONAL_TRANSITIVE,
    onError: 'treat-as-withdraw', // RFC 7606 §7.14
    decode(r, st) {
      multipleOf(r, 'EXTENDED_COMMUNITIES', 8);
      const out: bigint[] = [];
      while (r.remaining > 0) {
        const hi = r.u32();
        const lo = r.u32();
        out.push((BigInt(hi) << 32n) | BigInt(lo));
      }
      st.attrs.extendedCommunities = out;
    },
    encode(w, a) {
      const list = a.extendedCommunities;
      if (list === undefined || list.length === 0) return;
      writeAttribute(w, OPTIONAL_TRANSITIVE, AttrType.extendedCommunities, () => {
        for (const c of list) {
          if (c < 0n || c > 0xffffffffffffffffn) {
            throw new BgpError('BGP_ERR_ENCODE', `extended community ${c} does not fit in 64 bits`);
          }
          w.u32(Number(c >> 32n));
          w.u32(Number(c & 0xffffffffn));
        }
      });
    },
  },
  {
    typeCode: AttrType.as4Path,
    name: 'AS4_PATH',
    flags: OPTIONAL_TRANSITIVE,
    onError: 'attribute-discard', // RFC 6793 §6; AS 0 too (RFC 7607 §2 defers to RFC 6793)
    decode(r, st) {
      const sub = r.sub(r.remaining, 'AS4_PATH', NotifyCode.updateMessage, UpdateSubcode.malformedAsPath);
      // RFC 6793 §6: confederation segments in AS4_PATH are discarded, the rest used.
      st.as4Path = withoutConfed(decodeAsPath(sub, 4));
    },
    encode(w, a, opts) {
      const path = a.asPath;
      if (opts.fourOctetAs || path === undefined || !needsAs4Path(path)) return;
      // RFC 6793 §4.2.2: the exact path, without confederation segments (§3).
      writeAttribute(w, OPTIONAL_TRANSITIVE, AttrType.as4Path, () => encodeAsPath(w, withoutConfed(path), 4));
    },
  },
  {
    typeCode: AttrType.as4Aggregator,
    name: 'AS4_AGGREGATOR',
    flags: OPTIONAL_TRANSITIVE,
    onError: 'attribute-discard', // RFC 6793 §6, RFC 7607 §2
    decode(r, st) {
      exactLength(r, 'AS4_AGGREGATOR', 8);
      const asn = notAsZero(r.u32(), 'AS4_AGGREGATOR');
      st.as4Aggregator = { asn, address: readIpv4(r) };
    },
    encode(w, a, opts) {
      const agg = a.aggregator;
      if (opts.fourOctetAs || agg === undefined || agg.asn <= 0xffff) return;
      writeAttribute(w, OPTIONAL_TRANSITIVE, AttrType.as4Aggregator, () => {
        w.u32(agg.asn);
        writeIp4(w, agg.address, 'AS4_AGGREGATOR address');
      });
    },
  },
  {
    typeCode: AttrType.largeCommunities,
    name: 'LARGE_COMMUNITY',
    flags: OPTIONAL_TRANSITIVE,
    onError: 'treat-as-withdraw', // RFC 8092 §11
    decode(r, st) {
      multipleOf(r, 'LARGE_COMMUNITY', 12);
      const out: LargeCommunity[] = [];
      while (r.remaining > 0) out.push({ globalAdmin: r.u32(), localData1: r.u32(), localData2: r.u32() });
      st.attrs.largeCommunities = out;
    },
    encode(w, a) {
      const list = a.largeCommunities;
      if (list === undefined || list.length === 0) return;
      writeAttribute(w, OPTIONAL_TRANSITIVE, AttrType.largeCommunities, () => {
        for (const c of list) {
          w.u32(checkUint(c.globalAdmin, 32, 'large community global administrator'));
          w.u32(checkUint(c.localData1, 32, 'large community local data 1'));
          w.u32(checkUint(c.localData2, 32, 'large community local data 2'));
        }
      });
    },
  },
];

/** The table, indexed by type code. */
export const ATTRIBUTE_TABLE: readonly (AttrDescriptor | undefined)[] = (() => {
  const t: (AttrDescriptor | undefined)[] = new Array(256).fill(undefined);
  for (const d of descriptors) t[d.typeCode] = d;
  return t;
})();

/** The RFC name of an attribute type code, for messages and the API. */
export function attributeName(typeCode: number): string {
  return ATTRIBUTE_TABLE[typeCode]?.name ?? `attribute ${typeCode}`;
}

/**
 * Writes every attribute of `attrs` except MP_REACH/MP_UNREACH, in type-code order, then the
 * unknown transitive ones as received (their Partial bit is already set).
 */
export function encodeAttributes(w: ByteWriter, attrs: PathAttributes, opts: CodecOptions): void {
  for (const d of descriptors) d.encode?.(w, attrs, opts);
  for (const u of attrs.unknown ?? []) {
    checkUint(u.typeCode, 8, 'attribute type code');
    if ((u.flags & AttrFlag.optional) === 0) {
      throw new BgpError(
        'BGP_ERR_ENCODE',
        `unknown attribute ${u.typeCode} must be optional (flags 0x${u.flags.toString(16)})`,
      );
    }
    writeAttribute(w, checkUint(u.flags, 8, 'attribute flags'), u.typeCode, () => w.bytes(u.value));
  }
}
