// Router IDs: an IPv6-only node's is hashed from its name into a range BGP speakers accept (never
// 0/8, 127/8, multicast or class E, which FRR refuses with Bad BGP Identifier), stable for a
// name; two nodes with one router ID are reported on both.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Speaker } from '../../../../bgp/speaker/speaker.ts';
import { calculate } from '../../../../src/calc/calculate.ts';
import { resolveClusterNodes, routerIdFor } from '../../../../src/calc/nodes.ts';
import { node, snap } from './fixtures.ts';

function octets(id: string): number[] {
  const parts = id.split('.').map(Number);
  expect(parts).toHaveLength(4);
  for (const p of parts) expect(Number.isInteger(p) && p >= 0 && p <= 255).toBe(true);
  return parts;
}

describe('hashed router IDs', () => {
  it('are never in 0/8, 127/8, multicast (224/4) or class E (240/4)', () => {
    const firstOctets = new Set<number>();
    for (let i = 0; i < 20_000; i++) {
      const [first] = octets(routerIdFor(`node-${i}`, undefined));
      expect(first! >= 1 && first! <= 223 && first !== 127, `node-${i}`).toBe(true);
      firstOctets.add(first!);
    }
    // The whole range is used, not a corner of it.
    expect(firstOctets.size).toBeGreaterThan(200);
    expect(routerIdFor('node-3', undefined)).not.toMatch(/^(22[4-9]|2[3-5][0-9])\./);
    // A speaker accepts it as its identifier.
    expect(
      () => new Speaker({ asn: 64512, routerId: routerIdFor('node-3', undefined), listen: null }),
    ).not.toThrow();
  });

  it('stay as they were for a name whose hash already was in the range', () => {
    // SHA-256("margay-router-id:node-1") starts 43 de 5b e3: 67.222.91.227 before and after.
    expect(createHash('sha256').update('margay-router-id:node-1').digest().subarray(0, 4)).toEqual(
      Buffer.from([67, 222, 91, 227]),
    );
    expect(routerIdFor('node-1', undefined)).toBe('67.222.91.227');
    expect(routerIdFor('node-3', undefined)).toBe(routerIdFor('node-3', undefined));
  });

  it('an IPv4 node uses its address', () => {
    expect(routerIdFor('node-3', { address: '192.0.2.13', prefixLength: 24 })).toBe('192.0.2.13');
    const st = calculate(snap(node('v6', { ipv6: '2001:db8::11/64' })), { name: 'v6' });
    expect(st.speaker.routerId).toBe(routerIdFor('v6', undefined));
    expect(st.node?.routerId).toBe(st.speaker.routerId);
  });
});

describe('two nodes with one router ID', () => {
  // Found by hashing node-0, node-1, …: both hash to 140.121.31.34.
  const a = 'node-77269';
  const b = 'node-87233';

  it('the precomputed pair does collide (so the next tests test something)', () => {
    expect(routerIdFor(a, undefined)).toBe(routerIdFor(b, undefined));
  });

  it('two hashed IDs: both nodes report it, naming both; the others report nothing', () => {
    const s = snap(
      node(a, { ipv6: '2001:db8::1/64' }),
      node(b, { ipv6: '2001:db8::2/64' }),
      node('node-c', { ipv6: '2001:db8::3/64' }),
    );
    const id = routerIdFor(a, undefined);
    const onA = calculate(s, { name: a }).problems;
    const onB = calculate(s, { name: b }).problems;
    expect(onA).toEqual([
      `Node ${a}: metadata.name: router ID ${id} (hashed from its name: it has no IPv4 address) is also node ${b}'s (hashed from its name: it has no IPv4 address): BGP sessions between them fail with Bad BGP Identifier; another name or an IPv4 address for one of them resolves it`,
    ]);
    expect(onB).toHaveLength(1);
    expect(onB[0]).toMatch(new RegExp(`^Node ${b}: metadata.name: router ID ${id} .* is also node ${a}'s`));
    expect(calculate(s, { name: 'node-c' }).problems).toEqual([]);
    // Everything else proceeds: the mesh is still there on both.
    expect(calculate(s, { name: a }).peers.map((p) => p.description)).toEqual([`node ${b}`, 'node node-c']);
  });

  it("a hashed ID equal to another node's IPv4 address is reported on both", () => {
    const id = routerIdFor('v6only', undefined);
    const s = snap(node('v6only', { ipv6: '2001:db8::1/64' }), node('v4', { internalIPs: [id] }));
    expect(calculate(s, { name: 'v6only' }).problems).toEqual([
      `Node v6only: metadata.name: router ID ${id} (hashed from its name: it has no IPv4 address) is also node v4's (its IPv4 address, status.addresses): BGP sessions between them fail with Bad BGP Identifier; another name or an IPv4 address for one of them resolves it`,
    ]);
    expect(calculate(s, { name: 'v4', ipv4: `${id}/24` }).problems).toEqual([
      `Node v4: autodetected ipv4: router ID ${id} (its IPv4 address, autodetected ipv4) is also node v6only's (hashed from its name: it has no IPv4 address): BGP sessions between them fail with Bad BGP Identifier; another name or an IPv4 address for one of them resolves it`,
    ]);
  });

  it('nodes without an address have no router ID to clash with', () => {
    const s = snap(node(a, { ipv6: '2001:db8::1/64' }), node(b));
    expect(calculate(s, { name: a }).problems).toEqual([
      `Node ${b}: no address (annotation margay.io/ipv4-address or ipv6-address, or status.addresses InternalIP): not peered, not a VTEP`,
    ]);
  });
});

describe('node addresses no host can have', () => {
  it('a multicast or IPv4-mapped InternalIP is skipped with a problem; the next one is used', () => {
    const s = snap(
      node('node-1', { ipv4: '192.0.2.11/24' }),
      node('node-2', { internalIPs: ['224.0.0.5', '192.0.2.12'] }),
      node('node-3', { internalIPs: ['::ffff:192.0.2.13'] }),
    );
    const nodes = resolveClusterNodes(s, { name: 'node-1' });
    expect(nodes.others.map((n) => [n.name, n.ipv4?.address, n.ipv6?.address])).toEqual([
      ['node-2', '192.0.2.12', undefined],
      ['node-3', undefined, undefined],
    ]);
    expect(nodes.problems).toEqual([
      'Node node-2: status.addresses[0].address: 224.0.0.5 is a multicast address, not one host (not used)',
      'Node node-3: status.addresses[0].address: ::ffff:192.0.2.13 is an IPv4-mapped IPv6 address, which BGP takes for the IPv4 address it maps (not used)',
      'Node node-3: no address (annotation margay.io/ipv4-address or ipv6-address, or status.addresses InternalIP): not peered, not a VTEP',
    ]);
  });
});
