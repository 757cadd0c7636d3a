// UPDATE decoding (RFC 4271 §4.3) with the RFC 7606 revised error handling.
//
// Outcomes, strongest first:
// - session reset (a WireError escapes): the withdrawn/attribute lengths exceed the message
//   (RFC 4271 §6.3, Malformed Attribute List), unparseable withdrawn or NLRI fields (Invalid
//   Network Field, RFC 7606 §5.3), a malformed MP_REACH/MP_UNREACH (RFC 7606 §7.11, §5.3) or a
//   duplicate one (RFC 7606 §3.g), an unrecognized well-known attribute (RFC 4271 §6.3).
// - treat-as-withdraw: the message decodes with all its NLRI and `treatAsWithdraw` set, so
//   the RIB withdraws them (RFC 7606 §2). The first reason is kept.
// - attribute-discard: the attribute is left out and listed in `discarded`.
// The per-attribute choice comes from the descriptor table in attributes.ts. LOCAL_PREF,
// ORIGINATOR_ID and CLUSTER_LIST depend on the session type (`opts.ebgp`): from an external peer
// they are discarded whatever their content, from an internal one they follow `onError`.
// Confederation segments make AS_PATH malformed from an external peer only (RFC 5065 §5). A
// bad NEXT_HOP is ignored when the UPDATE has no IPv4 NLRI in its NLRI field (RFC 4760 §3).

import { WireError } from '../errors.ts';
import { mergeAs4Path } from './as-path.ts';
import { ATTRIBUTE_TABLE, type AttrDecodeState, type AttrErrorAction, attributeName } from './attributes.ts';
import { checkFrame } from './header.ts';
import { decodeNlri } from './nlri.ts';
import { Reader } from './reader.ts';
import {
  Afi,
  AS_TRANS,
  AttrFlag,
  type AttributeIssue,
  AttrType,
  type CodecOptions,
  HEADER_LENGTH,
  MAX_EXTENDED_MESSAGE_LENGTH,
  MAX_MESSAGE_LENGTH,
  MessageType,
  type NlriBlock,
  NotifyCode,
  type ReachBlock,
  Safi,
  type UnknownAttribute,
  type UpdateMessage,
  UpdateSubcode,
} from './types.ts';

/** Stamp per type code of the UPDATE being decoded, for RFC 7606 §3.g duplicate detection. */
const seen = new Uint32Array(256);
let generation = 0;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Decodes a complete UPDATE frame (header included). Throws WireError for a session reset. */
export function decodeUpdate(frame: Uint8Array, opts: CodecOptions): UpdateMessage {
  checkFrame(
    frame,
    MessageType.update,
    opts.extendedMessages ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH,
  );
  return decodeUpdateBody(frame, opts);
}

