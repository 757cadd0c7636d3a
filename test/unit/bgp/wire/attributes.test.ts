// One test per path attribute: the value decoded from RFC-layout bytes, and what a malformed
// one does (RFC 7606 §7; RFC 8092 §11; RFC 6793 §6; RFC 7607 §2), from internal and external peers.
import { describe, expect, it } from 'vitest';
import { ATTRIBUTE_TABLE } from '../../../../bgp/wire/attributes.ts';
import type { CodecOptions, PathAttributes, UpdateMessage } from '../../../../bgp/wire/types.ts';
import { decodeUpdate } from '../../../../bgp/wire/update.ts';
import {
  AS_PATH_2,
  attr,
  hex,
  ip4,
  NEXT_HOP,
  OPTS2,
  OPTS4,
  ORIGIN_IGP,
  opts,
  u16,
  u32,
  update,
} from './helpers.ts';

const NLRI = [24, 10, 1, 2];

/** An UPDATE with the mandatory attributes (unless replaced) plus `extra`, and one prefix. */
function withAttr(
  extra: number[],
  o: CodecOptions = OPTS2,
  base = [...ORIGIN_IGP, ...AS_PATH_2, ...NEXT_HOP],
): UpdateMessage {
  return decodeUpdate(update({ attrs: [...base, ...extra], nlri: NLRI }), o);
}
const NO_ORIGIN = [...AS_PATH_2, ...NEXT_HOP];
const NO_AS_PATH = [...ORIGIN_IGP, ...NEXT_HOP];
const NO_NEXT_HOP = [...ORIGIN_IGP, ...AS_PATH_2];

describe('well-formed attributes decode to the PathAttributes vocabulary', () => {
  const cases: [string, number[], PathAttributes, CodecOptions?][] = [
    ['ORIGIN incomplete', attr(0x40, 1, [2]), { origin: 2 }],
    [
      'AS_PATH all segment types, 2-octet',
      attr(0x40, 2, [
        3,
        1,
        ...u16(65010),
        4,
        2,
        ...u16(65011),
        ...u16(65012),
        2,
        2,
        ...u16(1),
        ...u16(2),
        1,
        1,
        ...u16(3),
      ]),
      {
        asPath: [
          { type: 3, asns: [65010] },
          { type: 4, asns: [65011, 65012] },
          { type: 2, asns: [1, 2] },
          { type: 1, asns: [3] },
        ],
      },
    ],
    ['AS_PATH empty (iBGP)', attr(0x40, 2, []), { asPath: [] }],
    [
      'AS_PATH 4-octet',
      attr(0x40, 2, [2, 2, ...u32(4200000000), ...u32(1)]),
      { asPath: [{ type: 2, asns: [4200000000, 1] }] },
      OPTS4,
    ],
    ['NEXT_HOP', attr(0x40, 3, ip4('198.51.100.7')), { nextHop: '198.51.100.7' }],
    ['MULTI_EXIT_DISC', attr(0x80, 4, u32(0xffffffff)), { med: 0xffffffff }],
    ['LOCAL_PREF', attr(0x40, 5, u32(100)), { localPref: 100 }],
    ['ATOMIC_AGGREGATE', attr(0x40, 6, []), { atomicAggregate: true }],
    [
      'AGGREGATOR 2-octet',
      attr(0xc0, 7, [...u16(65001), ...ip4('192.0.2.9')]),
      { aggregator: { asn: 65001, address: '192.0.2.9' } },
    ],
    [
      'AGGREGATOR 4-octet',
      attr(0xc0, 7, [...u32(4200000000), ...ip4('192.0.2.9')]),
      { aggregator: { asn: 4200000000, address: '192.0.2.9' } },
      OPTS4,
    ],
    [
      'COMMUNITIES',
      attr(0xc0, 8, [...u32(0xffffff01), ...u32((65001 << 16) | 42)]),
      { communities: [0xffffff01, 65001 * 65536 + 42] },
    ],
    ['ORIGINATOR_ID', attr(0x80, 9, ip4('10.0.0.9')), { originatorId: '10.0.0.9' }],
    [
      'CLUSTER_LIST',
      attr(0x80, 10, [...ip4('10.0.0.1'), ...ip4('10.0.0.2')]),
      { clusterList: ['10.0.0.1', '10.0.0.2'] },
    ],
    [
      'EXTENDED_COMMUNITIES',
      attr(0xc0, 16, [0x00, 0x02, ...u16(65001), ...u32(0xdeadbeef)]),
      { extendedCommunities: [0x0002fde9deadbeefn] },
    ],
    [
      'LARGE_COMMUNITY',
      attr(0xc0, 32, [...u32(4200000000), ...u32(1), ...u32(2)]),
      { largeCommunities: [{ globalAdmin: 4200000000, localData1: 1, localData2: 2 }] },
    ],
    ['extended length flag on a short value', attr(0x50, 5, u32(7)), { localPref: 7 }],
  ];
  it.each(cases)('%s', (_name, bytes, expected, o = OPTS2) => {
    // Replace the base attribute of the same type so that duplicates do not interfere.
    const type = bytes[1];
    const base = [
      ...(type === 1 ? [] : ORIGIN_IGP),
      ...(type === 2 ? [] : o.fourOctetAs ? attr(0x40, 2, [2, 1, ...u32(65001)]) : AS_PATH_2),
      ...(type === 3 ? [] : NEXT_HOP),
    ];
    const m = withAttr(bytes, o, base);
    expect(m.treatAsWithdraw).toBeUndefined();
    expect(m.discarded).toBeUndefined();
    expect(m.attributes).toMatchObject(expected);
  });
});

