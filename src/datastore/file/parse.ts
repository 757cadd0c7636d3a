// The file datastore's format: one multi-document YAML file ("---" between documents) holding
// objects of any kind in their Kubernetes shapes, mixed, in any order; a `kind: List` document
// (what `kubectl get -o yaml` prints) contributes its items. Empty documents are skipped.
//
// The file is accepted or rejected as a whole: every problem (YAML syntax, unknown kind, bad field,
// duplicate kind/namespace/name) is collected and reported with its line, document number, kind,
// name and field, so one save shows every mistake at once and the daemon never runs half a file.
//
// The text is read in pieces: a piece runs from a line that starts with the document marker
// "---" (then a space, a tab, a line break or the end) to the next such line; the first piece is
// whatever comes before the first marker. The YAML parser starts a new document at every such
// line whatever came before it (an unclosed quote or bracket is an error of the document before),
// and anchors, aliases and tags do not reach across documents, so a piece parses the same alone
// as in the file, and a piece whose text is unchanged need not be parsed again (documents.ts).
// A directive line ("%YAML", "%TAG") belongs to the document after it, so a file with a line
// that starts with "%" is one piece. `parsePiece` keeps positions relative to the piece, and
// `assemble` numbers documents and lines across the file, checks duplicates and says every
// problem as one parse of the whole text would.
import { LineCounter, parseAllDocuments } from 'yaml';
import { MargayError } from '../../errors.ts';
import { strings } from '../../model/intern.ts';
import type { Resource } from '../../model/resource.ts';
import { describeObject, resourceKey, validateResource } from '../../model/resource.ts';
import { parsePlain } from './plain-yaml.ts';

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

/** A problem of a document as a whole (YAML syntax, a List without items), in piece positions. */
export interface PieceProblem {
  /** The document's number in the piece, from 1. */
  readonly document: number;
  /** The line in the piece, from 1. */
  readonly line: number;
  /** "YAML: …" or "List: items: must be a list". */
  readonly message: string;
  /** A piece line named inside `message` (a YAML error's "at line L"): where its digits start. */
  readonly messageLine?: { readonly index: number; readonly line: number };
}

/** One object of a piece: a document, or an item of a List document. */
export interface PieceObject {
  /** The document's number in the piece, from 1. */
  readonly document: number;
  /** The index in the List's items; undefined for a document of its own. */
  readonly item: number | undefined;
  /** The line of the document's first content in the piece, from 1. */
  readonly line: number;
  /** The validated object; undefined when it is invalid. */
  readonly resource: Resource | undefined;
  /** Why it is invalid ("Kind name: field: message"); undefined when it is valid. */
  readonly problems: readonly string[] | undefined;
}

/** What one piece of the file holds, wherever it is in the file. */
export interface Piece {
  /** Documents as the YAML parser counts them: none for comments alone, one as a rule. */
  readonly documents: number;
  /** Line feeds in the piece: how far it moves the line numbers of the pieces after it. */
  readonly lines: number;
  readonly syntax: readonly PieceProblem[];
  readonly objects: readonly PieceObject[];
  /** A syntax problem or an invalid object: the file cannot be accepted while it holds this piece. */
  readonly troubled: boolean;
}

const MARKER = Buffer.from('\n---');

/** The syntax problems of every piece that has none: one list, not one per piece. */
const NO_SYNTAX_PROBLEMS: readonly PieceProblem[] = Object.freeze([]);

/**
 * `piece` as the datastore keeps it: its objects' repeated values shared through the thread's
 * string pool (model/intern.ts) and an empty syntax list the shared one. For pieces parsed on this
 * thread or received from a parse worker, whose strings are new copies either way.
 */
export function sharedValues(piece: Piece): Piece {
  for (const o of piece.objects) strings.internValues(o.resource);
  return piece.syntax.length === 0 && piece.syntax !== NO_SYNTAX_PROBLEMS
    ? { ...piece, syntax: NO_SYNTAX_PROBLEMS }
    : piece;
}

const BOM_PERCENT = Buffer.from('\uFEFF%');

/**
 * Whether a line of data[from, to) starts with "%" (a YAML directive, or what could be one);
 * `from` is the start of the file or of a line.
 */
