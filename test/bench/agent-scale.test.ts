// The agent-scale benchmark's pure parts: percentiles, /proc parsing, ipset membership, the
// tables, the scenario's choices (every change must have work to do on node-0), and the BGP
// peer's UPDATEs as the product's own decoder (bgp/wire) reads them.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CODEC_OPTIONS, decodeUpdate } from '../../bgp/wire/index.ts';
import {
  type ChurnEventFigures,
  type EventFigures,
  majorCollections,
  parseList,
  parseProcStat,
  parseProcStatus,
  percentile,
  type RunResult,
  renderTables,
  Scenario,
  setsHolding,
  spread,
  summariseChurn,
  summariseKind,
} from './agent-scale.ts';
import { encodePrefix, encodeUpdates } from './agent-scale-peer.ts';
import { SENDER_ASN } from './bgp/feed.ts';

describe('percentile and spread', () => {
  it('takes the nearest rank, so p99 of fewer than 100 samples is the largest', () => {
    const xs = [5, 1, 4, 2, 3];
    expect(percentile(xs, 50)).toBe(3);
    expect(percentile(xs, 99)).toBe(5);
    expect(percentile(xs, 0)).toBe(1);
  });

  it('tells p99 from the max once there are enough samples', () => {
    const xs = Array.from({ length: 200 }, (_, i) => i + 1);
    expect(percentile(xs, 99)).toBe(198);
    expect(spread(xs)).toEqual({ n: 200, p50: 100, p99: 198, max: 200 });
  });

  it('has no spread of nothing', () => {
    expect(spread([])).toBeNull();
    expect(() => percentile([], 50)).toThrow(/empty/);
  });
});

describe('/proc parsing', () => {
  it('finds utime..cstime after a command name with spaces and parentheses', () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime …
    const line = '42 (my (odd) name) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 1 0 500 1000 5\n';
    expect(parseProcStat(line)).toEqual({ self: 300, children: 10 });
  });

  it('reads this very process', () => {
    const t = parseProcStat(readFileSync('/proc/self/stat', 'utf8'));
    expect(Number.isInteger(t.self) && t.self >= 0).toBe(true);
    const m = parseProcStatus(readFileSync('/proc/self/status', 'utf8'));
    expect(m.rssKb).toBeGreaterThan(1000);
    expect(m.hwmKb).toBeGreaterThanOrEqual(m.rssKb);
  });

  it('reads VmRSS and VmHWM, and says which is missing', () => {
    const status = 'Name:\tnode\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n';
    expect(parseProcStatus(status)).toEqual({ rssKb: 102400, hwmKb: 204800 });
    expect(() => parseProcStatus('Name:\tnode\nVmRSS:\t1 kB\n')).toThrow(/VmHWM/);
  });
});

describe('setsHolding', () => {
  const save = [
    'create mgy-sel-a hash:ip family inet hashsize 1024 maxelem 1048576',
    'add mgy-sel-a 10.1.2.3',
    'add mgy-sel-a 10.1.2.30',
    'create mgy-np-b hash:ip,port family inet',
    'add mgy-np-b 10.1.2.3,tcp:8000',
    'create mgy-net-c hash:net family inet',
    'add mgy-net-c 10.1.2.0/24',
    '',
  ].join('\n');

  it('finds the address itself and its ip,port members, not a longer address or a network', () => {
    expect([...setsHolding(save, '10.1.2.3')]).toEqual([
      ['mgy-sel-a', '10.1.2.3'],
      ['mgy-np-b', '10.1.2.3,tcp:8000'],
    ]);
    expect([...setsHolding(save, '10.1.2.30').keys()]).toEqual(['mgy-sel-a']);
    expect(setsHolding(save, '10.1.2.4').size).toBe(0);
  });
});

