// The file datastore reads a new text against the one in force document by document: unchanged
// documents keep their parse and their very Resource objects, only new documents are parsed (the
// parses are counted through the datastore's parsePiece hook), and the changes come from the
// documents that went and came, the same as a diff of the two snapshots. Timers run on a
// ManualClock; every save is a write in place followed by the settle.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileDatastore } from '../../../../../src/datastore/file/file-datastore.ts';
import { type Piece, parsePiece } from '../../../../../src/datastore/file/parse.ts';
import type { SnapshotChanged } from '../../../../../src/datastore/types.ts';
import type { MargayError } from '../../../../../src/errors.ts';
import { diffSnapshots } from '../../../../../src/model/snapshot.ts';
import { ManualClock } from '../../../../support/manual-clock.ts';

const SETTLE = 100;
const node = (name: string, rack = 'r1') =>
  `apiVersion: v1\nkind: Node\nmetadata: {name: ${name}, labels: {rack: ${rack}}}\n`;
const doc = (...parts: string[]) => parts.join('---\n');
const FIVE = ['node-1', 'node-2', 'node-3', 'node-4', 'node-5'].map((n) => node(n));

let dir: string;
let file: string;
let clock: ManualClock;
let ds: FileDatastore | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'margay-file-ds-d-'));
  file = join(dir, 'cluster.yaml');
  clock = new ManualClock();
});