describe('malformed attributes: the RFC 7606 action of each', () => {
  const taw: [string, number[], number[]?][] = [
    ['ORIGIN length 2 (§7.1)', attr(0x40, 1, [0, 0]), NO_ORIGIN],
    ['ORIGIN value 3 (§7.1)', attr(0x40, 1, [3]), NO_ORIGIN],
    ['AS_PATH unknown segment type (§7.2)', attr(0x40, 2, [5, 1, 0, 1]), NO_AS_PATH],
    ['AS_PATH zero segment length (§7.2)', attr(0x40, 2, [2, 0]), NO_AS_PATH],
    ['AS_PATH segment overrun (§7.2)', attr(0x40, 2, [2, 2, 0, 1]), NO_AS_PATH],
    ['AS_PATH odd length for 2-octet', attr(0x40, 2, [2, 1, 0, 1, 0]), NO_AS_PATH],
    ['NEXT_HOP length 5 (§7.3)', attr(0x40, 3, [1, 2, 3, 4, 5]), NO_NEXT_HOP],
    ['NEXT_HOP 0.0.0.0 (RFC 4271 §6.3, §7.3)', attr(0x40, 3, [0, 0, 0, 0]), NO_NEXT_HOP],
    ['NEXT_HOP multicast 224.0.0.5', attr(0x40, 3, [224, 0, 0, 5]), NO_NEXT_HOP],
    ['NEXT_HOP 255.255.255.255', attr(0x40, 3, [255, 255, 255, 255]), NO_NEXT_HOP],
    ['NEXT_HOP 0.1.2.200, in "this network" 0/8', attr(0x40, 3, [0, 1, 2, 200]), NO_NEXT_HOP],
    ['NEXT_HOP 0.255.255.255, in "this network" 0/8', attr(0x40, 3, [0, 255, 255, 255]), NO_NEXT_HOP],
    ['NEXT_HOP class E 240.0.0.1', attr(0x40, 3, [240, 0, 0, 1]), NO_NEXT_HOP],
    ['MED length 3 (§7.4)', attr(0x80, 4, [0, 0, 1])],
    ['LOCAL_PREF length 5 (§7.5)', attr(0x40, 5, [0, 0, 0, 0, 1])],
    ['COMMUNITIES length 0 (§7.8)', attr(0xc0, 8, [])],
    ['COMMUNITIES length 5 (§7.8)', attr(0xc0, 8, [0, 0, 0, 0, 1])],
    ['ORIGINATOR_ID length 3 (§7.9)', attr(0x80, 9, [1, 2, 3])],
    ['CLUSTER_LIST length 6 (§7.10)', attr(0x80, 10, [1, 2, 3, 4, 5, 6])],
    ['EXTENDED_COMMUNITIES length 12 (§7.14)', attr(0xc0, 16, new Array(12).fill(0))],
    ['LARGE_COMMUNITY length 13 (RFC 8092 §11)', attr(0xc0, 32, new Array(13).fill(0))],
    ['LARGE_COMMUNITY length 0', attr(0xc0, 32, [])],
    ['ORIGIN with the optional flag (§3.c)', attr(0xc0, 1, [0]), NO_ORIGIN],
    ['COMMUNITIES without the transitive flag (§3.c)', attr(0x80, 8, u32(1))],
    ['MED marked transitive (§3.c)', attr(0xc0, 4, u32(1))],
  ];
  it.each(taw)('treat-as-withdraw: %s', (_name, bytes, base) => {
    const m = withAttr(bytes, OPTS2, base);
    expect(m.treatAsWithdraw).toMatchObject({ typeCode: bytes[1], action: 'treat-as-withdraw' });
    expect(m.reach[0]?.prefixes.toArray()).toEqual(['10.1.2.0/24']); // still listed, so the RIB withdraws it
  });

  const discard: [string, number[], keyof PathAttributes, CodecOptions?][] = [
    ['ATOMIC_AGGREGATE length 1 (§7.6)', attr(0x40, 6, [1]), 'atomicAggregate'],
    ['AGGREGATOR length 8 on a 2-octet session (§7.7)', attr(0xc0, 7, new Array(8).fill(1)), 'aggregator'],
    [
      'AGGREGATOR length 6 on a 4-octet session (§7.7)',
      attr(0xc0, 7, new Array(6).fill(1)),
      'aggregator',
      OPTS4,
    ],
    ['AGGREGATOR without the optional flag (§3.c + §7.7)', attr(0x40, 7, new Array(6).fill(1)), 'aggregator'],
    ['AS4_PATH malformed (RFC 6793 §6)', attr(0xc0, 17, [2, 0]), 'asPath'],
    ['AS4_AGGREGATOR length 6 (RFC 6793 §6)', attr(0xc0, 18, new Array(6).fill(1)), 'aggregator'],
  ];
  it.each(discard)('attribute-discard: %s', (_name, bytes, key, o = OPTS2) => {
    const m = withAttr(
      bytes,
      o,
      o.fourOctetAs ? [...ORIGIN_IGP, ...attr(0x40, 2, [2, 1, ...u32(65001)]), ...NEXT_HOP] : undefined,
    );
    expect(m.treatAsWithdraw).toBeUndefined();
    expect(m.discarded).toEqual([
      expect.objectContaining({ typeCode: bytes[1], action: 'attribute-discard' }),
    ]);
    if (key === 'asPath') expect(m.attributes.asPath).toEqual([{ type: 2, asns: [65001] }]);
    else expect(m.attributes[key]).toBeUndefined();
  });

  it('AS 0 in AS_PATH is malformed: treat-as-withdraw in any segment type (RFC 7607 §2)', () => {
    const zeroIn: number[][] = [
      [2, 2, ...u16(65001), ...u16(0)],
      [1, 2, ...u16(0), ...u16(65002)],
      [3, 1, ...u16(0), 2, 1, ...u16(65001)],
      [2, 1, ...u16(65001), 4, 1, ...u16(0)],
    ];
    for (const value of zeroIn) {
      const m = withAttr(attr(0x40, 2, value), OPTS2, NO_AS_PATH);
      expect(m.treatAsWithdraw, JSON.stringify(value)).toMatchObject({
        typeCode: 2,
        action: 'treat-as-withdraw',
      });
      expect(m.reach[0]?.prefixes.toArray()).toEqual(['10.1.2.0/24']);
    }
    const four = withAttr(attr(0x40, 2, [2, 2, ...u32(65001), ...u32(0)]), OPTS4, NO_AS_PATH);
    expect(four.treatAsWithdraw).toMatchObject({ typeCode: 2, action: 'treat-as-withdraw' });
  });

  it('a whole UPDATE with AS_PATH 64513 0 (4-octet): its route is treat-as-withdraw', () => {
    // AS_PATH AS_SEQUENCE 64513 0 (4-octet), NLRI 198.18.0.0/24.
    const frame = hex(
      'ffffffffffffffffffffffffffffffff003302000000184001010040020a02020000fc0100000000400304c000020218c61200',
    );
    const m = decodeUpdate(frame, OPTS4);
    expect(m.treatAsWithdraw).toMatchObject({ typeCode: 2, action: 'treat-as-withdraw' });
    expect(m.reach[0]?.prefixes.toArray()).toEqual(['198.18.0.0/24']);
    expect(m.attributes.asPath).toBeUndefined();
  });

  it('AS 0 in AGGREGATOR, AS4_AGGREGATOR or AS4_PATH: the attribute is discarded (RFC 7607 §2)', () => {
    const agg2 = withAttr(attr(0xc0, 7, [...u16(0), ...ip4('192.0.2.9')]));
    expect(agg2.treatAsWithdraw).toBeUndefined();
    expect(agg2.discarded).toEqual([expect.objectContaining({ typeCode: 7, action: 'attribute-discard' })]);
    expect(agg2.attributes.aggregator).toBeUndefined();

    const base4 = [...ORIGIN_IGP, ...attr(0x40, 2, [2, 1, ...u32(65001)]), ...NEXT_HOP];
    const agg4 = withAttr(attr(0xc0, 7, [...u32(0), ...ip4('192.0.2.9')]), OPTS4, base4);
    expect(agg4.discarded).toEqual([expect.objectContaining({ typeCode: 7, action: 'attribute-discard' })]);
    expect(agg4.attributes.aggregator).toBeUndefined();

    // AGGREGATOR names AS_TRANS, so AS4_AGGREGATOR would replace it; with AS 0 it is dropped and
    // the AS_TRANS aggregator stays.
    const as4Agg = withAttr([
      ...attr(0xc0, 7, [...u16(23456), ...ip4('192.0.2.9')]),
      ...attr(0xc0, 18, [...u32(0), ...ip4('192.0.2.10')]),
    ]);
    expect(as4Agg.discarded).toEqual([
      expect.objectContaining({ typeCode: 18, action: 'attribute-discard' }),
    ]);
    expect(as4Agg.attributes.aggregator).toEqual({ asn: 23456, address: '192.0.2.9' });

    // AS4_PATH of the same length as AS_PATH would replace it whole; with AS 0 it is dropped
    // (RFC 7607 §2 hands AS4_PATH to RFC 6793 §6: attribute discard) and AS_PATH stays.
    const as4Path = withAttr(attr(0xc0, 17, [2, 1, ...u32(0)]));
    expect(as4Path.treatAsWithdraw).toBeUndefined();
    expect(as4Path.discarded).toEqual([
      expect.objectContaining({ typeCode: 17, action: 'attribute-discard' }),
    ]);
    expect(as4Path.attributes.asPath).toEqual([{ type: 2, asns: [65001] }]);
  });

  it('AS4_PATH and AS4_AGGREGATOR on a 4-octet session are discarded (RFC 6793 §4.1)', () => {
    const m = withAttr(
      [...attr(0xc0, 17, [2, 1, ...u32(7)]), ...attr(0xc0, 18, [...u32(7), ...ip4('1.1.1.1')])],
      OPTS4,
      [...ORIGIN_IGP, ...attr(0x40, 2, [2, 1, ...u32(65001)]), ...NEXT_HOP],
    );
    expect(m.attributes.asPath).toEqual([{ type: 2, asns: [65001] }]);
    expect(m.discarded?.map((d) => d.typeCode)).toEqual([17, 18]);
  });
});

