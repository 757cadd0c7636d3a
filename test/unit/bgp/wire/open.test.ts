import { describe, expect, it } from 'vitest';
import { BgpError } from '../../../../bgp/errors.ts';
import { decodeMessage } from '../../../../bgp/wire/messages.ts';
import { decodeOpen, encodeOpen, validateOpen } from '../../../../bgp/wire/open.ts';
import type { Capability, OpenMessage } from '../../../../bgp/wire/types.ts';
import { expectWireError, ip4, message, OPTS2, toHex, u16, u32 } from './helpers.ts';

/** OPEN body with the given optional-parameter bytes (classic one-octet length). */
function openBody(
  params: number[],
  over: { version?: number; asn?: number; hold?: number; id?: string } = {},
) {
  return [
    over.version ?? 4,
    ...u16(over.asn ?? 65001),
    ...u16(over.hold ?? 90),
    ...ip4(over.id ?? '192.0.2.1'),
    params.length,
    ...params,
  ];
}
const capParam = (caps: number[]) => [2, caps.length, ...caps];

describe('decodeOpen', () => {
  it('decodes the fixed fields and no parameters', () => {
    expect(decodeOpen(message(1, openBody([])))).toEqual({
      type: 'open',
      version: 4,
      myAsn: 65001,
      holdTime: 90,
      bgpId: '192.0.2.1',
      capabilities: [],
    });
  });

  it('decodes every known capability, several per parameter and several parameters', () => {
    const p1 = capParam([
      ...[1, 4, 0, 1, 0, 1], // multiprotocol IPv4 unicast (RFC 4760 §8)
      ...[1, 4, 0, 2, 0, 1], // multiprotocol IPv6 unicast
      ...[2, 0], // route refresh (RFC 2918)
      ...[128, 0], // Cisco route refresh
      ...[70, 0], // enhanced route refresh (RFC 7313)
      ...[65, 4, ...u32(4200000000)], // 4-octet AS (RFC 6793)
    ]);
    const p2 = capParam([
      ...[64, 6, 0x80 | 0x40 | 0x01, 0x2c, 0, 1, 1, 0x80], // GR: R+N, 300 s, IPv4 unicast F
      ...[5, 6, 0, 1, 0, 1, 0, 2], // extended next hop IPv4 unicast over IPv6 (RFC 8950)
      ...[69, 8, 0, 1, 1, 3, 0, 2, 1, 1], // ADD-PATH v4 both, v6 receive (RFC 7911)
      ...[6, 0], // extended message (RFC 8654)
      ...[73, 7, 3, 0x68, 0x6f, 0x70, 2, 0x6c, 0x6e], // FQDN "hop" "ln"
      ...[200, 2, 0xab, 0xcd], // unknown
    ]);
    const open = decodeOpen(message(1, openBody([...p1, ...p2])));
    const expected: Capability[] = [
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'multiprotocol', afi: 2, safi: 1 },
      { kind: 'routeRefresh' },
      { kind: 'routeRefresh' },
      { kind: 'enhancedRouteRefresh' },
      { kind: 'fourOctetAs', asn: 4200000000 },
      {
        kind: 'gracefulRestart',
        restartState: true,
        notification: true,
        restartTime: 300,
        families: [{ afi: 1, safi: 1, forwardingPreserved: true }],
      },
      { kind: 'extendedNextHop', entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
      {
        kind: 'addPath',
        entries: [
          { afi: 1, safi: 1, mode: 'both' },
          { afi: 2, safi: 1, mode: 'receive' },
        ],
      },
      { kind: 'extendedMessage' },
      { kind: 'fqdn', hostname: 'hop', domain: 'ln' },
      { kind: 'unknown', code: 200, value: Uint8Array.of(0xab, 0xcd) },
    ];
    expect(open.capabilities).toEqual(expected);
  });

  it('graceful restart flags: R is bit 0x8000, N (RFC 8538 §2) 0x4000, beside the 12-bit restart time', () => {
    for (const [restartState, notification, head] of [
      [false, false, '0078'],
      [true, false, '8078'],
      [false, true, '4078'],
      [true, true, 'c078'],
    ] as const) {
      const cap: Capability = {
        kind: 'gracefulRestart',
        restartState,
        notification,
        restartTime: 120,
        families: [{ afi: 1, safi: 1, forwardingPreserved: true }],
      };
      const o: OpenMessage = {
        type: 'open',
        version: 4,
        myAsn: 65001,
        holdTime: 90,
        bgpId: '192.0.2.1',
        capabilities: [cap],
      };
      const bytes = encodeOpen(o);
      // Capability 64, length 6: flags + restart time, then AFI 1 / SAFI 1 / F bit.
      expect(toHex(bytes).endsWith(`4006${head}00010180`)).toBe(true);
      expect(decodeOpen(bytes).capabilities).toEqual([cap]);
    }
    // The two reserved flag bits are ignored on receipt (RFC 4724 §3).
    const open = decodeOpen(message(1, openBody(capParam([64, 2, 0x30, 0x78]))));
    expect(open.capabilities).toEqual([
      { kind: 'gracefulRestart', restartState: false, notification: false, restartTime: 120, families: [] },
    ]);
  });

  it('copies unknown capability values (they outlive the frame)', () => {
    const frame = message(1, openBody(capParam([200, 1, 7])));
    const open = decodeOpen(frame);
    frame[frame.length - 1] = 9;
    const cap = open.capabilities[0];
    expect(cap?.kind === 'unknown' && Array.from(cap.value)).toEqual([7]);
  });

  it('decodes RFC 9072 extended optional parameters', () => {
    const caps = [65, 4, ...u32(65001), 2, 0];
    const params = [2, ...u16(caps.length), ...caps];
    const body = [
      4,
      ...u16(65001),
      ...u16(90),
      ...ip4('192.0.2.1'),
      255,
      255,
      ...u16(params.length),
      ...params,
    ];
    expect(decodeOpen(message(1, body)).capabilities).toEqual([
      { kind: 'fourOctetAs', asn: 65001 },
      { kind: 'routeRefresh' },
    ]);
  });

  it('rejects an unknown optional parameter type: OPEN / Unsupported Optional Parameter', () => {
    expectWireError(() => decodeOpen(message(1, openBody([1, 2, 0, 0]))), 2, 4);
  });

  it('rejects a malformed known capability: OPEN / Unspecific (RFC 4271 §6.2)', () => {
    expectWireError(() => decodeOpen(message(1, openBody(capParam([65, 2, 0, 1])))), 2, 0);
    expectWireError(() => decodeOpen(message(1, openBody(capParam([1, 3, 0, 1, 0])))), 2, 0);
    expectWireError(() => decodeOpen(message(1, openBody(capParam([2, 1, 0])))), 2, 0);
    expectWireError(() => decodeOpen(message(1, openBody(capParam([69, 4, 0, 1, 1, 4])))), 2, 0);
    expectWireError(() => decodeOpen(message(1, openBody(capParam([64, 3, 0, 0, 0])))), 2, 0);
  });

  it('rejects a capability running past its parameter: OPEN / Unspecific', () => {
    expectWireError(() => decodeOpen(message(1, openBody([2, 3, 65, 4, 0]))), 2, 0);
  });

  it('rejects optional parameters that do not fill the message: Bad Message Length', () => {
    const body = openBody(capParam([2, 0]));
    body[9] = 3; // claims 3 bytes, 4 present
    expectWireError(() => decodeOpen(message(1, body)), 1, 2, u16(19 + body.length));
    body[9] = 5;
    expectWireError(() => decodeOpen(message(1, body)), 1, 2, u16(19 + body.length));
  });

  it('checks the version before the rest of the body: 2/1 with the supported version 4 (RFC 4271 §6.2)', () => {
    // Each body is broken past the version too; the version error comes first, its data the
    // largest supported version in two octets.
    const unknownParam = openBody([1, 2, 0, 0], { version: 3 });
    const badCapability = openBody(capParam([65, 2, 0, 1]), { version: 5 });
    const shortParams = openBody(capParam([2, 0]), { version: 3 });
    shortParams[9] = 7; // claims 7 bytes of parameters, 4 present
    const badAs = openBody([], { version: 2, asn: 0, hold: 1, id: '0.0.0.0' });
    for (const body of [unknownParam, badCapability, shortParams, badAs]) {
      expectWireError(() => decodeOpen(message(1, body)), 2, 1, [0, 4]);
      expectWireError(() => decodeMessage(message(1, body), OPTS2), 2, 1, [0, 4]);
    }
  });

  it('rejects an OPEN below 29 bytes through the header check', () => {
    expectWireError(() => decodeMessage(message(1, [4, 0, 1, 0, 90, 1, 2, 3, 4]), OPTS2), 1, 2, u16(28));
  });
});

