// The desired set (desired.ts), the two-layer view (view.ts) and the diff between them (delta.ts)
// as pure data: the fast paths that make a 100k-route apply cheap must give exactly what the
// general ones give — the typed-array duplicate check, the shared next-hop lists and line bodies,
// the key that is the destination itself, the allocation-free comparison of a gateway route.
// Seed: FC_SEED=<n> replays a failure of the property (the seed is in the test name).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseKernelRoutes } from '../../../../felix/dataplane/netlink/routes-json.ts';
import {
  computeRouteDelta,
  isUpToDate,
  renderDeleteLine,
  renderRouteLine,
} from '../../../../felix/dataplane/routes/delta.ts';
import {
  compileDesired,
  DesiredEntry,
  DesiredRoutes,
  needsGateway,
} from '../../../../felix/dataplane/routes/desired.ts';
import { RouteView } from '../../../../felix/dataplane/routes/view.ts';
import {
  CanonicalScratch,
  canonicalRoute,
  type RouteSpec,
  routeKey,
  routeMatches,
} from '../../../../felix/model/routes.ts';

const invalid = expect.objectContaining({ code: 'FELIX_ERR_INVALID_ROUTE' });
const via = (dst: string, gateway: string, reason?: string): RouteSpec => ({
  dst,
  nextHops: [{ gateway }],
  ...(reason !== undefined ? { reason } : {}),
});

describe('routeKey', () => {
  it('is the destination itself in the main table, table|destination elsewhere', () => {
    expect(routeKey({ table: 254, dst: '10.244.1.0/24' })).toBe('10.244.1.0/24');
    expect(routeKey({ table: 254, dst: '2001:db8::/64' })).toBe('2001:db8::/64');
    expect(routeKey({ table: 100, dst: '10.244.1.0/24' })).toBe('100|10.244.1.0/24');
  });
});

describe('canonicalRoute with a CanonicalScratch', () => {
  it('gives the same routes as without, sharing one frozen next-hop list per gateway', () => {
    const scratch = new CanonicalScratch();
    const specs = [
      via('10.1.0.0/16', '192.0.2.2'),
      via('10.2.0.0/16', '192.0.2.3'),
      via('10.3.0.0/16', '192.0.2.2'),
    ];
    const shared = specs.map((s) => canonicalRoute(s, scratch));
    expect(shared).toEqual(specs.map((s) => canonicalRoute(s)));
    expect(shared[0]!.nextHops).toBe(shared[2]!.nextHops);
    expect(shared[0]!.nextHops).not.toBe(shared[1]!.nextHops);
    expect(Object.isFrozen(shared[0]!.nextHops) && Object.isFrozen(shared[0]!.nextHops[0])).toBe(true);
  });

  it('leaves the parsed IPv4 destination in the scratch, and -1 for IPv6', () => {
    const scratch = new CanonicalScratch();
    canonicalRoute(via('10.244.3.0/24', '192.0.2.2'), scratch);
    expect([scratch.v4Address >>> 0, scratch.v4Length]).toEqual([0x0af40300, 24]);
    canonicalRoute({ dst: '10.244.3.7', dev: 'v0' }, scratch); // general path, host route
    expect([scratch.v4Address >>> 0, scratch.v4Length]).toEqual([0x0af40307, 32]);
    canonicalRoute({ dst: '10.244.3.7/16', type: 'blackhole' }, scratch); // host bits cleared
    expect([scratch.v4Address >>> 0, scratch.v4Length]).toEqual([0x0af40000, 16]);
    canonicalRoute({ dst: '2001:db8::/64', type: 'blackhole' }, scratch);
    expect(scratch.v4Length).toBe(-1);
  });

  it.each([
    ['10.1.0.1/16', 'host bits'],
    ['10.01.0.0/16', 'leading zero'],
    ['10.1.0.0/33', 'length'],
    ['256.1.0.0/16', 'octet'],
  ])('still rejects %s (%s) or takes the general path', (dst) => {
    const general = (() => {
      try {
        return canonicalRoute(via(dst, '192.0.2.2'));
      } catch (e) {
        return e;
      }
    })();
    const fast = (() => {
      try {
        return canonicalRoute(via(dst, '192.0.2.2'), new CanonicalScratch());
      } catch (e) {
        return e;
      }
    })();
    expect(fast).toEqual(general);
  });
});

