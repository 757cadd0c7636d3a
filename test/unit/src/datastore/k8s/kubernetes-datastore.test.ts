// KubernetesDatastore against the fake kube-apiserver (real wire protocol, Margay's own client):
// initial sync, add/modify/delete of every kind batched into one 'changed', watch cuts, 410 relists
// with each delete reported once, API-server outages that withdraw nothing, invalid objects, missing
// CRDs, and a clean stop. Every wait is for a condition with a deadline; "nothing else happened" is
// checked with a sentinel change that must arrive alone. What a batch holds and when it goes out is
// checked with the batching on a ManualClock (batchClock): no batch is emitted until the test moves
// the clock (advancing it by 0 ms is the next turn of the event loop), so which writes share a batch
// does not depend on how fast they arrive.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HostTimers } from '../../../../../bgp/session/session-types.ts';
import type { KubernetesDatastore } from '../../../../../src/datastore/k8s/kubernetes-datastore.ts';
import type { SnapshotChanged } from '../../../../../src/datastore/types.ts';
import type { PersistentMap } from '../../../../../src/model/persistent-map.ts';
import type { Resource } from '../../../../../src/model/resource.ts';
import { diffSnapshots } from '../../../../../src/model/snapshot.ts';
import { FakeKubeApiServer } from '../../../../fakes/kube-apiserver.ts';
import { ManualClock } from '../../../../support/manual-clock.ts';
import { waitUntil } from '../../../fakes/wait.ts';
import {
  bgpConfiguration,
  bgpPeer,
  clusterObjects,
  ipPool,
  namespace,
  networkPolicy,
  node,
  pod,
  type Recorded,
  recordedDatastore,
  summary,
} from './fixtures.ts';

let server: FakeKubeApiServer;
let rec: Recorded | undefined;

beforeEach(async () => {
  server = new FakeKubeApiServer();
  await server.start();
});

afterEach(async () => {
  await rec?.ds.stop();
  rec = undefined;
  await server.stop();
});

async function startedWith(objects = clusterObjects(), options = {}, watches = 7): Promise<Recorded> {
  for (const o of objects) server.apply(o);
  rec = recordedDatastore(server, options);
  await rec.ds.start();
  await waitUntil(() => rec?.ds.ready() === true, 'ready');
  await waitUntil(() => server.watchCount() >= watches, `watches on ${watches} kinds`);
  return rec;
}

/** Applies a sentinel namespace and returns the next 'changed', which must hold only it. */
async function expectOnlySentinel(r: Recorded, name: string): Promise<void> {
  const before = r.changed.length;
  server.apply(namespace(name));
  await waitUntil(() => r.changed.length > before, `the sentinel namespace ${name}`);
  expect(r.changed.slice(before).map(summary)).toEqual([[`added Namespace ${name}`]]);
}

const keys = (m: ReadonlyMap<string, unknown>) => [...m.keys()].sort();

interface BatchClock {
  readonly clock: ManualClock;
  /** The datastore options that put its batching on `clock`. */
  readonly options: { readonly clock: () => number; readonly timers: HostTimers };
  /**
   * Runs `write` (writes to the API server that each make one change) and waits until the datastore
   * has taken in `changes` changes: it reads its clock once per change it takes in, and otherwise
   * only when it emits a batch, which happens only inside `clock.advance`.
   */
  readonly takeIn: (changes: number, what: string, write: () => void) => Promise<void>;
  /** The next turn of the event loop: fires the timers due now, without moving the clock. */
  readonly nextTurn: () => void;
}

function batchClock(): BatchClock {
  const clock = new ManualClock();
  let reads = 0;
  const now = () => {
    reads++;
    return clock.now();
  };
  return {
    clock,
    options: { clock: now, timers: clock.timers },
    takeIn: async (changes, what, write) => {
      const before = reads;
      write();
      await waitUntil(() => reads >= before + changes, what);
    },
    nextTurn: () => clock.advance(0),
  };
}

/**
 * expectOnlySentinel with the batching on `b`'s clock, `debounceMs` being the datastore's: lets any
 * pending batch go out and the quiet time pass, then the sentinel must go out alone on the next turn.
 */
