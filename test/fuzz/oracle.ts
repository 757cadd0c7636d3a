// The fuzzer's oracle: what a BGP speaker must do with one message, written from the RFCs (not
// from bgp/wire). It reads the bytes exactly as they were sent and returns the expected action:
// a session reset with the NOTIFICATION codes that fit, or, when the session stays up, what
// becomes of every prefix the message names (RFC 7606 treat-as-withdraw, attribute discard, or
// accepted as sent). Where the RFCs leave a choice, every permitted outcome is listed; where they
// say SHOULD rather than MUST, the expectation is marked SHOULD, and a speaker that differs is
// reported as a deviation rather than an error.
//
// The rules, in the order they are applied:
//   Header (RFC 4271 §6.1): marker not all ones → 1/1; Length < 19 or > 4096 (no RFC 8654
//     Extended Message capability is negotiated), or below the type's minimum (OPEN 29, UPDATE 23,
//     NOTIFICATION 21; KEEPALIVE exactly 19) → 1/2; unknown type → 1/3.
//   OPEN (RFC 4271 §6.2): Version ≠ 4 → 2/1 with the Data 0x0004, checked first because every
//     later field is defined by version 4; parameters that do not fill the Optional Parameters
//     Length exactly → an OPEN error (2/x) or 1/2; a parameter type other than Capabilities (2) →
//     2/4; AS 0 in My Autonomous System or in the 4-octet AS capability → 2/2 (RFC 7607 §2); a
//     peer AS other than the configured one → 2/2 (the 4-octet AS capability's value counts when
//     present, RFC 6793 §4.1); Hold Time 1 or 2 → 2/6; BGP Identifier 0, or equal to ours on an
//     internal session → 2/3 (RFC 6286 §2.2); unknown capabilities are ignored (RFC 5492 §3).
//   UPDATE (RFC 4271 §6.3, RFC 7606):
//     - Withdrawn Routes Length or Total Path Attribute Length running past the message → 3/1.
//     - a Withdrawn Routes field that does not parse as prefixes → session reset (RFC 7606 §5.3;
//       no subcode is named, so 3/0, 3/1 and 3/10 are accepted); an NLRI field that does not →
//       3/10 Invalid Network Field (prefix length above 32, or a prefix overrunning the field).
//     - attributes (RFC 7606 §4): fewer than 3 octets left (4 with Extended Length), or an
//       attribute overrunning the Total Path Attribute Length → treat-as-withdraw; the NLRI field
//       is still found from the Total Path Attribute Length. When that attribute is MP_REACH_NLRI
//       or MP_UNREACH_NLRI its NLRI cannot be parsed, which treat-as-withdraw needs (RFC 7606 §3,
//       last paragraphs): session reset.
//     - a repeated MP_REACH_NLRI or MP_UNREACH_NLRI → 3/1; any other repeated attribute: the
//       first is used, the rest discarded (RFC 7606 §3.g).
//     - an unrecognized attribute with the Optional bit clear → 3/2 (RFC 4271 §6.3).
//     - Optional/Transitive bits that conflict with the attribute type → malformed, handled as
//       that attribute's malformation is (RFC 7606 §3.c): treat-as-withdraw unless its section
//       says attribute discard. A Partial bit on a well-known or optional non-transitive
//       attribute conflicts only with RFC 4271 §4.3 (which RFC 7606 does not revise): accepted,
//       treat-as-withdraw or 3/4 are all taken.
//     - per attribute (RFC 7606 §7): ORIGIN length ≠ 1 or value > 2 → treat-as-withdraw; AS_PATH
//       with an unknown segment type, a zero segment length, a segment overrunning the attribute
//       or a lone trailing octet → treat-as-withdraw, and so is AS 0 anywhere in it (RFC 7607 §2)
//       and a confederation segment from an external peer (RFC 5065 §5); NEXT_HOP length ≠ 4 →
//       treat-as-withdraw, an address that is not a host address (0.0.0.0/8, class D, class E;
//       RFC 1122 §3.2.1.3) → treat-as-withdraw or 3/8; MULTI_EXIT_DISC length ≠ 4 → treat-as-withdraw; LOCAL_PREF,
//       ORIGINATOR_ID and CLUSTER_LIST from an external peer → discarded, from an internal one
//       malformed lengths (≠ 4; CLUSTER_LIST not a non-zero multiple of 4) → treat-as-withdraw;
//       ATOMIC_AGGREGATE length ≠ 0 → discarded; AGGREGATOR length ≠ 8 (4-octet AS negotiated)
//       → discarded; COMMUNITIES not a non-zero multiple of 4, extended communities of 8 (RFC
//       7606 §7.14), large communities of 12 (RFC 8092 §6) → treat-as-withdraw; AS4_PATH and
//       AS4_AGGREGATOR between two 4-octet AS speakers → discarded (RFC 6793 §4.1).
//     - MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 7606 §7.11, §5.3; RFC 4760 §7): too short to hold
//       AFI, SAFI and next-hop length, a next-hop length other than 16 or 32 for IPv6 or 4 for
//       IPv4, a next hop overrunning the attribute, or NLRI that do not parse → session reset
//       (AFI/SAFI disable is not offered), with 3/9 Optional Attribute Error as RFC 4760 §7 says
//       (SHOULD). An AFI/SAFI that was not negotiated (checked first): its NLRI are ignored, or
//       the session is reset.
//     - missing ORIGIN or AS_PATH when the UPDATE carries NLRI or MP_REACH_NLRI, or NEXT_HOP when
//       it carries IPv4 NLRI in the NLRI field → treat-as-withdraw (RFC 7606 §3.d, RFC 4760 §3).
//       A NEXT_HOP in an UPDATE without IPv4 NLRI in that field SHOULD be ignored (RFC 4760 §3):
//       a malformed length or flags may or may not withdraw the MP_REACH_NLRI routes (RFC 7606
//       §3.c calls it malformed), an address that is not a host address SHOULD leave them.
//     - the most severe action wins: reset, then treat-as-withdraw, then discard (RFC 7606 §3.h).
//     - semantics, not malformations (the route is ignored, SHOULD): our own AS in the AS_PATH
//       (RFC 4271 §9.1.2), our BGP Identifier as ORIGINATOR_ID (RFC 4456 §8), a NEXT_HOP that is
//       our own address or, from an external peer one hop away, outside the shared subnet (RFC 4271
//       §6.3). The leftmost AS of an external peer's AS_PATH MAY be checked (RFC 4271 §6.3).
//     - a prefix both withdrawn and announced in one UPDATE counts as announced (RFC 4271 §4.3).
import {
  AS_TRANS,
  AttrCode,
  Flag,
  formatIpv4,
  formatIpv6,
  HEADER_LENGTH,
  MAX_LENGTH,
  MessageType,
  prefixKey,
  readU16,
  readU32,
} from './bytes.ts';

