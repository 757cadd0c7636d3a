import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Speaker } from '../../../../bgp/speaker/speaker.ts';
import { type ApiServer, startApi } from '../../../../src/api/server.ts';
import { collectClusterStatus, renderClusterStatus } from '../../../../src/ctl/cluster-status.ts';
import { renderGet } from '../../../../src/ctl/get.ts';
import { parseResourceFile } from '../../../../src/datastore/file/parse.ts';
import { snapshotOf } from '../../../../src/model/snapshot.ts';

const CLUSTER = `
apiVersion: margay.io/v1
kind: BGPConfiguration
metadata: { name: default }
spec:
  asNumber: 64512
  nodeASNumbers: [{ nodeSelector: "rack == 'r2'", asNumber: 64602 }]
---
apiVersion: v1
kind: Node
metadata:
  name: node-1
  labels: { rack: r1 }
  annotations: { margay.io/ipv4-address: 127.0.0.1/8, margay.io/route-reflector-cluster-id: 244.0.0.1 }
spec: { podCIDRs: [10.244.1.0/24] }
---
apiVersion: v1
kind: Node
metadata: { name: node-2, labels: { rack: r2 }, annotations: { margay.io/ipv4-address: 127.0.0.2/8 } }
spec: { podCIDRs: [10.244.2.0/24, "2001:db8:244:2::/64"] }
---
apiVersion: v1
kind: Node
metadata: { name: node-3, annotations: { margay.io/ipv4-address: 127.0.0.3/8, margay.io/as-number: "65003" } }
spec: { podCIDRs: [10.244.3.0/24] }
---
apiVersion: margay.io/v1
kind: BGPPeer
metadata: { name: tor-r1 }
spec: { peerIP: 192.0.2.1, asNumber: 65000, nodeSelector: "rack == 'r1'" }
---
apiVersion: margay.io/v1
kind: IPPool
metadata: { name: pods-v4 }
spec: { cidr: 10.244.0.0/16, vxlanMode: CrossSubnet, natOutgoing: true }
`;

const snapshot = snapshotOf(parseResourceFile(CLUSTER, 'cluster.yaml'));

describe('margayctl get', () => {
  it('lists nodes with their AS (and where it came from), addresses and pod CIDRs', () => {
    const out = renderGet('nodes', snapshot, 'table');
    expect(out).toMatch(/\| node-1 +\| 64512 +\| 127\.0\.0\.1 +\| +\| 10\.244\.1\.0\/24 +\|/);
    expect(out).toMatch(
      /\| node-2 +\| 64602 \(nodeASNumbers\) +\| 127\.0\.0\.2 +\| +\| 10\.244\.2\.0\/24,2001:db8:244:2::\/64 +\|/,
    );
    expect(out).toMatch(/\| node-3 +\| 65003 \(annotation\) +\|/);
    expect(renderGet('nodes', snapshot, 'wide')).toMatch(/\| node-1 .*\| 244\.0\.0\.1 +\| rack=r1 +\|/);
  });

  it('lists BGP peers and IP pools, and emits Kubernetes-shaped JSON', () => {
    expect(renderGet('bgppeers', snapshot, 'table')).toMatch(
      /\| tor-r1 +\| 192\.0\.2\.1 +\| +\| 65000 +\| rack == 'r1' +\|/,
    );
    expect(renderGet('ippools', snapshot, 'table')).toMatch(
      /\| pods-v4 +\| 10\.244\.0\.0\/16 +\| CrossSubnet +\| Never +\| true +\| false +\|/,
    );
    const list = JSON.parse(renderGet('ippools', snapshot, 'json'));
    expect(list.kind).toBe('List');
    expect(list.items[0]).toMatchObject({ kind: 'IPPool', metadata: { name: 'pods-v4' } });
  });
});

describe('margayctl node status --all', () => {
  const apis: ApiServer[] = [];
  const speakers: Speaker[] = [];
  let port = 0;

  beforeAll(async () => {
    port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    // node-1 and node-2 run a real speaker + API; node-3 is down.
    for (const [i, host] of ['127.0.0.1', '127.0.0.2'].entries()) {
      const speaker = new Speaker({ asn: 64512, routerId: `192.0.2.${i + 11}`, listen: null });
      speaker.setPeers([{ address: '192.0.2.1', asn: 65000, passive: true }]);
      await speaker.start();
      speakers.push(speaker);
      apis.push(
        await startApi(
          {
            status: () => ({ version: 'test', mode: 'agent', uptimeSeconds: 1 }),
            peers: () => speaker.peers(),
            routes: () => [],
            metrics: () => [],
            live: () => ({ ok: true }),
            ready: () => ({ ok: true }),
          },
          { host, port },
        ),
      );
    }
  });

  afterAll(async () => {
    for (const a of apis) await a.close();
    for (const s of speakers) await s.stop({ message: 'done' });
  });

  it('shows every answering node and names the one that does not', async () => {
    const get = async (api: string, path: string) => {
      const res = await fetch(`http://${api}${path}`, { signal: AbortSignal.timeout(2000) });
      if (!res.ok) throw new Error(`answered ${res.status}`);
      return res.json();
    };
    const reports = await collectClusterStatus(snapshot, port, get);
    expect(reports.map((r) => [r.node, r.error === undefined])).toEqual([
      ['node-1', true],
      ['node-2', true],
      ['node-3', false],
    ]);
    const text = renderClusterStatus(reports);
    expect(text).toContain('2 of 3 node(s) answered.');
    expect(text).toContain(`=== node-3 (127.0.0.3:${port})\nunreachable:`);
    expect(text.match(/\| 192\.0\.2\.1 +\| ebgp +\| start /g)).toHaveLength(2);
  });
});

describe('margayctl get (the command)', () => {
  it('reads a datastore file, and exits 2 naming what is missing', async () => {
    const { spawnSync } = await import('node:child_process');
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const ctl = join(import.meta.dirname, '..', '..', '..', '..', 'src/ctl/main.ts');
    const file = join(mkdtempSync(join(tmpdir(), 'margayctl-')), 'cluster.yaml');
    writeFileSync(file, CLUSTER);
    const ok = spawnSync(process.execPath, [ctl, 'get', 'bgppeers', '--datastore-file', file, '-o', 'yaml'], {
      encoding: 'utf8',
    });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('name: tor-r1');
    const noSource = spawnSync(process.execPath, [ctl, 'get', 'nodes'], { encoding: 'utf8' });
    expect(noSource.status).toBe(2);
    expect(noSource.stderr).toContain('--datastore-file PATH, --kubeconfig PATH or --kubernetes');
    const badKind = spawnSync(process.execPath, [ctl, 'get', 'pods', '--datastore-file', file], {
      encoding: 'utf8',
    });
    expect(badKind.status).toBe(2);
  });
});
