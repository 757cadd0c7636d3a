// The RIB's own minimal address helpers: canonical prefixes (host bits, RFC 5952) and the
// numeric sort key used by the peer-address tie-breaker.
import { describe, expect, it } from 'vitest';
import { addressSortKey, canonicalPrefix, familyOfPrefix, ipv4ToNumber } from '../../../../bgp/rib/prefix.ts';

describe('canonicalPrefix', () => {
  const cases: [string, string | null][] = [
    ['10.1.2.3/8', '10.0.0.0/8'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['192.0.2.255/32', '192.0.2.255/32'],
    ['2001:DB8:0:0:1:0:0:1/128', '2001:db8::1:0:0:1/128'],
    ['2001:db8:0:0:0:0:2:1/64', '2001:db8::/64'],
    ['2001:0:0:1:0:0:0:1/128', '2001:0:0:1::1/128'],
    ['2001:db8::ffff:1/127', '2001:db8::ffff:0/127'],
    ['::ffff:192.0.2.1/128', '::ffff:192.0.2.1/128'],
    ['::ffff:c000:201/128', '::ffff:192.0.2.1/128'],
    ['::c000:201/128', '::192.0.2.1/128'],
    ['fd00:10:244:1::/64', 'fd00:10:244:1::/64'],
    ['2001:db8:0:1:1:1:1:1/128', '2001:db8:0:1:1:1:1:1/128'],
    ['10.0.0.0/33', null],
    ['256.0.0.0/8', null],
    ['10.0.0/8', null],
    ['10.0.0.0', null],
    ['2001:db8::1::2/64', null],
    ['2001:db8::/129', null],
    ['1:2:3:4:5:6:7:8:9/64', null],
  ];
  for (const [input, expected] of cases) {
    it(`${input} → ${expected}`, () => expect(canonicalPrefix(input)).toBe(expected));
  }
});

describe('address helpers', () => {
  it('orders addresses numerically, IPv4 before IPv6', () => {
    const sorted = ['10.0.0.10', '2001:db8::1', '10.0.0.9', '9.255.255.255', '::2'].sort((a, b) => {
      const ka = addressSortKey(a) ?? '';
      const kb = addressSortKey(b) ?? '';
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
    expect(sorted).toEqual(['::2', '9.255.255.255', '10.0.0.9', '10.0.0.10', '2001:db8::1']);
    expect(addressSortKey('x')).toBeNull();
  });

  it('reads IPv4 numbers and prefix families', () => {
    expect(ipv4ToNumber('255.255.255.255')).toBe(0xffffffff);
    expect(ipv4ToNumber('1.2.3')).toBe(-1);
    expect(familyOfPrefix('10.0.0.0/8')).toBe('ipv4-unicast');
    expect(familyOfPrefix('::/0')).toBe('ipv6-unicast');
  });
});
