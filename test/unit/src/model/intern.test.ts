// StringPool: which values it pools, that it walks objects and arrays to any depth and replaces
// values in place without changing them, that it leaves frozen objects alone, and that it stays
// bounded. (That two equal strings then are one copy is not observable from JavaScript; the heap
// figures of test/bench/agent-scale.ts show it.) The datastores put what they keep through the
// thread's pool, each on its path.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapSnapshot } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { FileDatastore, POOL_MIN_PIECES } from '../../../../src/datastore/file/file-datastore.ts';
import { parsePiece, parsePieceFully, sharedValues } from '../../../../src/datastore/file/parse.ts';
import { MAX_ENTRIES, MAX_LENGTH, MAX_OBJECTS, StringPool, strings } from '../../../../src/model/intern.ts';
import { FakeKubeApiServer } from '../../../fakes/kube-apiserver.ts';
import { waitUntil } from '../../fakes/wait.ts';
import { namespace, recordedDatastore } from '../datastore/k8s/fixtures.ts';

describe('StringPool', () => {
  it('pools each distinct short value once, and no long one', () => {
    const pool = new StringPool();
    const long = 'x'.repeat(MAX_LENGTH + 1);
    expect(pool.intern('TCP')).toBe('TCP');
    pool.intern('TCP');
    pool.intern('UDP');
    expect(pool.intern(long)).toBe(long);
    expect(pool.size).toBe(2);
  });

  it('walks objects and arrays to any depth and keeps every value as it was', () => {
    const pool = new StringPool();
    const text = JSON.stringify({
      kind: 'Pod',
      metadata: { name: 'web-0', labels: { app: 'web', tier: 'front' } },
      spec: { containers: [{ name: 'main', ports: [{ name: 'http', protocol: 'TCP', containerPort: 80 }] }] },
      status: { podIPs: [{ ip: '10.0.0.1' }], phase: 'Running', ready: true, note: null },
      tags: ['web', ['front', 'TCP']],
    });
    const a = pool.internValues(JSON.parse(text));
    expect(a).toEqual(JSON.parse(text));
    // Pod, web-0, web, front, main, http, TCP, 10.0.0.1, Running: nine distinct values.
    expect(pool.size).toBe(9);
    const b = pool.internValues(JSON.parse(text));
    expect(b).toEqual(a);
    expect(pool.size).toBe(9);
  });

  it('leaves frozen objects alone instead of failing on them', () => {
    const pool = new StringPool();
    const frozen = Object.freeze({ protocol: 'TCP' });
    expect(() => pool.internValues({ ports: [frozen], name: 'x' })).not.toThrow();
    expect(pool.size).toBe(1);
  });

  it('shares the nested objects that hold only repeated values, never one with a value of its own', () => {
    const pool = new StringPool();
    const pod = (name: string, ip: string) => ({
      kind: 'Pod',
      metadata: { name, labels: { app: 'web', tier: 'front' }, annotations: {} },
      spec: {
        nodeName: 'node-1',
        containers: [{ name: 'main', ports: [{ name: 'http', protocol: 'TCP', containerPort: 80 }] }],
      },
      status: { podIP: ip, podIPs: [{ ip }], phase: 'Running' },
    });
    const pods = Array.from({ length: 50 }, (_, i) => pool.internValues(pod(`web-${i}`, `10.0.0.${i}`)));
    // The first pod's values are all new; from the second on, labels, annotations and spec (with
    // its containers and ports) are one object, held by the second pod and shared by the rest.
    expect(pods[0]!.metadata.labels).not.toBe(pods[1]!.metadata.labels);
    for (const p of pods.slice(2)) {
      expect(p.metadata.labels).toBe(pods[1]!.metadata.labels);
      expect(p.metadata.annotations).toBe(pods[1]!.metadata.annotations);
      expect(p.spec).toBe(pods[1]!.spec);
      // Each pod's own name and address: its metadata, status and podIPs stay its own.
      expect(p.metadata).not.toBe(pods[1]!.metadata);
      expect(p.status.podIPs).not.toBe(pods[1]!.status.podIPs);
    }
    expect(pods.map((p) => p.metadata.name)).toEqual(pods.map((_, i) => `web-${i}`));
    expect(pods[49]).toEqual(pod('web-49', '10.0.0.49'));
    // A pod's address, given twice in one pod, is still its own: {ip} is never shared.
    // labels, annotations, ports[0], ports, containers[0], containers, spec: seven, however many pods.
    expect(pool.objects).toBe(7);
    // Shared means frozen: changing one in place throws rather than changing all the pods.
    expect(() => {
      (pods[7]!.metadata.labels as Record<string, string>).app = 'db';
    }).toThrow(TypeError);
    expect(pods[8]!.metadata.labels.app).toBe('web');
  });

  it('leaves one copy of a repeated string in the heap, however many objects hold it', async () => {
    const pool = new StringPool();
    const value = ['pool', 'identity', 'probe'].join('-');
    const text = JSON.stringify({ metadata: { name: 'x', labels: { a: value } }, list: [value] });
    const kept = Array.from({ length: 40 }, () => pool.internValues(JSON.parse(text)));
    // The pool's copy, held by all 40 objects in both places, and this test's own `value`.
    expect(await heapCopiesOf(value)).toBe(2);
    expect(kept).toHaveLength(40);
  });

  it('keeps the shared objects bounded as it keeps the strings', () => {
    const pool = new StringPool();
    pool.intern('v');
    for (let i = 0; i <= MAX_OBJECTS; i++) {
      pool.intern(`k${i}`);
      pool.internValues({ o: { [`k${i}`]: 'v' } });
    }
    expect(pool.objects).toBe(1);
  });

  it('starts afresh when full, so values seen once cannot grow it without limit', () => {
    const pool = new StringPool();
    for (let i = 0; i < MAX_ENTRIES; i++) pool.intern(`name-${i}`);
    expect(pool.size).toBe(MAX_ENTRIES);
    pool.intern('one more');
    expect(pool.size).toBe(1);
  });
});

