// The fake API server's pure parts: selector grammar and matching, the three patch formats.
import { describe, expect, it } from 'vitest';
import { jsonPatch, mergePatch, strategicMergePatch } from '../../fakes/kube/patch.ts';
import type { JsonValue } from '../../fakes/kube/resources.ts';
import {
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
} from '../../fakes/kube/selectors.ts';
import { ApiError } from '../../fakes/kube/status.ts';

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'front', replicas: '3' };
  const cases: [string, boolean][] = [
    ['', true],
    ['app=web', true],
    ['app = web', true],
    ['app==db', false],
    ['app!=db', true],
    ['missing!=x', true],
    ['app in (db, web)', true],
    ['app notin (web)', false],
    ['missing notin (web)', true],
    ['tier', true],
    ['!tier', false],
    ['!missing', true],
    ['replicas>2', true],
    ['replicas<3', false],
    ['app=web,tier=back', false],
    ['example.com/role', false],
    ['app=', false],
  ];
  for (const [selector, expected] of cases) {
    it(`"${selector}" → ${expected}`, () => {
      expect(matchesLabels(parseLabelSelector(selector), labels)).toBe(expected);
    });
  }

  for (const bad of [
    'app in ()',
    'app in (a',
    '=x',
    'app=web,',
    'Bad Key=x',
    'app=in valid',
    'n>x',
    '!app=x',
  ]) {
    it(`rejects "${bad}" with 400`, () => {
      let err: unknown;
      try {
        parseLabelSelector(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status.code).toBe(400);
    });
  }
});

describe('field selectors', () => {
  const supported = ['metadata.name', 'spec.nodeName'];
  const fields: Record<string, string> = { 'metadata.name': 'a,b', 'spec.nodeName': '' };
  const get = (f: string): string => fields[f] ?? '';

  it('matches =, == and !=, and an empty value against an unset field', () => {
    expect(matchesFields(parseFieldSelector('spec.nodeName=', supported), get)).toBe(true);
    expect(matchesFields(parseFieldSelector('spec.nodeName!=', supported), get)).toBe(false);
    expect(matchesFields(parseFieldSelector('metadata.name==a\\,b', supported), get)).toBe(true);
    expect(matchesFields(parseFieldSelector('metadata.name=a\\,b,spec.nodeName!=n1', supported), get)).toBe(
      true,
    );
  });

  it('rejects unknown fields and unparseable terms', () => {
    expect(() => parseFieldSelector('status.phase=Running', supported)).toThrow(
      'field label not supported: status.phase',
    );
    expect(() => parseFieldSelector('metadata.name', supported)).toThrow(ApiError);
  });
});

describe('patches', () => {
  const doc: JsonValue = {
    metadata: { name: 'n', labels: { a: '1', b: '2' }, finalizers: ['x'] },
    status: {
      conditions: [
        { type: 'Ready', status: 'True' },
        { type: 'MemoryPressure', status: 'False' },
      ],
      addresses: [{ type: 'InternalIP', address: '192.0.2.1' }],
    },
  };
  const keys = { 'status.conditions': 'type', 'status.addresses': 'type', 'metadata.finalizers': '' };

  it('merge patch (RFC 7386): null deletes, objects merge, arrays replace; input untouched', () => {
    const before = structuredClone(doc);
    const out = mergePatch(doc, { metadata: { labels: { a: null, c: '3' } }, status: { conditions: [] } });
    expect(out).toMatchObject({ metadata: { labels: { b: '2', c: '3' } }, status: { conditions: [] } });
    expect(doc).toEqual(before);
  });

  it('JSON patch (RFC 6902): add, remove, replace, move, copy, test, "-" and ~1 escapes', () => {
    const out = jsonPatch(doc, [
      { op: 'add', path: '/metadata/labels/example.com~1role', value: 'rr' },
      { op: 'remove', path: '/metadata/labels/a' },
      { op: 'replace', path: '/status/conditions/0/status', value: 'False' },
      { op: 'add', path: '/metadata/finalizers/-', value: 'y' },
      { op: 'copy', from: '/metadata/name', path: '/metadata/generateName' },
      { op: 'move', from: '/metadata/labels/b', path: '/metadata/labels/bb' },
      { op: 'test', path: '/metadata/labels/bb', value: '2' },
    ]) as { metadata: Record<string, unknown>; status: { conditions: { status: string }[] } };
    expect(out.metadata.labels).toEqual({ 'example.com/role': 'rr', bb: '2' });
    expect(out.metadata.finalizers).toEqual(['x', 'y']);
    expect(out.metadata.generateName).toBe('n');
    expect(out.status.conditions[0]?.status).toBe('False');
    expect(() => jsonPatch(doc, [{ op: 'test', path: '/metadata/name', value: 'm' }])).toThrow('test failed');
    expect(() => jsonPatch(doc, [{ op: 'remove', path: '/nope' }])).toThrow();
    expect(() => jsonPatch(doc, { op: 'add' })).toThrow('array');
  });

  it('strategic merge patch merges keyed lists, honours $patch and $deleteFromPrimitiveList', () => {
    const out = strategicMergePatch(
      doc,
      {
        metadata: { finalizers: ['y'], '$deleteFromPrimitiveList/finalizers': ['x'] },
        status: {
          conditions: [
            { type: 'NetworkUnavailable', status: 'False' },
            { type: 'Ready', status: 'False' },
            { type: 'MemoryPressure', $patch: 'delete' },
          ],
          addresses: [{ $patch: 'replace' }, { type: 'Hostname', address: 'n' }],
        },
      },
      keys,
    ) as { metadata: { finalizers: string[] }; status: { conditions: unknown[]; addresses: unknown[] } };
    expect(out.status.conditions).toEqual([
      { type: 'Ready', status: 'False' },
      { type: 'NetworkUnavailable', status: 'False' },
    ]);
    expect(out.status.addresses).toEqual([{ type: 'Hostname', address: 'n' }]);
    expect(out.metadata.finalizers).toEqual(['y']);
    expect(() => strategicMergePatch(doc, { status: { conditions: [{ status: 'x' }] } }, keys)).toThrow(
      'merge key: type',
    );
  });
});