/** Decodes an UPDATE whose header was already checked. */
export function decodeUpdateBody(frame: Uint8Array, opts: CodecOptions): UpdateMessage {
  const body = new Reader(
    frame,
    HEADER_LENGTH,
    frame.length,
    NotifyCode.updateMessage,
    UpdateSubcode.malformedAttributeList,
  );
  // RFC 4271 §6.3: lengths that exceed the message are a Malformed Attribute List.
  const withdrawnLength = body.u16('Withdrawn Routes Length');
  const withdrawnField = body.sub(
    withdrawnLength,
    'Withdrawn Routes',
    NotifyCode.updateMessage,
    UpdateSubcode.invalidNetworkField,
  );
  const attrLength = body.u16('Total Path Attribute Length');
  const attrField = body.sub(attrLength, 'Path Attributes');
  const nlriField = new Reader(
    frame,
    body.pos,
    frame.length,
    NotifyCode.updateMessage,
    UpdateSubcode.invalidNetworkField,
  );

  // RFC 4760 §3: NEXT_HOP matters only with IPv4 NLRI in the NLRI field. Without them a
  // malformed or invalid NEXT_HOP is ignored (left out, listed in `discarded`) and withdraws
  // nothing; with them it is treat-as-withdraw (RFC 7606 §7.3). An NLRI field that does not
  // parse resets the session below, so "not empty" is "has IPv4 NLRI" here.
  const hasNlri4 = nlriField.remaining > 0;
  const ipv4AddPath = opts.addPathReceive.has('ipv4-unicast');
  const withdrawn4Ids = ipv4AddPath ? ([] as number[]) : undefined;
  const withdrawn4 = decodeNlri(withdrawnField, Afi.ipv4, withdrawn4Ids);

  const st: AttrDecodeState = { opts, attrs: {}, reach: [], withdrawn: [], discarded: [] };
  let treatAsWithdraw: AttributeIssue | undefined;
  let unknown: UnknownAttribute[] | undefined;
  let attrCount = 0;

  generation = (generation + 1) >>> 0;
  if (generation === 0) {
    seen.fill(0);
    generation = 1;
  }

  const b = frame;
  while (attrField.remaining > 0) {
    const start = attrField.pos;
    const flags = b[start] as number;
    const typeCode = b[start + 1] as number;
    const headerSize = flags & AttrFlag.extendedLength ? 4 : 3;
    const isMp = typeCode === AttrType.mpReachNlri || typeCode === AttrType.mpUnreachNlri;
    const valueLength =
      attrField.remaining < headerSize
        ? -1
        : headerSize === 4
          ? ((b[start + 2] as number) << 8) | (b[start + 3] as number)
          : (b[start + 2] as number);
    if (valueLength < 0 || start + headerSize + valueLength > attrField.end) {
      // RFC 7606 §4: too few octets for an attribute header, or an attribute running past
      // the Total Path Attribute Length. Treat-as-withdraw, and the Total Path Attribute
      // Length still locates the NLRI. An MP attribute cut short hides NLRI that can then
      // be neither used nor withdrawn: the more severe session reset.
      if (valueLength >= 0 && isMp) {
        throw new WireError(
          NotifyCode.updateMessage,
          UpdateSubcode.optionalAttributeError,
          `${attributeName(typeCode)} of length ${valueLength} runs past the path attributes`,
          frame.slice(start, attrField.end),
        );
      }
      treatAsWithdraw ??= {
        typeCode: valueLength < 0 ? 0 : typeCode,
        action: 'treat-as-withdraw',
        reason:
          valueLength < 0
            ? `${attrField.remaining} trailing bytes cannot hold an attribute header (RFC 7606 §4)`
            : `${attributeName(typeCode)} of length ${valueLength} runs past the path attributes (RFC 7606 §4)`,
      };
      break;
    }
    attrField.pos = start + headerSize;
    const value = attrField.sub(
      valueLength,
      'attribute',
      NotifyCode.updateMessage,
      UpdateSubcode.attributeLengthError,
    );
    attrCount++;

    // RFC 7606 §3.g: a repeated MP_REACH/MP_UNREACH resets; other repeats are discarded.
    if (seen[typeCode] === generation) {
      if (isMp) {
        throw new WireError(
          NotifyCode.updateMessage,
          UpdateSubcode.malformedAttributeList,
          `${attributeName(typeCode)} appears more than once`,
        );
      }
      st.discarded.push({
        typeCode,
        action: 'attribute-discard',
        reason: `repeated ${attributeName(typeCode)} discarded (RFC 7606 §3.g)`,
      });
      continue;
    }
    seen[typeCode] = generation;

    const d = ATTRIBUTE_TABLE[typeCode];
    if (d === undefined) {
      if ((flags & AttrFlag.optional) === 0) {
        // RFC 4271 §6.3: the Data field holds the unrecognized attribute.
        throw new WireError(
          NotifyCode.updateMessage,
          UpdateSubcode.unrecognizedWellKnownAttribute,
          `unrecognized well-known attribute ${typeCode}`,
          frame.slice(start, value.end),
        );
      }
      // RFC 4271 §5: optional transitive is passed on with the Partial bit set; optional
      // non-transitive is quietly ignored. The value is copied (it outlives the frame).
      if (flags & AttrFlag.transitive) {
        unknown ??= [];
        unknown.push({
          flags: (flags | AttrFlag.partial) & ~AttrFlag.extendedLength,
          typeCode,
          value: frame.slice(value.pos, value.end),
        });
      }
      continue;
    }

    if (d.discardFromExternal !== undefined && opts.ebgp === true) {
      st.discarded.push({
        typeCode,
        action: 'attribute-discard',
        reason: `${d.name} from an external peer discarded (${d.discardFromExternal})`,
      });
      continue;
    }

    if (opts.fourOctetAs && (typeCode === AttrType.as4Path || typeCode === AttrType.as4Aggregator)) {
      // RFC 6793 §4.1: a NEW speaker discards AS4_PATH / AS4_AGGREGATOR from a NEW speaker.
      st.discarded.push({
        typeCode,
        action: 'attribute-discard',
        reason: `${d.name} received on a 4-octet AS session (RFC 6793 §4.1)`,
      });
      continue;
    }

    const ignoredNextHop = typeCode === AttrType.nextHop && !hasNlri4;
    const onError: AttrErrorAction = ignoredNextHop ? 'attribute-discard' : d.onError;
    const ignoredWhy = ignoredNextHop ? ', ignored without IPv4 NLRI (RFC 4760 §3)' : '';

    // RFC 7606 §3.c: Optional/Transitive bits in conflict with the attribute's definition.
    const flagsOk = (flags & (AttrFlag.optional | AttrFlag.transitive)) === d.flags;
    if (!flagsOk) {
      const action: AttrErrorAction =
        onError === 'attribute-discard' ? 'attribute-discard' : 'treat-as-withdraw';
      const issue: AttributeIssue = {
        typeCode,
        action,
        reason: `${d.name} has flags 0x${flags.toString(16)}, expected 0x${d.flags.toString(16)} (RFC 7606 §3.c)${ignoredWhy}`,
      };
      if (action === 'attribute-discard') st.discarded.push(issue);
      else treatAsWithdraw ??= issue;
      // MP attributes are still decoded, so that their NLRI can be withdrawn.
      if (!isMp) continue;
    }

    try {
      d.decode(value, st);
    } catch (err) {
      if (!(err instanceof WireError)) throw err;
      if (onError === 'session-reset') {
        throw new WireError(
          err.notifyCode,
          err.notifySubcode,
          `${d.name}: ${err.message}`,
          frame.slice(start, value.end),
        );
      }
      const issue: AttributeIssue = {
        typeCode,
        action: onError,
        reason: `${d.name} malformed: ${err.message}${ignoredWhy}`,
      };
      if (onError === 'attribute-discard') st.discarded.push(issue);
      else treatAsWithdraw ??= issue;
    }
  }

  const attrs = st.attrs;
  if (unknown !== undefined) attrs.unknown = unknown;
  reconcileAs4(st);

  const nlri4Ids = ipv4AddPath ? ([] as number[]) : undefined;
  const nlri4 = decodeNlri(nlriField, Afi.ipv4, nlri4Ids);

  const reach: ReachBlock[] = [];
  if (nlri4.length > 0) {
    // Without NEXT_HOP the update is treat-as-withdraw (below); the placeholder is never used.
    const block: Mutable<ReachBlock> = {
      afi: Afi.ipv4,
      safi: Safi.unicast,
      prefixes: nlri4,
      nextHop: attrs.nextHop ?? '0.0.0.0',
    };
    if (nlri4Ids) block.pathIds = nlri4Ids;
    reach.push(block);
  }
  for (const block of st.reach) reach.push(block);
  const withdrawn: NlriBlock[] = [];
  if (withdrawn4.length > 0) {
    const block: Mutable<NlriBlock> = { afi: Afi.ipv4, safi: Safi.unicast, prefixes: withdrawn4 };
    if (withdrawn4Ids) block.pathIds = withdrawn4Ids;
    withdrawn.push(block);
  }
  for (const block of st.withdrawn) withdrawn.push(block);

  // RFC 7606 §3.d: a missing well-known mandatory attribute is treat-as-withdraw. NEXT_HOP is
  // mandatory only with IPv4 NLRI in the NLRI field (RFC 4760 §3); LOCAL_PREF (iBGP only) is
  // the session's business.
  if (reach.length > 0 && treatAsWithdraw === undefined) {
    const missing =
      attrs.origin === undefined
        ? AttrType.origin
        : attrs.asPath === undefined
          ? AttrType.asPath
          : nlri4.length > 0 && attrs.nextHop === undefined
            ? AttrType.nextHop
            : 0;
    if (missing !== 0) {
      treatAsWithdraw = {
        typeCode: missing,
        action: 'treat-as-withdraw',
        reason: `missing well-known attribute ${attributeName(missing)} (RFC 7606 §3.d)`,
      };
    }
  }

  const msg: Mutable<UpdateMessage> = { type: 'update', withdrawn, reach, attributes: attrs };
  // RFC 4724 §2: End-of-RIB is an UPDATE with nothing in it (IPv4 unicast), or one holding
  // only an empty MP_UNREACH_NLRI (other families).
  if (withdrawnLength === 0 && attrLength === 0 && nlri4.length === 0) msg.endOfRib = 'ipv4-unicast';
  else if (
    attrCount === 1 &&
    st.emptyUnreach !== undefined &&
    withdrawn.length === 0 &&
    reach.length === 0 &&
    st.discarded.length === 0
  ) {
    msg.endOfRib = st.emptyUnreach;
  }
  if (treatAsWithdraw) msg.treatAsWithdraw = treatAsWithdraw;
  if (st.discarded.length > 0) msg.discarded = st.discarded;
  return msg;
}

/**
 * RFC 6793 §4.2.3 on a 2-octet session: AGGREGATOR with an AS other than AS_TRANS means an
 * OLD speaker aggregated after the AS4 attributes were made, so both are ignored; otherwise
 * AS4_AGGREGATOR replaces AGGREGATOR and AS4_PATH is merged into AS_PATH.
 */
function reconcileAs4(st: AttrDecodeState): void {
  if (st.opts.fourOctetAs) return;
  const attrs = st.attrs;
  if (attrs.aggregator !== undefined && attrs.aggregator.asn !== AS_TRANS) return;
  if (attrs.aggregator !== undefined && st.as4Aggregator !== undefined) attrs.aggregator = st.as4Aggregator;
  if (attrs.asPath !== undefined && st.as4Path !== undefined)
    attrs.asPath = mergeAs4Path(attrs.asPath, st.as4Path);
}
