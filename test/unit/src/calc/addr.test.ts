// The calculation's address arithmetic against ipaddr.js used directly (networks as BigInt):
// parsing with host bits cleared, canonical text, containment and ordering, for random IPv4 and
// IPv6 prefixes (fast-check; the IPv4 fast path and the general path must agree).
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import {
  canonicalCidr,
  cidrContains,
  compareAddresses,
  parseCidr,
  parseHostAddress,
  subnetOf,
} from '../../../../src/calc/addr.ts';

/** Family bits, network (host bits cleared) and length, by ipaddr.js. */
function cidrRange(c: string): { bits: number; network: bigint; length: number } {
  const [addr, length] = ipaddr.parseCIDR(c);
  const bytes = addr.toByteArray();
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  const host = BigInt(bytes.length * 8 - length);
  return { bits: bytes.length * 8, network: (value >> host) << host, length };
}

function cidrBytes(r: { bits: number; network: bigint }): number[] {
  const out: number[] = [];
  for (let i = r.bits / 8 - 1; i >= 0; i--) out.push(Number((r.network >> BigInt(i * 8)) & 0xffn));
  return out;
}

function referenceContains(outer: string, inner: string): boolean {
  const [o, ol] = ipaddr.parseCIDR(outer);
  const [i, il] = ipaddr.parseCIDR(inner);
  return o.kind() === i.kind() && il >= ol && i.match(o, ol);
}

const v4 = fc
  .tuple(fc.array(fc.nat(255), { minLength: 4, maxLength: 4 }), fc.nat(32))
  .map(([b, len]) => `${b.join('.')}/${len}`);
const v6 = fc
  .tuple(fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }), fc.nat(128))
  .map(([w, len]) => `${w.map((x) => x.toString(16)).join(':')}/${len}`);
const anyCidr = fc.oneof(v4, v6);

describe('addr', () => {
  it('parseCidr clears host bits and agrees with the reference network', () => {
    fc.assert(
      fc.property(anyCidr, (c) => {
        const p = parseCidr(c)!;
        const ref = cidrRange(c);
        expect(cidrRange(p.text)).toEqual(ref);
        expect(p.text).toBe(`${ipaddr.fromByteArray(cidrBytes(ref)).toString()}/${ref.length}`);
        expect(p.length).toBe(ref.length);
      }),
    );
  });

  it('containment agrees with the reference', () => {
    fc.assert(
      fc.property(v4, v4, (a, b) => {
        expect(cidrContains(a, b)).toBe(referenceContains(a, b));
      }),
    );
    fc.assert(
      fc.property(v6, v6, (a, b) => {
        expect(cidrContains(a, b)).toBe(referenceContains(a, b));
      }),
    );
    fc.assert(
      fc.property(anyCidr, (a) => {
        const inner = `${canonicalCidr(a)!.split('/')[0]}/${a.includes(':') ? 128 : 32}`;
        expect(cidrContains(a, inner)).toBe(true);
      }),
    );
  });

  it('orders IPv4 before IPv6, then numerically, then shorter first', () => {
    fc.assert(
      fc.property(anyCidr, anyCidr, (a, b) => {
        const ra = cidrRange(a);
        const rb = cidrRange(b);
        const want =
          ra.bits !== rb.bits
            ? ra.bits - rb.bits
            : ra.network !== rb.network
              ? ra.network < rb.network
                ? -1
                : 1
              : ra.length - rb.length;
        expect(Math.sign(compareAddresses(a, b))).toBe(Math.sign(want));
      }),
    );
  });

  it('canonical text: odd spellings, bare addresses, subnets', () => {
    expect(canonicalCidr('10.244.1.7/24')).toBe('10.244.1.0/24');
    expect(canonicalCidr('010.0.0.0/8')).toBeUndefined();
    expect(canonicalCidr('2001:DB8:0::1/64')).toBe('2001:db8::/64');
    expect(canonicalCidr('10.0.0.0/33')).toBeUndefined();
    expect(canonicalCidr('10.0.0.0')).toBeUndefined();
    expect(parseCidr('10.0.0.1', true)?.text).toBe('10.0.0.1/32');
    expect(parseHostAddress('2001:DB8::11/64')).toEqual({ address: '2001:db8::11', prefixLength: 64 });
    expect(parseHostAddress('192.0.2.11')).toEqual({ address: '192.0.2.11', prefixLength: 32 });
    expect(parseHostAddress('192.0.2.11/24', 6)).toBeUndefined();
    expect(subnetOf({ address: '198.51.100.13', prefixLength: 24 })).toBe('198.51.100.0/24');
  });
});
