// Paged route listings (Rib.listRoutes with limit/after), as the REST API pages GET
// /v1/bgp/routes: every route present for the whole listing is listed exactly once, also when
// the table changes between pages, and a position that cannot be resumed is an error, never a
// silently truncated or repeated listing.
import { describe, expect, it } from 'vitest';
import { BgpError } from '../../../../bgp/errors.ts';
import type { Rib } from '../../../../bgp/rib/index.ts';
import { announce, makeRib, withdraw } from './helpers.ts';

const A = '10.0.0.1';
const B = '10.0.0.2';
const prefixes = Array.from({ length: 25 }, (_, i) => `10.${i}.0.0/24`);

function table(): Rib {
  const { rib } = makeRib([
    { id: A, bgpId: '1.1.1.1' },
    { id: B, bgpId: '2.2.2.2' },
  ]);
  rib.applyUpdate(A, announce({ prefixes }));
  rib.applyUpdate(B, announce({ prefixes: prefixes.filter((_, i) => i % 5 === 0) }));
  rib.setLocalRoutes([{ prefix: '10.244.0.0/24' }, { prefix: 'fd00::/64' }]);
  return rib;
}

/** Follows the listing to its end the way the API client does; returns the pages' prefixes. */
function pages(rib: Rib, limit: number, between: (page: number, last: string) => void = () => {}) {
  const out: string[][] = [];
  let after: string | undefined;
  for (;;) {
    const page = rib.listRoutes({ limit, ...(after !== undefined && { after }) }).map((r) => r.prefix);
    out.push(page);
    if (page.length < limit) return out;
    after = page[page.length - 1] as string;
    between(out.length, after);
  }
}

describe('paged route listings', () => {
  it('pages partition the table, whole routes each, in the order of an unpaged listing', () => {
    const rib = table();
    const all = rib.listRoutes().map((r) => r.prefix);
    expect(all).toHaveLength(27);
    const got = pages(rib, 4);
    expect(got.slice(0, -1).every((p) => p.length === 4)).toBe(true);
    expect(got.flat()).toEqual(all);
    // A route with two paths stays whole within its page.
    expect(rib.listRoutes({ limit: 1 })[0]?.paths).toHaveLength(2);
  });

  it('filters apply before the count: a page holds `limit` matching routes', () => {
    const rib = table();
    const byB: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = rib.listRoutes({ fromPeers: [B], limit: 2, ...(after !== undefined && { after }) });
      byB.push(...page.map((r) => r.prefix));
      expect(page.every((r) => r.paths.every((p) => p.fromPeer === B))).toBe(true);
      if (page.length < 2) break;
      after = page[1]?.prefix;
    }
    expect(byB).toEqual(prefixes.filter((_, i) => i % 5 === 0));
    expect(
      rib.listRoutes({ fromPeers: [null], family: 'ipv6-unicast', limit: 5 }).map((r) => r.prefix),
    ).toEqual(['fd00::/64']);
  });

  it('continues after a page whose last prefix was withdrawn meanwhile; changes elsewhere are tolerated', () => {
    const rib = table();
    let added = 0;
    const listed = pages(rib, 5, (page, last) => {
      added++;
      // The page's last route goes away, one already listed goes, and a new one arrives.
      rib.applyUpdate(A, withdraw([last]));
      if (last.split('.')[1] !== '0') rib.applyUpdate(B, withdraw(['10.0.0.0/24']));
      rib.applyUpdate(A, announce({ prefixes: [`10.100.${page}.0/24`] }));
    }).flat();
    expect(new Set(listed).size).toBe(listed.length);
    // Everything present for the whole listing was listed; routes added meanwhile were too
    // (they are appended, and the cursor is live).
    for (const p of prefixes) expect(listed).toContain(p);
    expect(added).toBeGreaterThanOrEqual(5);
    expect(listed.filter((p) => p.startsWith('10.100.'))).toHaveLength(added);
  });

  it('without a kept position it walks to the prefix; a prefix that is gone too is an error', () => {
    const rib = table();
    const first = rib.listRoutes({ limit: 3 }).map((r) => r.prefix);
    // More concurrent listings than positions kept: the first one's cursor is evicted.
    const evict = () => {
      for (let i = 0; i < 10; i++) rib.listRoutes({ limit: 1, after: prefixes[4 + 2 * i] as string });
    };
    evict();
    const next = rib.listRoutes({ limit: 3, after: first[2] as string }).map((r) => r.prefix);
    expect(next).toEqual(
      rib
        .listRoutes()
        .map((r) => r.prefix)
        .slice(3, 6),
    );

    const again = rib.listRoutes({ limit: 3 }).map((r) => r.prefix);
    evict();
    rib.applyUpdate(A, withdraw([again[2] as string]));
    expect(() => rib.listRoutes({ limit: 3, after: again[2] as string })).toThrow(/no longer in the table/);
    expect(() => rib.listRoutes({ limit: 0 })).toThrow(BgpError);
    expect(() => rib.listRoutes({ limit: 3, after: 'nope' })).toThrow(/not a prefix/);
  });
});