export type Level = 'MUST' | 'SHOULD';

/** A NOTIFICATION the speaker may send; no subcode: any subcode of that code. */
export interface Notif {
  readonly code: number;
  readonly subcode?: number;
  /** The Data field, when the RFC fixes it. */
  readonly data?: string;
}

export interface Segment {
  /** 1 AS_SET, 2 AS_SEQUENCE, 3 AS_CONFED_SEQUENCE, 4 AS_CONFED_SET. */
  readonly type: number;
  readonly asns: readonly number[];
}

/** What the REST API shows of an installed path, in comparable form. */
export interface RouteAttrs {
  readonly origin: 'igp' | 'egp' | 'incomplete';
  readonly asPath: string;
  readonly nextHop: string;
  readonly med?: number;
  readonly localPref: number;
  /** RFC 1997 communities as numbers, sorted, without repeats. */
  readonly communities: readonly number[];
  readonly largeCommunities: readonly string[];
  /** How many different extended communities. */
  readonly extendedCommunities: number;
  readonly originatorId?: string;
  readonly clusterList: readonly string[];
}

export type PrefixState =
  | { readonly kind: 'absent' }
  | { readonly kind: 'rejected' }
  | { readonly kind: 'installed'; readonly attrs: RouteAttrs };

export interface PrefixExpect {
  /** The outcomes the RFCs allow for this prefix. */
  readonly states: readonly PrefixState[];
  readonly level: Level;
  readonly why: string;
}

export interface Verdict {
  /** required: the RFCs demand a reset; allowed: a reset is one permitted outcome. */
  readonly reset: 'required' | 'allowed' | 'forbidden';
  /** The NOTIFICATIONs that fit when the speaker resets. */
  readonly codes: readonly Notif[];
  /** How firmly the RFCs name those codes. */
  readonly codeLevel: Level;
  /** A NOTIFICATION from us: the speaker closes the connection without answering (RFC 4271 §6.4). */
  readonly silentClose?: boolean;
  /** When the session stays up: the expected state of every prefix the message names. */
  readonly prefixes: ReadonlyMap<string, PrefixExpect>;
  /** The RFC 7606 actions the message calls for when the session stays up. */
  readonly treatAsWithdraw: boolean;
  readonly discards: number;
  /** Malformations in the message's encoding (not semantic checks): what a sender must never send. */
  readonly malformed: readonly string[];
  /** The rules that decided, for reports. */
  readonly rules: readonly string[];
  /** The prefixes the message announces and withdraws, before any check (empty on a reset). */
  readonly announced: readonly string[];
  readonly withdrawn: readonly string[];
}

export interface SessionContext {
  readonly ebgp: boolean;
  /** The receiving speaker's AS and BGP Identifier. */
  readonly localAs: number;
  readonly localId: string;
  /** The receiving speaker's session address. */
  readonly localAddress: string;
  /** The sending peer's AS and session address. */
  readonly peerAs: number;
  readonly peerAddress: string;
  /** The subnet both session addresses are on: [network bytes, prefix length]. */
  readonly sharedSubnet: readonly [Uint8Array, number];
  /** The unicast families both sides announced in the Multiprotocol capability. */
  readonly families: readonly ('ipv4' | 'ipv6')[];
}

export interface OpenContext {
  readonly ebgp: boolean;
  /** The AS the speaker is configured to expect from this peer. */
  readonly expectedPeerAs: number;
  /** The speaker's own BGP Identifier. */
  readonly localId: string;
}

const DEFAULT_LOCAL_PREF = 100;

// ---- building verdicts ---------------------------------------------------------------------------

class Judgement {
  readonly rules: string[] = [];
  readonly malformed: string[] = [];
  required: Notif[][] = [];
  allowed: Notif[] = [];
  codeLevel: Level = 'MUST';
  taw = false;
  /** Treat-as-withdraw is one permitted outcome among acceptance. */
  tawOptional = false;
  discards = 0;

  requireReset(codes: Notif[], rule: string, codeLevel: Level = 'MUST', malformed = true): void {
    this.required.push(codes);
    this.rules.push(rule);
    if (codeLevel === 'SHOULD') this.codeLevel = 'SHOULD';
    if (malformed) this.malformed.push(rule);
  }

  allowReset(codes: Notif[], rule: string): void {
    this.allowed.push(...codes);
    this.rules.push(rule);
  }

  treatAsWithdraw(rule: string, malformed = true): void {
    this.taw = true;
    this.rules.push(rule);
    if (malformed) this.malformed.push(rule);
  }

  mayTreatAsWithdraw(rule: string): void {
    this.tawOptional = true;
    this.rules.push(rule);
  }

  discard(rule: string, malformed = true): void {
    this.discards++;
    this.rules.push(rule);
    if (malformed) this.malformed.push(rule);
  }

  resetVerdict(): Verdict {
    return {
      reset: 'required',
      // Several errors: the speaker may find any of them first (RFC 4271 orders none of them).
      codes: [...this.required.flat(), ...this.allowed],
      codeLevel: this.codeLevel,
      prefixes: new Map(),
      treatAsWithdraw: false,
      discards: 0,
      malformed: this.malformed,
      rules: this.rules,
      announced: [],
      withdrawn: [],
    };
  }
}

