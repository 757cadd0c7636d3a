// CRDs and the resource reference: the committed files are what the generator produces now
// (stale check), every CRD schema is structural (apiextensions.k8s.io/v1 rules), the checker itself
// catches each rule it claims to, and the CRD schemas accept and refuse what the daemon does.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import type { JsonSchema } from '../../../../src/model/crds.ts';
import { buildCrds, specSchema, structuralProblems, toStructural } from '../../../../src/model/crds.ts';
import { DURATION_PATTERN } from '../../../../src/model/duration.ts';
import { CRD_DIR, generatedFiles, REFERENCE_PATH } from '../../../../src/model/generated.ts';
import { validateResource } from '../../../../src/model/resource.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..', '..');

describe('generated files are up to date (run `node src/model/gen.ts` after a schema change)', () => {
  const files = generatedFiles();
  it('generates the three CRDs and the reference', () => {
    expect([...files.keys()].sort()).toEqual([
      REFERENCE_PATH,
      `${CRD_DIR}/bgpconfigurations.margay.io.yaml`,
      `${CRD_DIR}/bgppeers.margay.io.yaml`,
      `${CRD_DIR}/ippools.margay.io.yaml`,
    ]);
  });
  for (const [path, content] of files) {
    it(`${path} matches the schemas`, () => {
      expect(readFileSync(join(ROOT, path), 'utf8')).toBe(content);
    });
  }
  it('crds/ holds no CRD the generator does not produce', () => {
    const committed = readdirSync(join(ROOT, CRD_DIR)).map((f) => `${CRD_DIR}/${f}`);
    expect(committed.length).toBeGreaterThan(0);
    expect(committed.filter((p) => !files.has(p))).toEqual([]);
  });
});

function walk(node: JsonSchema, path: string, visit: (n: JsonSchema, path: string) => void): void {
  visit(node, path);
  for (const [k, child] of Object.entries((node.properties ?? {}) as Record<string, JsonSchema>))
    walk(child, `${path}.${k}`, visit);
  if (typeof node.items === 'object') walk(node.items as JsonSchema, `${path}[]`, visit);
  if (typeof node.additionalProperties === 'object')
    walk(node.additionalProperties as JsonSchema, `${path}.*`, visit);
}

