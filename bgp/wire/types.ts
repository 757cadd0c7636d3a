// Wire-level vocabulary shared by the codec (bgp/wire), the RIB and the session layer.
//
// Messages are plain readonly data with a `type` discriminant, with no behaviour of their own;
// decode and encode are free functions in the sibling files. NLRI are packed PrefixLists (address
// words and lengths, prefix-list.ts), which the RIB hashes without building text; everything else
// that names an address or a prefix uses canonical strings ("10.0.0.0/24", "2001:db8::/32": host
// bits zero, IPv6 in RFC 5952 form).

import type { PrefixList } from './prefix-list.ts';

export const MessageType = { open: 1, update: 2, notification: 3, keepalive: 4, routeRefresh: 5 } as const;
export type MessageTypeCode = (typeof MessageType)[keyof typeof MessageType];

/** RFC 4271 §4.1 header: 16-octet marker, 2-octet length, 1-octet type. */
export const HEADER_LENGTH = 19;
export const MAX_MESSAGE_LENGTH = 4096;
/** RFC 8654: after both sides advertised the Extended Message capability. */
export const MAX_EXTENDED_MESSAGE_LENGTH = 65535;

export const Afi = { ipv4: 1, ipv6: 2 } as const;
export type AfiCode = (typeof Afi)[keyof typeof Afi];
export const Safi = { unicast: 1 } as const;
export type SafiCode = number;
export type Family = 'ipv4-unicast' | 'ipv6-unicast';
export const FAMILIES: readonly Family[] = ['ipv4-unicast', 'ipv6-unicast'];

export const Origin = { igp: 0, egp: 1, incomplete: 2 } as const;
export type OriginCode = (typeof Origin)[keyof typeof Origin];

/** RFC 4271 §4.3 and RFC 5065 §3 segment types. */
export const AsPathSegmentType = { set: 1, sequence: 2, confedSequence: 3, confedSet: 4 } as const;
export type AsPathSegmentTypeCode = (typeof AsPathSegmentType)[keyof typeof AsPathSegmentType];
export interface AsPathSegment {
  readonly type: AsPathSegmentTypeCode;
  readonly asns: readonly number[];
}

/** RFC 6793 §4.2.3 AS_TRANS, used where a 4-octet AS does not fit in 2 octets. */
export const AS_TRANS = 23456;

/** Path attribute type codes (IANA "BGP Path Attributes"). */
export const AttrType = {
  origin: 1,
  asPath: 2,
  nextHop: 3,
  med: 4,
  localPref: 5,
  atomicAggregate: 6,
  aggregator: 7,
  communities: 8,
  originatorId: 9,
  clusterList: 10,
  mpReachNlri: 14,
  mpUnreachNlri: 15,
  extendedCommunities: 16,
  as4Path: 17,
  as4Aggregator: 18,
  largeCommunities: 32,
} as const;
export type AttrTypeCode = (typeof AttrType)[keyof typeof AttrType];

export const AttrFlag = { optional: 0x80, transitive: 0x40, partial: 0x20, extendedLength: 0x10 } as const;

/** Well-known communities, RFC 1997. */
export const WellKnownCommunity = {
  noExport: 0xffffff01,
  noAdvertise: 0xffffff02,
  noExportSubconfed: 0xffffff03,
  /** RFC 9494 §3: a long-lived stale route (least preferred, only to LLGR peers). */
  llgrStale: 0xffff0006,
  /** RFC 9494 §3: not to be kept as a long-lived stale route. */
  noLlgr: 0xffff0007,
} as const;

export interface Aggregator {
  readonly asn: number;
  readonly address: string;
}

export interface LargeCommunity {
  readonly globalAdmin: number;
  readonly localData1: number;
  readonly localData2: number;
}

/** An optional transitive attribute we do not understand, passed on with the Partial bit. */
export interface UnknownAttribute {
  readonly flags: number;
  readonly typeCode: number;
  readonly value: Uint8Array;
}

/**
 * Decoded path attributes, with AS4_PATH / AS4_AGGREGATOR already reconciled into `asPath` /
 * `aggregator` (RFC 6793 §4.2.3). MP_REACH_NLRI / MP_UNREACH_NLRI are not here: their NLRI
 * and next hops are hoisted into `UpdateMessage.reach` / `withdrawn`.
 */