function headerVerdict(bytes: Uint8Array, j: Judgement): number | undefined {
  for (let i = 0; i < 16; i++) {
    if (bytes[i] !== 0xff) {
      j.requireReset([{ code: 1, subcode: 1 }], 'RFC 4271 §6.1: marker not all ones → 1/1');
      break;
    }
  }
  const length = readU16(bytes, 16);
  const type = bytes[18] ?? 0;
  const lengthData = Buffer.from(bytes.subarray(16, 18)).toString('hex');
  const badLength = (rule: string) => j.requireReset([{ code: 1, subcode: 2, data: lengthData }], rule);
  if (length < HEADER_LENGTH || length > MAX_LENGTH) badLength(`RFC 4271 §6.1: Length ${length} → 1/2`);
  else if (type === MessageType.open && length < 29)
    badLength(`RFC 4271 §6.1: OPEN Length ${length} < 29 → 1/2`);
  else if (type === MessageType.update && length < 23)
    badLength(`RFC 4271 §6.1: UPDATE Length ${length} < 23 → 1/2`);
  else if (type === MessageType.keepalive && length !== 19)
    badLength(`RFC 4271 §6.1: KEEPALIVE Length ${length} → 1/2`);
  else if (type === MessageType.notification && length < 21)
    badLength(`RFC 4271 §6.1: NOTIFICATION Length ${length} < 21 → 1/2`);
  if (type < 1 || type > 5) {
    j.requireReset(
      [{ code: 1, subcode: 3, data: type.toString(16).padStart(2, '0') }],
      `RFC 4271 §6.1: type ${type} → 1/3`,
    );
  }
  return j.required.length > 0 ? undefined : type;
}

// ---- OPEN ------------------------------------------------------------------------------------

/** The expected answer to an OPEN sent on a fresh connection. */
export function judgeOpen(bytes: Uint8Array, ctx: OpenContext): Verdict {
  const j = new Judgement();
  const type = headerVerdict(bytes, j);
  if (type === undefined) return j.resetVerdict();
  if (type === MessageType.notification)
    return silentClose(j, 'RFC 4271 §6.4: a NOTIFICATION closes the connection');
  if (type !== MessageType.open) {
    // RFC 4271 §8.2.2 OpenSent: any other message is an FSM error (RFC 6608 §3: subcode 1).
    j.requireReset(
      [
        { code: 5, subcode: 1 },
        { code: 5, subcode: 0 },
      ],
      'RFC 6608 §3: unexpected message in OpenSent → 5/1',
    );
    return j.resetVerdict();
  }
  const body = bytes.subarray(HEADER_LENGTH, readU16(bytes, 16));
  const version = body[0] ?? 0;
  if (version !== 4) {
    j.requireReset(
      [{ code: 2, subcode: 1, data: '0004' }],
      `RFC 4271 §6.2: version ${version} → 2/1, Data 4`,
    );
    return j.resetVerdict();
  }
  const myAs = readU16(body, 1);
  const holdTime = readU16(body, 3);
  const bgpId = formatIpv4(body.subarray(5, 9));
  const optLen = body[9] ?? 0;
  const structural = [{ code: 2 }, { code: 1, subcode: 2 }];
  // RFC 9072 §2: Optional Parameters Length 255 and a first parameter type of 255 mean the
  // extended form (2-octet lengths).
  const extended = optLen === 255 && body[10] === 255;
  const paramsStart = extended ? 13 : 10;
  const paramsEnd = extended ? 13 + readU16(body, 11) : 10 + optLen;
  const caps: { code: number; value: Uint8Array }[] = [];
  if (paramsEnd !== body.length || (extended && body.length < 13)) {
    j.requireReset(
      structural,
      `RFC 4271 §6.2: Optional Parameters Length ${optLen} does not match the message`,
    );
  } else {
    let at = paramsStart;
    while (at < paramsEnd) {
      const ptype = body[at] ?? 0;
      const plen = extended ? readU16(body, at + 1) : (body[at + 1] ?? 0);
      const hdr = extended ? 3 : 2;
      if (at + hdr > paramsEnd || at + hdr + plen > paramsEnd) {
        j.requireReset(structural, 'RFC 4271 §6.2: an optional parameter overruns the parameters');
        break;
      }
      const value = body.subarray(at + hdr, at + hdr + plen);
      if (ptype !== 2) {
        j.requireReset([{ code: 2, subcode: 4 }], `RFC 4271 §6.2: optional parameter type ${ptype} → 2/4`);
      } else {
        let c = 0;
        while (c < value.length) {
          if (c + 2 > value.length || c + 2 + (value[c + 1] ?? 0) > value.length) {
            j.requireReset(structural, 'RFC 5492 §4: a capability overruns its parameter');
            break;
          }
          caps.push({ code: value[c] ?? 0, value: value.subarray(c + 2, c + 2 + (value[c + 1] ?? 0)) });
          c += 2 + (value[c + 1] ?? 0);
        }
      }
      at += hdr + plen;
    }
  }
  let as4: number | undefined;
  for (const cap of caps) {
    if (cap.code === 65) {
      if (cap.value.length !== 4) {
        j.allowReset([{ code: 2 }], 'RFC 6793 §3: a 4-octet AS capability whose length is not 4');
      } else if (as4 === undefined) {
        as4 = readU32(cap.value, 0);
      } else if (as4 !== readU32(cap.value, 0)) {
        j.allowReset([{ code: 2 }], 'RFC 6793: two 4-octet AS capabilities that differ');
      }
    } else if (cap.code === 1 && cap.value.length !== 4) {
      j.allowReset([{ code: 2 }], 'RFC 4760 §8: a Multiprotocol capability whose length is not 4');
    }
  }
  if (myAs === 0 || as4 === 0) {
    j.requireReset([{ code: 2, subcode: 2 }], 'RFC 7607 §2: AS 0 in the OPEN → 2/2');
  } else if ((as4 ?? myAs) !== ctx.expectedPeerAs) {
    j.requireReset(
      [{ code: 2, subcode: 2 }],
      `RFC 4271 §6.2: peer AS ${as4 ?? myAs} is not the configured one → 2/2`,
    );
  } else if (as4 !== undefined && myAs !== as4 && myAs !== AS_TRANS) {
    j.allowReset(
      [{ code: 2, subcode: 2 }],
      'RFC 6793 §4.1: My Autonomous System disagrees with the 4-octet AS',
    );
  }
  if (holdTime === 1 || holdTime === 2) {
    j.requireReset([{ code: 2, subcode: 6 }], `RFC 4271 §6.2: Hold Time ${holdTime} → 2/6`);
  }
  if (bgpId === '0.0.0.0') {
    j.requireReset([{ code: 2, subcode: 3 }], 'RFC 6286 §2.2: BGP Identifier 0 → 2/3');
  } else if (bgpId === ctx.localId) {
    if (ctx.ebgp)
      j.allowReset([{ code: 2, subcode: 3 }], 'RFC 6286 §2.2: our BGP Identifier on an external session');
    else
      j.requireReset(
        [{ code: 2, subcode: 3 }],
        'RFC 6286 §2.2: our BGP Identifier on an internal session → 2/3',
      );
  }
  if (j.required.length > 0) return j.resetVerdict();
  return {
    reset: j.allowed.length > 0 ? 'allowed' : 'forbidden',
    codes: j.allowed,
    codeLevel: 'MUST',
    prefixes: new Map(),
    treatAsWithdraw: false,
    discards: 0,
    malformed: j.malformed,
    rules: j.rules.length > 0 ? j.rules : ['RFC 4271 §4.2: a valid OPEN'],
    announced: [],
    withdrawn: [],
  };
}

