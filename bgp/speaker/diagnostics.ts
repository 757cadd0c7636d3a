// The speaker never logs: it is a library, so it publishes what happened on
// node:diagnostics_channel and the application decides what to print. Each message is plain data.
import { channel } from 'node:diagnostics_channel';

export const DiagnosticChannel = {
  /** { address, from, to, reason? } */
  peerStateChanged: 'margay.bgp.peerStateChanged',
  /** { remoteAddress, remotePort, reason } — a connection from an address that is not a configured peer. */
  connectionRefused: 'margay.bgp.connectionRefused',
  /** { address, direction: 'sent' | 'received', code, subcode, name, shutdownMessage? } */
  notification: 'margay.bgp.notification',
  /** { address, action: 'treat-as-withdraw' | 'attribute-discard', typeCode, reason, prefixes } (RFC 7606) */
  updateError: 'margay.bgp.updateError',
  /** { address, reason } — a problem that did not change the session state (e.g. a route-refresh for an unknown family). */
  warning: 'margay.bgp.warning',
  /**
   * { address, family, limit, received, action: 'teardown' | 'warn', holdSeconds? } — a prefix
   * limit crossed (PeerConfig.maxPrefix): once per crossing, not per UPDATE.
   */
  prefixLimit: 'margay.bgp.prefixLimit',
} as const;
export type DiagnosticChannelName = (typeof DiagnosticChannel)[keyof typeof DiagnosticChannel];

export const channels = {
  peerStateChanged: channel(DiagnosticChannel.peerStateChanged),
  connectionRefused: channel(DiagnosticChannel.connectionRefused),
  notification: channel(DiagnosticChannel.notification),
  updateError: channel(DiagnosticChannel.updateError),
  warning: channel(DiagnosticChannel.warning),
  prefixLimit: channel(DiagnosticChannel.prefixLimit),
} as const;
