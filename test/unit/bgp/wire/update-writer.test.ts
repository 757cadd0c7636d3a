import { describe, expect, it } from 'vitest';
import { BgpError } from '../../../../bgp/errors.ts';
import type { PathAttributes } from '../../../../bgp/wire/types.ts';
import { decodeUpdate } from '../../../../bgp/wire/update.ts';
import { encodeEndOfRib, UpdateWriter } from '../../../../bgp/wire/update-writer.ts';
import { list4, list6, OPTS2, OPTS4, opts, toHex } from './helpers.ts';

const H = 'ff'.repeat(16);

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

describe('UpdateWriter', () => {
  it('IPv4 unicast: classic layout with NEXT_HOP and the NLRI field', () => {
    const w = new UpdateWriter(OPTS4);
    w.beginReach({ origin: 0, asPath: [{ type: 2, asns: [65001] }], med: 10 }, 'ipv4-unicast', '192.0.2.1');
    expect(w.addPrefix('10.0.0.0/8')).toBe(true);
    expect(toHex(w.finish())).toBe(
      `${H}003402` +
        '0000' +
        '001b' +
        '40010100' +
        '40020602010000fde9' +
        '400304c0000201' +
        '800404' +
        '0000000a' +
        '080a',
    );
  });

  it('IPv6 unicast: MP_REACH_NLRI first, extended length, other attributes after it (RFC 7606 §5.1)', () => {
    const w = new UpdateWriter(OPTS4);
    w.beginReach({ origin: 0, asPath: [] }, 'ipv6-unicast', '2001:db8::1');
    w.addPrefix('2001:db8::/32');
    expect(toHex(w.finish())).toBe(
      `${H}003c02` +
        '0000' +
        '0025' +
        '900e001a' +
        '0002' +
        '01' +
        '10' +
        '20010db8000000000000000000000001' +
        '00' +
        '2020010db8' +
        '40010100' +
        '400200',
    );
  });

  it('IPv6 with a link-local next hop writes 32 next-hop bytes (RFC 2545 §3)', () => {
    const w = new UpdateWriter(OPTS4);
    w.beginReach({ origin: 0, asPath: [] }, 'ipv6-unicast', '2001:db8::1', 'fe80::1');
    w.addPrefix('::/0');
    const m = decodeUpdate(w.finish(), OPTS4);
    expect(m.reach).toEqual([
      { afi: 2, safi: 1, prefixes: list6('::/0'), nextHop: '2001:db8::1', linkLocalNextHop: 'fe80::1' },
    ]);
  });

  it('2-octet session: AS_TRANS in AS_PATH/AGGREGATOR plus AS4_PATH/AS4_AGGREGATOR (RFC 6793 §4.2.2)', () => {
    const w = new UpdateWriter(OPTS2);
    const attrs: PathAttributes = {
      origin: 0,
      asPath: [{ type: 2, asns: [65001, 4200000000] }],
      aggregator: { asn: 4200000001, address: '1.2.3.4' },
    };
    w.beginReach(attrs, 'ipv4-unicast', '192.0.2.1');
    w.addPrefix('10.0.0.0/8');
    const bytes = w.finish();
    expect(toHex(bytes)).toContain('4002060202fde95ba0'); // AS_PATH with AS_TRANS
    expect(toHex(bytes)).toContain('c007065ba001020304'); // AGGREGATOR with AS_TRANS
    expect(toHex(bytes)).toContain('c0110a02020000fde9fa56ea00'); // AS4_PATH
    expect(toHex(bytes)).toContain('c01208fa56ea0101020304'); // AS4_AGGREGATOR
    expect(decodeUpdate(bytes, OPTS2).attributes).toEqual({ ...attrs, nextHop: '192.0.2.1' });
  });

  it('2-octet session with only 2-octet ASNs sends no AS4 attributes', () => {
    const w = new UpdateWriter(OPTS2);
    w.beginReach(
      { origin: 0, asPath: [{ type: 2, asns: [65001] }], aggregator: { asn: 65001, address: '1.2.3.4' } },
      'ipv4-unicast',
      '192.0.2.1',
    );
    const hex = toHex(w.finish());
    expect(hex).not.toMatch(/c011|c012/);
  });

  it('withdrawals: the Withdrawn Routes field for IPv4, MP_UNREACH_NLRI for IPv6', () => {
    const w = new UpdateWriter(OPTS4);
    w.beginWithdraw('ipv4-unicast');
    w.addPrefix('10.1.0.0/16');
    expect(toHex(w.finish())).toBe([H, '001a02', '0003100a01', '0000'].join(''));
    w.beginWithdraw('ipv6-unicast');
    w.addPrefix('2001:db8::/32');
    expect(toHex(w.finish())).toBe(
      [H, '002302', '0000', '000c', '900f0008', '000201', '2020010db8'].join(''),
    );
  });

  it('ADD-PATH: writes path identifiers when sending is negotiated (RFC 7911 §3)', () => {
    const o = opts({ addPathSend: ['ipv4-unicast'], addPathReceive: ['ipv4-unicast'] });
    const w = new UpdateWriter(o);
    w.beginReach({ origin: 0, asPath: [] }, 'ipv4-unicast', '192.0.2.1');
    w.addPrefix('10.0.0.0/8', 7);
    w.addPrefix('10.0.0.0/8');
    const m = decodeUpdate(w.finish(), o);
    expect(m.reach[0]?.prefixes.toArray()).toEqual(['10.0.0.0/8', '10.0.0.0/8']);
    expect(m.reach[0]?.pathIds).toEqual([7, 0]);
  });

  it('returns false when a prefix no longer fits, and each UPDATE stays within maxLength', () => {
    const w = new UpdateWriter(OPTS4, 100);
    const attrs: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [65001] }] };
    const out: Uint8Array[] = [];
    const all: string[] = [];
    for (let i = 0; i < 50; i++) all.push(`10.${i}.0.0/16`);
    w.beginReach(attrs, 'ipv4-unicast', '192.0.2.1');
    for (const p of all) {
      if (!w.addPrefix(p)) {
        out.push(w.finish());
        w.beginReach(attrs, 'ipv4-unicast', '192.0.2.1');
        expect(w.addPrefix(p)).toBe(true);
      }
    }
    out.push(w.finish());
    expect(out.length).toBeGreaterThan(1);
    for (const m of out) expect(m.length).toBeLessThanOrEqual(100);
    expect(out.slice(0, -1).every((m) => m.length > 96)).toBe(true); // packed full
    expect(out.flatMap((m) => decodeUpdate(m, OPTS4).reach[0]?.prefixes.toArray() ?? [])).toEqual(all);
  });

  it('packAll: every prefix of a list, in order, over as many full UPDATEs as it takes', () => {
    const w = new UpdateWriter(OPTS4, 100);
    const texts = Array.from({ length: 50 }, (_, i) => `10.${i}.0.0/16`);
    const reach: Uint8Array[] = [];
    const begin = (x: UpdateWriter) => x.beginReach({ origin: 0, asPath: [] }, 'ipv4-unicast', '192.0.2.1');
    expect(w.packAll(list4(...texts), begin, (m) => reach.push(m))).toBe(reach.length);
    expect(reach.length).toBeGreaterThan(1);
    expect(reach.slice(0, -1).every((m) => m.length > 96 && m.length <= 100)).toBe(true);
    expect(reach.flatMap((m) => decodeUpdate(m, OPTS4).reach[0]?.prefixes.toArray() ?? [])).toEqual(texts);
    const withdrawn: Uint8Array[] = [];
    w.packAll(
      list4(...texts),
      (x) => x.beginWithdraw('ipv4-unicast'),
      (m) => withdrawn.push(m),
    );
    expect(withdrawn.flatMap((m) => decodeUpdate(m, OPTS4).withdrawn[0]?.prefixes.toArray() ?? [])).toEqual(
      texts,
    );
    expect(w.packAll(list4(), begin, () => expect.unreachable())).toBe(0);
  });

  it('RFC 8950: IPv4 over an IPv6 next hop only with extended next hop negotiated', () => {
    expect(() => new UpdateWriter(OPTS4).beginReach({}, 'ipv4-unicast', '2001:db8::1')).toThrow(BgpError);
    const o = opts({ fourOctetAs: true, extendedNextHopIpv4: true });
    const w = new UpdateWriter(o);
    w.beginReach({ origin: 0, asPath: [] }, 'ipv4-unicast', '2001:db8::1');
    w.addPrefix('10.0.0.0/8');
    const bytes = w.finish();
    expect(toHex(bytes)).toContain('900e0017000101' + '10'); // MP_REACH, AFI 1, SAFI 1, 16-byte next hop
    expect(decodeUpdate(bytes, o).reach).toEqual([
      { afi: 1, safi: 1, prefixes: list4('10.0.0.0/8'), nextHop: '2001:db8::1' },
    ]);
  });

  it('refuses misuse with BGP_ERR_ENCODE', () => {
    const w = new UpdateWriter(OPTS4);
    expect(() => w.addPrefix('10.0.0.0/8')).toThrow(/before beginReach/);
    expect(() => w.finish()).toThrow(/before beginReach/);
    w.beginReach({}, 'ipv4-unicast', '192.0.2.1');
    expect(() => w.addPrefix('2001:db8::/32')).toThrow(/not ipv4-unicast/);
    expect(() => w.beginReach({}, 'ipv6-unicast', '192.0.2.1')).toThrow(/IPv6 next hop/);
    expect(() => w.beginReach({}, 'ipv4-unicast', '192.0.2.1', 'fe80::1')).toThrow(/link-local/);
    const huge: PathAttributes = { communities: new Array(1100).fill(1) };
    expect(() => w.beginReach(huge, 'ipv4-unicast', '192.0.2.1')).toThrow(BgpError);
    expect(() => w.beginReach({ med: -1 }, 'ipv4-unicast', '192.0.2.1')).toThrow(/MED/);
  });

  it('never mutates its inputs', () => {
    const attrs = deepFreeze<PathAttributes>({
      origin: 0,
      asPath: [{ type: 2, asns: [65001, 4200000000] }],
      nextHop: '203.0.113.1',
      communities: [1],
      aggregator: { asn: 4200000001, address: '1.2.3.4' },
    });
    const w = new UpdateWriter(OPTS2);
    w.beginReach(attrs, 'ipv6-unicast', '2001:db8::1');
    w.addPrefix('2001:db8::/32');
    const m = decodeUpdate(w.finish(), OPTS2);
    expect(m.attributes.nextHop).toBeUndefined(); // NEXT_HOP is not sent with MP_REACH
    expect(attrs.nextHop).toBe('203.0.113.1');
  });

  it('finish returns a copy: the next message does not overwrite it', () => {
    const w = new UpdateWriter(OPTS4);
    w.beginWithdraw('ipv4-unicast');
    w.addPrefix('10.0.0.0/8');
    const first = w.finish();
    const snapshot = toHex(first);
    w.beginWithdraw('ipv4-unicast');
    w.addPrefix('11.0.0.0/8');
    w.finish();
    expect(toHex(first)).toBe(snapshot);
  });
});

describe('encodeEndOfRib (RFC 4724 §2)', () => {
  it('IPv4: the empty UPDATE', () => {
    expect(toHex(encodeEndOfRib('ipv4-unicast', OPTS4))).toBe(`${H}00170200000000`);
  });
  it('IPv6: an empty MP_UNREACH_NLRI', () => {
    const bytes = encodeEndOfRib('ipv6-unicast', OPTS4);
    expect(toHex(bytes)).toBe([H, '001d02', '0000', '0006', '800f03000201'].join(''));
    expect(decodeUpdate(bytes, OPTS4).endOfRib).toBe('ipv6-unicast');
  });
});
