// The BFD control packet codec against bytes written out by hand from RFC 5880 §4.1.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ControlPacket, decodeControl, diagName, encodeControl } from '../../../../bgp/bfd/packet.ts';

/** Version 1, diag 0, state Up, no flags, mult 3, length 24, discriminators 1 and 2, 300 ms. */
const UP_PACKET = Buffer.from([
  0x20, 0xc0, 0x03, 0x18, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x04, 0x93, 0xe0, 0x00, 0x04,
  0x93, 0xe0, 0x00, 0x00, 0x00, 0x00,
]);

const up: ControlPacket = {
  diag: 0,
  state: 'Up',
  poll: false,
  final: false,
  cpi: false,
  demand: false,
  detectMult: 3,
  myDiscriminator: 1,
  yourDiscriminator: 2,
  desiredMinTxUs: 300_000,
  requiredMinRxUs: 300_000,
  requiredMinEchoRxUs: 0,
};

function patched(at: number, value: number, from: Uint8Array = UP_PACKET): Buffer {
  const b = Buffer.from(from);
  b[at] = value;
  return b;
}

describe('BFD control packet', () => {
  it('decodes the bytes of an Up packet', () => {
    expect(decodeControl(UP_PACKET)).toEqual({ ok: true, packet: up });
  });

  it('encodes an Up packet to the same bytes', () => {
    expect(encodeControl(up)).toEqual(UP_PACKET);
  });

  it('puts the flags and diag in their bits', () => {
    const b = encodeControl({ ...up, state: 'Down', diag: 7, poll: true, cpi: true, yourDiscriminator: 0 });
    expect(b[0]).toBe(0x27);
    expect(b[1]).toBe(0x40 | 0x20 | 0x08);
    const f = encodeControl({ ...up, state: 'Init', final: true, demand: true });
    expect(f[1]).toBe(0x80 | 0x10 | 0x02);
  });

  it('reads a Down packet with your discriminator 0', () => {
    const down = Buffer.from(UP_PACKET);
    down[1] = 0x40;
    down.writeUInt32BE(0, 8);
    const r = decodeControl(down);
    expect(r.ok && r.packet.state).toBe('Down');
  });

  it('ignores bytes after the length field', () => {
    const longer = Buffer.concat([UP_PACKET, Buffer.from([1, 2, 3])]);
    expect(decodeControl(longer)).toEqual({ ok: true, packet: up });
  });

  it.each([
    ['a short datagram', UP_PACKET.subarray(0, 23), /shorter than 24/],
    ['an empty datagram', Buffer.alloc(0), /shorter than 24/],
    ['version 0', patched(0, 0x00), /version 0/],
    ['version 2', patched(0, 0x40), /version 2/],
    ['the authentication bit', patched(1, 0xc4), /authentication/],
    ['a length field under 24', patched(3, 20), /less than 24/],
    ['a length field past the data', patched(3, 26), /more than the 24 bytes/],
    ['detect multiplier 0', patched(2, 0), /multiplier 0/],
    ['the multipoint bit', patched(1, 0xc1), /multipoint/],
    ['Poll and Final together', patched(1, 0xf0), /Poll and Final/],
    ['my discriminator 0', patched(7, 0), /my discriminator 0/],
    ['your discriminator 0 in Up', patched(11, 0), /your discriminator 0 in state Up/],
    ['your discriminator 0 in Init', patched(1, 0x80, patched(11, 0)), /your discriminator 0 in state Init/],
  ])('discards %s with a reason', (_name, bytes, reason) => {
    const r = decodeControl(bytes);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        decodeControl(bytes);
      }),
    );
  });

  it('round-trips every valid packet', () => {
    const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
    const arb = fc
      .record({
        diag: fc.integer({ min: 0, max: 31 }),
        state: fc.constantFrom('AdminDown', 'Down', 'Init', 'Up' as const),
        pf: fc.constantFrom('none', 'poll', 'final'),
        cpi: fc.boolean(),
        demand: fc.boolean(),
        detectMult: fc.integer({ min: 1, max: 255 }),
        myDiscriminator: fc.integer({ min: 1, max: 0xffff_ffff }),
        yourDiscriminator: fc.integer({ min: 1, max: 0xffff_ffff }),
        desiredMinTxUs: u32,
        requiredMinRxUs: u32,
        requiredMinEchoRxUs: u32,
      })
      .map(({ pf, ...rest }): ControlPacket => ({ ...rest, poll: pf === 'poll', final: pf === 'final' }));
    fc.assert(
      fc.property(arb, (p) => {
        expect(decodeControl(encodeControl(p))).toEqual({ ok: true, packet: p });
      }),
    );
  });

  it('refuses to encode fields out of range', () => {
    expect(() => encodeControl({ ...up, detectMult: 0 })).toThrow(/multiplier 0/);
    expect(() => encodeControl({ ...up, diag: 32 })).toThrow(/diag 32/);
    expect(() => encodeControl({ ...up, desiredMinTxUs: 2 ** 32 })).toThrow(/desired min TX/);
    expect(() => encodeControl({ ...up, poll: true, final: true })).toThrow(/Poll and Final/);
  });

  it('names diagnostic codes', () => {
    expect(diagName(1)).toBe('controlDetectionTimeExpired');
    expect(diagName(7)).toBe('administrativelyDown');
    expect(diagName(20)).toBe('diag 20');
  });
});
