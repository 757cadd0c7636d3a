// Multi-document YAML files for the file datastore's property tests, made of fragments chosen to
// sit on piece boundaries badly: block scalars holding "---", quoted and flow scalars left open
// before a "---", "..." document ends, comments only, "---" with content or a tab after it, "----"
// and "---x" that are not markers, CRLF and lone CR line ends, List documents, duplicates, invalid
// objects, directives.
import fc from 'fast-check';

export const node = (name: string) => `apiVersion: v1\nkind: Node\nmetadata: {name: ${name}}\n`;
const ns = (name: string) =>
  `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n  labels: {env: prod}\n`;

/** Fragments a file accepts (unless two define the same object). */
export const GOOD = [
  node('a'),
  node('b'),
  ns('shop'),
  ns('shop'), // a duplicate when both are chosen
  'apiVersion: v1\nkind: Node\nmetadata:\n  name: c\n  annotations:\n    note: |\n      text\n      ---\n      more\n',
  'apiVersion: v1\nkind: Node\nmetadata:\n  name: d\n  annotations:\n    note: >-\n      folded\n',
  'apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: Namespace, metadata: {name: l1}}\n',
  '# only a comment\n',
  '',
  'apiVersion: v1\nkind: Node\nmetadata: {name: e}\n...\n',
  'apiVersion: v1\nkind: Node\nmetadata: {name: f}\n...\n# after the end\n',
  'apiVersion: v1\r\nkind: Node\r\nmetadata: {name: j}\r\n',
  'apiVersion: v1\nkind: Node\nmetadata: {name: m, labels: &l {x: y}}\nspec: {podCIDR: 10.0.0.0/24}\n',
  'apiVersion: v1\nkind: Node\nmetadata: {name: o}\nspec: {podCIDR: !!str 10.1.0.0/24}\n',
];
/** Fragments that break a file, or a document next to them. */
export const BROKEN = [
  'apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: Namespace, metadata: {name: l2}}\n  - {apiVersion: v1, kind: Namespace}\n',
  'apiVersion: v1\nkind: List\nitems: 3\n',
  'apiVersion: v1\nkind: Node\nmetadata: {name: "g\n', // an unclosed double quote
  "apiVersion: v1\nkind: Node\nmetadata: {name: 'h\n", // an unclosed single quote
  'apiVersion: v1\nkind: Node\nmetadata: {name: i\n', // an unclosed flow mapping
  'kind: [unclosed\n',
  'apiVersion: v1\nkind: Service\nmetadata: {name: web}\n',
  'apiVersion: margay.io/v1\nkind: BGPPeer\nmetadata: {name: tor}\nspec: {peerIP: 192.0.2.1, asNumber: 0}\n',
  'a: 1\na: 2\n',
  '- a\n- b\n',
  'apiVersion: v1\rkind: Node\rmetadata: {name: k}\r',
  'apiVersion: v1\nkind: Node\nmetadata: {name: n, labels: *l}\n', // an alias from another document
  '----\n',
  '---x: 1\n',
  '\tapiVersion: v1\n',
  '%YAML 1.2\n',
  '%TAG !m! tag:margay.io,2024:\n',
];
export const SEPARATORS = [
  '---\n',
  '---\n',
  '---\n',
  '--- \n',
  '---\t\n',
  '---\r\n',
  '--- # c\n',
  '...\n---\n',
  '',
  '\n',
];

export const fragmentArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...GOOD) },
  { weight: 1, arbitrary: fc.constantFrom(...BROKEN) },
);
/** A file as its parts: a head, fragments each after a separator, a tail. */
export interface FileSpec {
  readonly head: string;
  readonly parts: readonly (readonly [string, string])[];
  readonly tail: string;
}

export const render = (f: FileSpec): string => f.head + f.parts.map(([s, p]) => s + p).join('') + f.tail;

export const partArb = fc.tuple(fc.constantFrom(...SEPARATORS), fragmentArb);

export const fileSpecArb: fc.Arbitrary<FileSpec> = fc.record({
  head: fc.constantFrom('', '# header\n', '---\n', '\uFEFF'),
  parts: fc.array(partArb, { maxLength: 8 }),
  tail: fc.constantFrom('', '---\n', '\n', '---'),
});

export const fileArb = fileSpecArb.map(render);

/** An edit of a file as a save makes it: parts replaced, added, dropped, moved; head or tail changed. */
export const editArb = fc.oneof(
  fc.record({ type: fc.constant('replace' as const), at: fc.nat(), part: partArb }),
  fc.record({ type: fc.constant('insert' as const), at: fc.nat(), part: partArb }),
  fc.record({ type: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ type: fc.constant('move' as const), at: fc.nat(), to: fc.nat() }),
  fc.record({ type: fc.constant('head' as const), head: fc.constantFrom('', '# other header\n', '---\n') }),
  fc.record({ type: fc.constant('tail' as const), tail: fc.constantFrom('', '---\n', '\n') }),
);

export function edit(f: FileSpec, e: EditOf<typeof editArb>): FileSpec {
  const parts = [...f.parts];
  const at = parts.length === 0 ? 0 : ('at' in e ? e.at : 0) % (parts.length + (e.type === 'insert' ? 1 : 0));
  switch (e.type) {
    case 'replace':
      if (parts.length > 0) parts[at] = e.part;
      return { ...f, parts };
    case 'insert':
      parts.splice(at, 0, e.part);
      return { ...f, parts };
    case 'delete':
      parts.splice(at, 1);
      return { ...f, parts };
    case 'move': {
      const [moved] = parts.splice(at, 1);
      if (moved !== undefined) parts.splice(e.to % (parts.length + 1), 0, moved);
      return { ...f, parts };
    }
    case 'head':
      return { ...f, head: e.head };
    case 'tail':
      return { ...f, tail: e.tail };
  }
}

type EditOf<A> = A extends fc.Arbitrary<infer T> ? T : never;