describe('encodeOpen', () => {
  const base = { version: 4, myAsn: 65001, holdTime: 90, bgpId: '192.0.2.1' };

  it('encodes the bytes RFC 4271 §4.2 and RFC 5492 describe', () => {
    const bytes = encodeOpen({
      ...base,
      capabilities: [{ kind: 'multiprotocol', afi: 1, safi: 1 }, { kind: 'routeRefresh' }],
    });
    expect(toHex(bytes)).toBe(
      `${'ff'.repeat(16)}0027` +
        '01' +
        '04' +
        'fde9' +
        '005a' +
        'c0000201' +
        '0a' +
        '0208' +
        '010400010001' +
        '0200',
    );
  });

  it('switches to RFC 9072 extended parameters when capabilities exceed 255 bytes', () => {
    const many: Capability[] = [];
    for (let i = 0; i < 50; i++) many.push({ kind: 'multiprotocol', afi: 1000 + i, safi: 1 });
    const bytes = encodeOpen({ ...base, capabilities: many });
    expect(bytes[28]).toBe(255); // Non-Ext OP Len
    expect(bytes[29]).toBe(255); // Non-Ext OP Type
    expect((bytes[30]! << 8) | bytes[31]!).toBe(3 + 300);
    expect(decodeOpen(bytes).capabilities).toEqual(many);
  });

  it('keeps the classic encoding at exactly 255 bytes of parameters', () => {
    const caps: Capability[] = [{ kind: 'unknown', code: 200, value: new Uint8Array(251) }];
    const bytes = encodeOpen({ ...base, capabilities: caps });
    expect(bytes[28]).toBe(255);
    expect(bytes[29]).toBe(2);
    expect(decodeOpen(bytes).capabilities).toEqual(caps);
  });

  it('refuses values that do not fit', () => {
    expect(() => encodeOpen({ ...base, myAsn: 70000, capabilities: [] })).toThrow(BgpError);
    expect(() =>
      encodeOpen({
        ...base,
        capabilities: [{ kind: 'fqdn', hostname: 'x'.repeat(200), domain: 'y'.repeat(100) }],
      }),
    ).toThrow(/above 255/);
  });
});

