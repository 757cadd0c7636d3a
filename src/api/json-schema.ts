// The two things the REST API does with the JSON schemas of schemas.ts besides publishing them
// in /v1/openapi.json: it checks a query string against its schema, and it writes a response
// through its schema, so that a client sees exactly the fields the schema documents (a field the
// daemon holds but does not document, such as a peer's End-of-RIB families, stays internal).
//
// Only the keywords schemas.ts uses are understood: `type`, `properties`, `items`,
// `additionalProperties`, and for query parameters, which are single strings, `pattern` and
// `enum`. A schema with any other validation keyword is refused when its route is registered,
// so a keyword added to schemas.ts cannot be silently ignored.

export interface JsonSchema {
  readonly type?: string | readonly string[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly items?: JsonSchema;
  readonly additionalProperties?: boolean;
  readonly required?: readonly string[];
  readonly pattern?: string;
  readonly enum?: readonly string[];
  readonly description?: string;
  readonly format?: string;
}

/** Keywords that describe or document and need no check here. */
const DOCUMENTING = new Set(['description', 'format', 'required']);
const RESPONSE_KEYWORDS = new Set(['type', 'properties', 'items', 'additionalProperties', 'enum']);
const QUERY_PARAMETER_KEYWORDS = new Set(['type', 'pattern', 'enum']);

function refuseUnknown(schema: JsonSchema, known: ReadonlySet<string>, where: string): void {
  for (const key of Object.keys(schema)) {
    if (!known.has(key) && !DOCUMENTING.has(key)) {
      throw new Error(`${where}: the API does not implement the JSON schema keyword "${key}"`);
    }
  }
}

/** Throws unless every keyword of a response schema is one `shape` implements. */
export function checkResponseSchema(schema: JsonSchema, where = 'response schema'): void {
  refuseUnknown(schema, RESPONSE_KEYWORDS, where);
  for (const [name, sub] of Object.entries(schema.properties ?? {})) {
    checkResponseSchema(sub, `${where}.${name}`);
  }
  if (schema.items) checkResponseSchema(schema.items, `${where}[]`);
}

/**
 * The value as its schema documents it: objects keep only the properties the schema lists
 * (all of them when it allows additional properties, or lists none), arrays are shaped item by
 * item, anything else is passed as it is.
 */
export function shape(schema: JsonSchema, value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const items = schema.items;
    return items ? value.map((v) => shape(items, v)) : value;
  }
  const properties = schema.properties;
  if (properties === undefined || schema.additionalProperties === true) return value;
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const name in properties) {
    const v = record[name];
    if (v !== undefined) out[name] = shape(properties[name] as JsonSchema, v);
  }
  return out;
}

/** Throws unless the schema is an object of single-string parameters that `parseQuery` checks. */
export function checkQuerySchema(schema: JsonSchema, where = 'query schema'): void {
  if (schema.type !== 'object' || schema.additionalProperties !== false || schema.properties === undefined) {
    throw new Error(`${where}: must be an object schema with properties and additionalProperties: false`);
  }
  refuseUnknown(schema, new Set(['type', 'properties', 'additionalProperties']), where);
  for (const [name, p] of Object.entries(schema.properties)) {
    if (p.type !== 'string') throw new Error(`${where}.${name}: query parameters are strings`);
    refuseUnknown(p, QUERY_PARAMETER_KEYWORDS, `${where}.${name}`);
  }
}

const patterns = new Map<string, RegExp>();
const compiled = (pattern: string): RegExp => {
  let re = patterns.get(pattern);
  if (re === undefined) {
    re = new RegExp(pattern, 'u');
    patterns.set(pattern, re);
  }
  return re;
};

export type QueryResult =
  | { readonly ok: true; readonly value: Readonly<Record<string, string>> }
  | { readonly ok: false; readonly parameter: string; readonly problem: string };

/** The query parameters checked against a schema `checkQuerySchema` accepted. */
export function parseQuery(schema: JsonSchema, params: URLSearchParams): QueryResult {
  const properties = schema.properties ?? {};
  const value: Record<string, string> = {};
  for (const name of new Set(params.keys())) {
    const p = properties[name];
    if (p === undefined || !Object.hasOwn(properties, name)) {
      return { ok: false, parameter: name, problem: 'is not a known parameter' };
    }
    const all = params.getAll(name);
    if (all.length > 1) return { ok: false, parameter: name, problem: 'must be given once' };
    const v = all[0] as string;
    if (p.enum !== undefined && !p.enum.includes(v)) {
      return { ok: false, parameter: name, problem: `must be one of ${p.enum.join(', ')}` };
    }
    if (p.pattern !== undefined && !compiled(p.pattern).test(v)) {
      return { ok: false, parameter: name, problem: `must match pattern "${p.pattern}"` };
    }
    value[name] = v;
  }
  return { ok: true, value };
}
