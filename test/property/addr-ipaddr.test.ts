// One vocabulary for address text. The two address modules (bgp/addr.ts and felix/model/addr.ts,
// twins because the libraries import nothing from each other) and the hot paths that keep their
// own code (the BGP codec's prefix packing and NLRI text in bgp/wire, the route reconciler's IPv4
// scan and canonicalRoute in felix/model) are held to ipaddr.js used directly: random addresses
// and prefixes of both families, written in many spellings, parse to the bytes ipaddr.js reads,
// print the same canonical text everywhere, and agree with ipaddr.js on containment and equality.
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import * as bgpAddr from '../../bgp/addr.ts';
import { decodeNlri, writePackedNlri } from '../../bgp/wire/nlri.ts';
import { formatIpv4, formatIpv6, parseIp, parsePrefix } from '../../bgp/wire/prefix.ts';
import { PrefixList } from '../../bgp/wire/prefix-list.ts';
import { Reader } from '../../bgp/wire/reader.ts';
import { Afi } from '../../bgp/wire/types.ts';
import { ByteWriter } from '../../bgp/wire/writer.ts';
import * as felixAddr from '../../felix/model/addr.ts';
import { canonicalRoute } from '../../felix/model/routes.ts';

const RUNS = { numRuns: 2000 };

// IPv6 groups biased towards zero, so compression, ties and the IPv4-mapped/-compatible forms
// come up often; some addresses are built inside ::ffff:0:0/96 and ::/96 on purpose.
const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
const v6Groups = fc.oneof(
  fc.array(group, { minLength: 8, maxLength: 8 }),
  fc.tuple(group, group).map(([a, b]) => [0, 0, 0, 0, 0, 0xffff, a, b]),
  fc.tuple(group, group).map(([a, b]) => [0, 0, 0, 0, 0, 0, a, b]),
);
const v4Bytes = fc.array(fc.oneof(fc.constant(0), fc.nat(255)), { minLength: 4, maxLength: 4 });

/** A spelling of IPv6 groups: full with leading zeros, upper or lower case, or ipaddr.js's compressed form. */
function spellings(groups: readonly number[]): fc.Arbitrary<string> {
  const full = groups.map((g) => g.toString(16)).join(':');
  const padded = groups.map((g) => g.toString(16).padStart(4, '0')).join(':');
  const compressed = new ipaddr.IPv6([...groups]).toRFC5952String();
  const dotted = `${groups
    .slice(0, 6)
    .map((g) => g.toString(16))
    .join(':')}:${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`;
  return fc.constantFrom(full, padded, padded.toUpperCase(), compressed, compressed.toUpperCase(), dotted);
}

/** [text, the bytes it denotes]. */
const addrText: fc.Arbitrary<[string, number[]]> = fc.oneof(
  v4Bytes.map((b) => [b.join('.'), b] as [string, number[]]),
  v6Groups.chain((g) =>
    spellings(g).map((t) => [t, g.flatMap((x) => [x >> 8, x & 0xff])] as [string, number[]]),
  ),
);

/** [text "addr/len" (host bits possibly set), bytes, length]. */
const cidrText: fc.Arbitrary<[string, number[], number]> = addrText.chain(([t, b]) =>
  fc.nat(b.length * 8).map((len) => [`${t}/${len}`, b, len] as [string, number[], number]),
);

/** Near misses: the spellings that lenient parsers (inet_aton, ipaddr.js itself) accept. */
const octet = fc.oneof(
  fc.nat(255).map(String),
  fc.nat(255).map((n) => `0${n}`),
  fc.nat(255).map((n) => `0x${n.toString(16)}`),
  fc.integer({ min: 256, max: 999 }).map(String),
);
const nearV4 = fc.array(octet, { minLength: 1, maxLength: 5 }).map((o) => o.join('.'));
const nearV6 = fc.oneof(
  fc
    .tuple(v6Groups, fc.constantFrom('%eth0', '%1'))
    .map(([g, zone]) => `${new ipaddr.IPv6(g).toRFC5952String()}${zone}`),
  fc
    .tuple(fc.array(group, { minLength: 1, maxLength: 9 }), fc.array(group, { maxLength: 9 }))
    .map(([a, b]) => `${a.map((x) => x.toString(16)).join(':')}::${b.map((x) => x.toString(16)).join(':')}`),
  fc
    .tuple(fc.array(group, { maxLength: 7 }), nearV4)
    .map(([a, v4]) => `${a.map((x) => x.toString(16)).join(':')}::${v4}`),
  fc
    .array(fc.integer({ min: 0, max: 0xfffff }), { minLength: 7, maxLength: 9 })
    .map((g) => g.map((x) => x.toString(16)).join(':')),
);