export function hasDirectives(data: Buffer, from = 0, to = data.length): boolean {
  const region = data.subarray(from, to);
  return (
    region[0] === 0x25 ||
    (from === 0 && region.subarray(0, BOM_PERCENT.length).equals(BOM_PERCENT)) ||
    region.indexOf('\n%') >= 0 ||
    region.indexOf('\r%') >= 0
  );
}

/**
 * Adds to `starts` where the pieces of data[from, to) begin: at `from` (the start of the file or
 * of a piece) and at every line start in between with a document marker. Nothing for an empty
 * range. Yields between lines found.
 */
export function* pieceStarts(
  data: Buffer,
  from: number,
  to: number,
  starts: number[],
): Generator<undefined, void> {
  if (from >= to) return;
  starts.push(from);
  for (let at = from; ; ) {
    const newline = data.indexOf(MARKER, at);
    const line = newline + 1;
    if (newline < 0 || line >= to) return;
    const next = data[line + 3];
    // The lexer's test: "---" followed by nothing, a space, a tab or a line break.
    if (next === undefined || next === 0x20 || next === 0x09 || next === 0x0a || next === 0x0d) {
      starts.push(line);
      yield;
    }
    at = line;
  }
}

/** Parses and validates one piece on its own; positions are relative to the piece. */
export function parsePiece(text: string): Piece {
  return plainPiece(text) ?? parsePieceFully(text);
}

/**
 * The piece by plain-yaml.ts when its text is plain and every object in it is valid; undefined
 * otherwise (parsePieceFully then says where each problem is).
 */
function plainPiece(text: string): Piece | undefined {
  const plain = parsePlain(text);
  if (plain === undefined) return undefined;
  const objects: PieceObject[] = [];
  const add = (obj: unknown, item: number | undefined): boolean => {
    const result = validateResource(obj);
    if (!result.ok) return false;
    objects.push({ document: 1, item, line: plain.line, resource: result.resource, problems: undefined });
    return true;
  };
  const v = plain.value as { kind?: unknown; items?: unknown } | null;
  if (v !== null && v !== undefined) {
    if (typeof v === 'object' && v.kind === 'List') {
      if (!Array.isArray(v.items)) return undefined;
      for (let j = 0; j < v.items.length; j++) if (!add(v.items[j], j)) return undefined;
    } else if (!add(v, undefined)) return undefined;
  }
  return {
    documents: plain.documents,
    lines: lineFeeds(text),
    syntax: NO_SYNTAX_PROBLEMS,
    objects,
    troubled: false,
  };
}

function lineFeeds(text: string): number {
  let lines = 0;
  for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) lines++;
  return lines;
}

/** Parses and validates one piece with `yaml`, which keeps every position. */
export function parsePieceFully(text: string): Piece {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: true });
  const syntax: PieceProblem[] = [];
  const objects: PieceObject[] = [];
  const lineOf = (offset: number) => lineCounter.linePos(offset).line;
  const add = (obj: unknown, document: number, item: number | undefined, line: number) => {
    const result = validateResource(obj);
    objects.push(
      result.ok
        ? { document, item, line, resource: result.resource, problems: undefined }
        : { document, item, line, resource: undefined, problems: result.problems },
    );
  };
  // parseAllDocuments returns an EmptyStream (no documents) for an empty text.
  const list = Array.isArray(docs) ? docs : [];
  list.forEach((doc, i) => {
    const document = i + 1;
    // The line of the document's first content, not of its "---" marker.
    const line = lineOf(doc.contents?.range[0] ?? doc.range[0]);
    if (doc.errors.length > 0) {
      for (const err of doc.errors) {
        const at = err.linePos?.[0];
        const message = `YAML: ${err.message.split('\n')[0]}`;
        // prettyErrors ends the first line with " at line L, column C" (L in the piece).
        const tail = at === undefined ? -1 : message.lastIndexOf(` at line ${at.line}, column ${at.col}`);
        syntax.push({
          document,
          line: at?.line ?? line,
          message,
          ...(at !== undefined && tail >= 0
            ? { messageLine: { index: tail + ' at line '.length, line: at.line } }
            : {}),
        });
      }
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      syntax.push({ document, line, message: `YAML: ${(err as Error).message}` });
      return;
    }
    if (value === null || value === undefined) return; // an empty document ("---" at the end)
    const v = value as { kind?: unknown; items?: unknown };
    if (typeof v === 'object' && v.kind === 'List') {
      if (!Array.isArray(v.items)) {
        syntax.push({ document, line, message: 'List: items: must be a list' });
        return;
      }
      v.items.forEach((obj, j) => {
        add(obj, document, j, line);
      });
      return;
    }
    add(value, document, undefined, line);
  });
  return {
    documents: list.length,
    lines: lineFeeds(text),
    syntax,
    objects,
    troubled: syntax.length > 0 || objects.some((o) => o.resource === undefined),
  };
}

