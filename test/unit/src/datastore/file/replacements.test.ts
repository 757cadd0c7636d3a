// A file renamed into place is complete when it appears, and the datastore uses it at once; a
// write in place, or a file written under its own name, still waits for the settle. The rule
// rests on the kernel's timestamps (a write sets mtime and ctime alike, a rename sets ctime
// alone), checked here on this machine's temporary directory and on tmpfs. Timers run on a
// ManualClock that only these tests move, so "at once" means with no timer fired at all.
import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileDatastore } from '../../../../../src/datastore/file/file-datastore.ts';
import type { SnapshotChanged } from '../../../../../src/datastore/types.ts';
import { ManualClock } from '../../../../support/manual-clock.ts';

const SETTLE = 100;
const node = (name: string, rack = 'r1') =>
  `apiVersion: v1\nkind: Node\nmetadata: {name: ${name}, labels: {rack: ${rack}}}\n`;
const doc = (...parts: string[]) => parts.join('---\n');
const CLUSTER = doc(node('node-1'), node('node-2'), node('node-3'));

const dirs: string[] = [];
let ds: FileDatastore | undefined;

afterEach(async () => {
  await ds?.stop();
  ds = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function scratch(parent = tmpdir()): string {
  const dir = mkdtempSync(join(parent, 'margay-file-ds-r-'));
  dirs.push(dir);
  return dir;
}

const times = (path: string) => statSync(path, { bigint: true });

/**
 * Waits until the file system stamps a change later than `ns`: timestamps come from a clock that
 * ticks every few milliseconds, so a rename right after a write can carry the write's time.
 */
async function fsClockPast(dir: string, ns: bigint): Promise<void> {
  const probe = join(dir, '.probe');
  for (let i = 0; i < 1000; i++) {
    writeFileSync(probe, '');
    if (times(probe).mtimeNs > ns) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error('the file system clock did not move');
}

/** Writes `text` to a temporary name in the file's directory and renames it over the file. */
async function replace(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, text);
  await fsClockPast(join(file, '..'), times(tmp).mtimeNs);
  renameSync(tmp, file);
}

function writeInPlace(file: string, text: string): void {
  const fd = openSync(file, 'r+');
  try {
    ftruncateSync(fd, 0);
    writeSync(fd, text, 0);
  } finally {
    closeSync(fd);
  }
}

async function started(
  file: string,
  clock: ManualClock,
): Promise<{ d: FileDatastore; changed: SnapshotChanged[] }> {
  writeFileSync(file, CLUSTER);
  return startedOn(file, clock);
}

/** A datastore started on `file` as it is, through its first settle. */
async function startedOn(
  file: string,
  clock: ManualClock,
): Promise<{ d: FileDatastore; changed: SnapshotChanged[] }> {
  const d = new FileDatastore({
    path: file,
    debounceMs: 10,
    settleMs: SETTLE,
    clock: clock.now,
    timers: clock.timers,
  });
  ds = d;
  const starting = d.start();
  await d.idle();
  clock.advance(SETTLE);
  await starting;
  expect(d.ready()).toBe(true);
  const changed: SnapshotChanged[] = [];
  d.on('changed', (e) => changed.push(e));
  return { d, changed };
}

const racks = (e: SnapshotChanged | undefined) =>
  e?.changes.map((c) => `${c.type} ${c.key} ${c.resource.metadata.labels?.rack}`);

const filesystems = [
  { name: 'the temporary directory', parent: tmpdir() },
  ...(existsSync('/dev/shm') ? [{ name: 'tmpfs (/dev/shm)', parent: '/dev/shm' }] : []),
];

describe.each(filesystems)('the timestamps the rule rests on, on $name', ({ parent }) => {
  it('a write in place leaves mtime == ctime; a file written under its own name too', () => {
    const dir = scratch(parent);
    const file = join(dir, 'cluster.yaml');
    writeFileSync(file, CLUSTER);
    let s = times(file);
    expect(s.mtimeNs).toBe(s.ctimeNs);
    writeInPlace(file, doc(node('node-1')));
    s = times(file);
    expect(s.mtimeNs).toBe(s.ctimeNs);
  });

  it('a file renamed into place after its last write has mtime < ctime', async () => {
    const dir = scratch(parent);
    const file = join(dir, 'cluster.yaml');
    writeFileSync(file, CLUSTER);
    await replace(file, doc(node('node-1', 'r9')));
    const s = times(file);
    expect(s.mtimeNs < s.ctimeNs).toBe(true);
  });
});

describe('FileDatastore and files replaced by a rename', () => {
  it('uses a file renamed into place at once, with no timer fired', async () => {
    const clock = new ManualClock();
    const file = join(scratch(), 'cluster.yaml');
    const { d, changed } = await started(file, clock);
    await replace(file, doc(node('node-1', 'r9'), node('node-2'), node('node-3')));
    await d.reload();
    expect(racks(changed[0])).toEqual(['modified node-1 r9']);
    // And the file renamed in is then watched for writes in place like any other.
    writeInPlace(file, doc(node('node-1', 'r10'), node('node-2'), node('node-3')));
    await d.reload();
    expect(changed).toHaveLength(1);
    clock.advance(SETTLE);
    await d.idle();
    expect(racks(changed[1])).toEqual(['modified node-1 r10']);
  });

  it('checks at once on the directory event of the rename, without the debounce', async () => {
    const clock = new ManualClock();
    const file = join(scratch(), 'cluster.yaml');
    const { d, changed } = await started(file, clock);
    await replace(file, doc(node('node-1', 'r9'), node('node-2'), node('node-3')));
    // Only the watcher can start this check: the clock does not move.
    for (let i = 0; i < 500 && changed.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      await d.idle();
    }
    expect(racks(changed[0])).toEqual(['modified node-1 r9']);
  });

  it('a write in place waits for the settle', async () => {
    const clock = new ManualClock();
    const file = join(scratch(), 'cluster.yaml');
    const { d, changed } = await started(file, clock);
    writeInPlace(file, doc(node('node-1', 'r9'), node('node-2'), node('node-3')));
    await d.reload();
    clock.advance(SETTLE - 1);
    await d.idle();
    expect(changed).toEqual([]);
    clock.advance(1);
    await d.idle();
    expect(racks(changed[0])).toEqual(['modified node-1 r9']);
  });

  it('a file written anew under its name (the old one moved aside) waits for the settle', async () => {
    const clock = new ManualClock();
    const file = join(scratch(), 'cluster.yaml');
    const { d, changed } = await started(file, clock);
    const ino = times(file).ino;
    renameSync(file, `${file}~`); // an editor's backup copy keeps the old inode
    writeFileSync(file, doc(node('node-1', 'r9'), node('node-2'), node('node-3')));
    expect(times(file).ino).not.toBe(ino);
    await d.reload();
    expect(changed).toEqual([]);
    clock.advance(SETTLE);
    await d.idle();
    expect(racks(changed[0])).toEqual(['modified node-1 r9']);
  });

  it('a file renamed into place and then written to waits for the settle', async () => {
    const clock = new ManualClock();
    const file = join(scratch(), 'cluster.yaml');
    const { d, changed } = await started(file, clock);
    await replace(file, doc(node('node-1', 'r9')));
    // The writer goes on after the rename: that write stamps mtime and ctime alike.
    const fd = openSync(file, 'a');
    writeSync(fd, `---\n${doc(node('node-2'), node('node-3'))}`);
    closeSync(fd);
    const s = times(file);
    expect(s.mtimeNs).toBe(s.ctimeNs);
    await d.reload();
    expect(changed).toEqual([]);
    clock.advance(SETTLE);
    await d.idle();
    expect(racks(changed[0])).toEqual(['modified node-1 r9']);
  });
});

/** Waits, in real time, until the datastore has read the file more than `reads` times and is idle. */
async function readSince(d: FileDatastore, reads: number): Promise<void> {
  for (let i = 0; i < 500 && d.reads <= reads; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(d.reads).toBeGreaterThan(reads);
  await d.idle();
}

/** Waits, in real time, for the watcher to bring `changed` to `n` events; the clock stays. */
async function changedTo(d: FileDatastore, changed: readonly SnapshotChanged[], n: number): Promise<void> {
  for (let i = 0; i < 500 && changed.length < n; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    await d.idle();
  }
}

describe('FileDatastore and the directory events of a save', () => {
  it('uses a file renamed into place in the same clock tick as its last write at once', async () => {
    const clock = new ManualClock();
    const file = join(scratch(), 'cluster.yaml');
    const { d, changed } = await started(file, clock);
    // Written and renamed at once, as tools save: the timestamps alone cannot tell this file
    // from one written in place, and only the directory's events can. Saved until one rename
    // fell in the tick of its write (nearly every one does on a coarse clock).
    let sameTick = 0;
    for (let i = 1; i <= 20 && sameTick === 0; i++) {
      writeFileSync(`${file}.tmp`, doc(node('node-1', `r${i + 1}`), node('node-2'), node('node-3')));
      renameSync(`${file}.tmp`, file);
      const s = times(file);
      if (s.mtimeNs === s.ctimeNs) sameTick++;
      await changedTo(d, changed, i);
      expect(racks(changed[i - 1])).toEqual([`modified node-1 r${i + 1}`]);
    }
    // A save stamped after its write passes by the timestamps alone: the case is the other one.
    expect(sameTick, 'no rename fell in the clock tick of its write on this file system').toBe(1);
    expect(clock.pendingCount).toBe(0);
  });

  it('a file created under its own name and written in pieces waits for the settle', async () => {
    const clock = new ManualClock();
    const file = join(scratch(), 'cluster.yaml');
    const { d, changed } = await started(file, clock);
    const errors: unknown[] = [];
    d.on('error', (e) => errors.push(e));
    // The old file moved aside, then the name created anew: the create's 'rename' comes straight
    // after the 'rename' of the backup's name, as a move into place would.
    renameSync(file, `${file}~`);
    let reads = d.reads;
    const fd = openSync(file, 'w');
    try {
      // Read while empty: no change yet, and not an empty cluster either.
      await readSince(d, reads);
      const pieces = [doc(node('node-1', 'r9'), node('node-2')), `---\n${node('node-3')}`];
      let offset = 0;
      for (const piece of pieces) {
        reads = d.reads;
        offset += writeSync(fd, piece, offset);
        // Each piece parses, as a file that lacks its end: nothing may use it before the settle.
        await new Promise((resolve) => setTimeout(resolve, 20));
        await d.reload();
        expect(d.reads).toBeGreaterThan(reads);
        expect(changed).toEqual([]);
        expect(d.held).toBeUndefined();
      }
    } finally {
      closeSync(fd);
    }
    clock.advance(SETTLE);
    await d.idle();
    expect(changed.map(racks)).toEqual([['modified node-1 r9']]);
    expect(errors).toEqual([]);
  });

  it('uses a ConfigMap volume swapped by its ..data link at once', async () => {
    const clock = new ManualClock();
    const dir = scratch();
    const file = join(dir, 'cluster.yaml');
    mkdirSync(join(dir, '..2026_a'));
    writeFileSync(join(dir, '..2026_a', 'cluster.yaml'), CLUSTER);
    symlinkSync('..2026_a', join(dir, '..data'));
    symlinkSync(join('..data', 'cluster.yaml'), file);
    const { d, changed } = await startedOn(file, clock);
    // As the kubelet swaps a volume: a new directory written whole, a link to it renamed over ..data.
    mkdirSync(join(dir, '..2026_b'));
    writeFileSync(
      join(dir, '..2026_b', 'cluster.yaml'),
      doc(node('node-1', 'r9'), node('node-2'), node('node-3')),
    );
    symlinkSync('..2026_b', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    rmSync(join(dir, '..2026_a'), { recursive: true });
    // The clock has not moved: no settle was waited for.
    await changedTo(d, changed, 1);
    expect(racks(changed[0])).toEqual(['modified node-1 r9']);
  });
});
