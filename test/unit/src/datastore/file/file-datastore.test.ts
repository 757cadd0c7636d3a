// FileDatastore against a real file in a temporary directory, on the host's timers with short
// intervals: load, edits in place and by atomic rename, invalid edits that keep the last good
// state, deletion reported exactly once, debouncing. Every wait is for an event with a deadline,
// never a bare sleep. Writes still in progress are in writes-in-progress.test.ts.
import { mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileDatastore } from '../../../../../src/datastore/file/file-datastore.ts';
import type { DatastoreEvents, SnapshotChanged } from '../../../../../src/datastore/types.ts';
import type { MargayError } from '../../../../../src/errors.ts';
import type { Snapshot } from '../../../../../src/model/snapshot.ts';

const node = (name: string, rack = 'r1') =>
  `apiVersion: v1\nkind: Node\nmetadata: {name: ${name}, labels: {rack: ${rack}}}\nspec: {podCIDR: 10.244.${name.slice(-1)}.0/24}\n`;
const peer = (name: string, asNumber: number | string) =>
  `apiVersion: margay.io/v1\nkind: BGPPeer\nmetadata: {name: ${name}}\nspec: {peerIP: 192.0.2.1, asNumber: ${asNumber}}\n`;
const doc = (...parts: string[]) => parts.join('---\n');

