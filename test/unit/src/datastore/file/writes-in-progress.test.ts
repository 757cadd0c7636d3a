import {
  closeSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DatastoreTimers } from '../../../../../src/datastore/file/file-datastore.ts';
import { FileDatastore } from '../../../../../src/datastore/file/file-datastore.ts';
import type { SnapshotChanged } from '../../../../../src/datastore/types.ts';
import type { MargayError } from '../../../../../src/errors.ts';
import { makeFifo, releaseFifo } from '../../../../support/fifo.ts';

// The intervals this test configures (clock milliseconds); the pause between two writes of a
// piecewise write is shorter than SETTLE.
const DEBOUNCE = 10;
const SETTLE = 100;
const CONFIRM = 1000;
const PAUSE = 60;

const node = (name: string) =>
  `apiVersion: v1\nkind: Node\nmetadata: {name: ${name}}\nspec: {podCIDR: 10.244.${name.slice(-1)}.0/24}\n`;
const peer = (name: string, asNumber: number) =>
  `apiVersion: margay.io/v1\nkind: BGPPeer\nmetadata: {name: ${name}}\nspec: {peerIP: 192.0.2.1, asNumber: ${asNumber}}\n`;
const doc = (...parts: string[]) => parts.join('---\n');
const CLUSTER = doc(node('node-1'), node('node-2'), node('node-3'), peer('tor', 65001));

/** Timers on a clock of its own: `advance` fires what falls due, each after the last has run. */
class TestClock {
  now = 0;
  readonly #pending = new Map<number, { at: number; callback: () => void }>();
  #nextId = 1;

  readonly clock = (): number => this.now;

  readonly timers: DatastoreTimers = {
    setTimeout: (callback, ms) => {
      const id = this.#nextId++;
      this.#pending.set(id, { at: this.now + ms, callback });
      return id;
    },
    clearTimeout: (handle) => {
      this.#pending.delete(handle as number);
    },
  };

  #nextDue(until: number): [number, { at: number; callback: () => void }] | undefined {
    let due: [number, { at: number; callback: () => void }] | undefined;
    for (const entry of this.#pending)
      if (entry[1].at <= until && (due === undefined || entry[1].at < due[1].at)) due = entry;
    return due;
  }

  /** Moves the clock `ms` forward; each timer due fires, and the check it starts completes. */
  async advance(ms: number, ds: FileDatastore): Promise<void> {
    const end = this.now + ms;
    await ds.idle();
    for (let due = this.#nextDue(end); due !== undefined; due = this.#nextDue(end)) {
      this.#pending.delete(due[0]);
      this.now = Math.max(this.now, due[1].at);
      due[1].callback();
      await ds.idle();
    }
    this.now = end;
  }

  /**
   * Moves the clock forward in steps of `step` until `done()`; fails after `limit` clock
   * milliseconds. File-system events arrive in real time, so each step first lets them in.
   */
  async runUntil(ds: FileDatastore, done: () => boolean, what: string, limit = 10 * CONFIRM, step = 10) {
    const start = this.now;
    while (!done()) {
      if (this.now - start > limit) throw new Error(`not ${what} within ${limit} clock ms`);
      await new Promise((resolve) => setImmediate(resolve));
      await this.advance(step, ds);
    }
  }
}

let dir: string;
let file: string;
let ds: FileDatastore | undefined;
let clock: TestClock;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'margay-file-ds-w-'));
  file = join(dir, 'cluster.yaml');
  clock = new TestClock();
});