function silentClose(j: Judgement, rule: string): Verdict {
  return {
    reset: 'forbidden',
    codes: [],
    codeLevel: 'MUST',
    silentClose: true,
    prefixes: new Map(),
    treatAsWithdraw: false,
    discards: 0,
    malformed: [],
    rules: [...j.rules, rule],
    announced: [],
    withdrawn: [],
  };
}

// ---- UPDATE --------------------------------------------------------------------------------------

interface ParsedPrefixes {
  readonly keys: string[];
  readonly error?: string;
}

function parsePrefixes(b: Uint8Array, v6: boolean): ParsedPrefixes {
  const max = v6 ? 128 : 32;
  const keys: string[] = [];
  let at = 0;
  while (at < b.length) {
    const bits = b[at] ?? 0;
    if (bits > max) return { keys, error: `prefix length ${bits} > ${max}` };
    const n = Math.ceil(bits / 8);
    if (at + 1 + n > b.length) return { keys, error: `a /${bits} prefix overruns the field` };
    keys.push(prefixKey(b.subarray(at + 1, at + 1 + n), bits, v6));
    at += 1 + n;
  }
  return { keys };
}

interface RawAttr {
  readonly flags: number;
  readonly type: number;
  readonly value: Uint8Array;
}

/** RFC 6793 §3: AS4_PATH and AS4_AGGREGATOR. */
const AS4_PATH = 17;
const AS4_AGGREGATOR = 18;

/** Optional and Transitive bits per recognized attribute type (RFC 4271 §5, and each type's RFC). */
const EXPECTED_FLAGS: ReadonlyMap<number, number> = new Map([
  [AttrCode.origin, Flag.transitive],
  [AttrCode.asPath, Flag.transitive],
  [AttrCode.nextHop, Flag.transitive],
  [AttrCode.med, Flag.optional],
  [AttrCode.localPref, Flag.transitive],
  [AttrCode.atomicAggregate, Flag.transitive],
  [AttrCode.aggregator, Flag.optional | Flag.transitive],
  [AttrCode.communities, Flag.optional | Flag.transitive],
  [AttrCode.originatorId, Flag.optional],
  [AttrCode.clusterList, Flag.optional],
  [AttrCode.mpReach, Flag.optional],
  [AttrCode.mpUnreach, Flag.optional],
  [AttrCode.extendedCommunities, Flag.optional | Flag.transitive],
  [AttrCode.largeCommunities, Flag.optional | Flag.transitive],
  [AS4_PATH, Flag.optional | Flag.transitive],
  [AS4_AGGREGATOR, Flag.optional | Flag.transitive],
]);

/** Attribute types the fuzzer treats as recognized: the ones above. */
export const RECOGNIZED_TYPES: readonly number[] = [...EXPECTED_FLAGS.keys()];

const ORIGINS = ['igp', 'egp', 'incomplete'] as const;

/** The AS_PATH text the REST API shows: sequences plain, sets in {}, confederation ( ) and [ ]. */
export function formatSegments(segs: readonly Segment[]): string {
  return normalizeSegments(segs)
    .map((s) => {
      const a = s.asns.join(' ');
      return s.type === 2 ? a : s.type === 1 ? `{${a}}` : s.type === 3 ? `(${a})` : `[${a}]`;
    })
    .join(' ');
}

/** Adjacent sequences merged, set members sorted: two spellings of one path compare equal. */
export function normalizeSegments(segs: readonly Segment[]): Segment[] {
  const out: Segment[] = [];
  for (const s of segs) {
    const asns = s.type === 1 || s.type === 4 ? [...s.asns].sort((a, b) => a - b) : [...s.asns];
    const last = out[out.length - 1];
    if (last !== undefined && last.type === s.type && (s.type === 2 || s.type === 3)) {
      out[out.length - 1] = { type: s.type, asns: [...last.asns, ...asns] };
    } else if (asns.length > 0) {
      out.push({ type: s.type, asns });
    }
  }
  return out;
}

/** Parses an AS_PATH text as the REST API prints it. */
export function parseAsPathText(text: string): Segment[] | undefined {
  const segs: Segment[] = [];
  const re = /\{([\d ]*)\}|\(([\d ]*)\)|\[([\d ]*)\]|(\d+)/g;
  let consumed = '';
  for (const m of text.matchAll(re)) {
    consumed += m[0];
    const nums = (s: string) => s.trim().split(/\s+/).filter(Boolean).map(Number);
    if (m[1] !== undefined) segs.push({ type: 1, asns: nums(m[1]) });
    else if (m[2] !== undefined) segs.push({ type: 3, asns: nums(m[2]) });
    else if (m[3] !== undefined) segs.push({ type: 4, asns: nums(m[3]) });
    else segs.push({ type: 2, asns: [Number(m[4])] });
  }
  if (consumed.replaceAll(' ', '') !== text.replaceAll(' ', '')) return undefined;
  return normalizeSegments(segs);
}

interface AsPathCheck {
  readonly segments?: Segment[];
  readonly malformed?: string;
}