function nextEvent<E extends keyof DatastoreEvents>(
  ds: FileDatastore,
  event: E,
  timeoutMs = 5000,
): Promise<Parameters<DatastoreEvents[E]>[0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ds.off(event, listener);
      reject(new Error(`no '${event}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = ((payload: Parameters<DatastoreEvents[E]>[0]) => {
      clearTimeout(timer);
      ds.off(event, listener);
      resolve(payload);
    }) as DatastoreEvents[E];
    ds.on(event, listener);
  });
}

function record(ds: FileDatastore) {
  const changed: SnapshotChanged[] = [];
  const errors: MargayError[] = [];
  ds.on('changed', (e) => changed.push(e));
  ds.on('error', (e) => errors.push(e));
  return { changed, errors };
}

const names = (m: ReadonlyMap<string, unknown>) => [...m.keys()].sort();

let dir: string;
let file: string;
let ds: FileDatastore | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'margay-file-ds-'));
  file = join(dir, 'cluster.yaml');
});

afterEach(async () => {
  await ds?.stop();
  ds = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function started(text: string | undefined): Promise<{ ds: FileDatastore; readySnapshot?: Snapshot }> {
  if (text !== undefined) writeFileSync(file, text);
  ds = new FileDatastore({ path: file, debounceMs: 20, settleMs: 40, confirmMs: 400 });
  let readySnapshot: Snapshot | undefined;
  ds.on('ready', (s) => {
    readySnapshot = s;
  });
  await ds.start();
  return { ds, readySnapshot };
}

describe('FileDatastore', () => {
  it('loads the file, becomes ready and emits ready once with the snapshot', async () => {
    const { ds, readySnapshot } = await started(
      doc(node('node-1'), node('node-2', 'r2'), peer('tor', 65001)),
    );
    expect(ds.ready()).toBe(true);
    expect(ds.lastError).toBeUndefined();
    expect(readySnapshot).toBe(ds.snapshot());
    expect(names(ds.snapshot().nodes)).toEqual(['node-1', 'node-2']);
    expect(ds.snapshot().bgpPeers.get('tor')?.spec.asNumber).toBe(65001);
    expect(ds.snapshot().pods.size).toBe(0);
  });

  it('an in-place edit emits changed with the new snapshot and the changes', async () => {
    const { ds } = await started(doc(node('node-1'), peer('tor', 65001)));
    const before = ds.snapshot();
    const next = nextEvent(ds, 'changed');
    writeFileSync(file, doc(node('node-1'), node('node-2'), peer('tor', 65002)));
    const e = await next;
    expect(e.previous).toBe(before);
    expect(e.snapshot).toBe(ds.snapshot());
    expect(names(e.snapshot.nodes)).toEqual(['node-1', 'node-2']);
    expect(e.changes.map((c) => `${c.type} ${c.kind} ${c.key}`)).toEqual([
      'added Node node-2',
      'modified BGPPeer tor',
    ]);
    const modified = e.changes[1]!;
    expect(modified.previous?.kind === 'BGPPeer' && modified.previous.spec.asNumber).toBe(65001);
  });

  it('picks up an atomic rename (editor save, mv)', async () => {
    const { ds } = await started(doc(node('node-1')));
    const next = nextEvent(ds, 'changed');
    const tmp = join(dir, '.cluster.yaml.tmp');
    writeFileSync(tmp, doc(node('node-1', 'r9')));
    renameSync(tmp, file);
    const e = await next;
    expect(e.snapshot.nodes.get('node-1')?.metadata.labels).toEqual({ rack: 'r9' });
    // And it keeps watching the new inode.
    const again = nextEvent(ds, 'changed');
    writeFileSync(file, doc(node('node-1', 'r10')));
    expect((await again).snapshot.nodes.get('node-1')?.metadata.labels).toEqual({ rack: 'r10' });
  });

  it('an invalid edit is rejected whole: the last good state stays and the error names the field', async () => {
    const { ds } = await started(doc(node('node-1'), peer('tor', 65001)));
    const good = ds.snapshot();
    const { changed } = record(ds);
    const error = nextEvent(ds, 'error');
    // Node node-2 is valid, but the file is not: nothing of it may be applied.
    writeFileSync(file, doc(node('node-1'), node('node-2'), peer('tor', 'x65001')));
    const err = await error;
    expect(err.code).toBe('MARGAY_ERR_DATASTORE_INVALID');
    expect(err.message).toContain(
      'document 3: BGPPeer tor: spec.asNumber: must be an AS number 1..4294967295',
    );
    expect(ds.lastError).toBe(err);
    expect(ds.snapshot()).toBe(good);
    expect(ds.ready()).toBe(true);
    expect(changed).toEqual([]);

    const fixed = nextEvent(ds, 'changed');
    writeFileSync(file, doc(node('node-1'), node('node-2'), peer('tor', 65001)));
    const e = await fixed;
    expect(e.changes.map((c) => `${c.type} ${c.kind} ${c.key}`)).toEqual(['added Node node-2']);
    expect(ds.lastError).toBeUndefined();
  });

  it('a deleted object disappears exactly once', async () => {
    const { ds } = await started(doc(node('node-1'), node('node-2'), node('node-3')));
    const { changed } = record(ds);
    const first = nextEvent(ds, 'changed');
    writeFileSync(file, doc(node('node-1'), node('node-3')));
    const e = await first;
    expect(e.changes.map((c) => `${c.type} ${c.kind} ${c.key}`)).toEqual(['deleted Node node-2']);
    expect(e.changes[0]!.resource.metadata.name).toBe('node-2');
    // Rewriting the same content, and then an unrelated edit: node-2 is not reported again.
    writeFileSync(file, doc(node('node-1'), node('node-3')));
    await ds.reload();
    const second = nextEvent(ds, 'changed');
    writeFileSync(file, doc(node('node-1'), node('node-3'), peer('tor', 65001)));
    const e2 = await second;
    expect(e2.changes.map((c) => `${c.type} ${c.kind} ${c.key}`)).toEqual(['added BGPPeer tor']);
    const deletions = changed.flatMap((c) => c.changes).filter((c) => c.type === 'deleted');
    expect(deletions.map((c) => c.key)).toEqual(['node-2']);
  });

  it('debounces a burst of writes into one load and one event', async () => {
    const { ds } = await started(doc(node('node-1')));
    const { changed } = record(ds);
    const loadsBefore = ds.loads;
    const next = nextEvent(ds, 'changed');
    for (let i = 2; i <= 6; i++) writeFileSync(file, doc(node('node-1'), node(`node-${i}`)));
    const e = await next;
    expect(names(e.snapshot.nodes)).toEqual(['node-1', 'node-6']);
    // Let any trailing event settle by forcing (and waiting for) one more serialized load.
    await ds.reload();
    expect(changed).toHaveLength(1);
    expect(ds.loads - loadsBefore).toBeLessThanOrEqual(3); // the burst (1, rarely 2) + the forced reload
  });

  it('starts not ready on an invalid file and becomes ready when it is fixed', async () => {
    const { ds } = await started(doc(peer('tor', 0)));
    expect(ds.ready()).toBe(false);
    expect(ds.lastError?.message).toContain('BGPPeer tor: spec.asNumber: must be 1..4294967295');
    expect(ds.snapshot().bgpPeers.size).toBe(0);
    const ready = nextEvent(ds, 'ready');
    writeFileSync(file, doc(peer('tor', 65001)));
    const s = await ready;
    expect(ds.ready()).toBe(true);
    expect(s.bgpPeers.get('tor')?.spec.asNumber).toBe(65001);
    expect(ds.lastError).toBeUndefined();
  });

  it('a missing file is an error, not an empty cluster', async () => {
    const { ds } = await started(undefined);
    expect(ds.ready()).toBe(false);
    expect(ds.lastError?.code).toBe('MARGAY_ERR_DATASTORE_READ');

    const ready = nextEvent(ds, 'ready');
    writeFileSync(file, doc(node('node-1')));
    await ready;
    const error = nextEvent(ds, 'error');
    unlinkSync(file);
    expect((await error).code).toBe('MARGAY_ERR_DATASTORE_READ');
    expect(names(ds.snapshot().nodes)).toEqual(['node-1']);
  });

  it('ignores other files in the directory and emits nothing after stop()', async () => {
    const { ds } = await started(doc(node('node-1')));
    const { changed, errors } = record(ds);
    const { loads, reads } = ds;
    writeFileSync(join(dir, 'other.yaml'), 'not: [valid');
    await ds.reload(); // serialized after anything the watcher queued
    expect(ds.reads).toBeGreaterThan(reads);
    expect(ds.loads).toBe(loads); // the same text: nothing to parse
    await ds.stop();
    writeFileSync(file, doc(node('node-1'), node('node-2')));
    await ds.reload();
    expect(changed).toEqual([]);
    expect(errors).toEqual([]);
    expect(names(ds.snapshot().nodes)).toEqual(['node-1']);
  });

  it('refuses to start twice', async () => {
    const { ds } = await started(doc(node('node-1')));
    await expect(ds.start()).rejects.toThrow(/twice/);
  });
});
