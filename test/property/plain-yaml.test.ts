// The quick parse of plain documents (plain-yaml.ts) means what the `yaml` package means: for
// every piece, parsePiece (which takes the quick path where it can) and parsePieceFully (`yaml`
// alone) give equal pieces — the same values, the same scalar types, document counts and lines.
// The texts are the file fragments of the other file-datastore property tests and Kubernetes-like
// documents whose scalars are drawn from the ones YAML schemas disagree on (YAML 1.1 booleans,
// timestamps, binary, octal and underscored numbers, special floats), in block and flow style, as
// values and as keys, quoted and plain. Seed: FC_SEED=<n> replays.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePiece, parsePieceFully, splitPieces } from '../../src/datastore/file/parse.ts';
import { parsePlain } from '../../src/datastore/file/plain-yaml.ts';
import { fileArb } from './file-fragments.ts';

const seed = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : undefined;

/** Scalars whose type depends on the schema, and ordinary ones. */
const SCALARS = [
  'web',
  'a-b',
  '10.0.0.1',
  '10.0.0.0/24',
  '',
  '~',
  'null',
  'Null',
  'NULL',
  'nil',
  'true',
  'True',
  'TRUE',
  'false',
  'yes',
  'no',
  'on',
  'off',
  'y',
  'n',
  '0',
  '-0',
  '+5',
  '007',
  '12',
  '-12',
  '0o17',
  '017',
  '0x1F',
  '0X1F',
  '0b101',
  '1_000',
  '1e3',
  '1E-2',
  '.5',
  '5.',
  '1.0',
  '-.5',
  '+1.5e+3',
  '.inf',
  '-.Inf',
  '+.INF',
  '.nan',
  '.NaN',
  '2024-01-01',
  '2001-12-14t21:59:43.10-05:00',
  '12:30',
  '1:2:3',
  '0.0.0.0',
  '"quoted"',
  "'single'",
  '"true"',
  "'12'",
  '"0x10"',
  'a # not a comment?',
  'text # comment',
  '99999999999999999999',
  '1e400',
  '-',
  '- a',
  '[1, 2]',
  '{a: 1}',
  '"a\\nb"',
];
const scalarArb = fc.constantFrom(...SCALARS);
const keyArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('app', 'tier', 'margay.io/x', 'a.b/c', 'x-y') },
  { weight: 1, arbitrary: scalarArb },
);

const labelsBlock = (entries: readonly (readonly [string, string])[], indent: string): string =>
  entries.map(([k, v]) => `${indent}${k}: ${v}\n`).join('');
const labelsFlow = (entries: readonly (readonly [string, string])[]): string =>
  `{${entries.map(([k, v]) => `${k}: ${v}`).join(', ')}}`;

const docArb = fc
  .record({
    kind: fc.constantFrom('Node', 'Namespace', 'Pod'),
    name: fc.oneof(fc.constantFrom('n1', 'pod-7', 'x'), scalarArb),
    labels: fc.array(fc.tuple(keyArb, scalarArb), { maxLength: 4 }),
    flow: fc.boolean(),
    comment: fc.constantFrom('', '# a comment\n', '\n', '  # indented\n'),
    cidr: fc.oneof(fc.constant(undefined), scalarArb),
    list: fc.boolean(),
  })
  .map((d) => {
    const labels =
      d.labels.length === 0
        ? ''
        : d.flow
          ? `  labels: ${labelsFlow(d.labels)}\n`
          : `  labels:\n${labelsBlock(d.labels, '    ')}`;
    const ns = d.kind === 'Pod' ? '  namespace: default\n' : '';
    const spec =
      d.cidr === undefined
        ? ''
        : d.kind === 'Node'
          ? `spec:\n  podCIDR: ${d.cidr}\n`
          : d.kind === 'Pod'
            ? `spec:\n  nodeName: ${d.cidr}\n`
            : '';
    const body = `apiVersion: v1\nkind: ${d.kind}\nmetadata:\n  name: ${d.name}\n${ns}${labels}${spec}`;
    if (!d.list) return `${d.comment}${body}`;
    const indented = body
      .split('\n')
      .filter((l) => l !== '')
      .map((l, i) => (i === 0 ? `  - ${l}` : `    ${l}`))
      .join('\n');
    return `${d.comment}apiVersion: v1\nkind: List\nitems:\n${indented}\n`;
  });

const pieceTextArb = fc
  .tuple(fc.constantFrom('', '---\n', '--- \n', '--- # c\n', '---\r\n'), docArb)
  .map(([marker, doc]) => (marker === '---\r\n' ? `---\r\n${doc.replaceAll('\n', '\r\n')}` : marker + doc));

describe('the quick parse of plain documents', () => {
  it('gives the pieces `yaml` gives, for Kubernetes-like documents with awkward scalars', () => {
    let quick = 0;
    fc.assert(
      fc.property(pieceTextArb, (text) => {
        if (parsePlain(text) !== undefined) quick++;
        expect(parsePiece(text)).toEqual(parsePieceFully(text));
      }),
      { numRuns: 2000, seed },
    );
    // The quick path is taken for most of these texts, so the comparison is not vacuous.
    expect(quick).toBeGreaterThan(1000);
  });

  it('gives the pieces `yaml` gives, for every piece of files made of boundary fragments', () => {
    fc.assert(
      fc.property(fileArb, (file) => {
        const data = Buffer.from(file);
        const starts = splitPieces(data);
        starts.forEach((s, i) => {
          const text = data.toString('utf8', s, starts[i + 1] ?? data.length);
          expect(parsePiece(text)).toEqual(parsePieceFully(text));
        });
      }),
      { numRuns: 500, seed },
    );
  });

  it('takes the ordinary document and leaves constructs where parsers differ to `yaml`', () => {
    const plain = 'apiVersion: v1\nkind: Node\nmetadata:\n  name: a\n  labels: {rack: r1}\n';
    for (const marker of ['', '---\n', '--- \n', '---\r\n', '--- # c\n'])
      expect(parsePlain(`${marker}${plain}`), marker).toBeDefined();
    expect(parsePlain(`---\n# c\n${plain}`)).toEqual({
      documents: 1,
      line: 3,
      value: { apiVersion: 'v1', kind: 'Node', metadata: { name: 'a', labels: { rack: 'r1' } } },
    });
    for (const text of [
      `${plain}x: &a 1\ny: *a\n`,
      `${plain}x: !!str 1\n`,
      `${plain}1: a\n`,
      `${plain}true: a\n`,
      `${plain}? complex\n: key\n`,
      `${plain}<<: {a: 1}\n`,
      `${plain}...\n`,
      `%YAML 1.2\n---\n${plain}`,
      `\t${plain}`,
    ])
      expect(parsePlain(text), text).toBeUndefined();
  });
});