/** Text that is often not an address: the parsers must refuse exactly what the strict reading refuses. */
const junk = fc.oneof(
  fc
    .array(fc.constantFrom(...'0123456789abcdefABCDEF:.:.%/x '.split('')), { maxLength: 42 })
    .map((a) => a.join('')),
  nearV4,
  nearV6,
);

/** The canonical text per glibc inet_ntop, from ipaddr.js's RFC 5952 text. */
function referenceText(bytes: readonly number[]): string {
  if (bytes.length === 4) return new ipaddr.IPv4([...bytes]).toString();
  const a = new ipaddr.IPv6([...bytes]);
  const p = a.parts;
  const v4 = bytes.slice(12).join('.');
  if (p.slice(0, 5).every((x) => x === 0)) {
    if (p[5] === 0xffff) return `::ffff:${v4}`;
    if (p[5] === 0 && p[6] !== 0) return `::${v4}`;
  }
  return a.toRFC5952String();
}

function maskedBytes(bytes: readonly number[], len: number): number[] {
  return bytes.map((b, i) => b & ((0xff << (8 - Math.max(0, Math.min(8, len - i * 8)))) & 0xff));
}

function wireParse(text: string): number[] | undefined {
  try {
    return [...parseIp(text)];
  } catch {
    return undefined;
  }
}

const modules = [
  ['bgp/addr.ts', bgpAddr],
  ['felix/model/addr.ts', felixAddr],
] as const;

describe.each(modules)('%s against ipaddr.js', (_name, m) => {
  it('parses every spelling to the bytes ipaddr.js reads, and prints the canonical text', () => {
    fc.assert(
      fc.property(addrText, ([text, bytes]) => {
        const a = m.parseIp(text);
        expect(a?.bytes).toEqual(bytes);
        expect(a?.bytes).toEqual(ipaddr.parse(text.toLowerCase()).toByteArray());
        expect(m.canonicalIp(text)).toBe(referenceText(bytes));
        expect(m.ipFamily(text)).toBe(bytes.length === 4 ? 4 : 6);
      }),
      RUNS,
    );
  });

  it('CIDRs: host bits cleared or refused, the canonical text, and containment as ipaddr.js matches', () => {
    fc.assert(
      fc.property(cidrText, cidrText, ([text, bytes, len], [other]) => {
        const net = maskedBytes(bytes, len);
        expect(m.canonicalCidr(text)).toBe(`${referenceText(net)}/${len}`);
        const strict = m.parseCidr(text, { hostBits: 'reject' });
        expect(strict !== undefined).toBe(net.every((b, i) => b === bytes[i]));
        expect(m.cidrProblem(text, { hostBits: 'reject' }) === undefined).toBe(strict !== undefined);
        const [outer, outerLen] = ipaddr.parseCIDR(text.toLowerCase());
        const [inner, innerLen] = ipaddr.parseCIDR(other.toLowerCase());
        const want = outer.kind() === inner.kind() && innerLen >= outerLen && inner.match(outer, outerLen);
        expect(m.cidrContains(text, other)).toBe(want);
        // Equal networks are equal canonical texts, whatever the spelling.
        const same = want && innerLen === outerLen;
        expect(m.canonicalCidr(text) === m.canonicalCidr(other)).toBe(same);
      }),
      RUNS,
    );
  });

  it('refuses what the strict reading refuses, and nothing else', () => {
    fc.assert(
      fc.property(junk, (text) => {
        // Strict reading: ipaddr.js accepts it, it has no zone, and IPv4 (also as a dotted tail)
        // is four decimal octets without leading zeros.
        const v4ok = (s: string) =>
          /^(0|[1-9]\d{0,2})(\.(0|[1-9]\d{0,2})){3}$/.test(s) && ipaddr.IPv4.isValid(s);
        const lastColon = text.lastIndexOf(':');
        const tail = text.slice(lastColon + 1);
        const strict = text.includes(':')
          ? !text.includes('%') &&
            /^[0-9a-fA-F:.]+$/.test(text) &&
            (tail.includes('.') ? v4ok(tail) : true) &&
            ipaddr.IPv6.isValid(tail.includes('.') ? `${text.slice(0, lastColon + 1)}0:0` : text)
          : v4ok(text);
        expect(m.parseIp(text) !== undefined).toBe(strict);
      }),
      { numRuns: 20000 },
    );
  });
});

describe('the two address modules agree', () => {
  it('on every text, address or not', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          addrText.map(([t]) => t),
          cidrText.map(([t]) => t),
          junk,
        ),
        (text) => {
          expect(bgpAddr.parseIp(text)).toEqual(felixAddr.parseIp(text));
          expect(bgpAddr.canonicalIp(text)).toBe(felixAddr.canonicalIp(text));
          expect(bgpAddr.canonicalCidr(text)).toBe(felixAddr.canonicalCidr(text));
        },
      ),
      RUNS,
    );
  });
});