describe('NEXT_HOP host addresses (RFC 4271 §6.3, RFC 1122 §3.2.1.3)', () => {
  it.each([
    ['1.0.0.1', [1, 0, 0, 1]],
    ['223.255.255.254', [223, 255, 255, 254]],
    // Loopback is kept: speakers peering over 127.0.0.1 (one host, tests) announce it.
    ['127.0.0.1', [127, 0, 0, 1]],
  ])('%s is a host address: kept', (text, bytes) => {
    const m = withAttr(attr(0x40, 3, bytes), OPTS2, NO_NEXT_HOP);
    expect(m.treatAsWithdraw).toBeUndefined();
    expect(m.attributes.nextHop).toBe(text);
    expect(m.reach).toEqual([expect.objectContaining({ nextHop: text })]);
  });
});

describe('confederation segments in AS_PATH (RFC 5065 §5, RFC 7606 §7.2)', () => {
  const EBGP2 = opts({ ebgp: true });
  const EBGP4 = opts({ fourOctetAs: true, ebgp: true });
  const IBGP4 = opts({ fourOctetAs: true, ebgp: false });
  // Each path carries a confederation segment; 65001 is the external peer's AS.
  const paths: [string, number[], number[]][] = [
    [
      'AS_CONFED_SEQUENCE (65501 65502) then 65001',
      [3, 2, ...u16(65501), ...u16(65502), 2, 1, ...u16(65001)],
      [3, 2, ...u32(65501), ...u32(65502), 2, 1, ...u32(65001)],
    ],
    [
      'AS_CONFED_SET [65501 65502] then 65001',
      [4, 2, ...u16(65501), ...u16(65502), 2, 1, ...u16(65001)],
      [4, 2, ...u32(65501), ...u32(65502), 2, 1, ...u32(65001)],
    ],
    [
      '65001 then AS_CONFED_SEQUENCE (65501)',
      [2, 1, ...u16(65001), 3, 1, ...u16(65501)],
      [2, 1, ...u32(65001), 3, 1, ...u32(65501)],
    ],
    ['AS_CONFED_SET [65501] alone', [4, 1, ...u16(65501)], [4, 1, ...u32(65501)]],
  ];

  it.each(paths)('from an external peer, %s: treat-as-withdraw', (_name, two, four) => {
    for (const [o, value] of [
      [EBGP2, two],
      [EBGP4, four],
    ] as const) {
      const m = withAttr(attr(0x40, 2, value), o, NO_AS_PATH);
      expect(m.treatAsWithdraw, `fourOctetAs ${o.fourOctetAs}`).toMatchObject({
        typeCode: 2,
        action: 'treat-as-withdraw',
      });
      expect(m.attributes.asPath).toBeUndefined();
      expect(m.reach[0]?.prefixes.toArray()).toEqual(['10.1.2.0/24']);
    }
  });

  it.each(paths)('from an internal peer, %s: kept as sent', (_name, _two, four) => {
    for (const o of [IBGP4, OPTS4]) {
      const m = withAttr(attr(0x40, 2, four), o, NO_AS_PATH);
      expect(m.treatAsWithdraw).toBeUndefined();
      expect(m.attributes.asPath?.some((s) => s.type === 3 || s.type === 4)).toBe(true);
    }
  });

  it('a whole UPDATE from an external peer with AS_PATH (65501 65502) 65001: withdrawn', () => {
    // ORIGIN IGP, AS_PATH AS_CONFED_SEQUENCE 65501 65502 + AS_SEQUENCE 65001 (4-octet),
    // NEXT_HOP 198.51.100.2, NLRI 10.64.71.0/24.
    const frame = hex(
      'ffffffffffffffffffffffffffffffff0039020000001e' +
        '40010100' +
        '400210' +
        '03020000ffdd0000ffde' +
        '02010000fde9' +
        '400304c6336402' +
        '180a4047',
    );
    const m = decodeUpdate(frame, EBGP4);
    expect(m.treatAsWithdraw).toMatchObject({ typeCode: 2, action: 'treat-as-withdraw' });
    expect(m.reach[0]?.prefixes.toArray()).toEqual(['10.64.71.0/24']);
  });
});