function parseAsPath(v: Uint8Array): AsPathCheck {
  const segments: Segment[] = [];
  let at = 0;
  while (at < v.length) {
    if (v.length - at < 2) return { malformed: 'a lone octet after the last segment' };
    const type = v[at] ?? 0;
    const count = v[at + 1] ?? 0;
    if (type < 1 || type > 4) return { malformed: `segment type ${type}` };
    if (count === 0) return { malformed: 'a segment length of 0' };
    if (at + 2 + 4 * count > v.length) return { malformed: 'a segment overruns the attribute' };
    const asns: number[] = [];
    for (let i = 0; i < count; i++) asns.push(readU32(v, at + 2 + 4 * i));
    segments.push({ type, asns });
    at += 2 + 4 * count;
  }
  return { segments };
}

/** RFC 1122 §3.2.1.3: not "this network" (0/8), not class D (multicast) or E (reserved). */
function isHostAddress(b: Uint8Array): boolean {
  const a = b[0] ?? 0;
  return a !== 0 && a < 224;
}

function inSubnet(addr: Uint8Array, [net, bits]: readonly [Uint8Array, number]): boolean {
  for (let i = 0; i < 4; i++) {
    const keep = Math.max(0, Math.min(8, bits - 8 * i));
    const mask = (0xff << (8 - keep)) & 0xff;
    if (((addr[i] ?? 0) & mask) !== ((net[i] ?? 0) & mask)) return false;
  }
  return true;
}

interface Mp {
  readonly family: 'ipv4' | 'ipv6';
  readonly prefixes: string[];
  readonly nextHop?: string;
}

/** MP_REACH_NLRI (reach) or MP_UNREACH_NLRI; undefined when its family is not negotiated. */
function parseMp(a: RawAttr, reach: boolean, ctx: SessionContext, j: Judgement): Mp | undefined {
  const name = reach ? 'MP_REACH_NLRI' : 'MP_UNREACH_NLRI';
  const v = a.value;
  const reset = (why: string) =>
    j.requireReset(
      [{ code: 3, subcode: 9 }],
      `RFC 7606 §7.11, RFC 4760 §7: ${name} ${why} → reset, 3/9`,
      'SHOULD',
    );
  if (v.length < 3) {
    reset(`of ${v.length} octets`);
    return undefined;
  }
  const afi = readU16(v, 0);
  const safi = v[2] ?? 0;
  const family = safi === 1 && afi === 1 ? 'ipv4' : safi === 1 && afi === 2 ? 'ipv6' : undefined;
  if (family === undefined || !ctx.families.includes(family)) {
    // RFC 4760 §7 / RFC 7606 §7.11 allow the session reset or disabling the AFI/SAFI; one that
    // was never negotiated is in effect disabled, so its NLRI are ignored.
    j.allowReset(
      [{ code: 3, subcode: 9 }],
      `RFC 4760: ${name} for AFI ${afi} SAFI ${safi}, not negotiated: ignored`,
    );
    return undefined;
  }
  if (reach && v.length < 5) {
    reset(`of ${v.length} octets`);
    return undefined;
  }
  let at = 3;
  let nextHop: string | undefined;
  if (reach) {
    const nhLen = v[3] ?? 0;
    const ok = family === 'ipv6' ? nhLen === 16 || nhLen === 32 : nhLen === 4;
    if (!ok) {
      reset(`next-hop length ${nhLen} for ${family}`);
      return undefined;
    }
    if (4 + nhLen + 1 > v.length) {
      reset('next hop overruns the attribute');
      return undefined;
    }
    const nh = v.subarray(4, 4 + nhLen);
    nextHop = family === 'ipv6' ? formatIpv6(nh.subarray(0, 16)) : formatIpv4(nh);
    at = 4 + nhLen + 1; // RFC 4760 §3: one reserved octet, ignored on receipt
  }
  const parsed = parsePrefixes(v.subarray(at), family === 'ipv6');
  if (parsed.error !== undefined) {
    reset(`NLRI: ${parsed.error}`);
    return undefined;
  }
  return { family, prefixes: parsed.keys, ...(nextHop !== undefined && { nextHop }) };
}

