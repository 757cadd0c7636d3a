// A local pod whose host interface does not exist: the real Agent (in this process) with a file
// datastore and its real Dataplane programming a namespace of this test (`mgym-<pid>-…`, deleted in
// afterAll, also on failure). The pod is in the datastore, its veth is not:
//   - it is not programmed: no route in the kernel, listed in /v1/status with the reason, counted in
//     /metrics, its routes listed as pending; no route is marked failed (nothing to retry);
//   - it is logged once at warn, naming pod, namespace and interface;
//   - the node stays ready (one broken pod does not take the node out of service);
//   - once the veth is made, its route appears with no resync (the resync interval is an hour)
//     and the pod's interface is logged at info.
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { run } from '../../felix/dataplane/exec.ts';
import { type DataplaneStatus, workloadIfaceName } from '../../felix/index.ts';
import { agentStatusSource } from '../../src/api/agent-status.ts';
import { renderMetrics } from '../../src/api/metrics.ts';
import type { StatusSource } from '../../src/api/server.ts';
import { parseAgentConfig } from '../../src/config/agent.ts';
import { Agent } from '../../src/daemon/agent.ts';
import { FileDatastore } from '../../src/datastore/file/file-datastore.ts';
import { setLogLevel } from '../../src/log.ts';
import { requirePrograms } from '../support/programs.ts';
import { until } from '../support/until.ts';
import { Lab } from './lib/lab.ts';

const isRoot = process.getuid?.() === 0;

const DOCS = [
  `apiVersion: v1
kind: Node
metadata: { name: node-1, annotations: { margay.io/ipv4-address: 192.0.2.11/24 } }
spec: { podCIDRs: [10.244.1.0/24] }
`,
  `apiVersion: margay.io/v1
kind: IPPool
metadata: { name: pods }
spec: { cidr: 10.244.0.0/16 }
`,
  'apiVersion: v1\nkind: Namespace\nmetadata: { name: shop }\n',
  `apiVersion: v1
kind: Pod
metadata: { name: web-1, namespace: shop, labels: { app: web } }
spec: { nodeName: node-1, containers: [{ name: c }] }
status: { phase: Running, podIP: 10.244.1.7, podIPs: [{ ip: 10.244.1.7 }] }
`,
];
const IFACE = workloadIfaceName('shop', 'web-1');

describe.skipIf(!isRoot)('agent: a local pod whose interface is missing', () => {
  const lab = isRoot ? new Lab({ prefix: `mgym-${process.pid}-` }) : undefined;
  let ns = '';
  let agent: Agent;
  let api: StatusSource;
  const logged: Record<string, unknown>[] = [];
  const dataplane = () => api.status().dataplane as DataplaneStatus;
  const kernelRoute = async () =>
    (await run({ argv: ['ip', '-n', ns, 'route', 'show', '10.244.1.7/32', 'proto', '109'] })).stdout.trim();
  const logEvents = (event: string) => logged.filter((l) => l.event === event);

  beforeAll(async () => {
    requirePrograms('ip', 'ipset', 'iptables-nft-save');
    setLogLevel('info');
    // The agent's log lines, as they are written.
    const write = process.stderr.write.bind(process.stderr);
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
      for (const line of String(chunk).split('\n'))
        if (line.startsWith('{"time"')) logged.push(JSON.parse(line) as Record<string, unknown>);
      return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
    });
    ns = await lab!.addNamespace('node');
    await lab!.exec(ns, ['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p']);
    await lab!.exec(ns, ['ip', 'addr', 'add', '192.0.2.11/24', 'dev', 'eth0']);
    for (const l of ['eth0', 'eth0p']) await lab!.exec(ns, ['ip', 'link', 'set', l, 'up']);
    const path = join(lab!.dir, 'cluster.yaml');
    writeFileSync(`${path}.tmp`, DOCS.join('---\n'));
    renameSync(`${path}.tmp`, path);
    const config = parseAgentConfig({
      nodeName: 'node-1',
      datastore: { type: 'file', path },
      bgp: { enabled: false },
      dataplane: { resyncIntervalSeconds: 3600 },
      logLevel: 'info',
    });
    agent = new Agent({ config, datastore: new FileDatastore({ path }), netns: ns });
    api = agentStatusSource(agent.view(), () => []);
    await agent.start();
    await agent.idle();
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    vi.restoreAllMocks();
    setLogLevel('error');
    await lab?.teardown();
  });

  it('is not programmed, says why, and is logged once at warn; the node stays ready', async () => {
    const dp = dataplane();
    expect(dp.endpointsNotProgrammed).toEqual([
      expect.objectContaining({
        id: 'shop/web-1',
        namespace: 'shop',
        name: 'web-1',
        interface: IFACE,
        reason: expect.stringContaining(`interface ${IFACE} does not exist`),
      }),
    ]);
    expect(dp.counts.endpointsMissingInterface).toBe(1);
    expect(dp.routeProblems).toEqual([]); // nothing refused, so nothing retried
    expect(await kernelRoute()).toBe('');
    const listed = agent
      .view()
      .dataplane()
      ?.listRoutes()
      .find((r) => r.dst === '10.244.1.7/32');
    expect(listed).toMatchObject({ state: 'pending', nextHops: [{ dev: IFACE }] });
    expect(listed?.message).toContain('does not exist');
    expect(renderMetrics(api.metrics())).toContain(
      'margay_dataplane_endpoints_not_programmed{reason="interface_missing"} 1',
    );
    expect(api.ready()).toEqual({ ok: true });
    expect(logEvents('dataplane.workload-interface-missing')).toEqual([
      expect.objectContaining({ level: 'warn', pod: 'web-1', namespace: 'shop', interface: IFACE }),
    ]);
    // Another pass that finds the interface still missing (the link watch starts one when it is
    // up) logs nothing new.
    await until(() => dataplane().applies >= 2 && !dataplane().applying, 'a second dataplane pass');
    expect(dataplane().endpointsNotProgrammed).toHaveLength(1);
    expect(logEvents('dataplane.workload-interface-missing')).toHaveLength(1);
  });

  it('is programmed as soon as its interface appears, with no resync', async () => {
    const resyncs = dataplane().resyncs;
    await lab!.exec(ns, ['ip', 'link', 'add', IFACE, 'type', 'veth', 'peer', 'name', 'mgp1']);
    for (const l of [IFACE, 'mgp1']) await lab!.exec(ns, ['ip', 'link', 'set', l, 'up']);
    const route = await until(kernelRoute, 'the pod route in the kernel');
    expect(route).toContain(`dev ${IFACE}`);
    await until(() => dataplane().endpointsNotProgrammed.length === 0, 'the pod programmed');
    expect(dataplane().resyncs).toBe(resyncs);
    expect(dataplane().counts.endpointsMissingInterface).toBe(0);
    expect(renderMetrics(api.metrics())).toContain(
      'margay_dataplane_endpoints_not_programmed{reason="interface_missing"} 0',
    );
    expect(logEvents('dataplane.workload-interface-found')).toEqual([
      expect.objectContaining({ level: 'info', pod: 'web-1', namespace: 'shop', interface: IFACE }),
    ]);
    expect(logEvents('dataplane.workload-interface-missing')).toHaveLength(1);
  });
});