export type Assembled =
  | { readonly resources: Resource[]; readonly problems?: undefined }
  | { readonly resources?: undefined; readonly problems: string[] };

/**
 * The file made of `pieces`, in order: every resource, or every problem (syntax first, then the
 * objects' and duplicates in file order), with document numbers and lines counted across the file.
 * Yields after each piece.
 */
export function* assemble(pieces: readonly Piece[], source: string): Generator<undefined, Assembled> {
  const problems: string[] = [];
  let lines = 0;
  let documents = 0;
  for (const piece of pieces) {
    for (const p of piece.syntax) {
      const message =
        p.messageLine === undefined
          ? p.message
          : `${p.message.slice(0, p.messageLine.index)}${p.messageLine.line + lines}${p.message.slice(p.messageLine.index + String(p.messageLine.line).length)}`;
      problems.push(`${source}:${p.line + lines}: document ${p.document + documents}: ${message}`);
    }
    lines += piece.lines;
    documents += piece.documents;
    yield;
  }
  const where = (o: PieceObject, documentOffset: number) =>
    `document ${o.document + documentOffset}${o.item === undefined ? '' : ` items[${o.item}]`}`;
  const resources: Resource[] = [];
  const first = new Map<
    string,
    { readonly object: PieceObject; readonly lines: number; readonly documents: number }
  >();
  lines = 0;
  documents = 0;
  for (const piece of pieces) {
    for (const o of piece.objects) {
      const line = o.line + lines;
      if (o.resource === undefined) {
        for (const p of o.problems ?? []) problems.push(`${source}:${line}: ${where(o, documents)}: ${p}`);
        continue;
      }
      const r = o.resource;
      const id = `${r.kind}\u0000${resourceKey(r)}`;
      const earlier = first.get(id);
      if (earlier !== undefined) {
        problems.push(
          `${source}:${line}: ${where(o, documents)}: ${describeObject(r.kind, r)}: duplicates ${where(earlier.object, earlier.documents)} (line ${earlier.object.line + earlier.lines})`,
        );
        continue;
      }
      first.set(id, { object: o, lines, documents });
      resources.push(r);
    }
    lines += piece.lines;
    documents += piece.documents;
    yield;
  }
  return problems.length > 0 ? { problems } : { resources };
}

/**
 * A step of work on a file: nothing (a point where the work may pause), or pieces' texts to
 * parse, answered with their pieces in the same order (the datastore may parse them elsewhere).
 */
export type Step = undefined | { readonly parse: readonly string[] };

/**
 * Runs work to its end at once, parsing here what it asks to parse (the datastore spreads the
 * same work over turns of the event loop).
 */
export function finish<T>(
  work: Generator<Step, T, readonly Piece[] | undefined>,
  parse: (text: string) => Piece = parsePiece,
): T {
  let answer: readonly Piece[] | undefined;
  for (;;) {
    const step = work.next(answer);
    if (step.done) return step.value;
    answer = step.value === undefined ? undefined : step.value.parse.map(parse);
  }
}

/** Where the pieces of a whole file begin (one piece for a file with directives). */
export function splitPieces(data: Buffer): number[] {
  const starts: number[] = [];
  if (hasDirectives(data)) {
    if (data.length > 0) starts.push(0);
  } else finish(pieceStarts(data, 0, data.length, starts));
  return starts;
}

/**
 * Parses and validates the file's text. Returns every resource, or throws DatastoreFileError
 * listing every problem.
 */
export function parseResourceFile(text: string, source: string): Resource[] {
  const data = Buffer.from(text, 'utf8');
  const starts = splitPieces(data);
  const pieces = starts.map((start, i) =>
    parsePiece(data.toString('utf8', start, starts[i + 1] ?? data.length)),
  );
  const result = finish(assemble(pieces, source));
  if (result.problems !== undefined) throw new DatastoreFileError(source, result.problems);
  return result.resources;
}