describe('the CRDs', () => {
  const crds = buildCrds();
  for (const crd of crds) {
    const version = crd.spec.versions[0]!;
    const schema = version.schema.openAPIV3Schema;
    describe(crd.metadata.name, () => {
      it('is a cluster-scoped margay.io/v1 CRD whose name is plural.group', () => {
        expect(crd.spec.group).toBe('margay.io');
        expect(crd.spec.scope).toBe('Cluster');
        expect(crd.metadata.name).toBe(`${crd.spec.names.plural}.${crd.spec.group}`);
        expect(crd.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([['v1', true, true]]);
        expect(crd.spec.names.listKind).toBe(`${crd.spec.names.kind}List`);
      });
      it('has a structural schema', () => {
        expect(structuralProblems(schema)).toEqual([]);
      });
      it('has a type on every node except the selectors and maxPrefix, which alone preserve unknown fields', () => {
        const untyped: string[] = [];
        walk(schema, '', (n, path) => {
          if (n.type === undefined && n['x-kubernetes-int-or-string'] !== true) untyped.push(path);
          // Both are "this or that" (string or object, number or object): the daemon validates them.
          if (n['x-kubernetes-preserve-unknown-fields'] === true)
            expect(path).toMatch(/(Selector|\.maxPrefix)$/);
          expect(n).not.toHaveProperty('$ref');
          expect(n).not.toHaveProperty('additionalProperties', false);
        });
        for (const path of untyped) expect(path).toMatch(/\.(nodeSelector|peerSelector|maxPrefix)$/);
      });
      it('takes each duration field as an integer or a Go duration string, with its bounds', () => {
        const durations: string[] = [];
        walk(schema, '', (n, path) => {
          if (n['x-kubernetes-int-or-string'] !== true) return;
          durations.push(path.replace(/^\.spec\./, ''));
          expect(n.pattern, path).toBe(DURATION_PATTERN);
          expect(n.minimum, path).toBe(0);
          expect(n.maximum, path).toBeGreaterThan(0);
        });
        expect(durations.sort()).toEqual(
          crd.spec.names.kind === 'BGPPeer'
            ? ['holdTime', 'keepaliveTime', 'longLivedStaleTime', 'maxRestartTime']
            : crd.spec.names.kind === 'BGPConfiguration'
              ? ['holdTime', 'keepaliveTime', 'nodeMeshMaxRestartTime']
              : [],
        );
      });
      it('describes every spec field', () => {
        walk(schema.properties as JsonSchema, '', (n, path) => {
          if (/^\.spec\.[^.[\]]+$/.test(path)) expect(n.description, path).toBeTruthy();
        });
      });
      it('printer columns point at fields of the schema', () => {
        for (const col of version.additionalPrinterColumns) {
          const path = String(col.jsonPath).split('.').slice(1);
          if (path[0] === 'metadata') continue;
          let node: JsonSchema | undefined = schema;
          for (const key of path) node = (node?.properties as Record<string, JsonSchema> | undefined)?.[key];
          expect(node, String(col.jsonPath)).toBeDefined();
        }
      });
    });
  }

  it('the YAML on disk parses back to the same objects', () => {
    for (const crd of crds) {
      const text = readFileSync(join(ROOT, CRD_DIR, `${crd.metadata.name}.yaml`), 'utf8');
      expect(parse(text)).toEqual(JSON.parse(JSON.stringify(crd)));
    }
  });
});

describe('structuralProblems catches each rule', () => {
  const root = (spec: JsonSchema): JsonSchema => ({
    type: 'object',
    properties: { metadata: { type: 'object' }, spec },
  });
  const cases: [string, JsonSchema, RegExp][] = [
    ['missing type', root({ properties: { a: { type: 'string' } } }), /\.spec: type is required/],
    ['$ref', root({ type: 'object', $ref: '#/definitions/x' }), /\$ref is not supported/],
    ['definitions', root({ type: 'object', definitions: {} }), /definitions is not supported/],
    [
      'uniqueItems',
      root({ type: 'array', items: { type: 'string' }, uniqueItems: true }),
      /uniqueItems cannot be true/,
    ],
    [
      'additionalProperties false',
      root({ type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false }),
      /additionalProperties cannot be false/,
    ],
    [
      'additionalProperties beside properties',
      root({
        type: 'object',
        properties: { a: { type: 'string' } },
        additionalProperties: { type: 'string' },
      }),
      /mutually exclusive/,
    ],
    ['type null', root({ type: 'null' }), /type "null" is not one of/],
    ['array without items', root({ type: 'array' }), /an array needs items/],
    ['tuple items', root({ type: 'array', items: [{ type: 'string' }] }), /an array needs items/],
    [
      'type inside anyOf',
      root({ type: 'object', anyOf: [{ type: 'string' }, { type: 'object' }] }),
      /anyOf\[0\]: type must not be set inside/,
    ],
    [
      'description inside oneOf',
      root({ type: 'string', oneOf: [{ description: 'x', pattern: 'a' }] }),
      /description must not be set inside/,
    ],
    ['const', root({ type: 'string', const: 'x' }), /const is not supported/],
    ['unknown keyword', root({ type: 'string', examples: ['x'] }), /unknown keyword examples/],
    [
      'preserve false',
      root({ type: 'object', 'x-kubernetes-preserve-unknown-fields': false }),
      /must be true or absent/,
    ],
    ['lookahead pattern', root({ type: 'string', pattern: 'a(?=b)' }), /not RE2/],
    [
      'unknown format',
      root({ type: 'string', format: 'ip-address' }),
      /format "ip-address" is not a known format/,
    ],
    [
      'default of the wrong type',
      root({ type: 'integer', default: '1' }),
      /default "1" is not of type integer/,
    ],
    ['enum of the wrong type', root({ type: 'string', enum: [1] }), /enum value 1 is not string/],
    [
      'required not in properties',
      root({ type: 'object', properties: {}, required: ['a'] }),
      /required field "a"/,
    ],
    [
      'metadata with more than type',
      {
        type: 'object',
        properties: { metadata: { type: 'object', properties: { labels: { type: 'object' } } } },
      },
      /metadata: must be only \{type: object\}/,
    ],
    ['non-object root', { type: 'string' }, /the root must be type object/],
    [
      'additionalProperties at the root',
      { type: 'object', additionalProperties: { type: 'string' } },
      /at the root/,
    ],
  ];
  for (const [name, schema, want] of cases) {
    it(name, () => {
      const problems = structuralProblems(schema);
      expect(
        problems.some((p) => want.test(p)),
        problems.join('\n'),
      ).toBe(true);
    });
  }
  it('allows the int-or-string pattern and preserve-unknown-fields without a type', () => {
    expect(
      structuralProblems(
        root({
          type: 'object',
          properties: {
            port: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
            selector: { 'x-kubernetes-preserve-unknown-fields': true, description: 'x' },
          },
        }),
      ),
    ).toEqual([]);
  });
});

describe('toStructural', () => {
  it('refuses a union it cannot express, naming the field', () => {
    expect(() =>
      specSchema(z.strictObject({ a: z.union([z.string(), z.strictObject({ b: z.string() })]) })),
    ).toThrow(/\.a: a union \(object \| string\) has no structural schema/);
  });
  it('turns integer|string into int-or-string and literals into enums', () => {
    expect(
      specSchema(z.strictObject({ p: z.union([z.number().int(), z.string()]), v: z.literal('x') })),
    ).toEqual({
      type: 'object',
      properties: {
        p: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
        v: { type: 'string', enum: ['x'] },
      },
      required: ['p', 'v'],
    });
  });
  it('refuses keywords a CRD does not know', () => {
    expect(() => toStructural({ type: 'string', examples: ['a'] }, '.x')).toThrow(
      /\.x: JSON schema keyword "examples"/,
    );
  });
});

// A small evaluator of the structural subset (type, enum, bounds, pattern, required, items,
// properties, additionalProperties), enough to compare the API server's view with the daemon's.
function crdAccepts(node: JsonSchema, v: unknown): boolean {
  if (node['x-kubernetes-preserve-unknown-fields'] === true) return true;
  if (node['x-kubernetes-int-or-string'] === true) {
    const { 'x-kubernetes-int-or-string': _, ...rest } = node;
    return crdAccepts({ ...rest, type: typeof v === 'string' ? 'string' : 'integer' }, v);
  }
  switch (node.type) {
    case 'object': {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
      const o = v as Record<string, unknown>;
      for (const r of (node.required ?? []) as string[]) if (!(r in o)) return false;
      const props = node.properties as Record<string, JsonSchema> | undefined;
      for (const [k, child] of Object.entries(o)) {
        const s = props?.[k] ?? (node.additionalProperties as JsonSchema | undefined);
        if (s !== undefined && !crdAccepts(s, child)) return false; // unknown fields are pruned
      }
      return true;
    }
    case 'array':
      return (
        Array.isArray(v) &&
        (typeof node.minItems !== 'number' || v.length >= node.minItems) &&
        v.every((x) => crdAccepts(node.items as JsonSchema, x))
      );
    case 'string':
      return (
        typeof v === 'string' &&
        (!Array.isArray(node.enum) || node.enum.includes(v)) &&
        (typeof node.pattern !== 'string' || new RegExp(node.pattern).test(v))
      );
    case 'integer':
      return (
        Number.isInteger(v) &&
        (typeof node.minimum !== 'number' || (v as number) >= node.minimum) &&
        (typeof node.maximum !== 'number' || (v as number) <= node.maximum)
      );
    case 'boolean':
      return typeof v === 'boolean';
    default:
      return false;
  }
}

describe('the CRD schemas and the daemon agree', () => {
  const crdFor = new Map(
    buildCrds().map((c) => [c.spec.names.kind, c.spec.versions[0]!.schema.openAPIV3Schema]),
  );
  const obj = (kind: string, spec: unknown) => ({
    apiVersion: 'margay.io/v1',
    kind,
    metadata: { name: 'default' },
    spec,
  });
  const good: [string, unknown][] = [
    [
      'BGPConfiguration',
      { asNumber: 65000, nodeASNumbers: [{ nodeSelector: "rack == 'r1'", asNumber: 65001 }] },
    ],
    ['BGPConfiguration', { communities: [{ name: 'c', value: '65000:1:2' }] }],
    ['BGPPeer', { peerIP: '192.0.2.1:1179', asNumber: 65001, nodeSelector: { matchLabels: { rack: 'r1' } } }],
    ['BGPPeer', { peerSelector: 'has(rr)', nextHopMode: 'Keep', maxPrefix: 10 }],
    ['BGPPeer', { peerSelector: 'has(rr)', maxRestartTime: '2m', holdTime: 90, keepaliveTime: '10s' }],
    ['BGPPeer', { peerSelector: 'has(rr)', maxRestartTime: 120, longLivedStaleTime: '1h30m' }],
    ['BGPConfiguration', { nodeMeshMaxRestartTime: '1.5s', holdTime: '1m30s', keepaliveTime: 30 }],
    ['IPPool', { cidr: 'fd00:10:244::/56', blockSize: 122, vxlanMode: 'CrossSubnet' }],
  ];
  for (const [kind, spec] of good) {
    it(`both accept ${kind} ${JSON.stringify(spec)}`, () => {
      expect(validateResource(obj(kind, spec)).ok).toBe(true);
      expect(crdAccepts(crdFor.get(kind)!, obj(kind, spec))).toBe(true);
    });
  }
  // What the API server can check, it refuses as the daemon does.
  const bad: [string, unknown][] = [
    ['BGPConfiguration', { asNumber: 0 }],
    ['BGPConfiguration', { logSeverity: 'Verbose' }],
    ['BGPConfiguration', { listenPort: 65536 }],
    ['BGPConfiguration', { prefixAdvertisements: [{ cidr: '10.0.0.0/8', communities: [] }] }],
    ['BGPConfiguration', { routeReflectorClusterIDs: [{ nodeSelector: 'all()', clusterID: 'one' }] }],
    ['BGPPeer', { peerIP: '192.0.2.1', asNumber: 4294967296 }],
    ['BGPPeer', { peerIP: '192.0.2.1', asNumber: 1, nextHopMode: 'self' }],
    ['BGPPeer', { peerIP: '192.0.2.1', asNumber: 1, keepaliveTime: 30000 }],
    ['BGPPeer', { peerIP: '192.0.2.1', asNumber: 1, maxRestartTime: 4096 }],
    ['BGPPeer', { peerIP: '192.0.2.1', asNumber: 1, maxRestartTime: '1d' }],
    ['BGPPeer', { peerIP: '192.0.2.1', asNumber: 1, holdTime: '-90s' }],
    ['BGPPeer', { peerIP: '192.0.2.1', asNumber: 1, longLivedStaleTime: '5' }],
    ['BGPConfiguration', { nodeMeshMaxRestartTime: '2 m' }],
    ['BGPConfiguration', { keepaliveTime: true }],
    ['IPPool', { cidr: 'ten/8' }],
    ['IPPool', { cidr: '10.0.0.0/8', vxlanMode: 'always' }],
    ['IPPool', { cidr: '10.0.0.0/8', blockSize: 19 }],
    ['IPPool', {}],
  ];
  for (const [kind, spec] of bad) {
    it(`both refuse ${kind} ${JSON.stringify(spec)}`, () => {
      expect(validateResource(obj(kind, spec)).ok).toBe(false);
      expect(crdAccepts(crdFor.get(kind)!, obj(kind, spec))).toBe(false);
    });
  }
});