describe('compileDesired', () => {
  it('merges identical routes (first position, last reason) and keeps key order', () => {
    const d = compileDesired(
      [
        via('10.1.0.0/16', '192.0.2.2', 'a'),
        via('10.2.0.0/16', '192.0.2.2'),
        via('10.1.0.0/16', '192.0.2.2', 'b'),
      ],
      [4],
    );
    expect(d.entries.map((e) => [e.key, e.route.reason])).toEqual([
      ['10.1.0.0/16', 'b'],
      ['10.2.0.0/16', undefined],
    ]);
    expect(d.has('10.2.0.0/16')).toBe(true);
    expect(d.get('10.1.0.0/16')?.route.reason).toBe('b');
    expect(d.has('10.3.0.0/16')).toBe(false);
  });

  it('rejects two different routes for one key, whichever path canonicalized them', () => {
    expect(() =>
      compileDesired([via('10.1.0.0/16', '192.0.2.2'), via('10.1.0.0/16', '192.0.2.3')], [4]),
    ).toThrow(invalid);
    // the fast path (via a gateway) against the general one (blackhole, non-canonical spelling)
    expect(() =>
      compileDesired([via('10.1.0.0/16', '192.0.2.2'), { dst: '10.1.0.9/16', type: 'blackhole' }], [4]),
    ).toThrow(invalid);
    expect(() =>
      compileDesired(
        [
          { dst: '2001:db8::/64', type: 'blackhole' },
          { dst: '2001:db8:0::/64', dev: 'v0' },
        ],
        [6],
      ),
    ).toThrow(invalid);
  });

  it('keeps one prefix in two tables, and the same text in two families, apart', () => {
    const d = compileDesired(
      [
        via('10.1.0.0/16', '192.0.2.2'),
        { ...via('10.1.0.0/16', '192.0.2.3'), table: 100 },
        { dst: '10.1.0.0/16', type: 'blackhole', table: 101 },
      ],
      [4, 6],
    );
    expect(d.entries.map((e) => e.key)).toEqual(['10.1.0.0/16', '100|10.1.0.0/16', '101|10.1.0.0/16']);
  });

  it('rejects a family that is not managed, and an invalid route, before anything else', () => {
    expect(() => compileDesired([{ dst: '2001:db8::/64', type: 'blackhole' }], [4])).toThrow(invalid);
    expect(() => compileDesired([via('10.1.0.0/16', '192.0.2.2'), via('10.2.0.0/16', 'nope')], [4])).toThrow(
      invalid,
    );
  });

  it('finds every duplicate among 70k prefixes (the typed-array index under load)', () => {
    const specs: RouteSpec[] = [];
    for (let len = 32; len >= 16 && specs.length < 70_000; len--) {
      for (let off = 0; off < 65_536 && specs.length < 70_000; off += 2 ** (32 - len)) {
        specs.push(via(`10.${len}.${off >> 8}.${off & 255}/${len}`, `192.0.2.${(off % 7) + 1}`));
      }
    }
    const d = compileDesired([...specs, ...specs.slice(0, 1000)], [4]);
    expect(d.size).toBe(70_000);
    const changed = { ...specs[12_345]!, nextHops: [{ gateway: '198.51.100.1' }] };
    expect(() => compileDesired([...specs, changed], [4])).toThrow(invalid);
  });

  it('equals a plain Map of canonicalRoute over a mixed set spanning several blocks', () => {
    // plain gateway routes (compact slots) among every other kind, duplicates, non-canonical
    // spellings (host bits, a host route without /32), across the 512-route blocks of compile
    const specs: RouteSpec[] = [];
    for (let i = 0; i < 1500; i++) {
      const o = `10.${i >> 8}.${i & 255}`;
      switch (i % 7) {
        case 0:
          specs.push({ dst: `${o}.0/24`, dev: `v${i % 3}` });
          break;
        case 1:
          specs.push({ dst: `${o}.9/24`, type: 'blackhole' }); // host bits: cleared
          break;
        case 2:
          specs.push({
            dst: `2001:db8:${i.toString(16)}::/64`,
            nextHops: [{ gateway: 'fe80::1', dev: 'v0' }],
          });
          break;
        case 3:
          specs.push({ ...via(`${o}.0/24`, '192.0.2.7'), table: 100 });
          break;
        case 4:
          specs.push({ dst: `${o}.5`, nextHops: [{ gateway: '192.0.2.3' }] }); // host route, no /32
          break;
        default:
          specs.push(via(`${o}.0/24`, `192.0.2.${(i % 2) + 1}`, `r${i}`));
      }
    }
    const withDuplicates = [
      ...specs,
      ...specs.filter((_, i) => i % 5 === 0).map((sp) => ({ ...sp, reason: 'again' })),
    ];
    const want = new Map<string, ReturnType<typeof canonicalRoute>>();
    for (const sp of withDuplicates) {
      const r = canonicalRoute(sp);
      want.set(routeKey(r), r);
    }
    const got = compileDesired(withDuplicates, [4, 6]);
    expect(got.entries.map((e) => [e.key, e.route])).toEqual([...want]);
    for (let i = 0; i < got.size; i++) {
      const e = got.entry(i);
      expect(got.routeLine('add', i, 109)).toBe(renderRouteLine('add', e.route, 109));
      expect(got.deleteLine(i, 109)).toBe(renderDeleteLine(e.route, e.route.family === 4 ? 0 : 1024, 109));
      expect(got.familyAt(i)).toBe(e.route.family);
    }
  });

  it('compares plain routes of two sets by gateway, without entries', () => {
    const a = compileDesired([via('10.1.0.0/16', '192.0.2.2'), { dst: '10.2.0.0/16', dev: 'v0' }], [4]);
    const b = compileDesired([via('10.1.0.0/16', '192.0.2.2'), via('10.2.0.0/16', '192.0.2.2')], [4]);
    const c = compileDesired([via('10.1.0.0/16', '192.0.2.3')], [4]);
    expect([a.isPlain(0), a.isPlain(1)]).toEqual([true, false]);
    expect(a.samePlain(0, b, 0)).toBe(true);
    expect(a.samePlain(0, c, 0)).toBe(false);
    expect(a.samePlain(1, b, 1)).toBeUndefined();
    expect([b.indexOf('10.2.0.0/16'), b.indexOf('10.3.0.0/16')]).toEqual([1, -1]);
  });

  it('joins two sets as one compile of both lists, or not at all when a key is in both', () => {
    const local: RouteSpec[] = [
      { dst: '10.244.0.5/32', dev: 'mgy1' },
      { dst: '2001:db8:244::5/128', dev: 'mgy1' },
      { dst: '10.244.0.0/24', type: 'blackhole' },
    ];
    const remote: RouteSpec[] = [];
    for (let i = 1; i < 1200; i++)
      remote.push(via(`10.${244 + (i >> 8)}.${i & 255}.0/24`, `192.0.2.${(i % 3) + 1}`));
    remote.push({ dst: '2001:db8:245::/64', nextHops: [{ gateway: 'fe80::1', dev: 'v0' }] });
    const a = compileDesired(local, [4, 6]);
    const b = compileDesired(remote, [4, 6]);
    a.entry(0); // an entry built before the join is reused
    const joined = DesiredRoutes.join(a, b)!;
    const whole = compileDesired([...local, ...remote], [4, 6]);
    expect(joined.size).toBe(whole.size);
    expect(joined.entries.map((e) => [e.key, e.route])).toEqual(whole.entries.map((e) => [e.key, e.route]));
    expect(joined.entry(0)).toBe(a.entry(0));
    for (let i = 0; i < whole.size; i += 97) {
      const key = whole.keyAt(i);
      expect([joined.indexOf(key), joined.has(key), joined.get(key)?.key]).toEqual([i, true, key]);
      expect(joined.isPlain(i)).toBe(whole.isPlain(i));
      expect(joined.routeLine('add', i, 109)).toBe(whole.routeLine('add', i, 109));
    }
    expect([joined.indexOf('10.9.9.0/24'), joined.has('10.9.9.0/24'), joined.get('10.9.9.0/24')]).toEqual([
      -1,
      false,
      undefined,
    ]);
    // A key in both: identical (one compile merges it) or not (one compile refuses it).
    const again = compileDesired([remote[7]!], [4]);
    expect(DesiredRoutes.join(again, b)).toBeUndefined();
    const other = compileDesired([via(remote[7]!.dst as string, '198.51.100.1')], [4]);
    expect(DesiredRoutes.join(b, other)).toBeUndefined();
  });

  it('renders each body right when routes via different gateways alternate (shared bodies)', () => {
    const d = compileDesired(
      [via('10.1.0.0/16', '192.0.2.2'), via('10.2.0.0/16', '192.0.2.3'), via('10.3.0.0/16', '192.0.2.2')],
      [4],
    );
    expect(d.entries.map((e) => e.body)).toEqual([' via 192.0.2.2', ' via 192.0.2.3', ' via 192.0.2.2']);
    const other = new DesiredEntry(canonicalRoute({ ...via('10.4.0.0/16', '192.0.2.2'), table: 7 }));
    expect(other.body).toBe(' table 7 via 192.0.2.2');
  });
});