/** The expected outcome of an UPDATE received on an Established session. */
export function judgeUpdate(bytes: Uint8Array, ctx: SessionContext): Verdict {
  const j = new Judgement();
  const type = headerVerdict(bytes, j);
  if (type === undefined) return j.resetVerdict();
  if (type === MessageType.notification)
    return silentClose(j, 'RFC 4271 §6.4: a NOTIFICATION closes the connection');
  if (type === MessageType.open) {
    j.requireReset(
      [{ code: 5, subcode: 3 }, { code: 5, subcode: 0 }, { code: 2 }],
      'RFC 4271 §8.2.2 Established, RFC 6608 §3: an OPEN → 5/3',
    );
    return j.resetVerdict();
  }
  if (type === MessageType.keepalive || type === MessageType.routeRefresh) {
    return {
      reset: type === MessageType.routeRefresh ? 'allowed' : 'forbidden',
      codes: [{ code: 1 }, { code: 7 }],
      codeLevel: 'MUST',
      prefixes: new Map(),
      treatAsWithdraw: false,
      discards: 0,
      malformed: [],
      rules: [`RFC 4271: a ${type === MessageType.keepalive ? 'KEEPALIVE' : 'ROUTE-REFRESH'}`],
      announced: [],
      withdrawn: [],
    };
  }
  const body = bytes.subarray(HEADER_LENGTH, readU16(bytes, 16));
  const wl = readU16(body, 0);
  if (2 + wl + 2 > body.length) {
    j.requireReset(
      [{ code: 3, subcode: 1 }],
      `RFC 4271 §6.3: Withdrawn Routes Length ${wl} runs past the message → 3/1`,
    );
    return j.resetVerdict();
  }
  const al = readU16(body, 2 + wl);
  if (4 + wl + al > body.length) {
    j.requireReset(
      [{ code: 3, subcode: 1 }],
      `RFC 4271 §6.3: Total Path Attribute Length ${al} runs past the message → 3/1`,
    );
    return j.resetVerdict();
  }
  const withdrawn = parsePrefixes(body.subarray(2, 2 + wl), false);
  if (withdrawn.error !== undefined) {
    j.requireReset(
      [
        { code: 3, subcode: 1 },
        { code: 3, subcode: 10 },
        { code: 3, subcode: 0 },
      ],
      `RFC 7606 §5.3: Withdrawn Routes: ${withdrawn.error} → reset`,
    );
  }
  const nlri = parsePrefixes(body.subarray(4 + wl + al), false);
  if (nlri.error !== undefined) {
    j.requireReset([{ code: 3, subcode: 10 }], `RFC 4271 §6.3, RFC 7606 §5.3: NLRI: ${nlri.error} → 3/10`);
  }

  // RFC 7606 §4: walk the attributes; a length that does not fit stops the walk.
  const attrs: RawAttr[] = [];
  const region = body.subarray(4 + wl, 4 + wl + al);
  let at = 0;
  while (at < region.length) {
    const rem = region.length - at;
    const flags = region[at] ?? 0;
    const ext = (flags & Flag.extended) !== 0;
    const atype = region[at + 1];
    // RFC 7606 §3 (last paragraphs): treat-as-withdraw needs the MP_REACH_NLRI / MP_UNREACH_NLRI
    // parsed; when the broken attribute is one of them, the session is reset.
    const brokenMp = (why: string) =>
      j.requireReset(
        [
          { code: 3, subcode: 9 },
          { code: 3, subcode: 1 },
          { code: 3, subcode: 5 },
        ],
        `RFC 7606 §3, §4: ${why}: its NLRI cannot be found → reset`,
        'SHOULD',
      );
    if (rem < 3 || (ext && rem < 4)) {
      // Not even a length: no attribute, and no NLRI of one, is lost here.
      j.treatAsWithdraw(`RFC 7606 §4: ${rem} octet(s) left, too few for an attribute`);
      break;
    }
    const len = ext ? readU16(region, at + 2) : (region[at + 2] ?? 0);
    const hdr = ext ? 4 : 3;
    if (hdr + len > rem) {
      if (atype === AttrCode.mpReach || atype === AttrCode.mpUnreach)
        brokenMp(`attribute ${atype} length ${len} overruns the attributes`);
      else j.treatAsWithdraw(`RFC 7606 §4: attribute type ${atype} length ${len} overruns the attributes`);
      break;
    }
    attrs.push({ flags, type: region[at + 1] ?? 0, value: region.subarray(at + hdr, at + hdr + len) });
    at += hdr + len;
  }

  // RFC 7606 §3.g: repeats.
  const first = new Map<number, RawAttr>();
  for (const a of attrs) {
    if (!first.has(a.type)) {
      first.set(a.type, a);
    } else if (a.type === AttrCode.mpReach || a.type === AttrCode.mpUnreach) {
      j.requireReset([{ code: 3, subcode: 1 }], `RFC 7606 §3.g: attribute ${a.type} twice → 3/1`);
    } else {
      j.discard(`RFC 7606 §3.g: attribute ${a.type} repeated, the repeat discarded`);
    }
  }

  const hasV4Nlri = nlri.keys.length > 0;
  let origin: number | undefined;
  let segments: Segment[] | undefined;
  let nextHop: string | undefined;
  let med: number | undefined;
  let localPref: number | undefined;
  let communities: number[] = [];
  let large: string[] = [];
  let extended = 0;
  let originatorId: string | undefined;
  let clusterList: string[] = [];
  let reach: Mp | undefined;
  let unreach: Mp | undefined;
  /** Route-level semantic checks that make the route ignored (SHOULD). */
  const ignoreReasons: string[] = [];
  /** The route is kept or ignored: the RFC lets the receiver choose (MAY). */
  const mayIgnore: string[] = [];
  /** The same two, about NEXT_HOP: only for the IPv4 NLRI of the NLRI field. */
  const nhIgnore: string[] = [];
  const nhMayIgnore: string[] = [];
  /** A NEXT_HOP the receiver SHOULD ignore (no IPv4 NLRI, RFC 4760 §3) that is not a host address. */
  const nhShouldIgnore: string[] = [];

  for (const a of first.values()) {
    const expected = EXPECTED_FLAGS.get(a.type);
    if (expected === undefined) {
      if ((a.flags & Flag.optional) === 0) {
        j.requireReset(
          [{ code: 3, subcode: 2 }],
          `RFC 4271 §6.3: unrecognized well-known attribute ${a.type} → 3/2`,
        );
      }
      continue; // RFC 4271 §5: unrecognized optional attributes are ignored or passed on
    }
    const flagConflict = (a.flags & (Flag.optional | Flag.transitive)) !== expected;
    // RFC 4271 §4.3: only optional transitive attributes may carry the Partial bit.
    const partialConflict = (a.flags & Flag.partial) !== 0 && expected !== (Flag.optional | Flag.transitive);
    const name = `attribute ${a.type}`;
    const v = a.value;
    /** Malformed: the attribute's own RFC 7606 action. */
    const malformedAction = (why: string, action: 'taw' | 'discard') => {
      if (action === 'taw') j.treatAsWithdraw(`RFC 7606: ${name} ${why} → treat-as-withdraw`);
      else j.discard(`RFC 7606: ${name} ${why} → attribute discard`);
    };
    // RFC 6793 §4.1: a NEW speaker (4-octet AS negotiated) discards AS4_PATH and AS4_AGGREGATOR
    // from another NEW speaker, whatever they hold, and goes on with the UPDATE.
    if (a.type === AS4_PATH || a.type === AS4_AGGREGATOR) {
      j.discard(`RFC 6793 §4.1: ${name} from a NEW speaker → discarded`, false);
      continue;
    }
    // Attributes the RFCs tell the receiver to discard from an external peer whatever they hold.
    if (
      ctx.ebgp &&
      (a.type === AttrCode.localPref || a.type === AttrCode.originatorId || a.type === AttrCode.clusterList)
    ) {
      j.discard(`RFC 7606 §7.5/§7.9/§7.10: ${name} from an external peer → attribute discard`, false);
      continue;
    }
    if (flagConflict) {
      const flagsWhy = `flags 0x${a.flags.toString(16)} conflict (RFC 7606 §3.c)`;
      if (a.type === AttrCode.atomicAggregate || a.type === AttrCode.aggregator) {
        // Their sections say attribute discard for a malformed attribute; §3.c's general rule
        // says treat-as-withdraw: either is taken.
        j.discard(`RFC 7606 §3.c, §7.6/§7.7: ${name} ${flagsWhy} → discard (or treat-as-withdraw)`);
        j.mayTreatAsWithdraw(`RFC 7606 §3.c: ${name} ${flagsWhy}`);
        continue;
      }
      if (a.type === AttrCode.mpReach || a.type === AttrCode.mpUnreach) {
        j.allowReset(
          [
            { code: 3, subcode: 4 },
            { code: 3, subcode: 9 },
          ],
          `RFC 7606 §3.c: ${name} ${flagsWhy}`,
        );
        j.treatAsWithdraw(`RFC 7606 §3.c: ${name} ${flagsWhy} → treat-as-withdraw (or reset)`);
        // The attribute still carries NLRI to withdraw: parse it below.
      } else if (a.type === AttrCode.nextHop && !hasV4Nlri) {
        j.mayTreatAsWithdraw(
          `RFC 4760 §3: NEXT_HOP ${flagsWhy} without IPv4 NLRI: ignored or treat-as-withdraw`,
        );
        continue;
      } else {
        malformedAction(flagsWhy, 'taw');
        continue;
      }
    } else if (partialConflict) {
      j.allowReset([{ code: 3, subcode: 4 }], `RFC 4271 §4.3: Partial bit on ${name}`);
      j.mayTreatAsWithdraw(`RFC 4271 §4.3: Partial bit on ${name}`);
    }
    switch (a.type) {
      case AttrCode.origin:
        if (v.length !== 1 || (v[0] ?? 0) > 2)
          malformedAction(`ORIGIN length ${v.length} value ${v[0]}`, 'taw');
        else origin = v[0];
        break;
      case AttrCode.asPath: {
        const p = parseAsPath(v);
        if (p.malformed !== undefined) {
          malformedAction(`AS_PATH: ${p.malformed} (§7.2)`, 'taw');
        } else if (p.segments?.some((s) => s.asns.includes(0))) {
          j.treatAsWithdraw('RFC 7607 §2: AS 0 in the AS_PATH → treat-as-withdraw');
        } else if (ctx.ebgp && p.segments?.some((s) => s.type === 3 || s.type === 4)) {
          j.treatAsWithdraw(
            'RFC 5065 §5, RFC 7606 §7.2: a confederation segment from an external peer → treat-as-withdraw',
          );
        } else {
          segments = p.segments;
          if (!ctx.ebgp && segments?.some((s) => s.type === 3 || s.type === 4)) {
            mayIgnore.push(
              'RFC 5065 §5: a confederation segment from an internal peer of a non-confederation AS',
            );
          }
        }
        break;
      }
      case AttrCode.nextHop:
        if (v.length !== 4) {
          if (hasV4Nlri) malformedAction(`NEXT_HOP length ${v.length} (§7.3)`, 'taw');
          else
            j.mayTreatAsWithdraw(
              `RFC 4760 §3: malformed NEXT_HOP without IPv4 NLRI: ignored or treat-as-withdraw`,
            );
        } else if (!isHostAddress(v) && hasV4Nlri) {
          j.allowReset(
            [{ code: 3, subcode: 8 }],
            `RFC 4271 §6.3: NEXT_HOP ${formatIpv4(v)} is not a host address`,
          );
          j.treatAsWithdraw(
            `RFC 4271 §6.3, RFC 7606 §7.3: NEXT_HOP ${formatIpv4(v)} → treat-as-withdraw (or 3/8)`,
          );
        } else if (!isHostAddress(v)) {
          nhShouldIgnore.push(`RFC 4760 §3: NEXT_HOP ${formatIpv4(v)} without IPv4 NLRI SHOULD be ignored`);
        } else {
          nextHop = formatIpv4(v);
          if (hasV4Nlri) {
            if ((v[0] ?? 0) === 127) {
              nhMayIgnore.push(`NEXT_HOP ${nextHop} is a loopback address`);
            } else if (nextHop === ctx.localAddress) {
              nhIgnore.push(`RFC 4271 §6.3: NEXT_HOP ${nextHop} is the receiver's own address`);
            } else if (ctx.ebgp && nextHop !== ctx.peerAddress && !inSubnet(v, ctx.sharedSubnet)) {
              nhIgnore.push(`RFC 4271 §6.3: external NEXT_HOP ${nextHop} is outside the shared subnet`);
            }
          }
        }
        break;
      case AttrCode.med:
        if (v.length !== 4) malformedAction(`MULTI_EXIT_DISC length ${v.length} (§7.4)`, 'taw');
        else med = readU32(v, 0);
        break;
      case AttrCode.localPref:
        if (v.length !== 4) malformedAction(`LOCAL_PREF length ${v.length} (§7.5)`, 'taw');
        else localPref = readU32(v, 0);
        break;
      case AttrCode.atomicAggregate:
        if (v.length !== 0) malformedAction(`ATOMIC_AGGREGATE length ${v.length} (§7.6)`, 'discard');
        break;
      case AttrCode.aggregator:
        if (v.length !== 8) malformedAction(`AGGREGATOR length ${v.length} (§7.7)`, 'discard');
        else if (readU32(v, 0) === 0)
          j.discard('RFC 7607 §2, RFC 7606 §7.7: AGGREGATOR with AS 0 → attribute discard');
        break;
      case AttrCode.communities:
        if (v.length === 0 || v.length % 4 !== 0)
          malformedAction(`COMMUNITIES length ${v.length} (§7.8)`, 'taw');
        else communities = uniqueSorted(Array.from({ length: v.length / 4 }, (_, i) => readU32(v, 4 * i)));
        break;
      case AttrCode.originatorId:
        if (v.length !== 4) malformedAction(`ORIGINATOR_ID length ${v.length} (§7.9)`, 'taw');
        else {
          originatorId = formatIpv4(v);
          if (originatorId === ctx.localId)
            ignoreReasons.push('RFC 4456 §8: ORIGINATOR_ID is our BGP Identifier');
        }
        break;
      case AttrCode.clusterList:
        if (v.length === 0 || v.length % 4 !== 0)
          malformedAction(`CLUSTER_LIST length ${v.length} (§7.10)`, 'taw');
        else {
          clusterList = Array.from({ length: v.length / 4 }, (_, i) =>
            formatIpv4(v.subarray(4 * i, 4 * i + 4)),
          );
          if (clusterList.includes(ctx.localId))
            mayIgnore.push('RFC 4456 §8: our identifier in the CLUSTER_LIST');
        }
        break;
      case AttrCode.mpReach:
        reach = parseMp(a, true, ctx, j);
        break;
      case AttrCode.mpUnreach:
        unreach = parseMp(a, false, ctx, j);
        break;
      case AttrCode.extendedCommunities:
        if (v.length === 0 || v.length % 8 !== 0)
          malformedAction(`extended communities length ${v.length} (§7.14)`, 'taw');
        else
          extended = new Set(
            Array.from({ length: v.length / 8 }, (_, i) =>
              Buffer.from(v.subarray(8 * i, 8 * i + 8)).toString('hex'),
            ),
          ).size;
        break;
      case AttrCode.largeCommunities:
        if (v.length === 0 || v.length % 12 !== 0)
          malformedAction(`large communities length ${v.length} (RFC 8092 §6)`, 'taw');
        else
          large = [
            ...new Set(
              Array.from({ length: v.length / 12 }, (_, i) =>
                [0, 4, 8].map((o) => readU32(v, 12 * i + o)).join(':'),
              ),
            ),
          ].sort();
        break;
    }
  }

  // RFC 7606 §3.d, RFC 4760 §3: mandatory attributes.
  const announces = hasV4Nlri || first.has(AttrCode.mpReach);
  if (announces) {
    if (!first.has(AttrCode.origin))
      j.treatAsWithdraw('RFC 7606 §3.d: ORIGIN missing → treat-as-withdraw', false);
    if (!first.has(AttrCode.asPath))
      j.treatAsWithdraw('RFC 7606 §3.d: AS_PATH missing → treat-as-withdraw', false);
    if (hasV4Nlri && !first.has(AttrCode.nextHop))
      j.treatAsWithdraw('RFC 7606 §3.d: NEXT_HOP missing with IPv4 NLRI → treat-as-withdraw', false);
    if (!ctx.ebgp && !first.has(AttrCode.localPref)) {
      mayIgnore.push('RFC 4271 §5.1.5: LOCAL_PREF missing from an internal peer');
    }
  }
  if (segments !== undefined && ctx.ebgp) {
    const lead = segments[0];
    if (lead === undefined || lead.type !== 2 || lead.asns[0] !== ctx.peerAs) {
      mayIgnore.push("RFC 4271 §6.3: the leftmost AS is not the external peer's (MAY be checked)");
    }
  }
  if (segments?.some((s) => s.asns.includes(ctx.localAs))) {
    ignoreReasons.push('RFC 4271 §9.1.2: our AS in the AS_PATH (a loop)');
  }

  if (j.required.length > 0) return j.resetVerdict();

  // The effect on each prefix.
  const prefixes = new Map<string, PrefixExpect>();
  const absent: PrefixState = { kind: 'absent' };
  const rejected: PrefixState = { kind: 'rejected' };
  const withdrawals = [...withdrawn.keys, ...(unreach?.prefixes ?? [])];
  for (const p of withdrawals) prefixes.set(p, { states: [absent], level: 'MUST', why: 'withdrawn' });
  const announced: [string, string, boolean][] = [];
  for (const p of nlri.keys) announced.push([p, nextHop ?? '', true]);
  for (const p of reach?.prefixes ?? []) announced.push([p, reach?.nextHop ?? '', false]);
  const both = new Set(withdrawals.filter((p) => announced.some(([q]) => q === p)));
  for (const [p, nh, inNlriField] of announced) {
    const ignore = inNlriField ? [...ignoreReasons, ...nhIgnore] : ignoreReasons;
    const may = inNlriField ? [...mayIgnore, ...nhMayIgnore] : mayIgnore;
    const attrs: RouteAttrs = {
      origin: ORIGINS[origin ?? 0] ?? 'igp',
      asPath: formatSegments(segments ?? []),
      nextHop: nh,
      ...(med !== undefined && { med }),
      localPref: ctx.ebgp ? DEFAULT_LOCAL_PREF : (localPref ?? DEFAULT_LOCAL_PREF),
      communities,
      largeCommunities: large,
      extendedCommunities: extended,
      ...(originatorId !== undefined && !ctx.ebgp && { originatorId }),
      clusterList: ctx.ebgp ? [] : clusterList,
    };
    const installed: PrefixState = { kind: 'installed', attrs };
    let e: PrefixExpect;
    if (j.taw) e = { states: [absent], level: 'MUST', why: 'treat-as-withdraw' };
    else if (ignore.length > 0) e = { states: [absent, rejected], level: 'SHOULD', why: ignore.join('; ') };
    else if (j.tawOptional || may.length > 0)
      e = {
        states: [installed, absent, rejected],
        level: 'MUST',
        why: [...may, 'or treat-as-withdraw'].join('; '),
      };
    else if (nhShouldIgnore.length > 0)
      e = { states: [installed], level: 'SHOULD', why: nhShouldIgnore.join('; ') };
    else
      e = {
        states: [installed],
        level: both.has(p) ? 'SHOULD' : 'MUST',
        why: both.has(p) ? 'announced and withdrawn: announced (RFC 4271 §4.3, SHOULD)' : 'announced',
      };
    const prev = prefixes.get(p);
    // The same prefix twice in the announcements: the later occurrence wins, or either.
    if (prev !== undefined && prev.why !== 'withdrawn') {
      prefixes.set(p, { states: [...prev.states, ...e.states], level: 'MUST', why: `${prev.why}; ${e.why}` });
    } else {
      prefixes.set(p, e);
    }
  }
  return {
    reset: j.allowed.length > 0 ? 'allowed' : 'forbidden',
    codes: j.allowed,
    codeLevel: 'MUST',
    prefixes,
    treatAsWithdraw: j.taw,
    discards: j.discards,
    malformed: j.malformed,
    rules: j.rules.length > 0 ? j.rules : ['a well-formed UPDATE'],
    announced: announced.map(([p]) => p),
    withdrawn: withdrawals,
  };
}

function uniqueSorted(xs: number[]): number[] {
  return [...new Set(xs)].sort((a, b) => a - b);
}