async function expectOnlySentinelOn(b: BatchClock, debounceMs: number, r: Recorded, name: string) {
  const before = r.changed.length;
  b.clock.advance(debounceMs);
  await b.takeIn(1, `the sentinel namespace ${name}`, () => server.apply(namespace(name)));
  b.nextTurn();
  expect(r.changed.slice(before).map(summary)).toEqual([[`added Namespace ${name}`]]);
}

function includesAll(events: readonly SnapshotChanged[], expected: readonly string[]): boolean {
  const seen = new Set(events.flatMap(summary));
  return expected.every((e) => seen.has(e));
}

describe('KubernetesDatastore: initial sync', () => {
  it('lists every kind, becomes ready once with all of them, and only ever reads', async () => {
    const r = await startedWith();
    expect(r.ready).toHaveLength(1);
    const s = r.ds.snapshot();
    expect(r.ready[0]).toBe(s);
    expect(keys(s.nodes)).toEqual(['node-1', 'node-2']);
    expect(keys(s.namespaces)).toEqual(['default', 'kube-system', 'prod']);
    expect(keys(s.pods)).toEqual(['default/client-0', 'prod/web-0']);
    expect(keys(s.networkPolicies)).toEqual(['prod/allow-clients']);
    expect(keys(s.bgpConfigurations)).toEqual(['default']);
    expect(keys(s.bgpPeers)).toEqual(['tor-1']);
    expect(keys(s.ipPools)).toEqual(['default-pool']);
    // Validated and defaulted by the model; server bookkeeping stripped.
    expect(s.bgpConfigurations.get('default')?.spec.asNumber).toBe(64513);
    expect(s.bgpConfigurations.get('default')?.spec.listenPort).toBe(179);
    expect(s.nodes.get('node-1')?.metadata).toEqual({
      name: 'node-1',
      labels: { 'kubernetes.io/hostname': 'node-1', rack: 'r1' },
      annotations: {},
    });
    expect(s.pods.get('prod/web-0')?.spec.containers[0]?.ports).toEqual([
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
    ]);
    expect(r.changed).toEqual([]);
    expect(r.errors).toEqual([]);
    expect(r.ds.lastError).toBeUndefined();
    expect(r.ds.health()).toMatchObject({ connected: true, lastError: undefined, missingKinds: [] });
    // Least privilege: GET (list, watch) only, bookmarks requested on every watch.
    expect(new Set(server.requests.map((q) => q.method))).toEqual(new Set(['GET']));
    const watches = server.requests.filter((q) => q.isWatch);
    expect(watches.length).toBeGreaterThanOrEqual(7);
    for (const w of watches) expect(w.query.allowWatchBookmarks).toBe('true');
  });

  it('pages through a large LIST with limit/continue', async () => {
    const pods = Array.from({ length: 25 }, (_, i) => pod(`p-${i}`, 'node-1', `10.244.1.${i + 10}`));
    const r = await startedWith([node('node-1', 1), ...pods], { pageSize: 10 });
    expect(r.ds.snapshot().pods.size).toBe(25);
    const podLists = server.requests.filter((q) => q.path === '/api/v1/pods' && !q.isWatch);
    expect(podLists.map((q) => q.query.limit)).toEqual(['10', '10', '10']);
    expect(podLists.filter((q) => q.query.continue !== undefined)).toHaveLength(2);
  });

  it('resolves start() while the API server is down, then becomes ready when it is back', async () => {
    server.apply(bgpPeer('tor-1', 65001));
    await server.setUnavailable('refuse');
    rec = recordedDatastore(server);
    await rec.ds.start();
    expect(rec.ds.ready()).toBe(false);
    expect(rec.ds.lastError?.code).toBe('MARGAY_ERR_DATASTORE_UNAVAILABLE');
    expect(rec.ds.lastError?.message).toMatch(/list failed: .*ECONNREFUSED/);
    expect(rec.ds.health().connected).toBe(false);
    expect(rec.errors).toHaveLength(1);
    await server.setUnavailable(false);
    await waitUntil(() => rec?.ds.ready() === true, 'ready after the API server came back', 10_000);
    expect(rec.ready).toHaveLength(1);
    expect(keys(rec.ds.snapshot().bgpPeers)).toEqual(['tor-1']);
    expect(rec.ds.lastError).toBeUndefined();
    expect(rec.ds.health().connected).toBe(true);
  });
});