describe('needsGateway: the phase of a route (family-streams.ts)', () => {
  // [route, whether the kernel resolves a gateway of it in the table when it takes it]
  const cases: [string, RouteSpec, boolean][] = [
    ['a plain gateway route', via('10.244.1.0/24', '192.0.2.2'), true],
    [
      'a gateway route with a dev',
      { dst: '10.244.2.0/24', nextHops: [{ gateway: '192.0.2.2', dev: 'v0' }] },
      true,
    ],
    ['an IPv6 gateway route', via('2001:db8:1::/64', '2001:db8::2'), true],
    ['a device route', { dst: '10.244.3.5/32', dev: 'mgy1' }, false],
    ['a blackhole', { dst: '10.244.0.0/24', type: 'blackhole' }, false],
    ['an unreachable route', { dst: '2001:db8:9::/64', type: 'unreachable' }, false],
    [
      'an onlink gateway route',
      { dst: '10.244.4.0/24', nextHops: [{ gateway: '203.0.113.9', dev: 'vxlan.margay', onlink: true }] },
      false,
    ],
    [
      'ECMP, one hop onlink and one not',
      {
        dst: '10.244.5.0/24',
        nextHops: [
          { gateway: '203.0.113.9', dev: 'v0', onlink: true },
          { gateway: '192.0.2.3', dev: 'v1' },
        ],
      },
      true,
    ],
    [
      'ECMP, every hop onlink',
      {
        dst: '10.244.6.0/24',
        nextHops: [
          { gateway: '203.0.113.9', dev: 'v0', onlink: true },
          { gateway: '203.0.113.10', dev: 'v1', onlink: true },
        ],
      },
      false,
    ],
  ];

  it.each(cases)('%s: %s', (_what, spec, want) => {
    expect(needsGateway(canonicalRoute(spec))).toBe(want);
  });

  it('needsGatewayAt agrees with needsGateway for every slot, plain or not', () => {
    const set = compileDesired(
      cases.map(([, spec]) => spec),
      [4, 6],
    );
    expect(set.isPlain(0)).toBe(true);
    expect(cases.map((_, i) => set.needsGatewayAt(i))).toEqual(cases.map(([, , want]) => want));
  });
});

