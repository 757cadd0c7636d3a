// The public surface of bgp/, the BGP speaker library: what src/ (the node agent, `margay speaker`,
// the configuration schemas, the REST API and the logger) imports. Everything else under bgp/ is
// internal and may change; tools and tests that need one layer alone (the codec, the FSM, the
// RIB) import that layer's own index.ts.
//
//   speaker: Speaker (start / stop / setPeers / setLocalRoutes / peers / routes / events), its
//     options and records: SpeakerOptions, PeerConfig, LocalRoute, PeerStatus, PathView,
//     RouteFilter, BestPathChange
//   peers: peerKey (the one key of a peer address), peerProblem (what is wrong with one
//     PeerConfig, without throwing), resolvePeers (the checked peer table setPeers applies)
//   timers: holdTimeProblem / keepaliveTimeProblem with HOLD_TIME_MAX, KEEPALIVE_TIME_MAX and
//     HOLD_TIME_RULE, the one rule for BGP timers that the configuration schemas share with the FSM
//   communities: parseCommunity / parseLargeCommunity / parseExtendedCommunity, the text forms
//     BIRD, FRR and GoBGP accept, and the LargeCommunity record
//   prefixes: normalizePrefix / normalizeIp, the canonical text that route filters compare
//   families: Family, the address family of a BGP route ('ipv4-unicast' | 'ipv6-unicast')
//   errors: BgpError with the stable codes of the library's catalog
//   diagnostics: DiagnosticChannel, the names of the node:diagnostics_channel channels the speaker
//     publishes on (it never logs)
//   host: HostTimers / HOST_TIMERS, the setTimeout and clearTimeout the speaker runs on (a test
//     passes its own clock)

export type { BfdConfig, BfdPeerStatus } from './bfd/peers.ts';
export { BFD_INTERVAL_MAX_MS, BFD_INTERVAL_MIN_MS } from './bfd/peers.ts';
export { parseCommunity, parseExtendedCommunity, parseLargeCommunity } from './communities.ts';
export { BgpError } from './errors.ts';
export {
  HOLD_TIME_MAX,
  HOLD_TIME_RULE,
  holdTimeProblem,
  KEEPALIVE_TIME_MAX,
  keepaliveTimeProblem,
} from './fsm/hold-time.ts';
export type { HostTimers } from './session/session-types.ts';
export { HOST_TIMERS } from './session/session-types.ts';
export { DiagnosticChannel } from './speaker/diagnostics.ts';
export { maxPrefixProblem } from './speaker/max-prefix.ts';
export { ADD_PATHS, peerKey, peerProblem, resolvePeers } from './speaker/peer-config.ts';
export { Speaker } from './speaker/speaker.ts';
export type {
  BestPathChange,
  LocalRoute,
  MaxPrefixConfig,
  PathView,
  PeerConfig,
  PeerStatus,
  PrefixLimit,
  PrefixLimitStatus,
  RouteFilter,
  SpeakerOptions,
} from './speaker/types.ts';
export { normalizeIp, normalizePrefix } from './wire/prefix.ts';
export type { AddPathMode, Family, LargeCommunity } from './wire/types.ts';
