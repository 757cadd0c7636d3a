import { describe, expect, it } from 'vitest';
import { BgpError } from '../../../../bgp/errors.ts';
import {
  formatIpv4,
  formatIpv6,
  normalizeIp,
  normalizePrefix,
  parseIp,
  parsePrefix,
} from '../../../../bgp/wire/prefix.ts';
import { hex } from './helpers.ts';

function invalidCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof BgpError ? `${e.code}: ${e.message}` : `not a BgpError: ${String(e)}`;
  }
  return undefined;
}

describe('parseIp', () => {
  it('parses IPv4 and IPv6', () => {
    expect(Array.from(parseIp('192.0.2.255'))).toEqual([192, 0, 2, 255]);
    expect(Array.from(parseIp('2001:db8::1'))).toEqual(Array.from(hex('20010db8000000000000000000000001')));
    expect(Array.from(parseIp('::'))).toEqual(new Array(16).fill(0));
    expect(Array.from(parseIp('::ffff:192.0.2.1'))).toEqual(
      Array.from(hex('00000000000000000000ffffc0000201')),
    );
    expect(Array.from(parseIp('1:2:3:4:5:6:7:8'))).toEqual(
      Array.from(hex('00010002000300040005000600070008')),
    );
    expect(Array.from(parseIp('1::'))).toEqual(Array.from(hex('00010000000000000000000000000000')));
  });

  it.each([
    '256.0.0.1',
    '1.2.3',
    '1.2.3.4.5',
    '01.2.3.4',
    '1..2.3',
    '1.2.3.4 ',
    '',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    '12345::1',
    'g::1',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7::8',
    '::1.2.3.256',
  ])('rejects %j with BGP_ERR_INVALID_CONFIG', (text) => {
    expect(invalidCode(() => parseIp(text))).toMatch(/^BGP_ERR_INVALID_CONFIG: .*invalid address/);
  });
});

describe('parsePrefix / normalizePrefix', () => {
  it('parses with the full address bytes', () => {
    const p = parsePrefix('10.1.0.0/16');
    expect(p.afi).toBe(1);
    expect(p.length).toBe(16);
    expect(Array.from(p.bytes)).toEqual([10, 1, 0, 0]);
    expect(parsePrefix('2001:db8::/32').afi).toBe(2);
  });

  it('rejects host bits set, naming the problem', () => {
    expect(invalidCode(() => parsePrefix('10.0.0.1/24'))).toMatch(/host bits are set beyond \/24/);
    expect(invalidCode(() => parsePrefix('2001:db8::1/64'))).toMatch(/host bits/);
    expect(invalidCode(() => parsePrefix('10.0.0.64/25'))).toMatch(/host bits/);
    expect(parsePrefix('10.0.0.128/25').length).toBe(25);
  });

  it('rejects bad lengths', () => {
    expect(invalidCode(() => parsePrefix('10.0.0.0/33'))).toMatch(/exceeds 32/);
    expect(invalidCode(() => parsePrefix('::/129'))).toMatch(/exceeds 128/);
    expect(invalidCode(() => parsePrefix('10.0.0.0/'))).toMatch(/not a number/);
    expect(invalidCode(() => parsePrefix('10.0.0.0/08'))).toMatch(/not a number/);
    expect(invalidCode(() => parsePrefix('10.0.0.0'))).toMatch(/missing "\/length"/);
  });

  it('normalizes to canonical text', () => {
    expect(normalizePrefix('2001:DB8:0:0::/32')).toBe('2001:db8::/32');
    expect(normalizePrefix('0.0.0.0/0')).toBe('0.0.0.0/0');
    expect(normalizePrefix('::/0')).toBe('::/0');
    expect(normalizeIp('2001:0db8:0000:0000:0000:0000:0000:0001')).toBe('2001:db8::1');
  });
});

describe('formatIpv6 is RFC 5952 canonical', () => {
  it.each([
    ['20010db8000000000000000000000001', '2001:db8::1'], // §4.2.1 longest run compressed
    ['20010db8000000010000000000000001', '2001:db8:0:1::1'],
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'], // §4.2.3 first of equal runs
    ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'], // §4.2.2 a single 0 group is not compressed
    ['20010db800aa00bb00cc00dd00ee00ff', '2001:db8:aa:bb:cc:dd:ee:ff'], // §4.1 no leading zeros
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000000000000001', '::1'],
    ['00010000000000000000000000000000', '1::'],
    ['fe800000000000000000000000000001', 'fe80::1'],
    ['00000000000000000000ffffc0000201', '::ffff:192.0.2.1'], // §5 mixed notation for mapped
    ['ABCDEF00000000000000000000000000', 'abcd:ef00::'], // §4.3 lowercase
  ])('%s → %s', (h, text) => {
    expect(formatIpv6(hex(h), 0)).toBe(text);
  });

  it('reads at an offset', () => {
    const b = new Uint8Array(20);
    b.set(hex('20010db8000000000000000000000001'), 4);
    expect(formatIpv6(b, 4)).toBe('2001:db8::1');
    expect(formatIpv4(Uint8Array.of(9, 10, 0, 0, 1), 1)).toBe('10.0.0.1');
  });
});