describe('attributes only an internal peer may send (RFC 7606 §7.5, §7.9, §7.10)', () => {
  const IBGP = opts({ fourOctetAs: true, ebgp: false });
  const EBGP = opts({ fourOctetAs: true, ebgp: true });
  const BASE4 = [...ORIGIN_IGP, ...attr(0x40, 2, [2, 1, ...u32(65001)]), ...NEXT_HOP];
  const cases: [string, number[], keyof PathAttributes][] = [
    ['LOCAL_PREF length 3', attr(0x40, 5, [0, 0, 1]), 'localPref'],
    ['LOCAL_PREF length 5', attr(0x40, 5, [0, 0, 0, 0, 1]), 'localPref'],
    ['LOCAL_PREF well-formed', attr(0x40, 5, u32(500)), 'localPref'],
    ['LOCAL_PREF with the optional flag', attr(0xc0, 5, u32(500)), 'localPref'],
    ['ORIGINATOR_ID length 3', attr(0x80, 9, [1, 2, 3]), 'originatorId'],
    ['ORIGINATOR_ID well-formed', attr(0x80, 9, ip4('10.0.0.9')), 'originatorId'],
    ['CLUSTER_LIST length 6', attr(0x80, 10, [1, 2, 3, 4, 5, 6]), 'clusterList'],
    ['CLUSTER_LIST length 0', attr(0x80, 10, []), 'clusterList'],
    ['CLUSTER_LIST well-formed', attr(0x80, 10, ip4('10.0.0.1')), 'clusterList'],
  ];

  it.each(cases)('from an external peer, %s: discarded, the route kept', (_name, bytes, key) => {
    const m = withAttr(bytes, EBGP, BASE4);
    expect(m.treatAsWithdraw).toBeUndefined();
    expect(m.discarded).toEqual([
      expect.objectContaining({ typeCode: bytes[1], action: 'attribute-discard' }),
    ]);
    expect(m.attributes[key]).toBeUndefined();
    expect(m.attributes.asPath).toEqual([{ type: 2, asns: [65001] }]);
    expect(m.reach[0]?.prefixes.toArray()).toEqual(['10.1.2.0/24']);
  });

  it.each(cases)(
    'from an internal peer, %s: malformed is treat-as-withdraw, well-formed kept',
    (name, bytes, key) => {
      const m = withAttr(bytes, IBGP, BASE4);
      if (name.endsWith('well-formed')) {
        expect(m.treatAsWithdraw).toBeUndefined();
        expect(m.discarded).toBeUndefined();
        expect(m.attributes[key]).toBeDefined();
      } else {
        expect(m.treatAsWithdraw).toMatchObject({ typeCode: bytes[1], action: 'treat-as-withdraw' });
      }
    },
  );

  it('without the session type the decoder handles the peer as internal', () => {
    expect(withAttr(attr(0x40, 5, [0, 0, 1]), OPTS4, BASE4).treatAsWithdraw).toMatchObject({ typeCode: 5 });
    expect(withAttr(attr(0x40, 5, u32(500)), OPTS4, BASE4).attributes.localPref).toBe(500);
  });

  it('a whole UPDATE with a 3-byte LOCAL_PREF: eBGP keeps 198.18.1.0/24 without it, iBGP withdraws it', () => {
    // ORIGIN IGP, AS_PATH 64513 (4-octet), NEXT_HOP 192.0.2.2, LOCAL_PREF of 3 bytes, 198.18.1.0/24.
    const frame = hex(
      'ffffffffffffffffffffffffffffffff0035020000001a4001010040020602010000fc01400304c000020240050300000118c61201',
    );
    const e = decodeUpdate(frame, EBGP);
    expect(e.treatAsWithdraw).toBeUndefined();
    expect(e.discarded).toEqual([expect.objectContaining({ typeCode: 5, action: 'attribute-discard' })]);
    expect(e.reach).toEqual([expect.objectContaining({ nextHop: '192.0.2.2' })]);
    expect(e.reach[0]?.prefixes.toArray()).toEqual(['198.18.1.0/24']);
    expect(e.attributes).toEqual({ origin: 0, asPath: [{ type: 2, asns: [64513] }], nextHop: '192.0.2.2' });
    const i = decodeUpdate(frame, IBGP);
    expect(i.treatAsWithdraw).toMatchObject({ typeCode: 5, action: 'treat-as-withdraw' });
  });
});

describe('the descriptor table', () => {
  it('has an entry with name, flags and RFC 7606 action for every attribute of types.ts', () => {
    const expected: Record<number, string> = {
      1: 'treat-as-withdraw',
      2: 'treat-as-withdraw',
      3: 'treat-as-withdraw',
      4: 'treat-as-withdraw',
      5: 'treat-as-withdraw',
      6: 'attribute-discard',
      7: 'attribute-discard',
      8: 'treat-as-withdraw',
      9: 'treat-as-withdraw',
      10: 'treat-as-withdraw',
      14: 'session-reset',
      15: 'session-reset',
      16: 'treat-as-withdraw',
      17: 'attribute-discard',
      18: 'attribute-discard',
      32: 'treat-as-withdraw',
    };
    for (const [code, action] of Object.entries(expected)) {
      expect(ATTRIBUTE_TABLE[Number(code)]?.onError, `type ${code}`).toBe(action);
    }
    expect(ATTRIBUTE_TABLE.filter(Boolean)).toHaveLength(Object.keys(expected).length);
  });
});
