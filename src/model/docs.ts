// The resource reference (Markdown), generated from the same schemas as the CRDs and the
// validation, so the documented fields, types, bounds, enums and defaults cannot drift from what
// the daemon accepts. `node src/model/gen.ts` writes it; a test fails when the committed copy is
// stale.
import { z } from 'zod';
import { bgpConfigurationSpecSchema, bgpPeerSpecSchema } from './bgp.ts';
import type { JsonSchema } from './crds.ts';
import { specSchema } from './crds.ts';
import { DURATION_PATTERN } from './duration.ts';
import { ipPoolSpecSchema } from './ippool.ts';
import { networkPolicySchema, podSchema } from './kube.ts';
import { NODE_ANNOTATION_DOCS, nodeSchema } from './node.ts';
import { KINDS } from './resource.ts';

function looseSchema(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, {
    target: 'openapi-3.0',
    io: 'input',
    unrepresentable: 'any',
    reused: 'inline',
  }) as JsonSchema;
}

function typeText(node: JsonSchema): string {
  if (node['x-kubernetes-preserve-unknown-fields'] === true) return 'selector (string or object)';
  if (node['x-kubernetes-int-or-string'] === true && node.pattern === DURATION_PATTERN)
    return `duration or integer seconds, ${node.minimum}..${node.maximum} s`;
  if (node['x-kubernetes-int-or-string'] === true) return 'integer or string';
  if (Array.isArray(node.anyOf)) return (node.anyOf as JsonSchema[]).map(typeText).join(' or ');
  const parts: string[] = [];
  switch (node.type) {
    case 'array':
      parts.push(`list of ${typeText((node.items ?? {}) as JsonSchema)}`);
      break;
    case 'object':
      parts.push(
        node.properties === undefined && typeof node.additionalProperties === 'object'
          ? `map of ${typeText(node.additionalProperties as JsonSchema)}`
          : 'object',
      );
      break;
    case undefined:
      parts.push('any');
      break;
    default:
      parts.push(String(node.type));
  }
  if (Array.isArray(node.enum)) parts.push(`(${node.enum.map((v) => `\`${String(v)}\``).join(', ')})`);
  const { minimum: lo, maximum: hi } = node;
  const safe = (v: unknown) => typeof v === 'number' && Math.abs(v) < Number.MAX_SAFE_INTEGER;
  if (safe(lo) && safe(hi)) parts.push(`${lo}..${hi}`);
  else if (safe(lo)) parts.push(`≥ ${lo}`);
  else if (safe(hi)) parts.push(`≤ ${hi}`);
  if (typeof node.minItems === 'number' && node.minItems > 0) parts.push(`(at least ${node.minItems})`);
  if (typeof node.maxItems === 'number') parts.push(`(at most ${node.maxItems})`);
  return parts.join(' ');
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

interface Row {
  readonly field: string;
  readonly type: string;
  readonly required: boolean;
  readonly def: string;
  readonly description: string;
}

/** Fields kept as written in the CRD that are not selectors: what they are. */
const KEPT_AS_WRITTEN: Readonly<Record<string, string>> = {
  'spec.maxPrefix': 'integer 1..4294967295, or object keyed by family',
};

function rows(node: JsonSchema, path: string, out: Row[]): Row[] {
  const props = (node.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((node.required ?? []) as string[]);
  for (const [name, child] of Object.entries(props)) {
    const field = `${path}.${name}`;
    out.push({
      field,
      type: KEPT_AS_WRITTEN[field] ?? typeText(child),
      required: required.has(name),
      def: child.default === undefined ? '' : `\`${JSON.stringify(child.default)}\``,
      description: typeof child.description === 'string' ? child.description : '',
    });
    if (child.type === 'object' && child.properties !== undefined) rows(child, field, out);
    const items = child.items as JsonSchema | undefined;
    if (child.type === 'array' && items?.type === 'object' && items.properties !== undefined)
      rows(items, `${field}[]`, out);
  }
  return out;
}

function table(node: JsonSchema, path: string): string[] {
  const lines = ['| Field | Type | Required | Default | Description |', '|---|---|---|---|---|'];
  for (const r of rows(node, path, []))
    lines.push(
      `| \`${r.field}\` | ${cell(r.type)} | ${r.required ? 'yes' : ''} | ${cell(r.def)} | ${cell(r.description)} |`,
    );
  return lines;
}