describe('the diff against a two-layer view', () => {
  const set = (specs: RouteSpec[]) => compileDesired(specs, [4, 6]);
  const kernel = (list: unknown[]) => {
    const m = new Map<string, ReturnType<typeof parseKernelRoutes>>();
    for (const r of parseKernelRoutes(list, 4, 109)) m.set(r.key, [...(m.get(r.key) ?? []), r]);
    return m;
  };
  const written = set([
    via('10.1.0.0/16', '192.0.2.2'),
    via('10.2.0.0/16', '192.0.2.2'),
    { dst: '10.3.0.0/16', dev: 'v0' },
  ]);

  it('the view is the very desired set: no line', () => {
    expect(computeRouteDelta(written, new RouteView(written, new Map()), 109)).toEqual({
      ops: [],
      unchanged: 3,
    });
  });

  it('from what was written: adds, replaces and deletes (at the default metric), no line for the rest', () => {
    const next = set([
      via('10.1.0.0/16', '192.0.2.2'),
      via('10.2.0.0/16', '192.0.2.9'),
      via('10.4.0.0/16', '192.0.2.2'),
    ]);
    const d = computeRouteDelta(next, new RouteView(written, new Map()), 109);
    expect(d.ops.map((o) => o.line)).toEqual([
      'route replace 10.2.0.0/16 proto 109 via 192.0.2.9',
      'route add 10.4.0.0/16 proto 109 via 192.0.2.2',
      'route del 10.3.0.0/16 proto 109',
    ]);
    expect(d.unchanged).toBe(1);
  });

  it('what was read wins over what was written, at every metric', () => {
    const other = kernel([
      { dst: '10.1.0.0/16', gateway: '192.0.2.7', dev: 'v0', protocol: '109' },
      { dst: '10.2.0.0/16', gateway: '192.0.2.2', dev: 'v0', protocol: '109', metric: 50 },
    ]);
    const d = computeRouteDelta(written, new RouteView(written, other), 109);
    expect(d.ops.map((o) => o.line)).toEqual([
      'route replace 10.1.0.0/16 proto 109 via 192.0.2.2',
      'route add 10.2.0.0/16 proto 109 via 192.0.2.2',
      'route del 10.2.0.0/16 proto 109 metric 50',
    ]);
    expect(d.unchanged).toBe(1);
  });

  it('removing everything written deletes each route once, whatever the layers hold', () => {
    const kept = new Map([['10.3.0.0/16', written.get('10.3.0.0/16')!]]);
    const d = computeRouteDelta(DesiredRoutes.empty(), new RouteView(written, kept), 109);
    expect(d.ops.map((o) => o.line).sort()).toEqual([
      'route del 10.1.0.0/16 proto 109',
      'route del 10.2.0.0/16 proto 109',
      'route del 10.3.0.0/16 proto 109',
    ]);
  });
});

