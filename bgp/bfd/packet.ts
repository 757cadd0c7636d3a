// The BFD control packet (RFC 5880 §4.1) without an authentication section.
//
//   0                   1                   2                   3
//   |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
//   |                       My Discriminator                        |
//   |                      Your Discriminator                       |
//   |                    Desired Min TX Interval                    |
//   |                   Required Min RX Interval                    |
//   |                 Required Min Echo RX Interval                 |
//
// Intervals on the wire are microseconds. decodeControl never throws: a datagram from the
// network is either a packet or a reason to discard it, and the reasons are the §6.8.6 checks
// that need no session state (version, length, multiplier, multipoint bit, discriminators), plus
// the authentication bit, which Margay does not implement and so refuses rather than ignores.

export const BFD_VERSION = 1;
/** Length of a control packet without authentication. */
export const CONTROL_LENGTH = 24;

/** Session states as encoded in the Sta field. */
export const BFD_STATES = ['AdminDown', 'Down', 'Init', 'Up'] as const;
export type BfdState = (typeof BFD_STATES)[number];

/** Diagnostic codes (RFC 5880 §4.1). */
export const BFD_DIAGS = {
  none: 0,
  controlDetectionTimeExpired: 1,
  echoFunctionFailed: 2,
  neighborSignaledSessionDown: 3,
  forwardingPlaneReset: 4,
  pathDown: 5,
  concatenatedPathDown: 6,
  administrativelyDown: 7,
  reverseConcatenatedPathDown: 8,
} as const;
export type BfdDiagName = keyof typeof BFD_DIAGS;

const DIAG_NAMES: readonly BfdDiagName[] = Object.keys(BFD_DIAGS) as BfdDiagName[];

/** The name of a diagnostic code, or `diag N` for one RFC 5880 does not define. */
export function diagName(code: number): string {
  return DIAG_NAMES.find((n) => BFD_DIAGS[n] === code) ?? `diag ${code}`;
}

export interface ControlPacket {
  readonly diag: number;
  readonly state: BfdState;
  readonly poll: boolean;
  readonly final: boolean;
  /** Control Plane Independent. */
  readonly cpi: boolean;
  readonly demand: boolean;
  readonly detectMult: number;
  readonly myDiscriminator: number;
  readonly yourDiscriminator: number;
  readonly desiredMinTxUs: number;
  readonly requiredMinRxUs: number;
  readonly requiredMinEchoRxUs: number;
}

export type DecodeResult =
  | { readonly ok: true; readonly packet: ControlPacket }
  | { readonly ok: false; readonly reason: string };

const U32_MAX = 0xffff_ffff;

function checkU32(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > U32_MAX)
    throw new RangeError(`BFD ${name} ${v} is not a 32-bit unsigned integer`);
}

/** The 24 bytes of a control packet. Throws RangeError on a field out of its range. */
export function encodeControl(p: ControlPacket): Buffer {
  if (!Number.isInteger(p.diag) || p.diag < 0 || p.diag > 31)
    throw new RangeError(`BFD diag ${p.diag} is not 0..31`);
  if (!Number.isInteger(p.detectMult) || p.detectMult < 1 || p.detectMult > 255)
    throw new RangeError(`BFD detect multiplier ${p.detectMult} is not 1..255`);
  if (p.poll && p.final) throw new RangeError('BFD packet with both Poll and Final set');
  checkU32('my discriminator', p.myDiscriminator);
  checkU32('your discriminator', p.yourDiscriminator);
  checkU32('desired min TX', p.desiredMinTxUs);
  checkU32('required min RX', p.requiredMinRxUs);
  checkU32('required min echo RX', p.requiredMinEchoRxUs);
  const b = Buffer.alloc(CONTROL_LENGTH);
  b[0] = (BFD_VERSION << 5) | p.diag;
  b[1] =
    (BFD_STATES.indexOf(p.state) << 6) |
    (p.poll ? 0x20 : 0) |
    (p.final ? 0x10 : 0) |
    (p.cpi ? 0x08 : 0) |
    (p.demand ? 0x02 : 0);
  b[2] = p.detectMult;
  b[3] = CONTROL_LENGTH;
  b.writeUInt32BE(p.myDiscriminator, 4);
  b.writeUInt32BE(p.yourDiscriminator, 8);
  b.writeUInt32BE(p.desiredMinTxUs, 12);
  b.writeUInt32BE(p.requiredMinRxUs, 16);
  b.writeUInt32BE(p.requiredMinEchoRxUs, 20);
  return b;
}

/** A received datagram as a control packet, or why RFC 5880 §6.8.6 says to discard it. */
export function decodeControl(data: Uint8Array): DecodeResult {
  if (data.length < CONTROL_LENGTH)
    return { ok: false, reason: `datagram of ${data.length} bytes, shorter than ${CONTROL_LENGTH}` };
  const b0 = data[0] as number;
  const b1 = data[1] as number;
  const version = b0 >> 5;
  if (version !== BFD_VERSION) return { ok: false, reason: `version ${version}, not ${BFD_VERSION}` };
  const length = data[3] as number;
  const auth = (b1 & 0x04) !== 0;
  if (auth) return { ok: false, reason: 'authentication bit set: BFD authentication is not supported' };
  if (length < CONTROL_LENGTH)
    return { ok: false, reason: `length field ${length}, less than ${CONTROL_LENGTH}` };
  if (length > data.length)
    return { ok: false, reason: `length field ${length}, more than the ${data.length} bytes received` };
  const detectMult = data[2] as number;
  if (detectMult === 0) return { ok: false, reason: 'detect multiplier 0' };
  if ((b1 & 0x01) !== 0) return { ok: false, reason: 'multipoint bit set' };
  const poll = (b1 & 0x20) !== 0;
  const final = (b1 & 0x10) !== 0;
  if (poll && final) return { ok: false, reason: 'both Poll and Final set' };
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const myDiscriminator = view.getUint32(4);
  const yourDiscriminator = view.getUint32(8);
  if (myDiscriminator === 0) return { ok: false, reason: 'my discriminator 0' };
  const state = BFD_STATES[b1 >> 6] as BfdState;
  if (yourDiscriminator === 0 && state !== 'Down' && state !== 'AdminDown')
    return { ok: false, reason: `your discriminator 0 in state ${state}` };
  return {
    ok: true,
    packet: {
      diag: b0 & 0x1f,
      state,
      poll,
      final,
      cpi: (b1 & 0x08) !== 0,
      demand: (b1 & 0x02) !== 0,
      detectMult,
      myDiscriminator,
      yourDiscriminator,
      desiredMinTxUs: view.getUint32(12),
      requiredMinRxUs: view.getUint32(16),
      requiredMinEchoRxUs: view.getUint32(20),
    },
  };
}
