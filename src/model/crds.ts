// CustomResourceDefinitions (apiextensions.k8s.io/v1) for the margay.io kinds, generated from the
// same zod schemas that validate the objects, so the API server and the daemon agree on fields,
// enums, bounds and patterns. What a structural schema cannot say (cross-field rules such as
// "not both vxlanMode and ipipMode", prefix host bits, selector syntax) only the daemon checks.
//
// Structural schema rules enforced here (apiextensions-apiserver validation.go and the
// "structural schemas" KEP): a non-empty `type` on every node unless it is int-or-string or
// preserve-unknown-fields; no $ref/definitions/id/$schema/dependencies/patternProperties/
// additionalItems; no uniqueItems: true; additionalProperties never false and never beside
// properties; inside anyOf/allOf/oneOf/not no type/description/default/additionalProperties/
// nullable (except the int-or-string pattern); metadata at the root is only `type: object`;
// patterns are RE2 (no lookaround, no backreferences). `structuralProblems` checks a schema
// against these rules; the generator refuses to emit a CRD that breaks one.
import { z } from 'zod';
import { bgpConfigurationSpecSchema, bgpPeerSpecSchema } from './bgp.ts';
import { ipPoolSpecSchema } from './ippool.ts';
import { MARGAY_GROUP } from './meta.ts';
import { KINDS } from './resource.ts';

export type JsonSchema = { [key: string]: unknown };

export const CRD_VERSION = 'v1';

interface CrdSource {
  readonly kind: 'BGPConfiguration' | 'BGPPeer' | 'IPPool';
  readonly spec: z.ZodType;
  readonly specRequired: boolean;
  readonly shortNames: readonly string[];
  readonly columns: readonly { name: string; type: string; jsonPath: string; description: string }[];
}

const SOURCES: readonly CrdSource[] = [
  {
    kind: 'BGPConfiguration',
    spec: bgpConfigurationSpecSchema,
    specRequired: false,
    shortNames: ['bgpconfig'],
    columns: [
      { name: 'AS', type: 'integer', jsonPath: '.spec.asNumber', description: 'Cluster AS number' },
      {
        name: 'Mesh',
        type: 'boolean',
        jsonPath: '.spec.nodeToNodeMeshEnabled',
        description: 'Node-to-node mesh',
      },
    ],
  },
  {
    kind: 'BGPPeer',
    spec: bgpPeerSpecSchema,
    specRequired: true,
    shortNames: ['bgpp'],
    columns: [
      { name: 'Peer IP', type: 'string', jsonPath: '.spec.peerIP', description: 'Peer address' },
      { name: 'AS', type: 'integer', jsonPath: '.spec.asNumber', description: 'Peer AS number' },
      { name: 'Node', type: 'string', jsonPath: '.spec.node', description: 'The one node that peers' },
    ],
  },
  {
    kind: 'IPPool',
    spec: ipPoolSpecSchema,
    specRequired: true,
    shortNames: ['ippool'],
    columns: [
      { name: 'CIDR', type: 'string', jsonPath: '.spec.cidr', description: 'Pool CIDR' },
      { name: 'VXLAN', type: 'string', jsonPath: '.spec.vxlanMode', description: 'VXLAN mode' },
      { name: 'IPIP', type: 'string', jsonPath: '.spec.ipipMode', description: 'IPIP mode' },
      { name: 'NAT', type: 'boolean', jsonPath: '.spec.natOutgoing', description: 'NAT outgoing' },
      { name: 'Disabled', type: 'boolean', jsonPath: '.spec.disabled', description: 'Pool disabled' },
    ],
  },
];

// Keys of apiextensions JSONSchemaProps that we may emit (a subset; anything else is a bug).
const ALLOWED_KEYS = new Set([
  'type',
  'description',
  'default',
  'enum',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'multipleOf',
  'required',
  'properties',
  'additionalProperties',
  'items',
  'nullable',
  'format',
  'anyOf',
  'allOf',
  'oneOf',
  'not',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
  'x-kubernetes-list-type',
  'x-kubernetes-map-type',
]);