function heading(kind: keyof typeof KINDS): string[] {
  const info = KINDS[kind];
  const scope = info.namespaced ? 'namespaced' : 'cluster-scoped';
  return [`## ${kind}`, '', `\`apiVersion: ${info.apiVersion}\`, ${scope}. ${info.description}`, ''];
}

const SELECTOR_DOC = [
  '## Selectors',
  '',
  'Fields named `nodeSelector` and `peerSelector` take either a Calico selector expression (a string)',
  'or a Kubernetes label selector (`matchLabels` / `matchExpressions`). The CRDs keep these fields as',
  'written (`x-kubernetes-preserve-unknown-fields`); the daemon validates them and reports the',
  'position of a syntax error.',
  '',
  '| Expression | Matches |',
  '|---|---|',
  '| `all()` (or an empty string) | every object |',
  "| `k == 'v'` | label `k` is present with value `v` |",
  "| `k != 'v'` | label `k` is absent, or present with another value |",
  '| `has(k)` | label `k` is present |',
  "| `k in {'a', 'b'}` | label `k` is present with one of the values |",
  "| `k not in {'a', 'b'}` | label `k` is absent, or present with none of the values |",
  "| `k contains 's'`, `k starts with 's'`, `k ends with 's'` | label `k` is present and its value matches |",
  '| `!e`, `e && f`, `e \\|\\| f`, `(e)` | negation, and, or (`!` binds tightest, then `&&`, then `\\|\\|`) |',
  '',
  "Strings are in single or double quotes. In a label selector, `matchLabels` `k: v` is `k == 'v'`,",
  '`In` is `in`, `NotIn` is `not in`, `Exists` is `has(k)`, `DoesNotExist` is `!has(k)`; all terms are ANDed.',
  '',
];

/** The whole reference, deterministic. */
export function buildReference(): string {
  const nodeShape = nodeSchema.shape;
  const podShape = podSchema.shape;
  const lines: string[] = [
    '# Margay resource reference',
    '',
    '<!-- Generated by `node src/model/gen.ts` from src/model/*.ts. Do not edit; a test fails when it is stale. -->',
    '',
    'Margay reads these objects from the Kubernetes API (the margay.io kinds are CRDs installed by the',
    'chart from `crds/`) or from the file datastore: one multi-document YAML file holding objects of any',
    'of these kinds in the same shapes. Every object has `apiVersion`, `kind` and `metadata`',
    '(`name`; `namespace` for namespaced kinds, default `default`; `labels`; `annotations`). Unknown',
    'fields in a margay.io spec, a NetworkPolicy spec or `metadata` are errors; fields Margay does not',
    'read in Nodes and Pods are ignored. An invalid file is rejected as a whole with the document,',
    'kind, name and field named, and the last good state stays in force.',
    '',
    ...SELECTOR_DOC,
    ...heading('BGPConfiguration'),
    ...table(specSchema(bgpConfigurationSpecSchema), 'spec'),
    '',
    ...heading('BGPPeer'),
    'One of `peerIP` (with `asNumber`) or `peerSelector`; at most one of `node` and `nodeSelector`.',
    '',
    ...table(specSchema(bgpPeerSpecSchema), 'spec'),
    '',
    ...heading('IPPool'),
    'At most one of `vxlanMode` and `ipipMode` is not `Never`; `ipipMode` must be `Never` for IPv6 pools.',
    '',
    ...table(specSchema(ipPoolSpecSchema), 'spec'),
    '',
    ...heading('Node'),
    'Fields read:',
    '',
    ...table(
      {
        type: 'object',
        properties: { spec: looseSchema(nodeShape.spec), status: looseSchema(nodeShape.status) },
      },
      '',
    ).map((l) => l.replace('| `.', '| `')),
    '',
    'Per-node settings, as annotations:',
    '',
    '| Annotation | Meaning |',
    '|---|---|',
    ...Object.entries(NODE_ANNOTATION_DOCS).map(([k, v]) => `| \`${k}\` | ${cell(v)} |`),
    '',
    ...heading('Pod'),
    'Fields read:',
    '',
    ...table(
      {
        type: 'object',
        properties: { spec: looseSchema(podShape.spec), status: looseSchema(podShape.status) },
      },
      '',
    ).map((l) => l.replace('| `.', '| `')),
    '',
    ...heading('Namespace'),
    'Only `metadata.labels` is read (matched by NetworkPolicy `namespaceSelector`).',
    '',
    ...heading('NetworkPolicy'),
    ...table(looseSchema(networkPolicySchema.shape.spec), 'spec'),
    '',
  ];
  return `${lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}
