// What a calculation output becomes for the Dataplane and the Speaker (src/daemon/desired.ts):
// a new desired state only when a part of it moved, the routes being the blackholes and the routes
// from the best paths; announcements only for pod CIDRs whose blackhole is programmed.
import { describe, expect, it } from 'vitest';
import type { RouteSpec } from '../../../../felix/index.ts';
import { Announcements, type DataplaneInput, DesiredDataplane } from '../../../../src/daemon/desired.ts';

const blackhole: RouteSpec = { dst: '10.244.1.0/24', type: 'blackhole', reason: 'own pod CIDR' };
const remote = (gateway: string): RouteSpec => ({ dst: '10.244.2.0/24', nextHops: [{ gateway }] });

function output(parts: Partial<DataplaneInput['state']['dataplane']>, remoteRoutes: readonly RouteSpec[]) {
  return {
    state: {
      dataplane: {
        localRoutes: [blackhole],
        endpoints: [],
        iptables: [],
        ipsets: [],
        vxlan: null,
        ipip: null,
        ...parts,
      },
    },
    remoteRoutes,
  } satisfies DataplaneInput;
}

describe('DesiredDataplane', () => {
  it('routes are the local ones then the remote ones; ipip null is "not managed"', () => {
    const out = output({}, [remote('192.0.2.2')]);
    const d = new DesiredDataplane().from(out);
    expect(d.routes).toEqual([blackhole, remote('192.0.2.2')]);
    expect(d.ipip).toBeUndefined();
    expect(d.vxlan).toBeNull();
  });

  it('gives nothing new when no part moved, and a new state sharing the parts that did not', () => {
    const dd = new DesiredDataplane();
    const base = output({}, [remote('192.0.2.2')]);
    const first = dd.next(base);
    expect(first).toBeDefined();
    // Same parts again (a pass where nothing moved): nothing to hand over.
    expect(
      dd.next({ state: { dataplane: { ...base.state.dataplane } }, remoteRoutes: base.remoteRoutes }),
    ).toBe(undefined);
    // A best path moved: new routes, the policy parts are the same objects.
    const moved = { ...base, remoteRoutes: [remote('192.0.2.3')] };
    const second = dd.next(moved);
    expect(second?.routes).toEqual([blackhole, remote('192.0.2.3')]);
    expect(second?.iptables).toBe(first?.iptables);
    expect(second?.ipsets).toBe(first?.ipsets);
    // A policy part moved: the routes array is reused.
    const third = dd.next({
      state: { dataplane: { ...base.state.dataplane, ipsets: [] } },
      remoteRoutes: moved.remoteRoutes,
    });
    expect(third).toBeDefined();
    expect(third?.routes).toBe(second?.routes);
  });
});

describe('Announcements', () => {
  const a1 = { prefix: '10.244.1.0/24' };
  const a2 = { prefix: 'fd00:244:1::/64' };

  it('announces only what is programmed, and again once more is', () => {
    const ann = new Announcements();
    const list = [a1, a2];
    const programmed = new Set(['10.244.1.0/24']);
    expect(ann.next(list, (p) => programmed.has(p))).toEqual([a1]);
    expect(ann.announced).toEqual(['10.244.1.0/24']);
    expect(ann.next(list, (p) => programmed.has(p))).toBeUndefined();
    programmed.add('fd00:244:1::/64');
    expect(ann.next(list, (p) => programmed.has(p))).toEqual([a1, a2]);
    programmed.delete('10.244.1.0/24');
    expect(ann.next(list, (p) => programmed.has(p))).toEqual([a2]);
  });

  it('without a dataplane every announcement goes, once per list; reset hands it again', () => {
    const ann = new Announcements();
    const list = [a1];
    expect(ann.next(list)).toEqual([a1]);
    expect(ann.next(list)).toBeUndefined();
    expect(ann.next([a1])).toEqual([a1]); // a new list from the calculation
    ann.reset();
    expect(ann.announced).toEqual([]);
    expect(ann.next(list)).toEqual([a1]);
  });
});