const FORBIDDEN_KEYS = new Set([
  '$ref',
  '$schema',
  'id',
  '$id',
  'definitions',
  '$defs',
  'dependencies',
  'patternProperties',
  'additionalItems',
  'const',
]);

const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);

// Formats the API server knows (k8s.io/kube-openapi strfmt default registry, as CRDs accept them).
const FORMATS = new Set([
  'bsonobjectid',
  'uri',
  'email',
  'hostname',
  'ipv4',
  'ipv6',
  'cidr',
  'mac',
  'uuid',
  'uuid3',
  'uuid4',
  'uuid5',
  'isbn',
  'isbn10',
  'isbn13',
  'creditcard',
  'ssn',
  'hexcolor',
  'rgbcolor',
  'byte',
  'password',
  'date',
  'duration',
  'datetime',
  'date-time',
  'int32',
  'int64',
  'float',
  'double',
]);

const JUNCTORS = ['anyOf', 'allOf', 'oneOf'] as const;

/**
 * Converts zod's OpenAPI 3.0 output into a structural node. Throws, naming the path, on anything
 * a structural schema cannot express, so a new field cannot silently produce a broken CRD.
 */
export function toStructural(node: JsonSchema, path = ''): JsonSchema {
  const at = path || '(root)';
  const description = typeof node.description === 'string' ? { description: node.description } : {};
  if (node['x-kubernetes-preserve-unknown-fields'] === true) {
    // Kept as written (e.g. a selector: string or object); the daemon validates it.
    return { ...description, 'x-kubernetes-preserve-unknown-fields': true };
  }
  if (Array.isArray(node.anyOf)) {
    const types = (node.anyOf as JsonSchema[]).map((b) => b.type).sort();
    if (types.length === 2 && types[0] === 'integer' && types[1] === 'string') {
      // The node's own bounds and pattern stay beside the anyOf: the API server applies
      // minimum/maximum to an integer value and pattern to a string one (a duration field).
      const checks: JsonSchema = {};
      for (const key of ['default', 'minimum', 'maximum', 'pattern'] as const)
        if (node[key] !== undefined) checks[key] = node[key];
      return {
        ...description,
        'x-kubernetes-int-or-string': true,
        anyOf: [{ type: 'integer' }, { type: 'string' }],
        ...checks,
      };
    }
    throw new Error(
      `${at}: a union (${types.join(' | ')}) has no structural schema; mark it preserve-unknown-fields`,
    );
  }
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    switch (key) {
      case 'properties': {
        const props: JsonSchema = {};
        for (const [name, child] of Object.entries(value as Record<string, JsonSchema>))
          props[name] = toStructural(child, `${path}.${name}`);
        out.properties = props;
        break;
      }
      case 'items':
        if (Array.isArray(value)) throw new Error(`${at}: tuple items are not structural`);
        out.items = toStructural(value as JsonSchema, `${path}[]`);
        break;
      case 'additionalProperties':
        if (typeof value === 'object' && value !== null && node.properties === undefined)
          out.additionalProperties = toStructural(value as JsonSchema, `${path}.*`);
        // `false` (strict objects) is forbidden: the API server prunes unknown fields instead.
        break;
      case 'const':
        out.enum = [value];
        break;
      case 'minimum':
        if (value !== Number.MIN_SAFE_INTEGER) out.minimum = value;
        break;
      case 'maximum':
        if (value !== Number.MAX_SAFE_INTEGER) out.maximum = value;
        break;
      case 'required':
        if (Array.isArray(value) && value.length > 0) out.required = value;
        break;
      case '$schema':
        break;
      default:
        if (!ALLOWED_KEYS.has(key))
          throw new Error(`${at}: JSON schema keyword "${key}" is not allowed in a CRD`);
        out[key] = value;
    }
  }
  // type and description first, so the YAML reads well.
  const { type, description: d, ...rest } = out;
  return { ...(type !== undefined ? { type } : {}), ...(d !== undefined ? { description: d } : {}), ...rest };
}

