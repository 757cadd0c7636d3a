// The file datastore parses its file piece by piece (parse.ts: a piece runs from one "---" line to
// the next). That must accept and reject exactly the files one parse of the whole text does, with
// the same resources and the same problem lines. The reference here is that whole-text parse:
// `parseAllDocuments` over the file, every document validated in order, duplicates checked.
//
// Files are made of fragments chosen to sit on piece boundaries badly (file-fragments.ts).
// Seed: FC_SEED=<n> replays a failure.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineCounter, parseAllDocuments } from 'yaml';
import { DatastoreFileError, parseResourceFile } from '../../src/datastore/file/parse.ts';
import type { Resource } from '../../src/model/resource.ts';
import { describeObject, resourceKey, validateResource } from '../../src/model/resource.ts';
import { fileArb, node } from './file-fragments.ts';

const seed = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : undefined;

/** One parse of the whole text: resources, or every problem as "LINE: document N: …". */
function wholeText(text: string, source: string): { resources?: Resource[]; problems?: string[] } {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: true });
  const problems: string[] = [];
  const located: { obj: unknown; where: string; line: number }[] = [];
  const lineOf = (offset: number) => lineCounter.linePos(offset).line;
  const list = Array.isArray(docs) ? docs : [];
  list.forEach((doc, i) => {
    const n = i + 1;
    const line = lineOf(doc.contents?.range[0] ?? doc.range[0]);
    if (doc.errors.length > 0) {
      for (const err of doc.errors) {
        const at = err.linePos?.[0];
        problems.push(`${source}:${at?.line ?? line}: document ${n}: YAML: ${err.message.split('\n')[0]}`);
      }
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      problems.push(`${source}:${line}: document ${n}: YAML: ${(err as Error).message}`);
      return;
    }
    if (value === null || value === undefined) return;
    const v = value as { kind?: unknown; items?: unknown };
    if (typeof v === 'object' && v.kind === 'List') {
      if (!Array.isArray(v.items)) {
        problems.push(`${source}:${line}: document ${n}: List: items: must be a list`);
        return;
      }
      v.items.forEach((obj, j) => {
        located.push({ obj, where: `document ${n} items[${j}]`, line });
      });
      return;
    }
    located.push({ obj: value, where: `document ${n}`, line });
  });
  const resources: Resource[] = [];
  const seen = new Map<string, { where: string; line: number }>();
  for (const item of located) {
    const result = validateResource(item.obj);
    if (!result.ok) {
      for (const p of result.problems) problems.push(`${source}:${item.line}: ${item.where}: ${p}`);
      continue;
    }
    const r = result.resource;
    const id = `${r.kind}\u0000${resourceKey(r)}`;
    const first = seen.get(id);
    if (first !== undefined) {
      problems.push(
        `${source}:${item.line}: ${item.where}: ${describeObject(r.kind, r)}: duplicates ${first.where} (line ${first.line})`,
      );
      continue;
    }
    seen.set(id, item);
    resources.push(r);
  }
  return problems.length > 0 ? { problems } : { resources };
}

function pieceByPiece(text: string, source: string): { resources?: Resource[]; problems?: string[] } {
  try {
    return { resources: parseResourceFile(text, source) };
  } catch (err) {
    if (!(err instanceof DatastoreFileError)) throw err;
    return { problems: [...err.problems] };
  }
}

describe('the file parsed piece by piece', () => {
  it('accepts exactly what one parse of the whole text accepts, with the same resources and problems', () => {
    fc.assert(
      fc.property(fileArb, (text) => {
        const whole = wholeText(text, 'f');
        const pieces = pieceByPiece(text, 'f');
        expect(pieces.resources === undefined).toBe(whole.resources === undefined);
        if (whole.resources !== undefined) {
          expect(pieces.resources).toEqual(whole.resources);
          return;
        }
        const yaml = (problems: readonly string[] | undefined) =>
          (problems ?? []).filter((p) => / document \d+: YAML: /.test(p));
        // A syntax error can run into the documents after it in one parse of the whole text (an
        // unclosed quote reaches for the next quote character; the lines of an unexpected
        // multi-line scalar go uncounted), so only a file without one is compared line by line.
        if (yaml(whole.problems).length === 0) expect(pieces.problems).toEqual(whole.problems);
        else expect(yaml(pieces.problems).length).toBeGreaterThan(0);
      }),
      { numRuns: 1000, ...(seed !== undefined ? { seed } : {}) },
    );
  });

  it('names an unclosed quote where its own document ends', () => {
    const quote = 'apiVersion: v1\nkind: Node\nmetadata:\n  name: "g\n';
    const text = `${node('a')}---\n${quote}---\n${node('b')}`;
    // One parse of the whole text names the end of the file, past the next document.
    expect(wholeText(text, 'f').problems).toEqual([
      'f:13: document 2: YAML: Missing closing "quote at line 13, column 1:',
    ]);
    expect(pieceByPiece(text, 'f').problems).toEqual([
      'f:9: document 2: YAML: Missing closing "quote at line 9, column 1:',
    ]);
  });
});
