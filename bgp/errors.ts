// The one error catalog of the bgp/ library (STYLE rule 9). Every error the library throws or
// reports carries a stable `code` from this table; a test checks each code is documented in
// the README's error table. The library never logs and never exits: callers decide.

export const BgpErrorCode = {
  /** A message violated RFC 4271 §6 / RFC 7606 so that the session must be reset. */
  BGP_ERR_WIRE: 'a received message is malformed; the NOTIFICATION code/subcode say how',
  /** We could not encode a message (a value out of range for its field). */
  BGP_ERR_ENCODE: 'a message could not be encoded because a value does not fit its field',
  BGP_ERR_HOLD_TIMER_EXPIRED: 'no KEEPALIVE or UPDATE arrived within the negotiated hold time',
  BGP_ERR_OPEN_REJECTED: 'the peer OPEN was refused (version, AS, BGP identifier, hold time, capability)',
  BGP_ERR_NOTIFICATION_RECEIVED: 'the peer sent a NOTIFICATION and closed the session',
  BGP_ERR_CONNECTION: 'the TCP connection failed or was closed by the peer',
  BGP_ERR_FSM: 'a message arrived that the RFC 4271 §8 state machine does not allow in this state',
  BGP_ERR_COLLISION: 'connection collision detection (RFC 4271 §6.8) closed this connection',
  BGP_ERR_PEER_NOT_CONFIGURED: 'an incoming connection came from an address that is not a configured peer',
  BGP_ERR_MAX_PREFIX: 'the peer sent more prefixes than its configured maximum',
  BGP_ERR_INVALID_CONFIG: 'a peer or route given to the speaker is invalid',
  BGP_ERR_LISTEN: 'the speaker could not listen on the configured address and port',
} as const;
export type BgpErrorCodeName = keyof typeof BgpErrorCode;

export class BgpError extends Error {
  readonly code: BgpErrorCodeName;
  constructor(code: BgpErrorCodeName, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BgpError';
    this.code = code;
  }
}

/**
 * A malformed message. `notifyCode`/`notifySubcode`/`data` are what RFC 4271 §6 says the
 * NOTIFICATION must carry; the session sends exactly that.
 */
export class WireError extends BgpError {
  readonly notifyCode: number;
  readonly notifySubcode: number;
  readonly data: Uint8Array;
  constructor(notifyCode: number, notifySubcode: number, message: string, data?: Uint8Array) {
    super('BGP_ERR_WIRE', message);
    this.name = 'WireError';
    this.notifyCode = notifyCode;
    this.notifySubcode = notifySubcode;
    this.data = data ?? new Uint8Array(0);
  }
}
