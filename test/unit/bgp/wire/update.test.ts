import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../../../bgp/wire/messages.ts';
import { decodeUpdate } from '../../../../bgp/wire/update.ts';
import {
  AS_PATH_2,
  attr,
  expectWireError,
  hex,
  ip4,
  list4,
  list6,
  message,
  NEXT_HOP,
  OPTS2,
  ORIGIN_IGP,
  opts,
  u16,
  u32,
  update,
} from './helpers.ts';

const BASE = [...ORIGIN_IGP, ...AS_PATH_2, ...NEXT_HOP];
const NLRI = [24, 10, 1, 2, 8, 10, 0, 32, 1, 2, 3, 4];
const NLRI_TEXT = ['10.1.2.0/24', '10.0.0.0/8', '0.0.0.0/0', '1.2.3.4/32'];
const V6_NH = [...hex('20010db8000000000000000000000001')];

function mpReach(afi: number, nh: number[], nlri: number[], flags = 0x80): number[] {
  return attr(flags, 14, [...u16(afi), 1, nh.length, ...nh, 0, ...nlri]);
}

describe('UPDATE decoding (RFC 4271 §4.3)', () => {
  it('decodes withdrawn routes, attributes and NLRI', () => {
    const m = decodeUpdate(
      update({
        withdrawn: [16, 192, 168, 25, 172, 16, 0, 128],
        attrs: [...BASE, ...attr(0x80, 4, u32(50)), ...attr(0x40, 5, u32(200))],
        nlri: NLRI,
      }),
      OPTS2,
    );
    expect(m).toEqual({
      type: 'update',
      withdrawn: [{ afi: 1, safi: 1, prefixes: list4('192.168.0.0/16', '172.16.0.128/25') }],
      reach: [
        {
          afi: 1,
          safi: 1,
          prefixes: list4(...NLRI_TEXT),
          nextHop: '192.0.2.1',
        },
      ],
      attributes: {
        origin: 0,
        asPath: [{ type: 2, asns: [65001] }],
        nextHop: '192.0.2.1',
        med: 50,
        localPref: 200,
      },
    });
  });

  it('decodes a default route and masks host bits in NLRI (BIRD behaviour, documented)', () => {
    const m = decodeUpdate(update({ attrs: BASE, nlri: [0, 22, 10, 1, 7, 25, 10, 0, 0, 0xff] }), OPTS2);
    expect(m.reach[0]?.prefixes.toArray()).toEqual(['0.0.0.0/0', '10.1.4.0/22', '10.0.0.128/25']);
  });

  it('an UPDATE with attributes but no NLRI and no withdrawn decodes, and is not End-of-RIB', () => {
    const m = decodeUpdate(update({ attrs: BASE }), OPTS2);
    expect(m.reach).toEqual([]);
    expect(m.endOfRib).toBeUndefined();
    expect(m.treatAsWithdraw).toBeUndefined();
  });

  describe('session reset', () => {
    it('withdrawn length past the message: Malformed Attribute List', () => {
      expectWireError(() => decodeUpdate(message(2, [...u16(10), 24, 10, 0, 0, 0, 0]), OPTS2), 3, 1);
    });
    it('total attribute length past the message: Malformed Attribute List', () => {
      expectWireError(() => decodeUpdate(message(2, [0, 0, ...u16(10), ...ORIGIN_IGP]), OPTS2), 3, 1);
    });
    it('NLRI prefix length above 32: Invalid Network Field (RFC 7606 §5.3)', () => {
      expectWireError(() => decodeUpdate(update({ attrs: BASE, nlri: [33, 1, 2, 3, 4, 5] }), OPTS2), 3, 10);
    });
    it('NLRI prefix running past the message: Invalid Network Field', () => {
      expectWireError(() => decodeUpdate(update({ attrs: BASE, nlri: [24, 10, 1] }), OPTS2), 3, 10);
    });
    it('withdrawn prefix length above 32 or truncated: Invalid Network Field', () => {
      expectWireError(() => decodeUpdate(update({ withdrawn: [40, 1, 2, 3, 4, 5] }), OPTS2), 3, 10);
      expectWireError(() => decodeUpdate(update({ withdrawn: [16, 10] }), OPTS2), 3, 10);
    });
    it('unrecognized well-known attribute: subcode 2 with the attribute as data (RFC 4271 §6.3)', () => {
      const unknown = attr(0x40, 99, [1, 2]);
      expectWireError(
        () => decodeUpdate(update({ attrs: [...BASE, ...unknown], nlri: NLRI }), OPTS2),
        3,
        2,
        unknown,
      );
    });
    it('duplicate MP_REACH_NLRI: Malformed Attribute List (RFC 7606 §3.g)', () => {
      const mp = mpReach(2, V6_NH, [32, 0x20, 0x01, 0x0d, 0xb8]);
      expectWireError(
        () => decodeUpdate(update({ attrs: [...ORIGIN_IGP, ...AS_PATH_2, ...mp, ...mp] }), OPTS2),
        3,
        1,
      );
    });
    it('duplicate MP_UNREACH_NLRI: Malformed Attribute List', () => {
      const mp = attr(0x80, 15, [0, 2, 1]);
      expectWireError(() => decodeUpdate(update({ attrs: [...mp, ...mp] }), OPTS2), 3, 1);
    });
    it('MP_REACH_NLRI with a bad next hop length: Optional Attribute Error with the attribute (RFC 7606 §7.11)', () => {
      const mp = mpReach(2, [...V6_NH, 0, 0, 0, 0], [32, 0x20, 0x01, 0x0d, 0xb8]);
      expectWireError(
        () => decodeUpdate(update({ attrs: [...ORIGIN_IGP, ...AS_PATH_2, ...mp] }), OPTS2),
        3,
        9,
        mp,
      );
    });
    it('MP_REACH_NLRI with a bad prefix: Optional Attribute Error', () => {
      const mp = mpReach(2, V6_NH, [129, ...new Array(16).fill(0)]);
      expectWireError(
        () => decodeUpdate(update({ attrs: [...ORIGIN_IGP, ...AS_PATH_2, ...mp] }), OPTS2),
        3,
        9,
        mp,
      );
      const short = mpReach(2, V6_NH, [64, 0x20, 0x01]);
      expectWireError(
        () => decodeUpdate(update({ attrs: [...ORIGIN_IGP, ...AS_PATH_2, ...short] }), OPTS2),
        3,
        9,
      );
    });
    it('MP_REACH_NLRI too short for its fixed fields: Optional Attribute Error', () => {
      expectWireError(() => decodeUpdate(update({ attrs: attr(0x80, 14, [0, 2]) }), OPTS2), 3, 9);
    });
    it('MP_UNREACH_NLRI with a bad prefix: Optional Attribute Error', () => {
      expectWireError(() => decodeUpdate(update({ attrs: attr(0x80, 15, [0, 2, 1, 200]) }), OPTS2), 3, 9);
    });
    it('an MP attribute running past the attribute field resets rather than treat-as-withdraw', () => {
      const mp = mpReach(2, V6_NH, [32, 0x20, 0x01, 0x0d, 0xb8]);
      mp[2] = mp[2]! + 5; // length claims 5 more bytes than the attribute field holds
      expectWireError(
        () => decodeUpdate(update({ attrs: [...ORIGIN_IGP, ...AS_PATH_2, ...mp] }), OPTS2),
        3,
        9,
      );
    });
  });

  describe('RFC 7606 §4 attribute lengths', () => {
    it('an attribute running past the attribute field: treat-as-withdraw, NLRI located by the total length', () => {
      const m = decodeUpdate(update({ attrs: [...BASE, ...attr(0x80, 4, [0, 0], 4)], nlri: NLRI }), OPTS2);
      expect(m.treatAsWithdraw).toMatchObject({ typeCode: 4, action: 'treat-as-withdraw' });
      expect(m.reach[0]?.prefixes.toArray()).toEqual(NLRI_TEXT);
      expect(m.attributes.origin).toBe(0); // parsed before the bad one
    });
    it('fewer bytes than an attribute header left: treat-as-withdraw', () => {
      const m = decodeUpdate(update({ attrs: [...BASE, 0x40, 1], nlri: NLRI }), OPTS2);
      expect(m.treatAsWithdraw).toMatchObject({ typeCode: 0, action: 'treat-as-withdraw' });
      expect(m.reach[0]?.prefixes.toArray()).toEqual(NLRI_TEXT);
      const ext = decodeUpdate(update({ attrs: [...BASE, 0x50, 8, 0], nlri: NLRI }), OPTS2);
      expect(ext.treatAsWithdraw?.reason).toMatch(/RFC 7606 §4/);
    });
  });

  describe('RFC 7606 §3', () => {
    it('missing ORIGIN, AS_PATH or NEXT_HOP with NLRI: treat-as-withdraw (§3.d)', () => {
      const cases: [number[], number][] = [
        [[...AS_PATH_2, ...NEXT_HOP], 1],
        [[...ORIGIN_IGP, ...NEXT_HOP], 2],
        [[...ORIGIN_IGP, ...AS_PATH_2], 3],
      ];
      for (const [attrs, missing] of cases) {
        const m = decodeUpdate(update({ attrs, nlri: NLRI }), OPTS2);
        expect(m.treatAsWithdraw).toMatchObject({ typeCode: missing, action: 'treat-as-withdraw' });
        expect(m.reach[0]?.prefixes.toArray()).toEqual(NLRI_TEXT);
      }
      // No NLRI: nothing is missing.
      expect(decodeUpdate(update({ attrs: ORIGIN_IGP }), OPTS2).treatAsWithdraw).toBeUndefined();
    });

    it('NEXT_HOP is not required when the NLRI are in MP_REACH_NLRI', () => {
      const mp = mpReach(2, V6_NH, [32, 0x20, 0x01, 0x0d, 0xb8]);
      const m = decodeUpdate(update({ attrs: [...mp, ...ORIGIN_IGP, ...AS_PATH_2] }), OPTS2);
      expect(m.treatAsWithdraw).toBeUndefined();
      expect(m.reach).toEqual([
        { afi: 2, safi: 1, prefixes: list6('2001:db8::/32'), nextHop: '2001:db8::1' },
      ]);
    });

    it('a bad NEXT_HOP in an UPDATE without IPv4 NLRI is ignored, the MP_REACH_NLRI routes kept (RFC 4760 §3)', () => {
      const mp = mpReach(2, V6_NH, [32, 0x20, 0x01, 0x0d, 0xb8]);
      const bad: [string, number[]][] = [
        ['0.0.0.0', attr(0x40, 3, [0, 0, 0, 0])],
        ['0.1.2.200', attr(0x40, 3, [0, 1, 2, 200])],
        ['224.0.0.5', attr(0x40, 3, [224, 0, 0, 5])],
        ['255.255.255.255', attr(0x40, 3, [255, 255, 255, 255])],
        ['length 5', attr(0x40, 3, [192, 0, 2, 1, 0])],
        ['optional flag', attr(0xc0, 3, ip4('192.0.2.1'))],
      ];
      for (const [name, nextHop] of bad) {
        const m = decodeUpdate(update({ attrs: [...ORIGIN_IGP, ...AS_PATH_2, ...nextHop, ...mp] }), OPTS2);
        expect(m.treatAsWithdraw, name).toBeUndefined();
        expect(m.discarded, name).toEqual([
          expect.objectContaining({ typeCode: 3, action: 'attribute-discard' }),
        ]);
        expect(m.attributes.nextHop, name).toBeUndefined();
        expect(m.reach, name).toEqual([
          { afi: 2, safi: 1, prefixes: list6('2001:db8::/32'), nextHop: '2001:db8::1' },
        ]);
      }
    });

    it('a bad NEXT_HOP with IPv4 NLRI withdraws them and the MP_REACH_NLRI routes alike (RFC 7606 §2)', () => {
      const mp = mpReach(2, V6_NH, [32, 0x20, 0x01, 0x0d, 0xb8]);
      const m = decodeUpdate(
        update({
          attrs: [...ORIGIN_IGP, ...AS_PATH_2, ...attr(0x40, 3, [0, 1, 2, 200]), ...mp],
          nlri: [24, 10, 1, 2],
        }),
        OPTS2,
      );
      expect(m.treatAsWithdraw).toMatchObject({ typeCode: 3, action: 'treat-as-withdraw' });
      expect(m.reach.map((b) => b.prefixes.toArray())).toEqual([['10.1.2.0/24'], ['2001:db8::/32']]);
    });

    it('missing ORIGIN with only MP_REACH NLRI is treat-as-withdraw too', () => {
      const mp = mpReach(2, V6_NH, [32, 0x20, 0x01, 0x0d, 0xb8]);
      const m = decodeUpdate(update({ attrs: [...mp, ...AS_PATH_2] }), OPTS2);
      expect(m.treatAsWithdraw?.typeCode).toBe(1);
      expect(m.reach[0]?.prefixes.toArray()).toEqual(['2001:db8::/32']);
    });

    it('attribute flag errors: treat-as-withdraw (§3.c), attribute-discard where the attribute says so', () => {
      const badOrigin = decodeUpdate(
        update({ attrs: [...attr(0xc0, 1, [0]), ...AS_PATH_2, ...NEXT_HOP], nlri: NLRI }),
        OPTS2,
      );
      expect(badOrigin.treatAsWithdraw).toMatchObject({ typeCode: 1, action: 'treat-as-withdraw' });
      const badAgg = decodeUpdate(
        update({ attrs: [...BASE, ...attr(0x40, 7, [...u16(65001), ...ip4('192.0.2.9')])], nlri: NLRI }),
        OPTS2,
      );
      expect(badAgg.treatAsWithdraw).toBeUndefined();
      expect(badAgg.discarded).toEqual([
        expect.objectContaining({ typeCode: 7, action: 'attribute-discard' }),
      ]);
      expect(badAgg.attributes.aggregator).toBeUndefined();
    });

    it('an MP_REACH_NLRI with bad flags is treat-as-withdraw with its NLRI still listed', () => {
      const mp = mpReach(2, V6_NH, [32, 0x20, 0x01, 0x0d, 0xb8], 0xc0);
      const m = decodeUpdate(update({ attrs: [...mp, ...ORIGIN_IGP, ...AS_PATH_2] }), OPTS2);
      expect(m.treatAsWithdraw?.typeCode).toBe(14);
      expect(m.reach[0]?.prefixes.toArray()).toEqual(['2001:db8::/32']);
    });

    it('duplicate attributes other than MP_*: all but the first discarded (§3.g)', () => {
      const m = decodeUpdate(update({ attrs: [...BASE, ...attr(0x40, 1, [2])], nlri: NLRI }), OPTS2);
      expect(m.attributes.origin).toBe(0);
      expect(m.discarded).toEqual([expect.objectContaining({ typeCode: 1, action: 'attribute-discard' })]);
      expect(m.treatAsWithdraw).toBeUndefined();
    });

    it('unknown optional transitive kept with the Partial bit (copied); non-transitive dropped', () => {
      const frame = update({
        attrs: [...BASE, ...attr(0xd0, 99, [7, 8]), ...attr(0x80, 98, [1]), ...attr(0xe0, 97, [])],
        nlri: NLRI,
      });
      const m = decodeUpdate(frame, OPTS2);
      frame.fill(0, 40); // the frame may be reused: values are copies
      expect(m.attributes.unknown).toEqual([
        { flags: 0xe0, typeCode: 99, value: Uint8Array.of(7, 8) },
        { flags: 0xe0, typeCode: 97, value: new Uint8Array(0) },
      ]);
    });
  });

  describe('End-of-RIB (RFC 4724 §2)', () => {
    it('IPv4: an UPDATE with nothing in it', () => {
      expect(decodeUpdate(message(2, [0, 0, 0, 0]), OPTS2).endOfRib).toBe('ipv4-unicast');
    });
    it('IPv6: only an empty MP_UNREACH_NLRI', () => {
      const m = decodeUpdate(update({ attrs: attr(0x80, 15, [0, 2, 1]) }), OPTS2);
      expect(m).toEqual({
        type: 'update',
        withdrawn: [],
        reach: [],
        attributes: {},
        endOfRib: 'ipv6-unicast',
      });
    });
    it('an empty MP_UNREACH_NLRI next to other attributes is not End-of-RIB', () => {
      expect(
        decodeUpdate(update({ attrs: [...attr(0x80, 15, [0, 2, 1]), ...ORIGIN_IGP] }), OPTS2).endOfRib,
      ).toBeUndefined();
    });
  });

  describe('MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760)', () => {
    it('IPv6 with global and link-local next hops (RFC 2545 §3)', () => {
      const ll = [...hex('fe800000000000000000000000000001')];
      const mp = mpReach(2, [...V6_NH, ...ll], [64, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0]);
      const m = decodeUpdate(update({ attrs: [...mp, ...ORIGIN_IGP, ...AS_PATH_2] }), OPTS2);
      expect(m.reach).toEqual([
        {
          afi: 2,
          safi: 1,
          prefixes: list6('2001:db8:1::/64', '::/0'),
          nextHop: '2001:db8::1',
          linkLocalNextHop: 'fe80::1',
        },
      ]);
    });

    it('IPv4 NLRI over an IPv6 next hop (RFC 8950)', () => {
      const mp = mpReach(1, V6_NH, [24, 10, 9, 8]);
      const m = decodeUpdate(
        update({ attrs: [...mp, ...ORIGIN_IGP, ...AS_PATH_2] }),
        opts({ extendedNextHopIpv4: true }),
      );
      expect(m.reach).toEqual([{ afi: 1, safi: 1, prefixes: list4('10.9.8.0/24'), nextHop: '2001:db8::1' }]);
    });

    it('IPv4 NLRI in MP_REACH with a 4-byte next hop', () => {
      const mp = mpReach(1, ip4('192.0.2.7'), [24, 10, 9, 8]);
      const m = decodeUpdate(update({ attrs: [...mp, ...ORIGIN_IGP, ...AS_PATH_2] }), OPTS2);
      expect(m.reach).toEqual([{ afi: 1, safi: 1, prefixes: list4('10.9.8.0/24'), nextHop: '192.0.2.7' }]);
    });

    it('MP_UNREACH withdraws IPv6 prefixes', () => {
      const m = decodeUpdate(
        update({ attrs: attr(0x80, 15, [0, 2, 1, 48, 0x20, 0x01, 0x0d, 0xb8, 0, 5]) }),
        OPTS2,
      );
      expect(m.withdrawn).toEqual([{ afi: 2, safi: 1, prefixes: list6('2001:db8:5::/48') }]);
      expect(m.endOfRib).toBeUndefined();
    });

    it('skips an unsupported AFI/SAFI and records it', () => {
      const vpn = attr(0x80, 14, [0, 1, 128, 12, ...new Array(12).fill(0), 0, 1, 2, 3]);
      const m = decodeUpdate(update({ attrs: [...vpn, ...ORIGIN_IGP, ...AS_PATH_2] }), OPTS2);
      expect(m.reach).toEqual([]);
      expect(m.discarded?.[0]?.reason).toMatch(/AFI\/SAFI 1\/128/);
    });
  });

  describe('ADD-PATH (RFC 7911 §3)', () => {
    it('reads path identifiers when receiving is negotiated for the family', () => {
      const o = opts({ addPathReceive: ['ipv4-unicast', 'ipv6-unicast'] });
      const m = decodeUpdate(
        update({
          withdrawn: [...u32(9), 8, 11],
          attrs: [...mpReach(2, V6_NH, [...u32(7), 32, 0x20, 0x01, 0x0d, 0xb8]), ...BASE],
          nlri: [...u32(1), 24, 10, 1, 2, ...u32(2), 24, 10, 1, 2],
        }),
        o,
      );
      expect(m.withdrawn).toEqual([{ afi: 1, safi: 1, prefixes: list4('11.0.0.0/8'), pathIds: [9] }]);
      expect(m.reach).toEqual([
        {
          afi: 1,
          safi: 1,
          prefixes: list4('10.1.2.0/24', '10.1.2.0/24'),
          pathIds: [1, 2],
          nextHop: '192.0.2.1',
        },
        { afi: 2, safi: 1, prefixes: list6('2001:db8::/32'), pathIds: [7], nextHop: '2001:db8::1' },
      ]);
    });

    it('a path identifier without its prefix is an Invalid Network Field', () => {
      const o = opts({ addPathReceive: ['ipv4-unicast'] });
      expectWireError(() => decodeUpdate(update({ attrs: BASE, nlri: [...u32(1)] }), o), 3, 10);
      expectWireError(() => decodeUpdate(update({ attrs: BASE, nlri: [0, 0] }), o), 3, 10);
    });
  });

  it('decodeMessage dispatches UPDATEs with the options given', () => {
    const frame = update({
      attrs: [...ORIGIN_IGP, ...attr(0x40, 2, [2, 1, ...u32(4200000000)]), ...NEXT_HOP],
      nlri: NLRI,
    });
    const m = decodeMessage(frame, opts({ fourOctetAs: true }));
    expect(m.type === 'update' && m.attributes.asPath).toEqual([{ type: 2, asns: [4200000000] }]);
  });
});