afterEach(async () => {
  await ds?.stop();
  ds = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function record(d: FileDatastore) {
  const changed: SnapshotChanged[] = [];
  const errors: MargayError[] = [];
  d.on('changed', (e) => changed.push(e));
  d.on('error', (e) => errors.push(e));
  const summary = () => changed.map((e) => e.changes.map((c) => `${c.type} ${c.kind} ${c.key}`).join(', '));
  return { changed, errors, summary };
}

async function started(text: string): Promise<FileDatastore> {
  writeFileSync(file, text);
  const d = new FileDatastore({
    path: file,
    debounceMs: DEBOUNCE,
    settleMs: SETTLE,
    confirmMs: CONFIRM,
    clock: clock.clock,
    timers: clock.timers,
  });
  ds = d;
  let done = false;
  const starting = d.start().then(() => {
    done = true;
  });
  await clock.runUntil(d, () => done, 'started');
  await starting;
  expect(d.ready()).toBe(true);
  return d;
}

/**
 * Rewrites the file in place: truncate, then `pieces` one after another, the clock moving PAUSE
 * after each step. The datastore reads every state the file passes through.
 */
async function writeInPlace(d: FileDatastore, pieces: readonly string[]): Promise<void> {
  const fd = openSync(file, 'r+');
  try {
    let offset = 0;
    ftruncateSync(fd, 0);
    for (let i = 0; i <= pieces.length; i++) {
      if (i > 0) {
        const piece = Buffer.from(pieces[i - 1]!);
        writeSync(fd, piece, 0, piece.length, offset);
        offset += piece.length;
      }
      const reads = d.reads;
      await d.reload();
      expect(d.reads).toBeGreaterThan(reads);
      await clock.advance(PAUSE, d);
    }
  } finally {
    closeSync(fd);
  }
}

/** `text` cut into `n` pieces of about equal length, at arbitrary points (mid-line, mid-word). */
function cut(text: string, n: number): string[] {
  const size = Math.ceil(text.length / n);
  return Array.from({ length: n }, (_, i) => text.slice(i * size, (i + 1) * size)).filter((p) => p !== '');
}

describe('FileDatastore and writes in progress', () => {
  it('rewriting identical content in place, in pieces, emits nothing', async () => {
    const d = await started(CLUSTER);
    const rec = record(d);
    const before = d.snapshot();
    // Cut at the BGPPeer document too: the file then parses, with the BGPPeer missing.
    const boundary = CLUSTER.indexOf('---\napiVersion: margay.io');
    await writeInPlace(d, [...cut(CLUSTER.slice(0, boundary), 3), CLUSTER.slice(boundary)]);
    await clock.advance(CONFIRM + 2 * SETTLE, d);
    expect(rec.summary()).toEqual([]);
    expect(rec.errors).toEqual([]);
    expect(d.snapshot()).toBe(before);
    expect(d.held).toBeUndefined();
  });

  it('a new text written in pieces is emitted once, whole, and nothing before it', async () => {
    const d = await started(CLUSTER);
    const rec = record(d);
    const next = doc(node('node-1'), node('node-3'), node('node-4'), peer('tor', 65002));
    await writeInPlace(d, cut(next, 6));
    expect(rec.changed).toEqual([]);
    await clock.runUntil(d, () => rec.changed.length > 0, 'changed');
    await clock.advance(CONFIRM + 2 * SETTLE, d);
    expect(rec.summary()).toEqual(['added Node node-4, deleted Node node-2, modified BGPPeer tor']);
    expect(rec.errors).toEqual([]);
  });

  it('a cut-short file that stays longer than the settle interval is held, and the rest of the write makes it moot', async () => {
    const d = await started(CLUSTER);
    const rec = record(d);
    const boundary = CLUSTER.indexOf('---\napiVersion: margay.io');
    const fd = openSync(file, 'r+');
    try {
      ftruncateSync(fd, 0);
      writeSync(fd, CLUSTER.slice(0, boundary), 0);
      await d.reload();
      // The writer stalls: the file parses, without the BGPPeer, and is stable.
      await clock.advance(CONFIRM / 2, d);
      expect(rec.changed).toEqual([]);
      expect(d.held?.reason).toBe('it deletes every BGPPeer');
      writeSync(fd, CLUSTER.slice(boundary), boundary);
      await d.reload();
    } finally {
      closeSync(fd);
    }
    await clock.runUntil(d, () => d.held === undefined, 'released');
    await clock.advance(2 * CONFIRM, d);
    expect(rec.changed).toEqual([]);
    expect(rec.errors).toEqual([]);
    expect(d.snapshot().bgpPeers.has('tor')).toBe(true);
  });

  it('deleting every object of a kind applies only once the file has stayed so for the confirmation interval', async () => {
    const d = await started(CLUSTER);
    const rec = record(d);
    // An atomic replace, as an operator's editor saves: the BGPPeer is really gone.
    writeFileSync(join(dir, '.cluster.yaml.tmp'), doc(node('node-1'), node('node-2'), node('node-3')));
    renameSync(join(dir, '.cluster.yaml.tmp'), file);
    await d.reload();
    await clock.advance(CONFIRM / 2, d);
    expect(rec.changed).toEqual([]);
    expect(d.held?.reason).toBe('it deletes every BGPPeer');
    const since = d.held!.since;
    await clock.advance(since + CONFIRM - 1 - clock.now, d);
    expect(rec.changed).toEqual([]);
    expect(d.snapshot().bgpPeers.has('tor')).toBe(true);
    await clock.runUntil(d, () => rec.changed.length > 0, 'changed');
    expect(clock.now).toBeGreaterThanOrEqual(since + CONFIRM);
    expect(rec.summary()).toEqual(['deleted BGPPeer tor']);
    expect(d.held).toBeUndefined();
    expect(d.snapshot().bgpPeers.size).toBe(0);
  });

  it('deleting most objects is held the same way; an ordinary deletion is not', async () => {
    const five = doc(node('node-1'), node('node-2'), node('node-3'), node('node-4'), peer('tor', 65001));
    const d = await started(five);
    const rec = record(d);
    writeFileSync(file, doc(node('node-1'), peer('tor', 65001)));
    await d.reload();
    await clock.advance(CONFIRM / 2, d);
    expect(rec.changed).toEqual([]);
    expect(d.held?.reason).toBe('it deletes 3 of 5 objects');
    await clock.runUntil(d, () => rec.changed.length > 0, 'changed');
    expect(rec.summary()).toEqual(['deleted Node node-2, deleted Node node-3, deleted Node node-4']);

    // One node of two, from the middle of the file: applied once stable, without waiting.
    writeFileSync(file, doc(node('node-1'), node('node-5'), peer('tor', 65001)));
    await d.reload();
    await clock.runUntil(d, () => rec.changed.length > 1, 'changed');
    const at = clock.now;
    writeFileSync(file, doc(node('node-5'), peer('tor', 65001)));
    await d.reload();
    await clock.runUntil(d, () => rec.changed.length > 2, 'changed');
    expect(clock.now - at).toBeLessThan(CONFIRM);
    expect(rec.summary().slice(1)).toEqual(['added Node node-5', 'deleted Node node-1']);
  });

  it('the text in force cut short at a document boundary is held even when little is lost', async () => {
    const objects = [
      ...[1, 2, 3, 4, 5, 6].map((i) => node(`node-${i}`)),
      peer('tor', 65001),
      peer('tor-2', 65002),
    ];
    const d = await started(doc(...objects));
    const rec = record(d);
    // One object of eight, no kind emptied, but the file is the one in force without its end.
    writeFileSync(file, doc(...objects.slice(0, -1)));
    await d.reload();
    await clock.advance(CONFIRM / 2, d);
    expect(rec.changed).toEqual([]);
    expect(d.held?.reason).toBe('it is the file in force cut short');
    const since = d.held!.since;
    await clock.runUntil(d, () => rec.changed.length > 0, 'changed');
    expect(clock.now).toBeGreaterThanOrEqual(since + CONFIRM);
    expect(rec.summary()).toEqual(['deleted BGPPeer tor-2']);
  });
});

describe('FileDatastore and paths that are not regular files', () => {
  it('refuses a FIFO at once, naming the path, instead of blocking start()', async () => {
    makeFifo(file);
    try {
      const d = new FileDatastore({ path: file, clock: clock.clock, timers: clock.timers });
      ds = d;
      await d.start();
      expect(d.ready()).toBe(false);
      expect(d.lastError?.code).toBe('MARGAY_ERR_DATASTORE_READ');
      expect(d.lastError?.message).toBe(`${file}: cannot read: not a regular file (a FIFO)`);
    } finally {
      releaseFifo(file);
    }
  });
});