// What the datastores keep goes through the pool on the main thread; a value no other test uses
// marks each path.
describe('the datastores share the values they keep', () => {
  const namespaceDoc = (name: string, value: string) =>
    `---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n  labels:\n    team: ${value}\n`;

  it('a piece parsed or received from a worker: its values, and one empty syntax list', () => {
    const a = sharedValues(parsePiece(namespaceDoc('ns-a', 'intern-piece-value')));
    const b = sharedValues(parsePieceFully(namespaceDoc('ns-b', 'intern-piece-other')));
    expect(strings.has('intern-piece-value')).toBe(true);
    expect(strings.has('intern-piece-other')).toBe(true);
    expect(a.syntax).toEqual([]);
    expect(b.syntax).toBe(a.syntax);
  });

  it('the file datastore, parsing on its thread and in worker threads', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'margay-intern-'));
    try {
      for (const [workers, pieces, value] of [
        [0, 2, 'intern-file-main'],
        [2, POOL_MIN_PIECES, 'intern-file-workers'],
      ] as const) {
        const path = join(dir, `cluster-${workers}.yaml`);
        const docs = Array.from({ length: pieces }, (_, i) => namespaceDoc(`ns-${i}`, value));
        await writeFile(path, docs.join(''));
        const ds = new FileDatastore({ path, workers, settleMs: 10, debounceMs: 5 });
        expect(strings.has(value)).toBe(false);
        await ds.start();
        try {
          expect(ds.ready()).toBe(true);
          expect(ds.snapshot().namespaces.size).toBe(pieces);
          expect(strings.has(value)).toBe(true);
        } finally {
          await ds.stop();
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the Kubernetes datastore, for every object its reflectors validate', async () => {
    const server = new FakeKubeApiServer();
    await server.start();
    const rec = recordedDatastore(server);
    try {
      server.apply(namespace('intern-k8s', { team: 'intern-k8s-value' }));
      expect(strings.has('intern-k8s-value')).toBe(false);
      await rec.ds.start();
      await waitUntil(() => rec.ds.ready(), 'ready');
      expect(rec.ds.snapshot().namespaces.has('intern-k8s')).toBe(true);
      expect(strings.has('intern-k8s-value')).toBe(true);
    } finally {
      await rec.ds.stop();
      await server.stop();
    }
  });
});

/** How many string objects with exactly this value the heap holds (a heap snapshot: V8's own count). */
async function heapCopiesOf(value: string): Promise<number> {
  const chunks: Buffer[] = [];
  for await (const c of getHeapSnapshot()) chunks.push(c as Buffer);
  const snap = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snap.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const stringType = snap.snapshot.meta.node_types[0].indexOf('string');
  let n = 0;
  for (let i = 0; i < snap.nodes.length; i += width)
    if (snap.nodes[i + typeAt] === stringType && snap.strings[snap.nodes[i + nameAt]!] === value) n++;
  return n;
}