describe('KubernetesDatastore: changes', () => {
  it('adds, modifies and deletes one object of every kind, each step one change on the next turn', async () => {
    const b = batchClock();
    const r = await startedWith([], { debounceMs: 100, ...b.options });
    const ready = r.ds.snapshot();
    /**
     * A step after a quiet time: its seven changes, taken in within one turn of the event loop, go
     * out together on the next turn, without waiting for the quiet time.
     */
    const step = async (what: string, write: () => void) => {
      b.clock.advance(100);
      const before = r.changed.length;
      await b.takeIn(7, what, write);
      expect(r.changed, `${what}: within the turn that read them`).toHaveLength(before);
      b.nextTurn();
      expect(r.changed, `${what}: on the next turn`).toHaveLength(before + 1);
    };
    const objects = [
      node('node-9', 9),
      pod('web-9', 'node-9', '10.244.9.2', { app: 'web' }),
      namespace('staging'),
      networkPolicy('np-9', 'web'),
      bgpConfiguration(64600),
      bgpPeer('tor-9', 65009),
      ipPool('pool-9', '10.96.0.0/16'),
    ];
    await step('the additions', () => {
      for (const o of objects) server.apply(o);
    });
    expect(r.changed.map(summary)).toEqual([
      [
        'added Node node-9',
        'added Pod default/web-9',
        'added Namespace staging',
        'added NetworkPolicy default/np-9',
        'added BGPConfiguration default',
        'added BGPPeer tor-9',
        'added IPPool pool-9',
      ],
    ]);
    const added = r.changed[0]!;
    expect(added.previous).toBe(ready);
    expect(added.snapshot).toBe(r.ds.snapshot());
    expect(added.changes).toEqual(diffSnapshots(added.previous, added.snapshot));

    await step('the modifications', () => {
      server.apply(node('node-9', 9, { rack: 'r9' }));
      server.apply(pod('web-9', 'node-9', '10.244.9.2', { app: 'web', tier: 'front' }));
      server.apply(namespace('staging', { env: 'staging' }));
      server.apply(networkPolicy('np-9', 'api'));
      server.apply(bgpConfiguration(64601));
      server.apply(bgpPeer('tor-9', 65010));
      server.apply(ipPool('pool-9', '10.96.0.0/16', 'Always'));
    });
    const modified = r.changed[1]!;
    expect(summary(modified)).toEqual([
      'modified Node node-9',
      'modified Pod default/web-9',
      'modified Namespace staging',
      'modified NetworkPolicy default/np-9',
      'modified BGPConfiguration default',
      'modified BGPPeer tor-9',
      'modified IPPool pool-9',
    ]);
    expect(modified.changes).toEqual(diffSnapshots(modified.previous, modified.snapshot));
    const podChange = modified.changes.find((c) => c.kind === 'Pod');
    expect(podChange?.previous?.metadata.labels).toEqual({ app: 'web' });
    expect(podChange?.resource.metadata.labels).toEqual({ app: 'web', tier: 'front' });

    await step('the deletions', () => {
      server.remove('Node', undefined, 'node-9');
      server.remove('Pod', 'default', 'web-9');
      server.remove('Namespace', undefined, 'staging');
      server.remove('NetworkPolicy', 'default', 'np-9');
      server.remove('BGPConfiguration', undefined, 'default');
      server.remove('BGPPeer', undefined, 'tor-9');
      server.remove('IPPool', undefined, 'pool-9');
    });
    expect(summary(r.changed[2]!)).toEqual([
      'deleted Node node-9',
      'deleted Pod default/web-9',
      'deleted Namespace staging',
      'deleted NetworkPolicy default/np-9',
      'deleted BGPConfiguration default',
      'deleted BGPPeer tor-9',
      'deleted IPPool pool-9',
    ]);
    expect(r.ds.snapshot()).toEqual(ready);
    await expectOnlySentinelOn(b, 100, r, 'sentinel');
    expect(r.errors).toEqual([]);
  });

  it('sends the first pod of a burst at once and batches the rest, each read in its own turn', async () => {
    const b = batchClock();
    const r = await startedWith(clusterObjects(), { debounceMs: 100, maxDelayMs: 500, ...b.options });
    const burst = (i: number) => pod(`burst-${i}`, 'node-1', `10.244.1.${100 + i}`, { app: 'burst' });
    const podsOf = (e: SnapshotChanged) => e.changes.map((c) => `${c.type} ${c.kind} ${c.key}`);
    const added = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, i) => `added Pod default/burst-${from + i}`).sort();
    // The first pod comes after a quiet time: it goes out on the next turn, alone.
    await b.takeIn(1, 'burst-0', () => server.apply(burst(0)));
    b.nextTurn();
    expect(r.changed.map(podsOf)).toEqual([added(0, 1)]);
    // The others follow 2 ms apart, each read in a turn of its own, all within the quiet time of the
    // 'changed' before: they wait, and go out together once no pod has come for debounceMs.
    for (let i = 1; i < 40; i++) {
      await b.takeIn(1, `burst-${i}`, () => server.apply(burst(i)));
      b.clock.advance(2);
    }
    expect(r.changed, 'during the burst').toHaveLength(1);
    b.clock.advance(97);
    expect(r.changed, 'within the quiet time after the last pod').toHaveLength(1);
    b.clock.advance(1);
    expect(r.changed.map(podsOf)).toEqual([added(0, 1), added(1, 40)]);
    await expectOnlySentinelOn(b, 100, r, 'after-burst');

    // A quiet time has passed since the sentinel: the label change goes out on the next turn.
    b.clock.advance(100);
    const n = r.changed.length;
    await b.takeIn(1, 'the label change', () =>
      server.apply(pod('web-0', 'node-1', '10.244.1.5', { app: 'web', version: 'v2' }, 'prod')),
    );
    b.nextTurn();
    expect(r.changed).toHaveLength(n + 1);
    const [change] = r.changed[n]!.changes;
    expect(r.changed[n]!.changes).toHaveLength(1);
    expect(change).toMatchObject({ type: 'modified', kind: 'Pod', key: 'prod/web-0' });
    expect(change?.resource.metadata.labels).toEqual({ app: 'web', version: 'v2' });
    expect(change?.previous?.metadata.labels).toEqual({ app: 'web' });
  });

  it('a batch shares with the previous snapshot every kind and object it did not touch', async () => {
    const b = batchClock();
    const many = Array.from({ length: 3000 }, (_, i) =>
      pod(`many-${i}`, 'node-1', `10.244.${8 + (i >> 8)}.${i & 255}`, { app: 'many' }),
    );
    const r = await startedWith([...clusterObjects(), ...many], { debounceMs: 100, ...b.options });
    const before = r.ds.snapshot();
    await b.takeIn(1, 'the label change', () =>
      server.apply(pod('many-7', 'node-1', '10.244.8.7', { app: 'other' })),
    );
    b.nextTurn();
    const after = r.ds.snapshot();
    expect(summary(r.changed[0]!)).toEqual(['modified Pod default/many-7']);
    for (const field of [
      'nodes',
      'namespaces',
      'networkPolicies',
      'bgpConfigurations',
      'bgpPeers',
      'ipPools',
    ] as const)
      expect(after[field]).toBe(before[field]);
    expect(after.pods.size).toBe(before.pods.size);
    // One pod's shard is new; the other pods are the very objects of the previous snapshot.
    const pods = before.pods as PersistentMap<Resource>;
    const unshared = pods.keysNotSharedWith(after.pods as PersistentMap<Resource>);
    expect(unshared.has('default/many-7')).toBe(true);
    expect(unshared.size).toBeLessThan(200);
    for (const [key, p] of before.pods)
      if (key !== 'default/many-7') expect(after.pods.get(key) === p).toBe(true);
  });

  it('lets a steady stream of changes through every maxDelayMs instead of waiting for quiet', async () => {
    // A pod every 20 ms, always within debounceMs (100) of the one before: the first goes out at
    // once, after that the quiet time never comes, and each batch goes out maxDelayMs (200) after
    // its first change.
    const b = batchClock();
    const r = await startedWith(clusterObjects(), { debounceMs: 100, maxDelayMs: 200, ...b.options });
    const start = b.clock.now();
    const at = (ms: number) => b.clock.advance(start + ms - b.clock.now());
    const streamed: string[] = [];
    const stream = async () => {
      const name = `stream-${streamed.length}`;
      streamed.push(name);
      await b.takeIn(1, name, () => server.apply(pod(name, 'node-1', `10.244.1.${100 + streamed.length}`)));
    };
    const added = (e: SnapshotChanged) => e.changes.map((c) => `${c.type} ${c.key}`);
    const names = (from: number, to: number) =>
      streamed
        .slice(from, to)
        .map((p) => `added default/${p}`)
        .sort();

    await stream();
    b.nextTurn();
    expect(r.changed.map(added)).toEqual([names(0, 1)]);

    // The next batch starts 20 ms later, within the quiet time of that 'changed', and is let
    // through 200 ms after its first change.
    for (let t = 20; t <= 200; t += 20) {
      at(t);
      await stream();
    }
    at(219);
    expect(r.changed).toHaveLength(1);
    at(220); // 200 ms after the batch's first change, 20 ms after its last
    expect(r.changed.map(added)).toEqual([names(0, 1), names(1, 11)]);

    // The stream goes on within the quiet time of that 'changed': the next batch starts with the
    // next change, and is let through 200 ms after that one in turn.
    for (let t = 240; t <= 420; t += 20) {
      at(t);
      await stream();
    }
    at(439);
    expect(r.changed).toHaveLength(2);
    at(440);
    expect(r.changed.map(added)).toEqual([names(0, 1), names(1, 11), names(11, 21)]);

    // The stream stops after one more change: its batch waits for the quiet time, not maxDelayMs.
    at(460);
    await stream();
    at(559);
    expect(r.changed).toHaveLength(3);
    at(560);
    expect(r.changed.map(added)).toEqual([names(0, 1), names(1, 11), names(11, 21), names(21, 22)]);
    expect(r.ds.snapshot().pods.size).toBe(2 + streamed.length);
  });

  it('counts the quiet time from the last change it emitted, and not from a batch that changed nothing', async () => {
    const b = batchClock();
    const r = await startedWith(clusterObjects(), { debounceMs: 100, maxDelayMs: 500, ...b.options });
    const start = b.clock.now();
    const at = (ms: number) => b.clock.advance(start + ms - b.clock.now());
    const names = () => r.changed.map((e) => e.changes.map((c) => c.key));
    await b.takeIn(1, 'a', () => server.apply(namespace('a')));
    b.nextTurn();
    expect(names()).toEqual([['a']]);

    // 99 ms after that 'changed' the quiet time has not passed: b waits for it.
    at(99);
    await b.takeIn(1, 'b', () => server.apply(namespace('b')));
    b.nextTurn();
    expect(names()).toEqual([['a']]);
    at(198);
    expect(names()).toEqual([['a']]);
    at(199);
    expect(names()).toEqual([['a'], ['b']]);

    // 100 ms after that one it has: c goes out on the next turn.
    at(299);
    await b.takeIn(1, 'c', () => server.apply(namespace('c')));
    b.nextTurn();
    expect(names()).toEqual([['a'], ['b'], ['c']]);

    // A node heartbeat after a quiet time is a batch of its own that changes nothing and emits
    // nothing; d, right after it, still comes after a quiet time and goes out on the next turn.
    at(400);
    const heartbeat = node('node-1', 1, { rack: 'r1' });
    (heartbeat.status as Record<string, unknown>).conditions = [
      { type: 'Ready', status: 'True', lastHeartbeatTime: '2025-01-01T00:00:10Z' },
    ];
    await b.takeIn(1, 'the heartbeat', () => server.apply(heartbeat));
    b.nextTurn();
    expect(names()).toEqual([['a'], ['b'], ['c']]);
    await b.takeIn(1, 'd', () => server.apply(namespace('d')));
    b.nextTurn();
    expect(names()).toEqual([['a'], ['b'], ['c'], ['d']]);
  });

  it('ignores writes that change nothing Margay reads (node heartbeats, pod conditions)', async () => {
    const r = await startedWith();
    const heartbeat = node('node-1', 1, { rack: 'r1' });
    (heartbeat.status as Record<string, unknown>).conditions = [
      { type: 'Ready', status: 'True', lastHeartbeatTime: '2025-01-01T00:00:10Z' },
    ];
    const revision = server.revision;
    server.apply(heartbeat);
    const withConditions = pod('client-0', 'node-2', '10.244.2.7', { role: 'client' });
    (withConditions.status as Record<string, unknown>).conditions = [{ type: 'Ready', status: 'True' }];
    server.apply(withConditions);
    expect(server.revision).toBe(revision + 2); // real writes with new resourceVersions
    await expectOnlySentinel(r, 'after-heartbeat');
  });
});