function typeOfValue(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function valueMatchesType(v: unknown, type: unknown): boolean {
  const t = typeOfValue(v);
  return t === type || (type === 'number' && t === 'integer');
}

/** Every way `schema` (an openAPIV3Schema) breaks the structural-schema rules; [] when none. */
export function structuralProblems(schema: JsonSchema): string[] {
  const problems: string[] = [];
  const visit = (node: JsonSchema, path: string, ctx: { inJunctor: boolean; isRoot: boolean }): void => {
    const at = path || '(root)';
    for (const key of Object.keys(node)) {
      if (FORBIDDEN_KEYS.has(key)) problems.push(`${at}: ${key} is not supported`);
      else if (!ALLOWED_KEYS.has(key)) problems.push(`${at}: unknown keyword ${key}`);
    }
    if (node.uniqueItems === true) problems.push(`${at}: uniqueItems cannot be true`);
    if (node['x-kubernetes-preserve-unknown-fields'] === false)
      problems.push(`${at}: x-kubernetes-preserve-unknown-fields must be true or absent`);
    const intOrString = node['x-kubernetes-int-or-string'] === true;
    if (ctx.inJunctor) {
      for (const k of ['type', 'description', 'default', 'additionalProperties', 'nullable'])
        if (k in node) problems.push(`${at}: ${k} must not be set inside anyOf/allOf/oneOf/not`);
    } else if (node.type === undefined) {
      if (!intOrString && node['x-kubernetes-preserve-unknown-fields'] !== true)
        problems.push(`${at}: type is required`);
    } else if (!TYPES.has(node.type as string)) {
      problems.push(`${at}: type ${JSON.stringify(node.type)} is not one of ${[...TYPES].join(', ')}`);
    }
    if (node.type === 'array' && (node.items === undefined || Array.isArray(node.items)))
      problems.push(`${at}: an array needs items (one schema)`);
    if (node.additionalProperties === false) problems.push(`${at}: additionalProperties cannot be false`);
    if (node.additionalProperties !== undefined && node.properties !== undefined)
      problems.push(`${at}: additionalProperties and properties are mutually exclusive`);
    if (ctx.isRoot && node.additionalProperties !== undefined)
      problems.push(`${at}: additionalProperties is not allowed at the root`);
    if (node.format !== undefined && !FORMATS.has(node.format as string))
      problems.push(`${at}: format ${JSON.stringify(node.format)} is not a known format`);
    if (typeof node.pattern === 'string') {
      if (/\(\?[=!<]|\\[1-9]/.test(node.pattern))
        problems.push(`${at}: pattern uses lookaround or a backreference (not RE2)`);
      try {
        new RegExp(node.pattern, 'u');
      } catch (err) {
        problems.push(`${at}: pattern does not compile: ${(err as Error).message}`);
      }
    }
    if (node.default !== undefined && node.type !== undefined && !valueMatchesType(node.default, node.type))
      problems.push(`${at}: default ${JSON.stringify(node.default)} is not of type ${node.type}`);
    if (Array.isArray(node.enum) && node.type !== undefined) {
      for (const v of node.enum)
        if (!valueMatchesType(v, node.type))
          problems.push(`${at}: enum value ${JSON.stringify(v)} is not ${node.type}`);
    }
    const props = (node.properties ?? {}) as Record<string, JsonSchema>;
    if (Array.isArray(node.required)) {
      for (const r of node.required)
        if (!(r in props)) problems.push(`${at}: required field ${JSON.stringify(r)} is not in properties`);
    }
    if (node.properties !== undefined && node.type !== undefined && node.type !== 'object')
      problems.push(`${at}: properties on a non-object`);
    if (ctx.isRoot) {
      if (node.type !== 'object') problems.push(`${at}: the root must be type object`);
      const meta = props.metadata;
      if (meta !== undefined) {
        const extra = Object.keys(meta).filter((k) => k !== 'type' && k !== 'description');
        if (extra.length > 0 || meta.type !== 'object')
          problems.push(`${at}.metadata: must be only {type: object} (got ${Object.keys(meta).join(', ')})`);
      }
    }
    for (const [name, child] of Object.entries(props))
      visit(child, `${path}.properties.${name}`, { inJunctor: ctx.inJunctor, isRoot: false });
    if (typeof node.additionalProperties === 'object' && node.additionalProperties !== null)
      visit(node.additionalProperties as JsonSchema, `${path}.additionalProperties`, {
        inJunctor: ctx.inJunctor,
        isRoot: false,
      });
    if (typeof node.items === 'object' && node.items !== null && !Array.isArray(node.items))
      visit(node.items as JsonSchema, `${path}.items`, { inJunctor: ctx.inJunctor, isRoot: false });
    for (const j of JUNCTORS) {
      const branches = node[j];
      if (branches === undefined) continue;
      if (!Array.isArray(branches)) {
        problems.push(`${at}: ${j} must be a list`);
        continue;
      }
      const isIntOrStringPattern =
        intOrString &&
        j === 'anyOf' &&
        branches.length === 2 &&
        branches.every(
          (b: JsonSchema) => Object.keys(b).length === 1 && (b.type === 'integer' || b.type === 'string'),
        );
      if (isIntOrStringPattern) continue;
      branches.forEach((b: JsonSchema, i: number) => {
        visit(b, `${path}.${j}[${i}]`, { inJunctor: true, isRoot: false });
      });
    }
    if (node.not !== undefined)
      visit(node.not as JsonSchema, `${path}.not`, { inJunctor: true, isRoot: false });
  };
  visit(schema, '', { inJunctor: false, isRoot: true });
  return problems;
}

export interface CustomResourceDefinition {
  readonly apiVersion: 'apiextensions.k8s.io/v1';
  readonly kind: 'CustomResourceDefinition';
  readonly metadata: { readonly name: string };
  readonly spec: {
    readonly group: string;
    readonly names: {
      readonly kind: string;
      readonly listKind: string;
      readonly plural: string;
      readonly singular: string;
      readonly shortNames: readonly string[];
    };
    readonly scope: 'Cluster';
    readonly versions: readonly {
      readonly name: string;
      readonly served: boolean;
      readonly storage: boolean;
      readonly schema: { readonly openAPIV3Schema: JsonSchema };
      readonly additionalPrinterColumns: readonly JsonSchema[];
    }[];
  };
}

/** The spec's structural schema, from the zod schema's input side (what users write). */
export function specSchema(spec: z.ZodType): JsonSchema {
  const raw = z.toJSONSchema(spec, {
    target: 'openapi-3.0',
    io: 'input',
    unrepresentable: 'throw',
    reused: 'inline',
  }) as JsonSchema;
  return toStructural(raw);
}

function buildCrd(src: CrdSource): CustomResourceDefinition {
  const info = KINDS[src.kind];
  const openAPIV3Schema: JsonSchema = {
    type: 'object',
    description: info.description,
    properties: {
      apiVersion: { type: 'string', description: `${info.apiVersion}` },
      kind: { type: 'string', description: src.kind },
      metadata: { type: 'object' },
      spec: specSchema(src.spec),
    },
    ...(src.specRequired ? { required: ['spec'] } : {}),
  };
  const problems = structuralProblems(openAPIV3Schema);
  if (problems.length > 0) throw new Error(`CRD ${src.kind} is not structural: ${problems.join('; ')}`);
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${info.plural}.${MARGAY_GROUP}` },
    spec: {
      group: MARGAY_GROUP,
      names: {
        kind: src.kind,
        listKind: `${src.kind}List`,
        plural: info.plural,
        singular: src.kind.toLowerCase(),
        shortNames: src.shortNames,
      },
      scope: 'Cluster',
      versions: [
        {
          name: CRD_VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema },
          additionalPrinterColumns: [
            ...src.columns,
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Age' },
          ],
        },
      ],
    },
  };
}

/** The CRDs of every margay.io kind, in a fixed order. */
export function buildCrds(): CustomResourceDefinition[] {
  return SOURCES.map(buildCrd);
}
