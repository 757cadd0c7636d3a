// The REST API's use of its JSON schemas: responses carry exactly the documented fields, query
// strings are checked against the keywords the schemas use, and a schema with a keyword the API
// does not implement is refused rather than ignored.
import { describe, expect, it } from 'vitest';
import {
  checkQuerySchema,
  checkResponseSchema,
  type JsonSchema,
  parseQuery,
  shape,
} from '../../../../src/api/json-schema.ts';
import * as schemas from '../../../../src/api/schemas.ts';

describe('shape', () => {
  const schema: JsonSchema = {
    type: 'object',
    properties: {
      name: { type: 'string' },
      counts: { type: 'object', properties: { in: { type: 'integer' } } },
      tags: { type: 'array', items: { type: 'object', properties: { k: { type: 'string' } } } },
      free: { type: ['object', 'null'], additionalProperties: true },
    },
  };

  it('keeps the documented fields, at every depth, and drops the others', () => {
    const value = {
      name: 'a',
      secret: 1,
      counts: { in: 2, out: 3 },
      tags: [{ k: 'x', v: 'y' }, { k: 'z' }],
      free: { anything: { goes: true } },
    };
    expect(shape(schema, value)).toEqual({
      name: 'a',
      counts: { in: 2 },
      tags: [{ k: 'x' }, { k: 'z' }],
      free: { anything: { goes: true } },
    });
  });

  it('leaves out absent fields and passes null and scalars as they are', () => {
    expect(shape(schema, { name: 'a', free: null })).toEqual({ name: 'a', free: null });
    expect(Object.keys(shape(schema, { name: undefined }) as object)).toEqual([]);
    expect(shape(schema, 7)).toBe(7);
  });
});

describe('checkResponseSchema / checkQuerySchema', () => {
  it('accepts every schema the API serves', () => {
    for (const [name, s] of Object.entries(schemas)) {
      if (name === 'ROUTES_PAGE') continue;
      if (name === 'routesQuerySchema') checkQuerySchema(s as JsonSchema, name);
      else checkResponseSchema(s as JsonSchema, name);
    }
  });

  it('refuses a keyword it does not implement, naming where', () => {
    const withMin: JsonSchema = {
      type: 'object',
      properties: { n: { type: 'integer', minimum: 1 } as JsonSchema },
    };
    expect(() => checkResponseSchema(withMin, 'x')).toThrow('x.n: the API does not implement');
    const query: JsonSchema = {
      type: 'object',
      additionalProperties: false,
      properties: { q: { type: 'string', maxLength: 3 } as JsonSchema },
    };
    expect(() => checkQuerySchema(query)).toThrow('"maxLength"');
    expect(() => checkQuerySchema({ type: 'object', properties: {} })).toThrow('additionalProperties');
    expect(() =>
      checkQuerySchema({
        type: 'object',
        additionalProperties: false,
        properties: { n: { type: 'integer' } },
      }),
    ).toThrow('query parameters are strings');
  });
});

describe('parseQuery', () => {
  const q = schemas.routesQuerySchema as JsonSchema;
  const parse = (text: string) => parseQuery(q, new URLSearchParams(text));

  it('returns the parameters that match their pattern or enum', () => {
    expect(parse('prefix=10.0.0.0/8&family=ipv4-unicast&limit=5')).toEqual({
      ok: true,
      value: { prefix: '10.0.0.0/8', family: 'ipv4-unicast', limit: '5' },
    });
    expect(parse('')).toEqual({ ok: true, value: {} });
  });

  it('names the first parameter that does not, and why', () => {
    expect(parse('family=ipv4-multicast')).toEqual({
      ok: false,
      parameter: 'family',
      problem: 'must be one of ipv4-unicast, ipv6-unicast',
    });
    expect(parse('limit=ten')).toMatchObject({ ok: false, parameter: 'limit' });
    expect(parse('prefix=10.0.0.0')).toMatchObject({ ok: false, parameter: 'prefix' });
    expect(parse('prefx=10.0.0.0/8')).toEqual({
      ok: false,
      parameter: 'prefx',
      problem: 'is not a known parameter',
    });
    expect(parse('toString=x')).toMatchObject({ ok: false, parameter: 'toString' });
    expect(parse('limit=1&limit=2')).toEqual({
      ok: false,
      parameter: 'limit',
      problem: 'must be given once',
    });
  });
});
