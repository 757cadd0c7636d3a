// The agent's BGP password comes from a Secret: `margay agent` (its own process, in network
// namespace n, file datastore, dataplane off) peers with BIRD 2 in namespace t over two sessions:
// `tor1` (BGPPeer tor-md5, password from Secret margay-system/tor-md5; BIRD `password "…"`) and
// `plain` (BGPPeer tor-plain, no password), each between its own pair of addresses.
// - both sessions reach Established, so the kernel signs `tor1` with the Secret's value (BIRD
//   drops unsigned or wrongly signed segments);
// - BIRD switches to a new key, and the Secret follows: `tor1` comes back with the new key, and
//   `plain` stays Established throughout (its BIRD "since" time does not move);
// - the BGPPeer names a key the Secret does not have: `tor1` goes down, the agent's status names
//   the Secret and the key (so does its log), and `plain` still stays up.
// The password never shows in the agent's REST API. `plain`'s BGPPeer writes its timers as
// Calico durations (holdTime 1m30s, keepaliveTime 7s): BIRD's hold timer and the agent's session
// show 90 s and 7 s.
// Only the namespaces this file creates are touched; the lab removes them and kills BIRD and the
// agent by PID in afterAll.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirePrograms } from '../support/programs.ts';
import {
  agentStatus as agentStatusIn,
  NODE_AS,
  rekeyTor,
  startTor,
  TOR_AS,
  torEstablished,
  torState,
} from './bgp/tor-password.ts';
import { type BirdHandle, Lab, waitFor } from './lib/index.ts';

const isRoot = process.getuid?.() === 0;
const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
const API_PORT = 19099;
const NS = 'margay-system';

const docs = (secretKey: string, password: string) =>
  [
    `apiVersion: v1
kind: Node
metadata: { name: node-1, annotations: { margay.io/ipv4-address: 192.0.2.11/24 } }
spec: { podCIDRs: [10.244.1.0/24] }
`,
    `apiVersion: margay.io/v1
kind: BGPConfiguration
metadata: { name: default }
spec: { asNumber: ${NODE_AS}, nodeToNodeMeshEnabled: false }
`,
    `apiVersion: margay.io/v1
kind: BGPPeer
metadata: { name: tor-md5 }
spec:
  peerIP: 192.0.2.1
  asNumber: ${TOR_AS}
  password: { secretKeyRef: { name: tor-md5, key: ${secretKey} } }
`,
    `apiVersion: margay.io/v1
kind: BGPPeer
metadata: { name: tor-plain }
spec:
  peerIP: 192.0.2.2
  asNumber: ${TOR_AS}
  sourceAddress: 192.0.2.12
  holdTime: 1m30s
  keepaliveTime: 7s
`,
    `apiVersion: v1
kind: Secret
metadata: { name: tor-md5, namespace: ${NS} }
type: Opaque
data: { password: ${Buffer.from(password).toString('base64')} }
`,
  ].join('---\n');

describe.skipIf(!isRoot)('agent: BGP password from a Secret, against BIRD 2', () => {
  const lab = new Lab();
  let n = '';
  let bird: BirdHandle;
  let datastore = '';
  let agentLog = '';

  const save = (text: string) => {
    writeFileSync(`${datastore}.tmp`, text);
    renameSync(`${datastore}.tmp`, datastore);
  };
  const state = (name: string) => torState(bird, name);
  /** The "since" column of `show protocols` for a protocol: when its state last changed. */
  const since = async (name: string) => {
    const line = (await bird.birdc(`show protocols ${name}`)).split('\n').find((l) => l.startsWith(name));
    const value = line?.trim().split(/\s+/)[4];
    if (value === undefined) throw new Error(`no protocol ${name} in show protocols`);
    return value;
  };
  const established = (name: string) => torEstablished(bird, name);
  const agentStatus = () => agentStatusIn(lab, n, API_PORT);

  beforeAll(async () => {
    requirePrograms('ip', 'bird', 'birdc', 'curl');
    ({ n, bird } = await startTor(lab, 'first-key', { plain: true }));

    const dir = lab.mkdir('agent');
    datastore = join(dir, 'cluster.yaml');
    save(docs('password', 'first-key'));
    const config = join(dir, 'agent.json');
    writeFileSync(
      config,
      JSON.stringify({
        nodeName: 'node-1',
        datastore: { type: 'file', path: datastore },
        api: { listen: `127.0.0.1:${API_PORT}` },
        dataplane: { enabled: false },
        ipv4Autodetection: 'interface=eth0',
        secretNamespace: NS,
        logLevel: 'info',
      }),
    );
    agentLog = lab.spawn(n, [process.execPath, MAIN, 'agent', '--config', config], { name: 'agent' }).logFile;
  }, 30_000);

  afterAll(async () => {
    await lab.teardown();
  });

  it('peers with the password of the Secret', async () => {
    await established('tor1');
    await established('plain');
    expect(await since('plain')).toMatch(/^\d\d:\d\d:\d\d/);
    expect((await agentStatus()).problems).toEqual([]);
    // The REST API shows the peers, never the password.
    for (const path of ['/v1/status', '/v1/bgp/peers']) {
      const body = (await lab.exec(n, ['curl', '-sf', `http://127.0.0.1:${API_PORT}${path}`])).stdout;
      expect(body).toContain('192.0.2.1');
      expect(body).not.toContain('first-key');
    }
  }, 60_000);

  it('runs the session with the hold and keepalive times its BGPPeer writes as durations', async () => {
    await established('plain');
    const { peers } = JSON.parse(
      (await lab.exec(n, ['curl', '-sf', `http://127.0.0.1:${API_PORT}/v1/bgp/peers`])).stdout,
    ) as { peers: { address: string; holdTime: number; keepalive: number }[] };
    expect(peers.find((p) => p.address === '192.0.2.2')).toMatchObject({ holdTime: 90, keepalive: 7 });
    // BIRD's side: the negotiated hold time is ours (smaller than its 240 s).
    expect(await bird.birdc('show protocols all plain')).toMatch(/Hold timer:\s+[\d.]+\/90\b/);
  }, 30_000);

  it('re-keys that session only when the Secret changes', async () => {
    const plainSince = await since('plain');
    await rekeyTor(bird, 'second-key', { plain: true });
    save(docs('password', 'second-key'));
    await established('tor1');
    expect(await state('plain')).toBe('Established');
    expect(await since('plain')).toBe(plainSince);
  }, 60_000);

  it('leaves the session out, naming the Secret and key, when the key is missing', async () => {
    const plainSince = await since('plain');
    save(docs('no-such-key', 'second-key'));
    await waitFor(
      async () =>
        (await agentStatus()).problems.includes(
          `BGPPeer tor-md5: spec.password: Secret ${NS}/tor-md5 has no key "no-such-key" (not peered)`,
        ),
      { describe: 'the problem in the agent status', timeoutMs: 15_000 },
    );
    await waitFor(async () => (await state('tor1')) !== 'Established', {
      describe: 'BIRD tor1 down',
      timeoutMs: 10_000,
    });
    // The agent's log says it too (a calc.problem warning), without the value.
    const log = readFileSync(agentLog, 'utf8');
    expect(log).toMatch(/calc\.problem.*Secret margay-system\/tor-md5 has no key \\?"no-such-key/);
    expect(log).not.toContain('second-key');
    expect(await state('plain')).toBe('Established');
    expect(await since('plain')).toBe(plainSince);
  }, 60_000);
});
