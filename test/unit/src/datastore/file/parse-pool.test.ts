// Parsing many pieces in worker threads gives what parsing them on the main thread gives, in the
// texts' order, valid, invalid and broken documents alike; a stopped parse rejects. The datastore
// hands a big first load to the workers (its main-thread parse hook is not called for it) and
// parses an ordinary save on the main thread, and both ways come to the same snapshot.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileDatastore, POOL_MIN_PIECES } from '../../../../../src/datastore/file/file-datastore.ts';
import { type Piece, parsePiece } from '../../../../../src/datastore/file/parse.ts';
import { parseInWorkers } from '../../../../../src/datastore/file/parse-pool.ts';
import { ManualClock } from '../../../../support/manual-clock.ts';

const SETTLE = 100;
const node = (i: number) =>
  `apiVersion: v1\nkind: Node\nmetadata: {name: node-${i}, labels: {rack: r${i % 7}}}\n`;
/** Every 50th a Node with a bad name, every 97th broken YAML, the rest valid. */
const text = (i: number) =>
  i % 97 === 96
    ? 'kind: Node\nmetadata: {name: [unclosed\n'
    : i % 50 === 49
      ? 'apiVersion: v1\nkind: Node\nmetadata: {name: Not_A_Name}\n'
      : node(i);

describe('parseInWorkers', () => {
  it('gives the pieces a main-thread parse gives, in order', async () => {
    const texts = Array.from({ length: 1500 }, (_, i) => text(i));
    const pieces = await parseInWorkers(texts, 2);
    expect(pieces).toEqual(texts.map(parsePiece));
    expect(pieces.filter((p) => p.troubled).length).toBeGreaterThan(40);
  });

  it('rejects when stopped, and when stopped before it began', async () => {
    const texts = Array.from({ length: 3000 }, (_, i) => node(i));
    const stop = new AbortController();
    const parsing = parseInWorkers(texts, 2, stop.signal);
    stop.abort();
    await expect(parsing).rejects.toThrow(/stopped/);
    await expect(parseInWorkers(texts, 2, AbortSignal.abort())).rejects.toThrow(/stopped/);
  });
});

describe('FileDatastore with parse workers', () => {
  let dir: string;
  let file: string;
  let clock: ManualClock;
  const stores: FileDatastore[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'margay-file-ds-pool-'));
    file = join(dir, 'cluster.yaml');
    clock = new ManualClock();
  });

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function started(workers: number) {
    const parsed: string[] = [];
    const d = new FileDatastore({
      path: file,
      debounceMs: 10,
      settleMs: SETTLE,
      clock: clock.now,
      timers: clock.timers,
      workers,
      parsePiece: (t: string): Piece => {
        parsed.push(t);
        return parsePiece(t);
      },
    });
    stores.push(d);
    const starting = d.start();
    await d.idle();
    clock.advance(SETTLE);
    await starting;
    return { d, parsed };
  }

  it('parses a big first load in the workers, a save here, to the same snapshot', async () => {
    const n = POOL_MIN_PIECES + 100;
    const nodes = Array.from({ length: n }, (_, i) => node(i));
    writeFileSync(file, nodes.join('---\n'));
    const pooled = await started(2);
    const here = await started(0);
    expect(pooled.parsed).toHaveLength(0);
    expect(here.parsed).toHaveLength(n);
    expect(pooled.d.snapshot().nodes.size).toBe(n);
    expect(pooled.d.snapshot()).toEqual(here.d.snapshot());

    nodes[5] = node(5).replace('rack: r5', 'rack: moved');
    writeFileSync(file, nodes.join('---\n'));
    await pooled.d.reload();
    clock.advance(SETTLE);
    await pooled.d.idle();
    expect(pooled.parsed).toHaveLength(1);
    expect(pooled.parsed[0]).toContain('rack: moved');
    expect(pooled.d.snapshot().nodes.get('node-5')?.metadata.labels).toEqual({ rack: 'moved' });
  });
});
