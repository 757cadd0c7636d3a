// Micro-benchmark of the RIB ingest path, run by hand (not a test: a timing is not a pass/fail
// condition on a shared CI machine):
//
//   node test/bench/bgp/rib-perf.ts [prefixes] [attrSets] [ingest|quiet|export]
//
// `ingest` (default) has a bestPathChanged listener, `quiet` none, `export` also drains the
// Adj-RIB-Out of a second (eBGP) peer. Each mode runs twice in this process; the second run
// (warm JIT) is the figure to report.
//
// Feeds N IPv4 /24 prefixes with ~1000 distinct attribute sets from one eBGP peer in
// UPDATE-sized blocks (~800 prefixes each, as a 4096-octet UPDATE carries), with a
// bestPathChanged listener attached, then drains the Adj-RIB-Out towards a second peer. The
// UPDATE objects are built before the clock starts: decode time is the codec's benchmark.

import { Rib } from '../../../bgp/rib/index.ts';
import { PrefixList } from '../../../bgp/wire/prefix-list.ts';
import type { UpdateMessage } from '../../../bgp/wire/types.ts';

const total = Number(process.argv[2] ?? 1_000_000);
const attrSets = Number(process.argv[3] ?? 1000);
const perUpdate = 800;
const mode = process.argv[4] ?? 'ingest';

function prefixAt(i: number): string {
  return `${10 + (i >>> 16)}.${(i >>> 8) & 255}.${i & 255}.0/24`;
}

const updates: UpdateMessage[] = [];
for (let start = 0, n = 0; start < total; start += perUpdate, n++) {
  const prefixes: string[] = [];
  for (let i = start; i < Math.min(total, start + perUpdate); i++) prefixes.push(prefixAt(i));
  const k = n % attrSets;
  updates.push({
    type: 'update',
    withdrawn: [],
    reach: [{ afi: 1, safi: 1, prefixes: PrefixList.parse(1, prefixes), nextHop: '192.0.2.1' }],
    attributes: {
      origin: 0,
      asPath: [{ type: 2, asns: [65001, 64512 + (k % 400), 4200000000 + k] }],
      nextHop: '192.0.2.1',
      med: k % 7,
      communities: [(65001 << 16) | k],
    },
  });
}

function run(withSecondPeer: boolean, withListener: boolean): void {
  let events = 0;
  const rib = new Rib({
    routerId: '192.0.2.254',
    ...(withListener && { onBestPathChanged: () => events++ }),
  });
  const peer = {
    id: 'p1',
    address: '192.0.2.1',
    asn: 65001,
    localAsn: 65000,
    families: ['ipv4-unicast' as const],
    localAddressV4: '192.0.2.254',
  };
  rib.addPeer(peer);
  rib.peerUp('p1', { routerId: '192.0.2.1' });
  if (withSecondPeer) {
    rib.addPeer({ ...peer, id: 'p2', address: '192.0.2.2', asn: 65002 });
    rib.peerUp('p2', { routerId: '192.0.2.2' });
    while (rib.takePending('p2', 'ipv4-unicast').hasMore);
  }
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  for (const u of updates) rib.applyUpdate('p1', u);
  const t1 = performance.now();
  let sent = 0;
  let groups = 0;
  if (withSecondPeer) {
    for (;;) {
      const batch = rib.takePending('p2', 'ipv4-unicast', 4096);
      for (const g of batch.announced) {
        sent += g.prefixes.length;
        groups++;
      }
      if (!batch.hasMore) break;
    }
  }
  const t2 = performance.now();
  const heapAfter = process.memoryUsage().heapUsed;
  console.log(
    JSON.stringify({
      prefixes: rib.prefixCount,
      attrSets: rib.attrSetCount,
      events,
      ingestMs: Math.round(t1 - t0),
      ...(withSecondPeer && { exportMs: Math.round(t2 - t1), sent, groups }),
      heapMiB: Math.round((heapAfter - heapBefore) / 2 ** 20),
    }),
  );
}

for (let i = 0; i < 2; i++) run(mode === 'export', mode !== 'quiet');
