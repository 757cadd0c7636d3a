// A quicker parse for the plain documents that make up almost every datastore file, with the
// meaning the `yaml` package (parse.ts) gives them.
//
// The `yaml` package keeps every node with its position, which the file datastore needs to say
// where a problem is, and which costs several times what the values alone cost. js-yaml builds
// the values alone. The two agree on what a plain document means once js-yaml resolves plain
// scalars with the YAML 1.2 core schema exactly as `yaml` does (SCHEMA below: the same patterns
// for null, booleans, integers and floats, and nothing else: no timestamps, no binary or
// underscores in numbers, no merge keys). What else could tell them apart is left to `yaml`: a
// text takes this path only when it has none of the constructs where they could differ —
// tags, anchors and aliases, directives, document end markers, complex keys, tabs, a byte order
// mark, a carriage return that does not end a line (a line break to js-yaml only), a key that is
// not a string (a plain `1:` or `true:` key: each package turns it into a property name its own
// way), content on the "---" line, or more than one document. The caller (parse.ts) uses the
// result only when every object in it is valid; anything with a problem is parsed again by
// `yaml`, which says where the problem is.
import { FAILSAFE_SCHEMA, loadAll, Type } from 'js-yaml';

const NULL = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const INT = /^[-+]?[0-9]+$/;
const INT_OCT = /^0o[0-7]+$/;
const INT_HEX = /^0x[0-9a-fA-F]+$/;
const FLOAT_NAN = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const FLOAT_EXP = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;

/** The YAML 1.2 core schema's plain scalars, resolved as the `yaml` package resolves them. */
const SCHEMA = FAILSAFE_SCHEMA.extend({
  implicit: [
    new Type('tag:yaml.org,2002:null', {
      kind: 'scalar',
      resolve: (s: string | null) => s === null || NULL.test(s),
      construct: () => null,
    }),
    new Type('tag:yaml.org,2002:bool', {
      kind: 'scalar',
      resolve: (s: string | null) => s !== null && BOOL.test(s),
      construct: (s: string) => s[0] === 't' || s[0] === 'T',
    }),
    new Type('tag:yaml.org,2002:int', {
      kind: 'scalar',
      resolve: (s: string | null) => s !== null && (INT.test(s) || INT_OCT.test(s) || INT_HEX.test(s)),
      construct: (s: string) =>
        INT_OCT.test(s)
          ? Number.parseInt(s.slice(2), 8)
          : INT_HEX.test(s)
            ? Number.parseInt(s.slice(2), 16)
            : Number.parseInt(s, 10),
    }),
    new Type('tag:yaml.org,2002:float', {
      kind: 'scalar',
      resolve: (s: string | null) => s !== null && (FLOAT_NAN.test(s) || FLOAT_EXP.test(s) || FLOAT.test(s)),
      construct: (s: string) =>
        FLOAT_NAN.test(s)
          ? s.slice(-3).toLowerCase() === 'nan'
            ? Number.NaN
            : s[0] === '-'
              ? Number.NEGATIVE_INFINITY
              : Number.POSITIVE_INFINITY
          : Number.parseFloat(s),
    }),
  ],
});

/** Characters and lines after which a text goes to `yaml` (see the header). */
const UNSAFE_CHARACTERS = /[!&*%\t\uFEFF]|\r(?!\n)/;
const UNSAFE_LINE = /^(?:\.\.\.|---[ \t]*[^\s#]|[ \t]*\?(?:\s|$)|[ \t]*<<[ \t]*:)/m;
/** A plain key that is not a string: null, a boolean or a number, in block or flow style. */
const NON_STRING_KEY =
  /(?:^[\s-]*|[{,]\s*)(?:~|[Nn]ull|NULL|[Tt]rue|TRUE|[Ff]alse|FALSE|[-+]?[0-9][0-9a-fA-FoOxX.eE+-]*|[-+]?\.[0-9][0-9eE+-]*|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)?\s*:(?:\s|$)/m;

/** What a plain text holds: its documents as `yaml` counts them, and the first one's value. */
export interface PlainParse {
  /** 0 for a text of comments and blank lines alone, else 1. */
  readonly documents: 0 | 1;
  /** The document's value (null for an empty document). */
  readonly value: unknown;
  /** The line of the document's first content, from 1 (the marker's line counts). */
  readonly line: number;
}

/**
 * The piece's document by js-yaml, or undefined when the text is not plain (see the header) or
 * js-yaml finds a problem in it: the caller then parses it with `yaml`.
 */
export function parsePlain(text: string): PlainParse | undefined {
  if (UNSAFE_CHARACTERS.test(text) || UNSAFE_LINE.test(text) || NON_STRING_KEY.test(text)) return undefined;
  const { marker, line } = firstContent(text);
  let docs: unknown[];
  try {
    docs = loadAll(text, undefined, { schema: SCHEMA }) as unknown[];
  } catch {
    return undefined;
  }
  if (docs.length > 1) return undefined;
  if (line === undefined) {
    // Comments and blank lines alone: an empty document after a marker, none without one.
    if (docs.length === 1 && docs[0] !== null && docs[0] !== undefined) return undefined;
    return { documents: marker ? 1 : 0, value: null, line: 1 };
  }
  if (docs.length === 0) return undefined;
  return { documents: 1, value: docs[0], line };
}

/** Whether the text opens with a "---" line, and the first line with content (from 1). */
function firstContent(text: string): { marker: boolean; line: number | undefined } {
  let marker = false;
  let n = 0;
  for (let at = 0; at < text.length; ) {
    const end = text.indexOf('\n', at);
    const raw = text.slice(at, end < 0 ? text.length : end);
    n++;
    at = end < 0 ? text.length : end + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    if (!marker && n === 1 && /^---(?:\s|$)/.test(raw)) {
      marker = true;
      continue;
    }
    if (!marker && /^---(?:\s|$)/.test(raw)) return { marker: true, line: undefined };
    return { marker, line: n };
  }
  return { marker, line: undefined };
}