describe('parseList', () => {
  it('keeps the order given and refuses unknown or empty lists', () => {
    expect(parseList('kinds', 'd, a', ['a', 'b', 'c', 'd', 'e'] as const)).toEqual(['d', 'a']);
    expect(() => parseList('kinds', 'a,x', ['a', 'b'] as const)).toThrow(/--kinds: unknown "x"/);
    expect(() => parseList('kinds', ' , ', ['a'] as const)).toThrow(/empty/);
  });
});

describe('the scenario at 10 nodes / 300 pods / 10 policies', () => {
  const size = { nodes: 10, pods: 300, policies: 10 };

  it('puts pods 0..29 on node-0 and finds the policies that select one of them', () => {
    const s = new Scenario(size);
    expect(s.localPods.map((p) => p.name)).toEqual(Array.from({ length: 30 }, (_, j) => `pod-${j}`));
    expect(s.localPods.every((p) => p.node === 'node-0')).toBe(true);
    // Policy q selects app-q in ns-(q mod 10); pod q is in ns-(q mod 10) with app-q and on node-0.
    expect(s.renderedPolicies).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('adds pods at fresh addresses: local ones selected by a rendered policy, remote ones allowed by it', () => {
    const s = new Scenario(size);
    const local = [0, 1, 2].map((k) => s.localPod(k));
    expect(local.map((p) => p.ipv4)).toEqual(['10.1.0.32', '10.1.0.33', '10.1.0.34']);
    for (const p of local) {
      expect(p.node).toBe('node-0');
      const policy = s.policyObject(s.renderedPolicies.find((q) => `ns-${q % 10}` === p.namespace)!);
      expect(p.labels).toMatchObject(
        (policy.spec as { podSelector: { matchLabels: object } }).podSelector.matchLabels,
      );
    }
    const remote = s.remotePod(3);
    expect(remote.node).not.toBe('node-0');
    expect(remote.namespace).toBe('ns-3');
    // Policy 3 allows ingress from app-((7*3+3) mod 50) of its namespace.
    expect(remote.labels.app).toBe('app-24');
  });

  it('relabels each remote pod once, into the labels a rendered policy allows', () => {
    const s = new Scenario(size);
    const seen = new Set<string>();
    for (let k = 0; k < 20; k++) {
      const { before, after } = s.relabel(k);
      expect(before.node).not.toBe('node-0');
      expect(before.labels.app).not.toBe(after.labels.app);
      expect(after.labels.tier).toBe(before.labels.tier);
      expect(after.namespace).toBe(`ns-${k % 10}`);
      expect(after.labels.app).toBe(`app-${(7 * (k % 10) + 3) % 50}`);
      expect(seen.has(after.name)).toBe(false);
      seen.add(after.name);
    }
  });

  it('moves a route to another node than the one it points at', () => {
    const s = new Scenario(size);
    const hops = new Map(s.peerRoutes().map((r) => [r.prefix, r.nextHop]));
    expect(hops.size).toBe(9);
    expect(hops.get('10.1.1.0/24')).toBe('172.16.0.2');
    for (let k = 0; k < 30; k++) {
      const m = s.routeMove(k);
      expect(m.from).toBe(hops.get(m.prefix));
      expect(m.to).not.toBe(m.from);
      expect(m.to).not.toBe('172.16.0.1'); // node-0's own address
      hops.set(m.prefix, m.to);
    }
  });

  it('adds policies past the initial ones, each selecting a pod of node-0', () => {
    const s = new Scenario(size);
    const names = new Set<string>();
    for (let k = 0; k < 5; k++) {
      const p = s.newPolicy(k);
      expect(p.metadata.name).toBe(`added-policy-${k}`);
      const app = (p.spec as { podSelector: { matchLabels: { app: string } } }).podSelector.matchLabels.app;
      expect(
        s.localPods.some((pod) => pod.namespace === p.metadata.namespace && pod.labels.app === app),
      ).toBe(true);
      names.add(`${p.metadata.namespace}/${app}`);
    }
    expect(names.size).toBe(5);
  });

  it('hands a deleted pod’s address to the next pod added on its node', () => {
    const s = new Scenario(size);
    const first = s.localPod(0, 'churn-local-0');
    const second = s.localPod(1, 'churn-local-1');
    expect(first.name).toBe('churn-local-0');
    expect(second.ipv4).not.toBe(first.ipv4);
    s.podDeleted(first.name);
    const third = s.localPod(2, 'churn-local-2');
    expect(third.ipv4).toBe(first.ipv4);
    // Freed on node-0 only: a remote pod still gets an address of its own node.
    expect(s.remotePod(0, 'churn-remote-0').ipv4).toBe('10.1.1.32');
    expect(() => s.podDeleted(first.name)).toThrow(/no pod churn-local-0/);
  });

  it('moves a route back to the next hop it had, and relabels a restored pod again', () => {
    const s = new Scenario(size);
    const hops = new Map(s.peerRoutes().map((r) => [r.prefix, r.nextHop]));
    const move = s.routeMove(4);
    const back = s.routeMoveBack(move);
    expect(back.prefix).toBe(move.prefix);
    expect(back.from).toBe(move.to);
    expect(back.route).toEqual({ prefix: move.prefix, nextHop: hops.get(move.prefix) });
    expect(() => s.routeMoveBack(move)).toThrow(/no longer via/);
    // Moved again from where it started, so to the same next hop as the first time.
    expect(s.routeMove(4).to).toBe(move.to);

    const r = s.relabel(0);
    expect(s.relabel(10).after.name).not.toBe(r.after.name);
    s.restored(r.index);
    expect(s.relabel(20).after.name).toBe(r.after.name);
  });

  it('refuses a cluster too small for a route to move between two other nodes', () => {
    expect(() => new Scenario({ nodes: 2, pods: 20, policies: 2 })).toThrow(/at least 3 nodes/);
  });

  it('adds the BGPPeer of the peer namespace to the cluster objects', () => {
    const peers = new Scenario(size).objects().filter((o) => o.kind === 'BGPPeer');
    expect(peers).toEqual([
      {
        apiVersion: 'margay.io/v1',
        kind: 'BGPPeer',
        metadata: { name: 'tor' },
        spec: { peerIP: '172.16.255.254', asNumber: SENDER_ASN },
      },
    ]);
  });
});

describe('the peer’s UPDATEs, read by bgp/wire', () => {
  const opts = { ...DEFAULT_CODEC_OPTIONS, fourOctetAs: true, ebgp: true };

  it('encodes prefixes of any length as NLRI', () => {
    expect([...encodePrefix('10.1.2.0/24')]).toEqual([24, 10, 1, 2]);
    expect([...encodePrefix('10.1.2.3/32')]).toEqual([32, 10, 1, 2, 3]);
    expect([...encodePrefix('10.128.0.0/9')]).toEqual([9, 10, 128]);
    expect(() => encodePrefix('10.1.2.0')).toThrow(/not an IPv4 prefix/);
  });

  it('announces each prefix with its next hop and the sender’s AS', () => {
    const routes = [
      { prefix: '10.1.1.0/24', nextHop: '172.16.0.2' },
      { prefix: '10.1.2.0/24', nextHop: '172.16.0.3' },
      { prefix: '10.1.3.0/24', nextHop: '172.16.0.2' },
    ];
    const got = new Map<string, string>();
    for (const frame of encodeUpdates(routes)) {
      const u = decodeUpdate(frame, opts);
      expect(u.treatAsWithdraw).toBeUndefined();
      expect(u.attributes.asPath?.[0]?.asns[0]).toBe(SENDER_ASN);
      for (const block of u.reach) for (const p of block.prefixes) got.set(p, block.nextHop);
    }
    expect(Object.fromEntries(got)).toEqual({
      '10.1.1.0/24': '172.16.0.2',
      '10.1.2.0/24': '172.16.0.3',
      '10.1.3.0/24': '172.16.0.2',
    });
  });

  it('splits a large table into messages of at most 4096 bytes and loses none', () => {
    const routes = Array.from({ length: 2000 }, (_, i) => ({
      prefix: `10.${1 + (i >> 8)}.${i & 255}.0/24`,
      nextHop: '172.16.0.9',
    }));
    const frames = encodeUpdates(routes);
    expect(frames.length).toBeGreaterThan(1);
    let n = 0;
    for (const f of frames) {
      expect(f.length).toBeLessThanOrEqual(4096);
      n += [...decodeUpdate(f, opts).reach.flatMap((b) => [...b.prefixes])].length;
    }
    expect(n).toBe(2000);
  });

  it('withdraws without attributes', () => {
    const [frame, ...rest] = encodeUpdates([], ['10.1.1.0/24', '10.1.2.0/24']);
    expect(rest).toEqual([]);
    const u = decodeUpdate(frame!, opts);
    expect(u.withdrawn.flatMap((b) => [...b.prefixes])).toEqual(['10.1.1.0/24', '10.1.2.0/24']);
    expect(u.reach).toEqual([]);
  });
});

describe('majorCollections', () => {
  // Lines as V8 prints them under --trace-gc: the main isolate and a worker's.
  const log = [
    '{"level":"info","event":"agent.started"}',
    '[526:0x1323d000]      345 ms: Mark-Compact 15.9 (19.6) -> 13.3 (19.6) MB, pooled: 0 MB, 4.31 / 0.00 ms  (+ 0.3 ms in 4 steps since start of marking, biggest step 0.3 ms, walltime since start of marking 21 ms) (average mu = 0.987, current mu = 0.987) finalize incremental marking via stack guard; GC in old space requested',
    '[526:0x7f5500001000]      344 ms: Mark-Compact 16.1 (20.1) -> 13.6 (20.9) MB, pooled: 0 MB, 5.24 / 0.00 ms  (+ 0.4 ms in 8 steps since start of marking, biggest step 0.1 ms, walltime since start of marking 26 ms) (average mu = 0.984, current mu = 0.984) finalize incremental marking via stack guard; GC in old space requested',
    '[526:0x1323d000]     5477 ms: Mark-Compact 178.7 (181.9) -> 127.3 (166.5) MB, pooled: 3 MB, 112.17 / 0.01 ms  (+ 0.7 ms in 34 steps since start of marking, biggest step 0.2 ms, walltime since start of marking 142 ms) (average mu = 0.966, current mu = 0.962) allocation failure; Incremental marking forced finalization',
    '[526:0x7f5500001000]     6000 ms: Mark-Compact 58.1 (61.4) -> 15.9 (37.1) MB, pooled: 23 MB, 9.47 / 0.00 ms  (+ 1.1 ms in 56 steps since start of marking) finalize incremental marking via task',
    '[526:0x1323d000]    68820 ms: Mark-Compact 140.7 (172.7) -> 132.0 (140.0) MB, pooled: 30 MB, 26.46 / 0.03 ms  (+ 104.6 ms in 237 steps since start of marking, biggest step 24.4 ms, walltime since start of marking 305 ms) (average mu = 0.997, current mu = 0.998) finalize incremental marking via task; GC in old space requested',
    '[526:0x1323d000]    69000 ms: Scavenge 150.1 (160.0) -> 141.0 (160.0) MB, pooled: 0 MB, 3.10 / 0.00 ms',
    '[526:0x1323d000]    72820 ms: Mark-Compact 149.8 (153.8) -> 130.2 (145.5) MB, 16.89 / 0.05 ms (average mu = 0.992, current mu = 0.954) allocation failure',
  ].join('\n');

  it("counts the main thread's major collections after the start: pause plus marking steps", () => {
    const gc = majorCollections(log, 6000);
    expect(gc.count).toBe(2);
    expect(gc.mainThreadMs).toEqual({ n: 2, p50: 16.9, p99: 131.1, max: 131.1 });
  });

  it('leaves out the collections of the start and of worker threads', () => {
    expect(majorCollections(log, 0).count).toBe(4);
    expect(majorCollections(log, 100_000)).toEqual({ count: 0, mainThreadMs: null });
  });
});

describe('summaries and tables', () => {
  const event = (kind: EventFigures['kind'], latencyMs: number, ipsetBytes: number): EventFigures => ({
    kind,
    what: 'x',
    latencyMs,
    cpuMs: 20,
    childCpuMs: 10,
    routeLines: 0,
    iptablesBytes: 0,
    ipsetBytes,
    passes: 1,
    rssMb: 100,
  });

  /** A run's result for the table tests: a cluster of 10 nodes, with the fields a test varies. */
  const runResult = ({
    afterSettled,
    ...fields
  }: { afterSettled: boolean } & Record<string, unknown>): RunResult =>
    ({
      bench: 'agent-scale',
      nodes: 10,
      pods: 300,
      policies: 10,
      localPods: 30,
      renderedPolicies: 10,
      fileBytes: 2 ** 20,
      start: { programmedS: 3.5, rssMb: 120 },
      poll: { responseMs: 1, agentCpuMs: 0.5, statusBytes: 1200 },
      memory: { idleMb: 120, idleSettled: true, afterMb: 130, afterSettled, peakMb: 150, slopeMbPer100: 1 },
      ...fields,
    }) as unknown as RunResult;

  it('summarises a kind: latency spread, mean CPU, median and largest bytes', () => {
    const k = summariseKind('b', [event('b', 10, 40), event('b', 30, 40), event('b', 20, 90)], null);
    expect(k.latencyMs).toEqual({ n: 3, p50: 20, p99: 30, max: 30 });
    expect(k.cpuMsPerEvent).toBe(20);
    expect(k.ipsetBytes).toEqual({ median: 40, max: 90 });
    expect(k.iptablesBytes).toEqual({ median: 0, max: 0 });
    expect(k.saveMs).toBeNull();
  });

  it('sets the saves apart from the latency of the changes that were saves', () => {
    const saved = (latencyMs: number, saveMs: number): EventFigures => ({
      ...event('a', latencyMs, 0),
      saveMs,
    });
    const k = summariseKind('a', [saved(90, 30), saved(70, 25), saved(120, 45)], null);
    expect(k.latencyMs).toMatchObject({ p50: 90, p99: 120 });
    expect(k.saveMs).toEqual({ n: 3, p50: 30, p99: 45, max: 45 });
  });

  it('renders one row per run and one per run and kind, in columns', () => {
    const run = (version: 'new' | 'baseline', events: number, p99: number): RunResult =>
      runResult({
        version,
        commit: version === 'new' ? 'aaaa' : 'bbbb',
        datastore: 'file',
        afterSettled: false,
        eventLoop: {
          healthzMs: { n: 9, p50: 1, p99: 40, max: 50 },
          healthzFailures: 0,
          metricMs: { p99: 12, max: 60 },
        },
        kinds: [
          summariseKind(
            'd',
            Array.from({ length: events }, () => event('d', p99, 0)),
            null,
          ),
        ],
      });
    const text = renderTables([run('new', 100, 7), run('baseline', 5, 17000)]);
    const lines = text.split('\n');
    expect(lines[0]).toBe(
      'agent-scale 10 nodes / 300 pods / 10 policies (30 local pods, 10 policies select one, 1.0 MiB of objects)',
    );
    const newRow = lines.find((l) => l.startsWith('file new aaaa'))!;
    const baseRow = lines.find((l) => l.startsWith('file baseline bbbb'))!;
    expect(newRow).toMatch(/130\*/); // not settled
    expect(baseRow.indexOf('3.5')).toBe(newRow.indexOf('3.5'));
    const kindRows = lines.filter((l) => l.startsWith('d BGP route change'));
    expect(kindRows).toHaveLength(2);
    expect(kindRows[0]).toMatch(/file new aaaa\s+100\s+7\s+7\s+7\s/);
    // No change of these was a save: no save column figures.
    expect(kindRows[0]).toMatch(/file new aaaa\s+100\s+7\s+7\s+7\s+-\s/);
    expect(kindRows[1]).toMatch(/file baseline bbbb\s+5\s+17000\s+17000\s+17000\s/);
  });

  it('summarises the churn phase: adds and undos apart, RSS from its start to its end', () => {
    const churnEvent = (undo: boolean, latencyMs: number, rssMb: number): ChurnEventFigures => ({
      ...event('a', latencyMs, 0),
      cpuMs: undo ? 10 : 30,
      rssMb,
      undo,
    });
    // RSS 100, 102, …, 118 over ten changes: 2 MB per change, 200 MB per 100 changes.
    const events = Array.from({ length: 10 }, (_, i) =>
      churnEvent(i % 2 === 1, i % 2 === 1 ? 5 + i : 40 + i, 100 + 2 * i),
    );
    const c = summariseChurn(events, 99, { n: 3, p50: 1, p99: 2, max: 3 });
    expect(c.changes).toBe(10);
    expect(c.addsMs).toEqual({ n: 5, p50: 44, p99: 48, max: 48 });
    expect(c.undosMs).toEqual({ n: 5, p50: 10, p99: 14, max: 14 });
    expect(c.cpuMsPerChange).toBe(20);
    expect(c.childCpuMsPerChange).toBe(10);
    expect([c.rssStartMb, c.rssEndMb, c.rssPeakMb]).toEqual([99, 118, 118]);
    expect(c.rssSlopeMbPer100).toBe(200);
    // A peak in the middle, and the start the largest of all.
    const flat = [churnEvent(false, 1, 100), churnEvent(true, 1, 130), churnEvent(false, 1, 100)];
    expect(summariseChurn(flat, 90, null).rssPeakMb).toBe(130);
    expect(summariseChurn(flat, 140, null).rssPeakMb).toBe(140);
    expect(summariseChurn(flat, 90, null).rssSlopeMbPer100).toBe(0);
    expect(() => summariseChurn([], 90, null)).toThrow(/no changes/);
  });

  it('renders a churn row per run that has a churn phase, and none without', () => {
    const churnEvent = (undo: boolean, latencyMs: number, rssMb: number): ChurnEventFigures => ({
      ...event(undo ? 'e' : 'b', latencyMs, 0),
      rssMb,
      undo,
    });
    const run = (datastore: 'file' | 'k8s', churn: boolean): RunResult =>
      runResult({
        version: 'new',
        commit: 'aaaa',
        datastore,
        afterSettled: true,
        eventLoop: { healthzMs: null, healthzFailures: 0, metricMs: {} },
        kinds: [],
        churn: churn
          ? summariseChurn(
              [
                churnEvent(false, 30, 140),
                churnEvent(true, 8, 141),
                churnEvent(false, 50, 142),
                churnEvent(true, 6, 140),
              ],
              139,
              { n: 20, p50: 2, p99: 9, max: 11 },
            )
          : null,
      });
    const without = renderTables([run('file', false)]);
    expect(without).not.toMatch(/^churn run/m);
    const lines = renderTables([run('k8s', true), run('file', false)]).split('\n');
    const header = lines.find((l) => l.startsWith('churn run'))!;
    expect(header).toMatch(/changes\s+adds ms p50\/p99\/max\s+undos ms p50\/p99\/max/);
    const rows = lines.slice(lines.indexOf(header) + 1).filter((l) => l.trim() !== '');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatch(
      /^k8s new aaaa\s+4\s+30\/50\/50\s+6\/8\/8\s+20 \(\+10\)\s+139\s+140\s+142\s+10\s+2\/9\/11\s*$/,
    );
    // The columns line up with the header's.
    expect(rows[0]!.indexOf('30/50/50')).toBe(header.indexOf('adds ms'));
  });
});
