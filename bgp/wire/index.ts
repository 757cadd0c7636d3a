// The wire codec's public surface: pure functions over bytes (no sockets, no timers).

export { ATTRIBUTE_TABLE, type AttrDescriptor, type AttrErrorAction, attributeName } from './attributes.ts';
export { CAPABILITY_TABLE, type CapabilityDescriptor, CISCO_ROUTE_REFRESH } from './capabilities.ts';
export { afiOf, afiSafiOf, DEFAULT_CODEC_OPTIONS, familyOf } from './family.ts';
export { FrameReader } from './frame-reader.ts';
export { readHeader } from './header.ts';
export { decodeMessage, decodeRouteRefresh, encodeKeepalive, encodeRouteRefresh } from './messages.ts';
export { negotiate } from './negotiate.ts';
export {
  decodeNotification,
  describeNotification,
  encodeHardReset,
  encodeNotification,
  isHardResetCease,
  type NotificationInput,
  truncateUtf8,
} from './notification.ts';
export {
  BGP_VERSION,
  decodeOpen,
  encodeOpen,
  type OpenExpectation,
  peerAsnOf,
  validateOpen,
} from './open.ts';
export {
  formatIpv4,
  formatIpv6,
  normalizeIp,
  normalizePrefix,
  type ParsedPrefix,
  parseIp,
  parsePrefix,
} from './prefix.ts';
export { formatPrefix, PrefixList, type PrefixWidth } from './prefix-list.ts';
export * from './types.ts';
export { decodeUpdate } from './update.ts';
export { encodeEndOfRib, UpdateWriter } from './update-writer.ts';