describe('KubernetesDatastore: watch restarts and relists', () => {
  it('resumes cut watch streams from the last resourceVersion without an outage or a relist', async () => {
    const r = await startedWith();
    const lists = server.requests.filter((q) => !q.isWatch).length;
    expect(server.dropWatches('abrupt')).toBe(7);
    server.apply(bgpPeer('tor-2', 65002)); // while no watch is open
    await waitUntil(() => r.changed.length >= 1, 'the change made while the watches were down');
    expect(summary(r.changed[0]!)).toEqual(['added BGPPeer tor-2']);
    await waitUntil(() => server.watchCount() === 7, 'seven watches again');
    server.dropWatches('graceful');
    await waitUntil(() => server.watchCount() === 7, 'seven watches after a clean end');
    await expectOnlySentinel(r, 'after-cuts');
    expect(server.requests.filter((q) => !q.isWatch).length).toBe(lists); // resumed, never relisted
    const resumed = server.requests.filter((q) => q.isWatch).slice(7);
    expect(
      resumed.every((q) => q.query.resourceVersion !== undefined && q.query.resourceVersion !== ''),
    ).toBe(true);
    expect(r.errors).toEqual([]);
    expect(r.ds.health().connected).toBe(true);
  });

  it('relists after 410 Gone: what vanished meanwhile is deleted once, unchanged objects say nothing', async () => {
    const r = await startedWith([
      ...clusterObjects(),
      pod('a', 'node-1', '10.244.1.20'),
      pod('b', 'node-1', '10.244.1.21'),
      pod('c', 'node-1', '10.244.1.22'),
      pod('d', 'node-1', '10.244.1.23'),
    ]);
    // d is deleted while watched: reported once now, and never again by the relist.
    server.remove('Pod', 'default', 'd');
    await waitUntil(() => r.changed.length >= 1, 'the watched delete');
    expect(summary(r.changed[0]!)).toEqual(['deleted Pod default/d']);
    const listsBefore = server.requests.filter((q) => !q.isWatch).length;

    // Cut the streams, change things while nobody watches, and expire the history: every resume
    // gets the 410 ERROR event and relists.
    server.dropWatches('abrupt');
    server.remove('Pod', 'default', 'a');
    server.apply(pod('b', 'node-1', '10.244.1.21', { moved: 'yes' }));
    server.remove('BGPPeer', undefined, 'tor-1');
    server.apply(ipPool('extra', '10.100.0.0/16'));
    server.compactHistory();

    // Each kind relists on its own schedule (backoff jitter), so the differences may come in
    // several batches; together they must be exactly these, and nothing may follow.
    const expected = [
      'added IPPool extra',
      'deleted BGPPeer tor-1',
      'deleted Pod default/a',
      'modified Pod default/b',
    ];
    await waitUntil(() => includesAll(r.changed.slice(1), expected), 'the relisted differences');
    await waitUntil(() => server.watchCount() === 7, 'seven watches after the relist');
    await expectOnlySentinel(r, 'after-relist');
    expect(r.changed.slice(1, -1).flatMap(summary).sort()).toEqual(expected.sort());
    expect(server.requests.filter((q) => !q.isWatch).length - listsBefore).toBeGreaterThanOrEqual(7);
    expect(keys(r.ds.snapshot().pods)).toEqual(['default/b', 'default/c', 'default/client-0', 'prod/web-0']);
    expect(r.errors).toEqual([]);
  });
});