describe('validateOpen (RFC 4271 §6.2, RFC 6286 §2.2)', () => {
  const good: OpenMessage = {
    type: 'open',
    version: 4,
    myAsn: 65002,
    holdTime: 90,
    bgpId: '192.0.2.2',
    capabilities: [],
  };
  const expect1 = { peerAsn: 65002, localBgpId: '192.0.2.1' };

  it('accepts a good OPEN', () => {
    expect(() => validateOpen(good, expect1)).not.toThrow();
    expect(() => validateOpen({ ...good, holdTime: 0 }, expect1)).not.toThrow();
    expect(() => validateOpen({ ...good, holdTime: 3 }, { ...expect1, peerAsn: 'any' })).not.toThrow();
  });

  it('unsupported version: subcode 1 with the 2-octet supported version as data', () => {
    expectWireError(() => validateOpen({ ...good, version: 3 }, expect1), 2, 1, [0, 4]);
  });

  it('bad peer AS: subcode 2, using the 4-octet AS capability when present', () => {
    expectWireError(() => validateOpen({ ...good, myAsn: 65003 }, expect1), 2, 2);
    const as4: OpenMessage = {
      ...good,
      myAsn: 23456,
      capabilities: [{ kind: 'fourOctetAs', asn: 4200000000 }],
    };
    expect(() => validateOpen(as4, { ...expect1, peerAsn: 4200000000 })).not.toThrow();
    expectWireError(() => validateOpen(as4, expect1), 2, 2);
    expectWireError(() => validateOpen({ ...good, myAsn: 0 }, { ...expect1, peerAsn: 'any' }), 2, 2); // RFC 7607
  });

  it('AS 0 as My Autonomous System or in the 4-octet AS capability: subcode 2 (RFC 7607 §2)', () => {
    // The capability names the configured AS, yet My Autonomous System is 0.
    const zeroField: OpenMessage = { ...good, myAsn: 0, capabilities: [{ kind: 'fourOctetAs', asn: 65002 }] };
    expectWireError(() => validateOpen(zeroField, expect1), 2, 2);
    expectWireError(() => validateOpen(zeroField, { ...expect1, peerAsn: 'any' }), 2, 2);
    const zeroCap: OpenMessage = { ...good, capabilities: [{ kind: 'fourOctetAs', asn: 0 }] };
    expectWireError(() => validateOpen(zeroCap, { ...expect1, peerAsn: 'any' }), 2, 2);
    // The same OPEN with AS_TRANS or the AS itself in the field is fine.
    for (const myAsn of [23456, 65002]) {
      expect(() => validateOpen({ ...zeroField, myAsn }, expect1)).not.toThrow();
    }
  });

  it('bad BGP identifier: 0.0.0.0 always, our own only on iBGP (RFC 6286 §2.2)', () => {
    expectWireError(() => validateOpen({ ...good, bgpId: '0.0.0.0' }, expect1), 2, 3);
    const same = { ...good, bgpId: '192.0.2.1' };
    expectWireError(() => validateOpen(same, { ...expect1, localAsn: 65002 }), 2, 3);
    expect(() => validateOpen(same, { ...expect1, localAsn: 65001 })).not.toThrow();
    // Without our AS, iBGP cannot be ruled out: refused.
    expectWireError(() => validateOpen(same, expect1), 2, 3);
  });

  it.each([1, 2])('unacceptable hold time %i: subcode 6', (hold) => {
    expectWireError(() => validateOpen({ ...good, holdTime: hold }, expect1), 2, 6);
  });
});
