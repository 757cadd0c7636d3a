// PrefixList (bgp/wire/prefix-list.ts) and the two codec paths built on it: decodeNlri packing
// received NLRI into address words, and UpdateWriter.addPrefixAt writing them back.
//
// What would go wrong: a sign slip (addresses ≥ 128.0.0.0 as negative numbers), a byte landing
// in the wrong word (IPv6 bytes 4/8/12 are word boundaries), host bits kept (the RIB would see
// 10.0.1.0/23 and 10.0.0.0/23 as two prefixes), growth losing what was packed before it, path
// ids drifting out of step with the prefixes, or the packed writer emitting other bytes than
// the text one. Expected texts are spelled out here or computed by a reference that works on
// bytes (prefix.ts formatIpv4/formatIpv6), never by the word code under test.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BgpError } from '../../../../bgp/errors.ts';
import { decodeNlri } from '../../../../bgp/wire/nlri.ts';
import { formatIpv4, formatIpv6, normalizePrefix } from '../../../../bgp/wire/prefix.ts';
import { PrefixList } from '../../../../bgp/wire/prefix-list.ts';
import { Reader } from '../../../../bgp/wire/reader.ts';
import { Afi, type AfiCode, type Family, type PathAttributes } from '../../../../bgp/wire/types.ts';
import { decodeUpdate } from '../../../../bgp/wire/update.ts';
import { UpdateWriter } from '../../../../bgp/wire/update-writer.ts';
import { codecOptions, family, pathAttributes, prefix4, prefix6, prefixOf, u32 } from './arbitraries.ts';
import { expectWireError, list4, list6, OPTS4, opts, toHex, u32 as u32Bytes } from './helpers.ts';

/** The error `fn` throws (fails the test when it throws nothing). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  expect.fail('expected an error');
}

function expectInvalidConfig(fn: () => unknown, naming: string): BgpError {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(BgpError);
  const err = e as BgpError;
  expect(err.code).toBe('BGP_ERR_INVALID_CONFIG');
  expect(err.message).toContain(naming);
  return err;
}

/** `bytes` with the bits beyond `length` cleared: the reference for host-bit masking. */
function mask(bytes: Uint8Array, length: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let i = 0; i < out.length; i++) {
    const keep = length - i * 8;
    out[i] = (out[i] as number) & (keep >= 8 ? 0xff : keep <= 0 ? 0 : (0xff << (8 - keep)) & 0xff);
  }
  return out;
}

/** A Reader over the whole of `bytes`, as an NLRI field whose errors carry code/subcode. */
function field(bytes: readonly number[], code = 3, subcode = 10): Reader {
  const buf = Uint8Array.from(bytes);
  return new Reader(buf, 0, buf.length, code, subcode);
}

const afiOfFamily = (f: Family): AfiCode => (f === 'ipv4-unicast' ? Afi.ipv4 : Afi.ipv6);