afterEach(async () => {
  await ds?.stop();
  ds = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** A datastore on `text` whose piece parses are recorded (the text of each). */
async function started(text: string) {
  writeFileSync(file, text);
  const parsed: string[] = [];
  const d = new FileDatastore({
    path: file,
    debounceMs: 10,
    settleMs: SETTLE,
    clock: clock.now,
    timers: clock.timers,
    parsePiece: (t: string): Piece => {
      parsed.push(t);
      return parsePiece(t);
    },
  });
  ds = d;
  const changed: SnapshotChanged[] = [];
  const errors: MargayError[] = [];
  d.on('changed', (e) => changed.push(e));
  d.on('error', (e) => errors.push(e));
  const starting = d.start();
  await d.idle();
  clock.advance(SETTLE);
  await starting;
  return { d, parsed, changed, errors };
}

/** Writes `text` in place and lets it settle. */
async function save(d: FileDatastore, text: string): Promise<void> {
  writeFileSync(file, text);
  await d.reload();
  clock.advance(SETTLE);
  await d.idle();
}

const summary = (e: SnapshotChanged | undefined) => e?.changes.map((c) => `${c.type} ${c.kind} ${c.key}`);

describe('FileDatastore reads a new text document by document', () => {
  it('parses only the changed document; the others keep their objects', async () => {
    const { d, parsed, changed } = await started(doc(...FIVE));
    expect(parsed).toHaveLength(5);
    const before = d.snapshot();
    parsed.length = 0;
    await save(d, doc(FIVE[0]!, FIVE[1]!, node('node-3', 'r7'), FIVE[3]!, FIVE[4]!));
    expect(parsed).toEqual([`---\n${node('node-3', 'r7')}`]);
    expect(summary(changed[0])).toEqual(['modified Node node-3']);
    expect(changed[0]!.changes).toEqual(diffSnapshots(changed[0]!.previous, changed[0]!.snapshot));
    const after = d.snapshot();
    for (const name of ['node-1', 'node-2', 'node-4', 'node-5'])
      expect(after.nodes.get(name)).toBe(before.nodes.get(name));
    expect(after.nodes.get('node-3')?.metadata.labels).toEqual({ rack: 'r7' });
  });

  it('adding at the end parses the new document alone; deleting parses nothing', async () => {
    const { d, parsed, changed } = await started(doc(...FIVE));
    parsed.length = 0;
    await save(d, doc(...FIVE, node('node-6')));
    expect(parsed).toEqual([`---\n${node('node-6')}`]);
    await save(d, doc(FIVE[0]!, FIVE[2]!, FIVE[3]!, FIVE[4]!, node('node-6')));
    expect(parsed).toHaveLength(1);
    expect(changed.map(summary)).toEqual([['added Node node-6'], ['deleted Node node-2']]);
    for (const e of changed) expect(e.changes).toEqual(diffSnapshots(e.previous, e.snapshot));
    expect(changed[1]!.changes[0]!.resource).toBe(changed[0]!.snapshot.nodes.get('node-2'));
  });

  it('moving documents parses nothing and changes nothing', async () => {
    const { d, parsed, changed, errors } = await started(doc(...FIVE));
    const before = d.snapshot();
    parsed.length = 0;
    // The first document stays first: it has no "---" line of its own, so moving it changes its text.
    await save(d, doc(FIVE[0]!, FIVE[3]!, FIVE[1]!, FIVE[4]!, FIVE[2]!));
    expect(parsed).toEqual([]);
    expect(changed).toEqual([]);
    expect(errors).toEqual([]);
    expect(d.snapshot()).toBe(before);
  });

  it('a document written differently to the same effect emits nothing and keeps the object in force', async () => {
    const { d, parsed, changed } = await started(doc(...FIVE));
    const before = d.snapshot();
    parsed.length = 0;
    const blockStyle =
      '# the same node\napiVersion: v1\nkind: Node\nmetadata:\n  name: node-2\n  labels:\n    rack: r1\n';
    await save(d, doc(FIVE[0]!, blockStyle, FIVE[2]!, FIVE[3]!, FIVE[4]!));
    expect(parsed).toHaveLength(1);
    expect(changed).toEqual([]);
    expect(d.snapshot().nodes.get('node-2')).toBe(before.nodes.get('node-2'));
    // The next edit is read against the new text: only its own document is parsed.
    await save(d, doc(FIVE[0]!, blockStyle, FIVE[2]!, FIVE[3]!, node('node-5', 'r2')));
    expect(parsed).toHaveLength(2);
    expect(summary(changed[0])).toEqual(['modified Node node-5']);
  });

  it('an object defined again in a new document rejects the file, naming both places', async () => {
    const { d, changed, errors } = await started(doc(...FIVE));
    const before = d.snapshot();
    await save(d, doc(...FIVE, node('node-2', 'r9')));
    expect(changed).toEqual([]);
    expect(errors.map((e) => e.message)).toEqual([
      `${file}: rejected (1 problem):\n  ${file}:21: document 6: Node node-2: duplicates document 2 (line 5)`,
    ]);
    expect(d.snapshot()).toBe(before);
  });

  it('an invalid edit and its fix each parse the edited document alone', async () => {
    const { d, parsed, changed, errors } = await started(doc(...FIVE));
    parsed.length = 0;
    const broken = 'apiVersion: v1\nkind: Node\nmetadata: {name: node-4, labels: {rack: [r1]}}\n';
    await save(d, doc(FIVE[0]!, FIVE[1]!, FIVE[2]!, broken, FIVE[4]!));
    expect(errors.map((e) => e.code)).toEqual(['MARGAY_ERR_DATASTORE_INVALID']);
    expect(errors[0]!.message).toContain(`${file}:13: document 4: Node node-4: metadata.labels.rack:`);
    await save(d, doc(FIVE[0]!, FIVE[1]!, FIVE[2]!, node('node-4', 'r4'), FIVE[4]!));
    expect(parsed).toHaveLength(2);
    expect(summary(changed[0])).toEqual(['modified Node node-4']);
    expect(d.lastError).toBeUndefined();
  });

  it('a file invalid at start and then fixed parses the fixed document alone', async () => {
    const broken = 'apiVersion: v1\nkind: Node\nmetadata: {name: node-3, labels: {rack: [r1]}}\n';
    const { d, parsed } = await started(doc(FIVE[0]!, FIVE[1]!, broken, FIVE[3]!, FIVE[4]!));
    expect(d.ready()).toBe(false);
    expect(parsed).toHaveLength(5);
    await save(d, doc(...FIVE));
    expect(d.ready()).toBe(true);
    expect(parsed).toHaveLength(6);
    expect([...d.snapshot().nodes.keys()].sort()).toEqual(['node-1', 'node-2', 'node-3', 'node-4', 'node-5']);
  });
});