describe('KubernetesDatastore: API-server outage', () => {
  for (const mode of ['503', 'refuse'] as const) {
    it(`keeps the last snapshot through an outage (${mode}) and resyncs only the real differences`, async () => {
      const r = await startedWith();
      const before = r.ds.snapshot();
      const sinceBefore = r.ds.health().since;
      await server.setUnavailable(mode);
      await waitUntil(() => r.ds.health().connected === false, 'the outage noticed');
      // Let every kind fail and retry a few times: still one 'error', nothing withdrawn.
      const failedAt = server.requests.length;
      await waitUntil(
        () => mode === 'refuse' || server.requests.length - failedAt >= 14,
        'retries during the outage',
      );
      await waitUntil(() => r.ds.lastError !== undefined, 'lastError');
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]?.code).toBe('MARGAY_ERR_DATASTORE_UNAVAILABLE');
      expect(r.errors[0]?.message).toMatch(mode === '503' ? /HTTP 503/ : /ECONNREFUSED/);
      expect(r.ds.snapshot()).toBe(before);
      expect(r.ds.ready()).toBe(true);
      const health = r.ds.health();
      expect(health.lastError).toBe(r.ds.lastError);
      expect(health.since.getTime()).toBeGreaterThanOrEqual(sinceBefore.getTime());

      // Meanwhile the cluster changes (and, for 'refuse', the watch window expires too).
      server.remove('Pod', 'default', 'client-0');
      server.apply(node('node-3', 3));
      if (mode === 'refuse') server.compactHistory();
      await server.setUnavailable(false);
      await waitUntil(() => r.ds.health().connected, 'reconnected', 10_000);
      const expected = ['added Node node-3', 'deleted Pod default/client-0'];
      await waitUntil(() => includesAll(r.changed, expected), 'the resync');
      await waitUntil(() => server.watchCount() === 7, 'seven watches after the outage');
      await expectOnlySentinel(r, 'after-outage');
      expect(r.changed.slice(0, -1).flatMap(summary).sort()).toEqual(expected.sort());
      expect(r.ds.lastError).toBeUndefined();
      expect(r.ds.health().lastError).toBeUndefined();
      expect(r.errors).toHaveLength(1);
    });
  }

  it('reports the next outage again after a recovery', async () => {
    const r = await startedWith();
    for (let round = 1; round <= 2; round++) {
      await server.setUnavailable('503');
      await waitUntil(() => r.errors.length === round, `outage ${round} reported`);
      await server.setUnavailable(false);
      await waitUntil(() => r.ds.health().connected, `recovery ${round}`, 10_000);
    }
    expect(r.errors.map((e) => e.code)).toEqual([
      'MARGAY_ERR_DATASTORE_UNAVAILABLE',
      'MARGAY_ERR_DATASTORE_UNAVAILABLE',
    ]);
  });
});