export interface PathAttributes {
  readonly origin?: OriginCode;
  readonly asPath?: readonly AsPathSegment[];
  /** NEXT_HOP attribute (IPv4 NLRI only). */
  readonly nextHop?: string;
  readonly med?: number;
  readonly localPref?: number;
  readonly atomicAggregate?: boolean;
  readonly aggregator?: Aggregator;
  /** RFC 1997 communities as unsigned 32-bit numbers (asn << 16 | value). */
  readonly communities?: readonly number[];
  readonly originatorId?: string;
  readonly clusterList?: readonly string[];
  /** RFC 4360 extended communities, each the 8 octets as an unsigned 64-bit bigint. */
  readonly extendedCommunities?: readonly bigint[];
  readonly largeCommunities?: readonly LargeCommunity[];
  readonly unknown?: readonly UnknownAttribute[];
}

/**
 * A set of prefixes of one family, packed (prefix-list.ts); pathIds is parallel to prefixes
 * when ADD-PATH applies.
 */
export interface NlriBlock {
  readonly afi: AfiCode;
  readonly safi: SafiCode;
  readonly prefixes: PrefixList;
  readonly pathIds?: readonly number[];
}

/** Reachable prefixes with their next hop(s): the IPv4 NLRI field or one MP_REACH_NLRI. */
export interface ReachBlock extends NlriBlock {
  readonly nextHop: string;
  /** RFC 2545: the optional IPv6 link-local second next hop. */
  readonly linkLocalNextHop?: string;
}

/** RFC 7606 outcome for one attribute that was malformed but did not reset the session. */
export interface AttributeIssue {
  readonly typeCode: number;
  readonly action: 'treat-as-withdraw' | 'attribute-discard';
  readonly reason: string;
}

export interface OpenMessage {
  readonly type: 'open';
  readonly version: number;
  /** The 2-octet My AS field as sent (AS_TRANS when the real AS is in the capability). */
  readonly myAsn: number;
  readonly holdTime: number;
  readonly bgpId: string;
  readonly capabilities: readonly Capability[];
}

export interface UpdateMessage {
  readonly type: 'update';
  /** The IPv4 Withdrawn Routes field, then each MP_UNREACH_NLRI. */
  readonly withdrawn: readonly NlriBlock[];
  /** The IPv4 NLRI field (next hop from NEXT_HOP), then each MP_REACH_NLRI. */
  readonly reach: readonly ReachBlock[];
  readonly attributes: PathAttributes;
  /** RFC 4724 §2: an empty UPDATE (IPv4) or an empty MP_UNREACH_NLRI (other families). */
  readonly endOfRib?: Family;
  /** RFC 7606 §2: set when every prefix in `reach` must be handled as withdrawn. */
  readonly treatAsWithdraw?: AttributeIssue;
  /** RFC 7606 attribute-discard outcomes (the attribute is absent from `attributes`). */
  readonly discarded?: readonly AttributeIssue[];
}

export interface NotificationMessage {
  readonly type: 'notification';
  readonly code: number;
  readonly subcode: number;
  /** The Data field; when `shutdownMessage` is set, only the bytes after the communication. */
  readonly data: Uint8Array;
  /** RFC 8203 / RFC 9003 shutdown communication (Cease subcodes 2 and 4), when present. */
  readonly shutdownMessage?: string;
  /**
   * RFC 8538 §3.1: a Cease / Hard Reset carries the NOTIFICATION it stands for (ErrCode,
   * Subcode, Data) in its Data field; decoded here when the Data holds at least the two codes.
   * `data` above still holds the whole Data field.
   */
  readonly encapsulated?: EncapsulatedNotification;
}

/** The NOTIFICATION inside a Hard Reset (RFC 8538 §3.1). */
export interface EncapsulatedNotification {
  readonly code: number;
  readonly subcode: number;
  /** The Data after the codes; when `shutdownMessage` is set, only the bytes after it. */
  readonly data: Uint8Array;
  readonly shutdownMessage?: string;
}

