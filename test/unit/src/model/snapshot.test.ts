// Snapshots: one map per kind keyed by resourceKey, and diffs that turn one snapshot into the next
// (property, fast-check: seeds are printed on failure and replayable with { seed }).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../../../src/model/resource.ts';
import { validateResource } from '../../../../src/model/resource.ts';
import type { Snapshot } from '../../../../src/model/snapshot.ts';
import {
  applyChanges,
  diffSnapshots,
  emptySnapshot,
  snapshotOf,
  snapshotResources,
} from '../../../../src/model/snapshot.ts';

function res(obj: unknown): Resource {
  const r = validateResource(obj);
  if (!r.ok) throw new Error(r.problems.join('\n'));
  return r.resource;
}

const node = (name: string, rack: string) =>
  res({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { rack } } });
const pod = (ns: string, name: string, app: string) =>
  res({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels: { app } } });

describe('snapshotOf', () => {
  it('files each kind under its field and key', () => {
    const s = snapshotOf([
      node('n1', 'r1'),
      pod('a', 'web', 'x'),
      pod('b', 'web', 'x'),
      res({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } }),
      res({
        apiVersion: 'margay.io/v1',
        kind: 'IPPool',
        metadata: { name: 'p' },
        spec: { cidr: '10.0.0.0/16' },
      }),
    ]);
    expect([...s.nodes.keys()]).toEqual(['n1']);
    expect([...s.pods.keys()]).toEqual(['a/web', 'b/web']);
    expect([...s.namespaces.keys()]).toEqual(['a']);
    expect([...s.ipPools.keys()]).toEqual(['p']);
    expect(s.bgpPeers.size + s.bgpConfigurations.size + s.networkPolicies.size).toBe(0);
    expect([...snapshotResources(s)]).toHaveLength(5);
  });
  it('throws on a duplicate', () => {
    expect(() => snapshotOf([node('n1', 'r1'), node('n1', 'r2')])).toThrow(/duplicate Node n1/);
  });
});

describe('diffSnapshots', () => {
  const stateArb = fc.uniqueArray(
    fc.record({
      kind: fc.constantFrom('node', 'pod'),
      name: fc.constantFrom('a', 'b', 'c', 'd'),
      ns: fc.constantFrom('x', 'y'),
      label: fc.constantFrom('1', '2'),
    }),
    { selector: (r) => `${r.kind}/${r.ns}/${r.name}`, maxLength: 8 },
  );
  type State = { kind: 'node' | 'pod'; name: string; ns: string; label: string }[];
  const build = (state: State): Snapshot =>
    snapshotOf(
      state.map((r) => (r.kind === 'node' ? node(`${r.ns}-${r.name}`, r.label) : pod(r.ns, r.name, r.label))),
    );

  function apply(s: Snapshot, changes: ReturnType<typeof diffSnapshots>): Resource[] {
    const byId = new Map<string, Resource>();
    for (const r of snapshotResources(s))
      byId.set(`${r.kind}/${r.metadata.namespace ?? ''}/${r.metadata.name}`, r);
    for (const c of changes) {
      const id = `${c.kind}/${c.resource.metadata.namespace ?? ''}/${c.resource.metadata.name}`;
      if (c.type === 'deleted') {
        expect(byId.has(id)).toBe(true);
        byId.delete(id);
      } else {
        expect(byId.has(id)).toBe(c.type === 'modified');
        byId.set(id, c.resource);
      }
    }
    return [...byId.values()];
  }

  it('applying diff(a, b) to a gives b, and diff(b, b) is empty', () => {
    fc.assert(
      fc.property(stateArb, stateArb, (sa, sb) => {
        const a = build(sa);
        const b = build(sb);
        const changes = diffSnapshots(a, b);
        expect(diffSnapshots(snapshotOf(apply(a, changes)), b)).toEqual([]);
        expect(diffSnapshots(b, b)).toEqual([]);
        expect(diffSnapshots(b, build([...sb].reverse()))).toEqual([]); // input order does not matter
      }),
    );
  });

  it('applyChanges(a, diff(a, b)) is b, sharing the kinds and objects that did not change', () => {
    fc.assert(
      fc.property(stateArb, stateArb, (sa, sb) => {
        const a = build(sa);
        const changes = diffSnapshots(a, build(sb));
        const next = applyChanges(a, changes);
        expect(diffSnapshots(next, build(sb))).toEqual([]);
        expect(diffSnapshots(a, next)).toEqual(changes);
        if (!changes.some((c) => c.kind === 'Pod')) expect(next.pods).toBe(a.pods);
        if (!changes.some((c) => c.kind === 'Node')) expect(next.nodes).toBe(a.nodes);
        for (const [key, pod] of a.pods)
          if (!changes.some((c) => c.kind === 'Pod' && c.key === key)) expect(next.pods.get(key)).toBe(pod);
      }),
    );
  });

  it('reports added, modified and deleted with the old object', () => {
    const changes = diffSnapshots(
      snapshotOf([node('n1', 'r1'), node('n2', 'r1')]),
      snapshotOf([node('n1', 'r2'), node('n3', 'r1')]),
    );
    expect(
      changes.map((c) => [c.type, c.key, c.resource.metadata.labels.rack, c.previous?.metadata.labels.rack]),
    ).toEqual([
      ['modified', 'n1', 'r2', 'r1'],
      ['added', 'n3', 'r1', undefined],
      ['deleted', 'n2', 'r1', undefined],
    ]);
    expect(diffSnapshots(emptySnapshot(), emptySnapshot())).toEqual([]);
  });
});