describe('KubernetesDatastore: invalid objects', () => {
  it('leaves an invalid object out, names its field, and keeps the others', async () => {
    const r = await startedWith([...clusterObjects(), bgpPeer('broken', 0)]);
    expect(keys(r.ds.snapshot().bgpPeers)).toEqual(['tor-1']);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]?.code).toBe('MARGAY_ERR_DATASTORE_OBJECT_INVALID');
    expect(r.errors[0]?.message).toMatch(/^BGPPeer broken: spec\.asNumber: .*\(left out\)$/);
    expect(r.ds.problems()).toEqual([
      expect.objectContaining({ kind: 'BGPPeer', key: 'broken', keptLastGood: false }),
    ]);
    expect(r.ds.lastError).toBe(r.errors[0]);
    expect(r.ds.health().connected).toBe(true);

    // Fixed: added, the problem and lastError are gone.
    server.apply(bgpPeer('broken', 65050));
    await waitUntil(() => r.changed.length >= 1, 'the fixed peer');
    expect(summary(r.changed[0]!)).toEqual(['added BGPPeer broken']);
    expect(r.ds.problems()).toEqual([]);
    expect(r.ds.lastError).toBeUndefined();
  });

  it('keeps the last good version of an object an update breaks, and deletes it once', async () => {
    const r = await startedWith();
    const good = r.ds.snapshot().bgpPeers.get('tor-1');
    server.apply(bgpPeer('tor-1', 65001, 'not-an-address'));
    server.apply(bgpPeer('tor-2', 65002)); // in the same batch, unaffected
    await waitUntil(() => r.changed.length >= 1, 'the batch');
    expect(summary(r.changed[0]!)).toEqual(['added BGPPeer tor-2']);
    expect(r.ds.snapshot().bgpPeers.get('tor-1')).toBe(good);
    expect(r.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/^BGPPeer tor-1: spec\.peerIP: .*\(its last good version stays in force\)$/),
    ]);
    expect(r.ds.problems()).toMatchObject([{ kind: 'BGPPeer', key: 'tor-1', keptLastGood: true }]);

    // The same invalid object again after a relist: not reported twice.
    server.dropWatches('abrupt');
    server.compactHistory();
    await waitUntil(
      () => server.requests.filter((q) => q.path === '/apis/margay.io/v1/bgppeers' && !q.isWatch).length >= 2,
      'the BGPPeer relist',
    );
    await waitUntil(() => server.watchCount() === 7, 'watches after the relist');
    expect(r.errors).toHaveLength(1);

    server.remove('BGPPeer', undefined, 'tor-1');
    await waitUntil(() => r.changed.length >= 2, 'the delete');
    expect(summary(r.changed[1]!)).toEqual(['deleted BGPPeer tor-1']);
    expect(r.changed[1]!.changes[0]?.resource).toBe(good);
    expect(r.ds.problems()).toEqual([]);
    expect(r.ds.lastError).toBeUndefined();
    await expectOnlySentinel(r, 'after-delete');
  });
});

