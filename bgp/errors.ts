// The one error catalog of the bgp/ library. Every error the library throws carries a stable
// `code` from this table; test/unit/errors.test.ts checks each code is documented in the README's
// error table and asserted by some test. The library never logs and never exits: callers decide.
// What goes wrong on a session (hold timer, refused OPEN, NOTIFICATION, lost connection,
// collision) is not thrown: the session reports it as its down reason, and a connection from an
// address that is no peer is refused with its reason on the connectionRefused channel.

export const BgpErrorCode = {
  /** A message violated RFC 4271 §6 / RFC 7606 so that the session must be reset. */
  BGP_ERR_WIRE: 'a received message is malformed; the NOTIFICATION code/subcode say how',
  /** We could not encode a message (a value out of range for its field). */
  BGP_ERR_ENCODE: 'a message could not be encoded because a value does not fit its field',
  /** RFC 4271 §8: UPDATEs are processed only in the Established state. */
  BGP_ERR_FSM: 'an UPDATE was given to the RIB for a peer that is not Established',
  /** A RIB table indexes its entries in 24 bits. */
  BGP_ERR_MAX_PREFIX: 'a RIB table would hold more than 16777215 prefixes of one family',
  BGP_ERR_INVALID_CONFIG: 'a peer or route given to the speaker is invalid',
  BGP_ERR_LISTEN: 'the speaker could not listen on the configured address and port',
  /** TCP-MD5 keys and TTL options are set with setsockopt(2) through koffi. */
  BGP_ERR_SOCKOPT: 'a TCP-MD5 key or TTL option could not be set on a socket',
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