export interface KeepaliveMessage {
  readonly type: 'keepalive';
}

/** RFC 2918 ROUTE-REFRESH; subtype per RFC 7313 (0 normal, 1 BoRR, 2 EoRR). */
export interface RouteRefreshMessage {
  readonly type: 'routeRefresh';
  readonly afi: number;
  readonly safi: number;
  readonly subtype: 0 | 1 | 2;
  /**
   * RFC 7313 §5: the received Message Subtype was not 0, 1 or 2 (then `subtype` is 0 and
   * meaningless). The receiver MUST ignore such a message.
   */
  readonly unknownSubtype?: number;
}

export type BgpMessage =
  | OpenMessage
  | UpdateMessage
  | NotificationMessage
  | KeepaliveMessage
  | RouteRefreshMessage;

/** Capability codes (IANA "Capability Codes"). */
export const CapabilityCode = {
  multiprotocol: 1,
  routeRefresh: 2,
  extendedNextHop: 5,
  extendedMessage: 6,
  gracefulRestart: 64,
  fourOctetAs: 65,
  addPath: 69,
  enhancedRouteRefresh: 70,
  longLivedGracefulRestart: 71,
  fqdn: 73,
} as const;

export type AddPathMode = 'receive' | 'send' | 'both';

export type Capability =
  | { readonly kind: 'multiprotocol'; readonly afi: number; readonly safi: number }
  | { readonly kind: 'routeRefresh' }
  | { readonly kind: 'enhancedRouteRefresh' }
  | { readonly kind: 'fourOctetAs'; readonly asn: number }
  | {
      readonly kind: 'gracefulRestart';
      readonly restartState: boolean;
      readonly notification: boolean;
      readonly restartTime: number;
      readonly families: readonly {
        readonly afi: number;
        readonly safi: number;
        readonly forwardingPreserved: boolean;
      }[];
    }
  | {
      readonly kind: 'extendedNextHop';
      readonly entries: readonly {
        readonly afi: number;
        readonly safi: number;
        readonly nextHopAfi: number;
      }[];
    }
  | {
      readonly kind: 'addPath';
      readonly entries: readonly {
        readonly afi: number;
        readonly safi: number;
        readonly mode: AddPathMode;
      }[];
    }
  | {
      readonly kind: 'longLivedGracefulRestart';
      /** RFC 9494 §2: per family the F bit and the Long-Lived Stale Time (s, 24 bits). */
      readonly families: readonly {
        readonly afi: number;
        readonly safi: number;
        readonly forwardingPreserved: boolean;
        readonly staleTime: number;
      }[];
    }
  | { readonly kind: 'extendedMessage' }
  | { readonly kind: 'fqdn'; readonly hostname: string; readonly domain: string }
  | { readonly kind: 'unknown'; readonly code: number; readonly value: Uint8Array };

/**
 * What the two OPENs agreed on; the codec needs it to decode and encode UPDATEs.
 * Built by `negotiate()` in bgp/wire/negotiate.ts.
 */
export interface CodecOptions {
  /** RFC 6793: both sides sent the 4-octet AS capability. */
  readonly fourOctetAs: boolean;
  /** RFC 8654: both sides sent the Extended Message capability. */
  readonly extendedMessages: boolean;
  /** RFC 7911: families for which we receive / send path identifiers. */
  readonly addPathReceive: ReadonlySet<Family>;
  readonly addPathSend: ReadonlySet<Family>;
  /** RFC 8950: IPv4 NLRI may be carried in MP_REACH_NLRI with an IPv6 next hop. */
  readonly extendedNextHopIpv4: boolean;
  /**
   * The peer is external: its AS differs from ours (RFC 4271 §5.1.5). LOCAL_PREF, ORIGINATOR_ID
   * and CLUSTER_LIST from it are discarded, well-formed or not (RFC 7606 §7.5, §7.9, §7.10),
   * and an AS_PATH with confederation segments is malformed, treat-as-withdraw (RFC 5065 §5,
   * RFC 7606 §7.2). Absent or false: the peer is internal, those attributes are kept or, when
   * malformed, make the UPDATE treat-as-withdraw, and confederation segments are kept.
   * `negotiate()` sets it from the two OPENs.
   */
  readonly ebgp?: boolean;
}

