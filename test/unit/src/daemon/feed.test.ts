// GraphFeeder (src/daemon/feed.ts) with a real CalcGraph: the first feed is the whole snapshot,
// queued changes follow in order, and the periodic check finds what no change reported (the
// drift between the graph's inputs and the snapshot) and feeds it.
import { afterEach, describe, expect, it } from 'vitest';
import { GraphFeeder } from '../../../../src/daemon/feed.ts';
import { setLogLevel } from '../../../../src/log.ts';
import type { Snapshot } from '../../../../src/model/snapshot.ts';
import { node, pod, pool, snap } from '../calc/fixtures.ts';

const identity = { name: 'node-1', ipv4: '192.0.2.11/24', mtu: 1500 };
const n1 = node('node-1', { ipv4: '192.0.2.11/24', podCIDRs: ['10.244.1.0/24'] });
const n2 = node('node-2', { ipv4: '192.0.2.12/24', podCIDRs: ['10.244.2.0/24'] });
const p1 = pool('pods', '10.244.0.0/16');

let feeder: GraphFeeder | undefined;
afterEach(() => {
  feeder?.stop();
  setLogLevel('info');
});

function make(current: { snapshot: Snapshot }): GraphFeeder {
  feeder = new GraphFeeder({
    snapshot: () => current.snapshot,
    checkIntervalMs: 3_600_000,
    onCheckDue: () => {},
    stopped: () => false,
  });
  return feeder;
}

describe('GraphFeeder', () => {
  it('feeds the whole snapshot first, then the queued changes', async () => {
    const current = { snapshot: snap(n1, p1) };
    const f = make(current);
    // A change queued before the first feed is in the snapshot already: not applied twice.
    f.push([{ type: 'added', kind: 'Node', key: 'node-1', resource: n1 }]);
    const graph = await f.feed(identity);
    expect(graph).not.toBeNull();
    expect([...graph!.inputs().nodes.keys()]).toEqual(['node-1']);
    expect(graph!.update().state.node?.name).toBe('node-1');

    f.push([{ type: 'added', kind: 'Node', key: 'node-2', resource: n2 }]);
    expect(await f.feed(identity)).toBe(graph);
    expect([...graph!.inputs().nodes.keys()].sort()).toEqual(['node-1', 'node-2']);
  });

  it('the periodic check feeds what no change reported', async () => {
    setLogLevel('error'); // the check logs what it found at warn
    const current = { snapshot: snap(n1, p1) };
    let due: () => void = () => {};
    const checkDue = new Promise<void>((resolve) => {
      due = resolve;
    });
    feeder = new GraphFeeder({
      snapshot: () => current.snapshot,
      checkIntervalMs: 20,
      onCheckDue: () => due(),
      stopped: () => false,
    });
    const graph = (await feeder.feed(identity))!;
    // The datastore moved on with no change event: node-2 and a pod appeared, node-1's pool went.
    current.snapshot = snap(n1, n2, pod('shop', 'web', { node: 'node-2', ips: ['10.244.2.5'] }));
    await checkDue;
    expect(await feeder.feed(identity)).toBe(graph);
    const inputs = graph.inputs();
    expect([...inputs.nodes.keys()].sort()).toEqual(['node-1', 'node-2']);
    expect([...inputs.pods.keys()]).toEqual(['shop/web']);
    expect(inputs.ipPools.size).toBe(0);
  });

  it('drops the work when its owner stopped', async () => {
    let stopped = false;
    feeder = new GraphFeeder({
      snapshot: () => {
        stopped = true; // the owner stops while the first snapshot is fed
        return snap(n1, p1);
      },
      checkIntervalMs: 3_600_000,
      onCheckDue: () => {},
      stopped: () => stopped,
    });
    expect(await feeder.feed(identity)).toBeNull();
    expect(feeder.graph).toBeNull();
  });
});