describe('PrefixList', () => {
  it('IPv4: canonical texts round-trip, addresses packed most significant byte first', () => {
    const texts = [
      '0.0.0.0/0',
      '128.0.0.0/1',
      '10.0.0.0/8',
      '100.64.0.0/10',
      '172.16.0.0/12',
      '192.168.1.0/24',
      '192.0.2.128/25',
      '1.2.3.4/32',
      '203.0.113.7/32',
      '255.255.255.255/32',
    ];
    const list = PrefixList.parse(Afi.ipv4, texts);
    expect(list.afi).toBe(Afi.ipv4);
    expect(list.width).toBe(1);
    expect(list.length).toBe(texts.length);
    expect(list.toArray()).toEqual(texts);
    expect([...list]).toEqual(texts);
    expect(texts.map((_, i) => list.at(i))).toEqual(texts);
    expect(texts.map((_, i) => list.lenAt(i))).toEqual([0, 1, 8, 10, 12, 24, 25, 32, 32, 32]);
    expect(Array.from(list.words.subarray(0, texts.length))).toEqual([
      0, 0x80000000, 0x0a000000, 0x64400000, 0xac100000, 0xc0a80100, 0xc0000280, 0x01020304, 0xcb007107,
      0xffffffff,
    ]);
    expect(JSON.stringify({ prefixes: list })).toBe(JSON.stringify({ prefixes: texts }));
  });

  it('IPv6: RFC 5952 text out (lowercase, longest zero run compressed, first on a tie), mapped IPv4', () => {
    const cases: [string, string][] = [
      ['::/0', '::/0'],
      ['::1/128', '::1/128'],
      ['2001:DB8:0:0:0:0:0:0/32', '2001:db8::/32'],
      ['2001:0db8:0000:0000:0000:0000:0000:0001/128', '2001:db8::1/128'],
      ['2001:db8:0:0:1:0:0:1/128', '2001:db8::1:0:0:1/128'], // §4.2.3: the first of two equal runs
      ['2001:0:0:1:0:0:0:0/64', '2001:0:0:1::/64'], // §4.2.3: the longest run
      ['2001:db8:0:1:1:1:1:1/128', '2001:db8:0:1:1:1:1:1/128'], // §4.2.2: one zero group stays
      ['8000::/1', '8000::/1'],
      ['2001:db8:8000::/33', '2001:db8:8000::/33'],
      ['fe80::/10', 'fe80::/10'],
      ['::ffff:192.0.2.0/120', '::ffff:192.0.2.0/120'], // §5: IPv4-mapped in mixed notation
      ['::FFFF:c000:0200/120', '::ffff:192.0.2.0/120'],
      ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128'],
    ];
    const list = PrefixList.parse(
      Afi.ipv6,
      cases.map(([input]) => input),
    );
    expect(list.width).toBe(4);
    expect(list.toArray()).toEqual(cases.map(([, canonical]) => canonical));
    expect(cases.map((_, i) => list.lenAt(i))).toEqual([
      0, 128, 32, 128, 128, 64, 128, 1, 33, 10, 120, 120, 128,
    ]);
    const words = (i: number) => Array.from(list.words.subarray(i * 4, i * 4 + 4));
    expect(words(1)).toEqual([0, 0, 0, 1]);
    expect(words(2)).toEqual([0x20010db8, 0, 0, 0]);
    expect(words(4)).toEqual([0x20010db8, 0, 0x00010000, 0x00000001]);
    expect(words(10)).toEqual([0, 0, 0x0000ffff, 0xc0000200]);
    expect(words(12)).toEqual([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]);
  });

  it('any prefix: the list gives back its canonical text (property)', () => {
    // Zero-heavy IPv6 addresses, so that "::" placement and mapped addresses come up.
    const zeroHeavy6 = fc
      .tuple(
        fc.array(fc.constantFrom(0, 0, 0, 1, 0xff, 0x20), { minLength: 16, maxLength: 16 }),
        fc.integer({ min: 0, max: 128 }),
      )
      .map(([b, len]) => `${formatIpv6(mask(Uint8Array.from(b), len), 0)}/${len}`);
    const lists = fc.oneof(
      fc.record({ afi: fc.constant(Afi.ipv4), texts: fc.array(prefix4, { maxLength: 40 }) }),
      fc.record({
        afi: fc.constant(Afi.ipv6),
        texts: fc.array(fc.oneof(prefix6, zeroHeavy6), { maxLength: 40 }),
      }),
    );
    fc.assert(
      fc.property(lists, ({ afi, texts }) => {
        const list = PrefixList.parse(afi, texts);
        expect(list.toArray()).toEqual(texts.map(normalizePrefix));
        // Copying word by word through push gives the same list.
        const copy = new PrefixList(afi, 1);
        for (let i = 0; i < list.length; i++) copy.push(list.words, i * list.width, list.lenAt(i));
        expect(copy.toArray()).toEqual(list.toArray());
      }),
      { numRuns: 300 },
    );
  });

  it('grows past its initial capacity without losing what it holds', () => {
    const v4: string[] = [];
    for (let i = 0; i < 1000; i++) v4.push(`${128 + (i >> 8)}.${i & 0xff}.${(i * 7) & 0xff}.0/24`);
    const grown4 = new PrefixList(Afi.ipv4, 1);
    for (let i = 0; i < v4.length; i++) {
      grown4.pushText(v4[i] as string);
      expect(grown4.length).toBe(i + 1);
      expect(grown4.at(i)).toBe(v4[i]);
      expect(grown4.at(0)).toBe(v4[0]);
    }
    expect(grown4.toArray()).toEqual(v4);

    const v6: string[] = [];
    for (let i = 1; i <= 300; i++) v6.push(`2001:db8:${i.toString(16)}:${(i * 13).toString(16)}::/64`);
    const grown6 = new PrefixList(Afi.ipv6, 0);
    for (const t of v6) grown6.pushText(t);
    expect(grown6.toArray()).toEqual(v6);
    expect(grown6.words.length).toBeGreaterThanOrEqual(v6.length * 4);

    // pushIpv4 takes the address as a signed or unsigned 32-bit number alike.
    const pushed = new PrefixList(Afi.ipv4, 2);
    for (let i = 0; i < 20; i++) pushed.pushIpv4(0xc0a80000 | (i << 8) | 0, 24);
    expect(pushed.toArray()).toEqual(Array.from({ length: 20 }, (_, i) => `192.168.${i}.0/24`));
    expect(PrefixList.parse(Afi.ipv4, []).toArray()).toEqual([]);
  });

  it('lists made side by side never share memory (small ones are carved from one slab)', () => {
    // Many lists of both families and mixed sizes, filled and grown in an interleaved order,
    // each with prefixes of its own: any overlap of their arrays would change another's content.
    fc.assert(
      fc.property(
        fc.array(fc.record({ v6: fc.boolean(), capacity: fc.nat(40), count: fc.nat(60) }), {
          minLength: 1,
          maxLength: 80,
        }),
        (specs) => {
          const lists = specs.map((x) => new PrefixList(x.v6 ? Afi.ipv6 : Afi.ipv4, x.capacity));
          const expected = specs.map(() => [] as string[]);
          for (let round = 0; round < 60; round++) {
            specs.forEach((x, k) => {
              if (round >= x.count) return;
              const text = x.v6
                ? `2001:db8:${(k + 1).toString(16)}:${(round + 1).toString(16)}::/64`
                : `10.${k}.${round}.0/24`;
              (lists[k] as PrefixList).pushText(text);
              (expected[k] as string[]).push(text);
            });
          }
          lists.forEach((list, k) => {
            expect(list.toArray()).toEqual(expected[k]);
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('parse refuses a prefix of the other family, naming it', () => {
    const e4 = expectInvalidConfig(
      () => PrefixList.parse(Afi.ipv4, ['10.0.0.0/8', '2001:db8::/32']),
      '2001:db8::/32',
    );
    expect(e4.message).toMatch(/not IPv4/);
    const e6 = expectInvalidConfig(
      () => PrefixList.parse(Afi.ipv6, ['2001:db8::/32', '10.0.0.0/8']),
      '10.0.0.0/8',
    );
    expect(e6.message).toMatch(/not IPv6/);
    expectInvalidConfig(
      () => PrefixList.parse(Afi.ipv6, ['::ffff:10.0.0.0/104', '10.0.0.0/8']),
      '10.0.0.0/8',
    );
  });

  it('parse refuses host bits set, a length beyond the family and bad syntax, naming the first bad text', () => {
    const e = expectInvalidConfig(
      () => PrefixList.parse(Afi.ipv4, ['10.0.0.0/24', '10.0.0.1/24', '2001:db8::/32']),
      '10.0.0.1/24',
    );
    expect(e.message).toMatch(/host bits/);
    expect(e.message).not.toContain('2001:db8::/32');
    expect(
      expectInvalidConfig(() => PrefixList.parse(Afi.ipv6, ['2001:db8::1/64']), '2001:db8::1/64').message,
    ).toMatch(/host bits/);
    expectInvalidConfig(() => PrefixList.parse(Afi.ipv4, ['10.0.0.0/33']), '10.0.0.0/33');
    expectInvalidConfig(() => PrefixList.parse(Afi.ipv6, ['::/129']), '::/129');
    expectInvalidConfig(() => PrefixList.parse(Afi.ipv4, ['10.0.0.0']), '10.0.0.0');
    // Syntax errors come from parsePrefix, which names the address part.
    expectInvalidConfig(() => PrefixList.parse(Afi.ipv4, ['010.0.0.0/8']), '010.0.0.0');
  });

  it('toEqual tells PrefixLists apart by content (the expected values in the wire tests rely on it)', () => {
    expect(list4('10.0.0.0/8', '11.0.0.0/8')).toEqual(list4('10.0.0.0/8', '11.0.0.0/8'));
    expect(list4('10.0.0.0/8')).not.toEqual(list4('11.0.0.0/8'));
    expect(list4('10.0.0.0/8')).not.toEqual(list4('10.0.0.0/9'));
    expect(list4('10.0.0.0/8')).not.toEqual(list4('10.0.0.0/8', '10.0.0.0/8'));
    expect(list4('10.0.0.0/8', '11.0.0.0/8')).not.toEqual(list4('11.0.0.0/8', '10.0.0.0/8'));
    expect(list6()).not.toEqual(list4());
    expect({ prefixes: list6('::/0') }).not.toEqual({ prefixes: list6('::/1') });
  });
});

describe('decodeNlri (RFC 4271 §4.3, RFC 7911 §3)', () => {
  it('masks host bits beyond the prefix length (IPv4)', () => {
    const list = decodeNlri(
      field([
        23, 10, 0, 1, 25, 10, 0, 0, 0xff, 31, 10, 0, 0, 3, 1, 0xff, 7, 0xff, 12, 172, 31, 0, 32, 255, 255,
        255, 255,
      ]),
      Afi.ipv4,
      undefined,
    );
    expect(list.toArray()).toEqual([
      '10.0.0.0/23',
      '10.0.0.128/25',
      '10.0.0.2/31',
      '128.0.0.0/1',
      '254.0.0.0/7',
      '172.16.0.0/12',
      '0.0.0.0/0',
      '255.255.255.255/32',
    ]);
    // Equal prefixes have equal words, whatever host bits came on the wire.
    expect(list.words[0]).toBe(0x0a000000);
  });

  it('masks host bits beyond the prefix length (IPv6, across word boundaries)', () => {
    const ff16 = new Array(16).fill(0xff);
    const list = decodeNlri(
      field([
        ...[63, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1],
        ...[65, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0xff],
        ...[33, 0x20, 0x01, 0x0d, 0xb8, 0xff],
        ...[127, ...ff16],
        ...[128, ...ff16],
        ...[1, 0xff],
        ...[0],
        ...[120, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2],
      ]),
      Afi.ipv6,
      undefined,
    );
    expect(list.toArray()).toEqual([
      '2001:db8::/63',
      '2001:db8:0:0:8000::/65',
      '2001:db8:8000::/33',
      'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127',
      'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128',
      '8000::/1',
      '::/0',
      '::ffff:192.0.2.0/120',
    ]);
    expect(Array.from(list.words.subarray(0, 4))).toEqual([0x20010db8, 0, 0, 0]);
  });

  it('any bytes on the wire decode to the masked prefix (property, against a byte-wise reference)', () => {
    const wirePrefix = (max: number) =>
      fc.integer({ min: 0, max }).chain((len) =>
        fc.record({
          len: fc.constant(len),
          bytes: fc.uint8Array({ minLength: (len + 7) >> 3, maxLength: (len + 7) >> 3 }),
        }),
      );
    const nlriCase = fc.constantFrom(Afi.ipv4, Afi.ipv6).chain((afi) =>
      fc.record({
        afi: fc.constant(afi),
        addPath: fc.boolean(),
        entries: fc.array(fc.record({ pathId: u32, prefix: wirePrefix(afi === Afi.ipv4 ? 32 : 128) }), {
          maxLength: 30,
        }),
      }),
    );
    fc.assert(
      fc.property(nlriCase, ({ afi, addPath, entries }) => {
        const bytes: number[] = [];
        for (const { pathId, prefix } of entries) {
          if (addPath) bytes.push(...u32Bytes(pathId));
          bytes.push(prefix.len, ...prefix.bytes);
        }
        const expected = entries.map(({ prefix }) => {
          const full = new Uint8Array(afi === Afi.ipv4 ? 4 : 16);
          full.set(prefix.bytes);
          const masked = mask(full, prefix.len);
          return `${afi === Afi.ipv4 ? formatIpv4(masked, 0) : formatIpv6(masked, 0)}/${prefix.len}`;
        });
        const r = field(bytes);
        const pathIds: number[] | undefined = addPath ? [] : undefined;
        const list = decodeNlri(r, afi, pathIds);
        expect(list.afi).toBe(afi);
        expect(list.toArray()).toEqual(expected);
        if (addPath) expect(pathIds).toEqual(entries.map((e) => e.pathId));
        expect(r.pos).toBe(r.end);
      }),
      { numRuns: 300 },
    );
  });

  it('ADD-PATH: path identifiers parallel to the prefixes, as unsigned 32-bit numbers', () => {
    const pathIds: number[] = [];
    const list = decodeNlri(
      field([
        ...u32Bytes(1),
        ...[24, 10, 1, 2],
        ...u32Bytes(0xffffffff),
        0,
        ...u32Bytes(0x80000000),
        ...[32, 1, 2, 3, 4],
        ...u32Bytes(1),
        ...[24, 10, 1, 2],
      ]),
      Afi.ipv4,
      pathIds,
    );
    expect(list.toArray()).toEqual(['10.1.2.0/24', '0.0.0.0/0', '1.2.3.4/32', '10.1.2.0/24']);
    expect(pathIds).toEqual([1, 0xffffffff, 0x80000000, 1]);

    const ids6: number[] = [];
    const decoded6 = decodeNlri(
      field([...u32Bytes(7), 32, 0x20, 0x01, 0x0d, 0xb8, ...u32Bytes(0), 0]),
      Afi.ipv6,
      ids6,
    );
    expect(decoded6.toArray()).toEqual(['2001:db8::/32', '::/0']);
    expect(ids6).toEqual([7, 0]);
  });

  it('reads only within the field, and an empty field is an empty list', () => {
    const buf = Uint8Array.from([99, 24, 10, 1, 2, 8, 11]);
    const r = new Reader(buf, 1, 5, 3, 10);
    expect(decodeNlri(r, Afi.ipv4, undefined).toArray()).toEqual(['10.1.2.0/24']);
    expect(r.pos).toBe(5);
    // The bytes after the field are there, but the prefix may not use them.
    expectWireError(() => decodeNlri(new Reader(buf, 1, 4, 3, 10), Afi.ipv4, undefined), 3, 10);
    const empty = decodeNlri(field([]), Afi.ipv6, []);
    expect(empty.length).toBe(0);
    expect(empty.toArray()).toEqual([]);
  });

  it('malformed fields: WireError with the code/subcode the reader carries', () => {
    // The caller picks the subcode: Invalid Network Field for the NLRI fields, Optional
    // Attribute Error for MP_REACH/MP_UNREACH (RFC 7606 §5.3, §7.11).
    for (const [code, subcode] of [
      [3, 10],
      [3, 9],
    ] as const) {
      const v4 = (bytes: number[], ids?: number[]) => () =>
        decodeNlri(field(bytes, code, subcode), Afi.ipv4, ids);
      const v6 = (bytes: number[], ids?: number[]) => () =>
        decodeNlri(field(bytes, code, subcode), Afi.ipv6, ids);
      expect(expectWireError(v4([33, 1, 2, 3, 4, 5]), code, subcode).message).toMatch(/33/);
      expectWireError(v4([255]), code, subcode);
      expect(expectWireError(v6([129, ...new Array(17).fill(0)]), code, subcode).message).toMatch(/129/);
      expectWireError(v4([24, 10, 1]), code, subcode); // prefix running past the field
      expectWireError(v4([8, 10, 32, 1, 2, 3]), code, subcode); // the second one does
      expectWireError(v6([128, ...new Array(15).fill(0)]), code, subcode);
      expectWireError(v6([64, 0x20, 0x01]), code, subcode);
      expectWireError(v4([0, 0, 0, 1], []), code, subcode); // path id with no prefix
      expectWireError(v4([0, 0, 1], []), code, subcode); // path id cut short
      expectWireError(v4([0, 0, 0, 1, 24, 10], []), code, subcode); // prefix after it cut short
      expectWireError(v6([...u32Bytes(1), 32, 0x20, 0x01, 0x0d, 0xb8, ...u32Bytes(2)], []), code, subcode);
    }
  });

  it('a bad field appends no path identifiers (it is validated before anything is packed)', () => {
    const ids = [42];
    expectWireError(
      () =>
        decodeNlri(field([...u32Bytes(1), 24, 10, 1, 2, ...u32Bytes(2), 33, 1, 2, 3, 4, 5]), Afi.ipv4, ids),
      3,
      10,
    );
    expect(ids).toEqual([42]);
  });
});

describe('UpdateWriter.addPrefixAt', () => {
  /** Packs prefixes 0..n-1 through `add`, starting a new UPDATE whenever one is full. */
  function pack(w: UpdateWriter, begin: () => void, n: number, add: (i: number) => boolean): Uint8Array[] {
    const out: Uint8Array[] = [];
    begin();
    for (let i = 0; i < n; i++) {
      if (add(i)) continue;
      out.push(w.finish());
      begin();
      expect(add(i)).toBe(true);
    }
    if (w.count > 0) out.push(w.finish());
    return out;
  }

  const packCase = fc.tuple(codecOptions(), family, fc.boolean()).chain(([opts, fam, v6NextHop]) =>
    fc.record({
      opts: fc.constant(opts),
      fam: fc.constant(fam),
      nextHop: fc.constant(
        fam === 'ipv6-unicast' || (v6NextHop && opts.extendedNextHopIpv4) ? '2001:db8::1' : '192.0.2.1',
      ),
      attrs: pathAttributes.map((a) => ({
        ...a,
        unknown: undefined,
        communities: a.communities?.slice(0, 3),
      })),
      withdraw: fc.boolean(),
      maxLength: fc.integer({ min: 1200, max: 4096 }),
      prefixes: fc.array(fc.record({ prefix: prefixOf(fam), pathId: fc.option(u32, { nil: undefined }) }), {
        maxLength: 400,
      }),
    }),
  );

  function beginner(
    w: UpdateWriter,
    c: { fam: Family; attrs: PathAttributes; nextHop: string; withdraw: boolean },
  ): () => void {
    return () => (c.withdraw ? w.beginWithdraw(c.fam) : w.beginReach(c.attrs, c.fam, c.nextHop));
  }

  it('writes byte for byte what addPrefix writes for the same prefixes (property)', () => {
    fc.assert(
      fc.property(packCase, (c) => {
        const texts = c.prefixes.map((p) => p.prefix);
        const ids = c.prefixes.map((p) => p.pathId);
        const list = PrefixList.parse(afiOfFamily(c.fam), texts);
        const wt = new UpdateWriter(c.opts, c.maxLength);
        const byText = pack(wt, beginner(wt, c), texts.length, (i) =>
          wt.addPrefix(texts[i] as string, ids[i]),
        );
        const wp = new UpdateWriter(c.opts, c.maxLength);
        const byIndex = pack(wp, beginner(wp, c), list.length, (i) => wp.addPrefixAt(list, i, ids[i]));
        expect(byIndex.map(toHex)).toEqual(byText.map(toHex));
      }),
      { numRuns: 200 },
    );
  });

  it('re-encoding the list decodeUpdate returns gives the same UPDATEs (property)', () => {
    fc.assert(
      fc.property(packCase, (c) => {
        const w = new UpdateWriter(c.opts, c.maxLength);
        const begin = beginner(w, c);
        const sent = pack(w, begin, c.prefixes.length, (i) => {
          const p = c.prefixes[i] as { prefix: string; pathId?: number };
          return w.addPrefix(p.prefix, p.pathId);
        });
        for (const bytes of sent) {
          const u = decodeUpdate(bytes, c.opts);
          const block = c.withdraw ? u.withdrawn[0] : u.reach[0];
          if (!block) return expect.fail('no NLRI block decoded');
          begin();
          for (let i = 0; i < block.prefixes.length; i++) {
            expect(w.addPrefixAt(block.prefixes, i, block.pathIds?.[i])).toBe(true);
          }
          expect(toHex(w.finish())).toBe(toHex(bytes));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('writes the prefix octets exactly, across word boundaries', () => {
    const w = new UpdateWriter(OPTS4);
    w.beginWithdraw('ipv4-unicast');
    const v4 = list4('0.0.0.0/0', '255.255.255.255/32', '10.0.0.0/8', '192.0.2.128/25');
    for (let i = 0; i < v4.length; i++) expect(w.addPrefixAt(v4, i)).toBe(true);
    const H = 'ff'.repeat(16);
    // Withdrawn Routes Length 13: /0 (1 octet), /32 (5), /8 (2), /25 (5); then no attributes.
    expect(toHex(w.finish())).toBe(
      [H, '002402', '000d', '00', '20ffffffff', '080a', '19c0000280', '0000'].join(''),
    );

    w.beginWithdraw('ipv6-unicast');
    const v6 = list6('::/0', '2001:db8::8000/113', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128');
    for (let i = 0; i < v6.length; i++) expect(w.addPrefixAt(v6, i)).toBe(true);
    // MP_UNREACH_NLRI (RFC 4760 §4), 37 octets: AFI/SAFI, then /0 (1 octet), /113 (16: the last
    // is address byte 14, inside the fourth word), /128 (17).
    const nlri = ['00', '71', '20010db8', '00'.repeat(10), '80', '80', 'ff'.repeat(16)].join('');
    expect(toHex(w.finish())).toBe([H, '004002', '0000', '0029', '900f0025', '000201', nlri].join(''));
  });

  it('writes the path identifier with ADD-PATH send, 0 when omitted', () => {
    const o = opts({ addPathSend: ['ipv6-unicast'], addPathReceive: ['ipv6-unicast'] });
    const w = new UpdateWriter(o);
    w.beginWithdraw('ipv6-unicast');
    const list = list6('2001:db8::/32', '2001:db8::/32');
    expect(w.addPrefixAt(list, 0, 0xfffffffe)).toBe(true);
    expect(w.addPrefixAt(list, 1)).toBe(true);
    const m = decodeUpdate(w.finish(), o);
    expect(m.withdrawn[0]?.prefixes.toArray()).toEqual(['2001:db8::/32', '2001:db8::/32']);
    expect(m.withdrawn[0]?.pathIds).toEqual([0xfffffffe, 0]);
    w.beginWithdraw('ipv6-unicast');
    expect(() => w.addPrefixAt(list, 0, 2 ** 32)).toThrow(/does not fit 32 bits/);
  });

  it('refuses a list of the other family (naming the prefix) and use before begin', () => {
    const w = new UpdateWriter(OPTS4);
    expect(() => w.addPrefixAt(list4('10.0.0.0/8'), 0)).toThrow(/before beginReach/);
    w.beginReach({ origin: 0, asPath: [] }, 'ipv4-unicast', '192.0.2.1');
    const e = thrown(() => w.addPrefixAt(list6('2001:db8::/32'), 0));
    expect(e).toBeInstanceOf(BgpError);
    expect((e as BgpError).code).toBe('BGP_ERR_ENCODE');
    expect((e as BgpError).message).toContain('2001:db8::/32 is not ipv4-unicast');
    w.beginWithdraw('ipv6-unicast');
    expect(() => w.addPrefixAt(list4('10.0.0.0/8'), 0)).toThrow(/10\.0\.0\.0\/8 is not ipv6-unicast/);
  });
});