/** NOTIFICATION error codes and subcodes, RFC 4271 §4.5 and §6, RFC 4486, RFC 7313. */
export const NotifyCode = {
  messageHeader: 1,
  openMessage: 2,
  updateMessage: 3,
  holdTimerExpired: 4,
  fsm: 5,
  cease: 6,
  routeRefresh: 7,
} as const;

export const HeaderSubcode = {
  connectionNotSynchronized: 1,
  badMessageLength: 2,
  badMessageType: 3,
} as const;
export const OpenSubcode = {
  /** RFC 4271 §6.2: an optional parameter is recognized but malformed. */
  unspecific: 0,
  unsupportedVersionNumber: 1,
  badPeerAs: 2,
  badBgpIdentifier: 3,
  unsupportedOptionalParameter: 4,
  unacceptableHoldTime: 6,
  unsupportedCapability: 7,
  roleMismatch: 11,
} as const;
export const UpdateSubcode = {
  malformedAttributeList: 1,
  unrecognizedWellKnownAttribute: 2,
  missingWellKnownAttribute: 3,
  attributeFlagsError: 4,
  attributeLengthError: 5,
  invalidOriginAttribute: 6,
  invalidNextHopAttribute: 8,
  optionalAttributeError: 9,
  invalidNetworkField: 10,
  malformedAsPath: 11,
} as const;
export const FsmSubcode = {
  unspecified: 0,
  unexpectedInOpenSent: 1,
  unexpectedInOpenConfirm: 2,
  unexpectedInEstablished: 3,
} as const;
export const CeaseSubcode = {
  maxPrefixesReached: 1,
  administrativeShutdown: 2,
  peerDeconfigured: 3,
  administrativeReset: 4,
  connectionRejected: 5,
  otherConfigurationChange: 6,
  connectionCollisionResolution: 7,
  outOfResources: 8,
  hardReset: 9,
  bfdDown: 10,
} as const;
export const RouteRefreshSubcode = { invalidMessageLength: 1 } as const;

export type GracefulRestartCapability = Extract<Capability, { readonly kind: 'gracefulRestart' }>;
export type LongLivedGracefulRestartCapability = Extract<
  Capability,
  { readonly kind: 'longLivedGracefulRestart' }
>;

/** What the two OPENs agreed on; built by `negotiate()` in bgp/wire/negotiate.ts. */
export interface Negotiated {
  readonly codec: CodecOptions;
  /** RFC 4271 §4.2: the smaller of the two Hold Times. */
  readonly holdTime: number;
  /** holdTime / 3 rounded down; 0 when holdTime is 0 (no KEEPALIVEs). */
  readonly keepaliveTime: number;
  /** Families both sides advertised (RFC 4760 §8: no multiprotocol capability = IPv4 unicast). */
  readonly families: readonly Family[];
  /** The peer's AS: from its 4-octet AS capability, else its My AS field. */
  readonly peerAsn: number;
  /** The peer advertised route refresh (code 2 or 128): we may send it ROUTE-REFRESH. */
  readonly routeRefresh: boolean;
  /** The peer advertised enhanced route refresh (RFC 7313 §4): we may send it BoRR/EoRR. */
  readonly enhancedRouteRefresh: boolean;
  /** The peer's graceful restart capability (RFC 4724 §3), if it sent one. */
  readonly gracefulRestart?: GracefulRestartCapability;
  /**
   * The peer's Long-Lived Graceful Restart capability (RFC 9494 §2), if it sent one together
   * with the Graceful Restart capability (§4.1: without it the LLGR capability is ignored).
   */
  readonly longLivedGracefulRestart?: LongLivedGracefulRestartCapability;
  /**
   * RFC 8538 §2/§4: both OPENs carried the Graceful Restart capability with the N bit. Then a
   * NOTIFICATION other than Cease / Hard Reset ends the session gracefully (routes kept stale),
   * and a full reset must be sent as a Hard Reset.
   */
  readonly gracefulNotification: boolean;
  readonly remoteCapabilities: readonly Capability[];
}