describe('KubernetesDatastore: missing CRDs', () => {
  it('treats a kind whose CRD is missing as empty, reports it once and picks it up when installed', async () => {
    // 404 for the first LISTs of two margay.io kinds, as when the CRDs are not installed yet.
    server.failNext(/^\/apis\/margay\.io\/v1\/bgppeers$/, 404, { method: 'GET', times: 4 });
    server.failNext(/^\/apis\/margay\.io\/v1\/ippools$/, 404, { method: 'GET', times: 2 });
    const r = await startedWith(clusterObjects(), {}, 5);
    expect(r.ready[0]?.bgpPeers.size).toBe(0);
    expect(r.ready[0]?.ipPools.size).toBe(0);
    expect(r.ready[0]?.nodes.size).toBe(2);
    await waitUntil(() => r.changed.flatMap(summary).length >= 2, 'the CRDs installed');
    expect(r.changed.flatMap(summary).sort()).toEqual(['added BGPPeer tor-1', 'added IPPool default-pool']);
    const missing = r.errors.map((e) => [e.code, e.message.split(':')[0]]);
    expect(missing.sort()).toEqual([
      ['MARGAY_ERR_DATASTORE_CRD_MISSING', 'BGPPeer'],
      ['MARGAY_ERR_DATASTORE_CRD_MISSING', 'IPPool'],
    ]);
    expect(r.errors[0]?.message).toMatch(
      /CustomResourceDefinition (bgppeers|ippools)\.margay\.io is not installed/,
    );
    expect(r.ds.health().missingKinds).toEqual([]);
    expect(r.ds.health().connected).toBe(true);
    expect(r.ds.lastError).toBeUndefined();
  });

  it('reports missing kinds in health() while they are missing and does not hold lastError', async () => {
    server.failNext(/^\/apis\/margay\.io\/v1\/bgpconfigurations$/, 404, { method: 'GET', times: 1_000 });
    const r = await startedWith(clusterObjects(), {}, 6);
    await waitUntil(
      () => server.requests.filter((q) => q.path === '/apis/margay.io/v1/bgpconfigurations').length >= 3,
      'the missing kind retried',
    );
    expect(r.errors).toHaveLength(1);
    expect(r.ds.health()).toMatchObject({ connected: true, missingKinds: ['BGPConfiguration'] });
    expect(r.ds.lastError).toBeUndefined();
    expect(r.ds.snapshot().bgpConfigurations.size).toBe(0);
  });
});

describe('KubernetesDatastore: lifecycle', () => {
  it('stop() closes every watch and leaves no timers behind', async () => {
    const b = batchClock();
    const r = await startedWith(clusterObjects(), { debounceMs: 100, ...b.options });
    // A change is taken in and its batch is pending when the datastore stops: the batch is dropped.
    await b.takeIn(1, 'a change pending at stop', () => server.apply(namespace('pending')));
    expect(b.clock.pendingCount).toBe(1);
    await r.ds.stop();
    rec = undefined;
    expect(b.clock.pendingCount).toBe(0);
    b.clock.advance(100);
    await waitUntil(() => server.watchCount() === 0, 'every watch closed');
    const count = server.requests.length;
    server.apply(namespace('after-stop'));
    await server.setUnavailable('503');
    await server.setUnavailable(false);
    expect(server.requests.length).toBe(count);
    expect(r.changed).toEqual([]);
  });

  it('refuses a second start()', async () => {
    const r: { ds: KubernetesDatastore } = await startedWith([]);
    await expect(r.ds.start()).rejects.toThrow(/called twice/);
  });
});