describe('isUpToDate: the allocation-free gateway comparison', () => {
  const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
  const addr = fc.constantFrom('192.0.2.2', '192.0.2.3', '10.0.0.1');
  const hop = fc.record(
    { gateway: addr, dev: fc.constantFrom('v0', 'v1'), onlink: fc.constant(true) },
    { requiredKeys: ['gateway'] },
  );
  const route = fc.record(
    {
      dst: fc.constantFrom('10.1.0.0/16', '10.2.0.0/16'),
      table: fc.constantFrom(254, 100),
      type: fc.constantFrom('unicast' as const, 'blackhole' as const),
      src: fc.constantFrom('192.0.2.1', undefined),
      mtu: fc.constantFrom(1400, undefined),
      nextHops: fc.array(hop, { minLength: 1, maxLength: 2 }),
    },
    { requiredKeys: ['dst', 'nextHops'] },
  );
  interface GenRoute {
    dst: string;
    table?: number;
    type?: 'unicast' | 'blackhole';
    src?: string | undefined;
    mtu?: number | undefined;
    nextHops: { gateway: string; dev?: string; onlink?: boolean }[];
  }
  const spec = (r: GenRoute): RouteSpec => {
    const { type, nextHops, src, mtu, ...rest } = r;
    const hops = nextHops.map(({ onlink, ...h }, i) => ({
      ...h,
      ...(onlink && h.dev !== undefined ? { onlink } : {}),
      gateway: i === 0 ? h.gateway : '198.51.100.9',
    }));
    return type === 'blackhole'
      ? { ...rest, type, ...(src !== undefined ? { src } : {}) }
      : {
          ...rest,
          nextHops: hops,
          ...(src !== undefined ? { src } : {}),
          ...(mtu !== undefined ? { mtu } : {}),
        };
  };

  // The kernel's route: the desired one with a few fields changed, so that near misses are common.
  const changes = fc.record(
    {
      dst: fc.constantFrom('10.1.0.0/16', '10.2.0.0/16'),
      table: fc.constantFrom(254, 100),
      type: fc.constantFrom('unicast' as const, 'blackhole' as const),
      src: fc.constantFrom('192.0.2.1', undefined),
      mtu: fc.constantFrom(1400, undefined),
      nextHops: fc.array(hop, { minLength: 1, maxLength: 2 }),
    },
    { requiredKeys: [] },
  );

  it(`agrees with routeMatches on every shape (seed ${seed})`, () => {
    fc.assert(
      fc.property(route, changes, fc.boolean(), (a, change, dropDev) => {
        const wantSpec = spec(a);
        const want = new DesiredEntry(
          canonicalRoute(
            dropDev && wantSpec.nextHops !== undefined
              ? { ...wantSpec, nextHops: wantSpec.nextHops.map(({ dev: _d, onlink: _o, ...h }) => h) }
              : wantSpec,
          ),
        );
        const c = canonicalRoute(spec({ ...a, ...change }));
        const have = {
          family: 4 as const,
          table: c.table,
          dst: c.dst,
          metric: 0,
          typeName: c.type,
          key: routeKey(c),
          canonical: c,
          body: new DesiredEntry(c).body,
        };
        const expected =
          (want.route.type === c.type && want.body === have.body) ||
          (want.looseDev && routeMatches(want.route, c));
        expect(isUpToDate(want, have)).toBe(expected);
      }),
      { seed, numRuns: 2000 },
    );
  });
});