describe('BGP codec (bgp/wire) against bgp/addr.ts and ipaddr.js', () => {
  it('parseIp reads the bytes ipaddr.js reads; formatIpv4/formatIpv6 print the canonical text', () => {
    fc.assert(
      fc.property(addrText, ([text, bytes]) => {
        expect(wireParse(text)).toEqual(bytes);
        const b = Uint8Array.from(bytes);
        expect(bytes.length === 4 ? formatIpv4(b, 0) : formatIpv6(b, 0)).toBe(bgpAddr.formatIp(bytes));
      }),
      RUNS,
    );
  });

  it('parseIp refuses exactly what bgp/addr.ts refuses', () => {
    fc.assert(
      fc.property(junk, (text) => {
        expect(wireParse(text) !== undefined).toBe(bgpAddr.parseIp(text) !== undefined);
      }),
      { numRuns: 20000 },
    );
  });

  it('a prefix packed into NLRI and decoded is the canonical text; host bits are refused', () => {
    fc.assert(
      fc.property(cidrText, ([text, bytes, len]) => {
        const strict = bgpAddr.parseCidr(text, { hostBits: 'reject' });
        let packed: ReturnType<typeof parsePrefix> | undefined;
        try {
          packed = parsePrefix(text);
        } catch {
          packed = undefined;
        }
        expect(packed !== undefined).toBe(strict !== undefined);
        if (strict === undefined) return;
        expect([...packed!.bytes]).toEqual(maskedBytes(bytes, len));
        const afi = bytes.length === 4 ? Afi.ipv4 : Afi.ipv6;
        const list = PrefixList.parse(afi, [text]);
        const w = new ByteWriter(32);
        writePackedNlri(w, list.words, 0, list.lenAt(0), undefined);
        const decoded = decodeNlri(new Reader(w.buf, 0, w.pos, 3, 10), afi, undefined);
        expect(decoded.at(0)).toBe(bgpAddr.canonicalCidr(text));
        expect(decoded.at(0)).toBe(`${referenceText(bytes)}/${len}`);
      }),
      RUNS,
    );
  });
});

describe('route reconciler hot path (felix/model) against felix/model/addr.ts and ipaddr.js', () => {
  it('scanCanonicalV4 accepts exactly the IPv4 texts that are already canonical', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          addrText.map(([t]) => t),
          cidrText.map(([t]) => t),
          junk,
        ),
        (text) => {
          const a = felixAddr.parseIp(text);
          const asAddress = a?.family === 4 && felixAddr.formatIp(a.bytes) === text;
          expect(felixAddr.scanCanonicalV4(text, 0, text.length, false, undefined)).toBe(asAddress);
          const c = felixAddr.parseCidr(text, { hostBits: 'reject' });
          const asPrefix = c?.family === 4 && felixAddr.formatCidr(c) === text;
          expect(felixAddr.scanCanonicalV4(text, 0, text.length, true, undefined)).toBe(asPrefix);
        },
      ),
      { numRuns: 20000 },
    );
  });

  it('canonicalRoute writes the destination as the canonical CIDR (host bits cleared, bare = host route)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          cidrText.map(([t]) => t),
          addrText.map(([t]) => t),
        ),
        (dst) => {
          const r = canonicalRoute({ dst, type: 'blackhole' });
          expect(r.dst).toBe(felixAddr.canonicalCidr(dst, { bare: true }));
          const [addr, len] = dst.includes('/')
            ? ipaddr.parseCIDR(dst.toLowerCase())
            : [ipaddr.parse(dst.toLowerCase()), -1];
          const bytes = addr.toByteArray();
          const length = len < 0 ? bytes.length * 8 : len;
          expect(r.dst).toBe(`${referenceText(maskedBytes(bytes, length))}/${length}`);
          expect(r.family).toBe(bytes.length === 4 ? 4 : 6);
        },
      ),
      RUNS,
    );
  });
});

describe('canonical text is what glibc inet_ntop prints', () => {
  // Printed by Python's socket.inet_ntop (glibc) for these addresses.
  const cases: [string, string][] = [
    ['::5:77', '::0.5.0.119'],
    ['::1', '::1'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['::1:0:0', '::1:0:0'],
    ['::ffff:0:0', '::ffff:0.0.0.0'],
    ['::0:1:2', '::0.1.0.2'],
    ['0:0:0:0:0:1:0:0', '::1:0:0'],
    ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
  ];
  for (const [text, want] of cases) {
    it(`${text} → ${want}`, () => {
      expect(felixAddr.canonicalIp(text)).toBe(want);
      expect(bgpAddr.canonicalIp(text)).toBe(want);
      const b = Uint8Array.from(felixAddr.parseIp(text)!.bytes);
      expect(formatIpv6(b, 0)).toBe(want);
    });
  }
});
