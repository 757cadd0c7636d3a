// The file datastore's format: one multi-document YAML file ("---" between documents) holding
// objects of any kind in their Kubernetes shapes, mixed, in any order; a `kind: List` document
// (what `kubectl get -o yaml` prints) contributes its items. Empty documents are skipped.
//
// The file is accepted or rejected as a whole: every problem (YAML syntax, unknown kind, bad field,
// duplicate kind/namespace/name) is collected and reported with its line, document number, kind,
// name and field, so one save shows every mistake at once and the daemon never runs half a file.
import { LineCounter, parseAllDocuments } from 'yaml';
import { MargayError } from '../../errors.ts';
import type { Resource } from '../../model/resource.ts';
import { describeObject, resourceKey, validateResource } from '../../model/resource.ts';

export class DatastoreFileError extends MargayError {
  /** One line per problem: "FILE:LINE: document N: Kind name: field: message". */
  readonly problems: readonly string[];
  constructor(source: string, problems: readonly string[]) {
    super(
      'MARGAY_ERR_DATASTORE_INVALID',
      `${source}: rejected (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  ${problems.join('\n  ')}`,
    );
    this.problems = problems;
  }
}

interface Located {
  readonly obj: unknown;
  /** "document 3" or "document 3 items[1]". */
  readonly where: string;
  readonly line: number;
}

/**
 * Parses and validates the file's text. Returns every resource, or throws DatastoreFileError
 * listing every problem.
 */
export function parseResourceFile(text: string, source: string): Resource[] {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: true });
  const problems: string[] = [];
  const located: Located[] = [];
  const lineOf = (offset: number) => lineCounter.linePos(offset).line;
  // parseAllDocuments returns an EmptyStream (no documents) for an empty file.
  const list = Array.isArray(docs) ? docs : [];
  list.forEach((doc, i) => {
    const n = i + 1;
    // The line of the document's first content, not of its "---" marker.
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
    if (value === null || value === undefined) return; // an empty document ("---" at the end)
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
  const seen = new Map<string, Located>();
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
  if (problems.length > 0) throw new DatastoreFileError(source, problems);
  return resources;
}
