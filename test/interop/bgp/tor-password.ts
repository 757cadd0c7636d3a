// BIRD 2 as a ToR that requires a TCP MD5 password of the node, for the agent's password tests.
import { writeFileSync } from 'node:fs';
import { type BirdHandle, birdConfig, birdProtocol, type Lab, startBird, waitFor } from '../lib/index.ts';

export const NODE_AS = 64512;
export const TOR_AS = 65001;

/**
 * BIRD's config: protocol tor1 (192.0.2.1 to the node at 192.0.2.11) with password `key` and,
 * with `plain`, protocol plain (192.0.2.2 to 192.0.2.12) without one.
 */
export const torConfig = (key: string, o: { plain?: boolean } = {}) =>
  birdConfig({
    routerId: '192.0.2.1',
    localAs: TOR_AS,
    neighbors: [
      {
        name: 'tor1',
        address: '192.0.2.11',
        localAddress: '192.0.2.1',
        remoteAs: NODE_AS,
        extra: [`password "${key}";`],
      },
      ...(o.plain === true
        ? [{ name: 'plain', address: '192.0.2.12', localAddress: '192.0.2.2', remoteAs: NODE_AS }]
        : []),
    ],
  });

/**
 * Namespaces n (the node, 192.0.2.11 on eth0) and t (BIRD, 192.0.2.1) on one link, with BIRD
 * started on torConfig(key, o); with `plain`, 192.0.2.12 and 192.0.2.2 are added for it.
 */
export async function startTor(
  lab: Lab,
  key: string,
  o: { plain?: boolean } = {},
): Promise<{ n: string; t: string; bird: BirdHandle }> {
  const n = await lab.addNamespace('n');
  const t = await lab.addNamespace('t');
  await lab.connect(
    { ns: n, ifname: 'eth0', ipv4: '192.0.2.11/24' },
    { ns: t, ifname: 'eth0', ipv4: '192.0.2.1/24' },
  );
  if (o.plain === true) {
    // BIRD keys its listening socket by the peer's address: `plain` needs a node address of its own.
    await lab.exec(t, ['ip', 'addr', 'add', '192.0.2.2/24', 'dev', 'eth0']);
    await lab.exec(n, ['ip', 'addr', 'add', '192.0.2.12/24', 'dev', 'eth0']);
  }
  const bird = await startBird(lab, t, torConfig(key, o));
  return { n, t, bird };
}

/** The BGP state of BIRD's protocol `name`. */
export const torState = async (bird: BirdHandle, name: string) => (await birdProtocol(bird, name)).bgpState;

/** Resolves once BIRD's protocol `name` is Established. */
export const torEstablished = (bird: BirdHandle, name: string, timeoutMs = 30_000) =>
  waitFor(async () => (await torState(bird, name)) === 'Established', {
    describe: `BIRD ${name} Established`,
    timeoutMs,
  });

/** BIRD switches tor1 to password `key` and resolves once tor1 is down (the node has the old one). */
export async function rekeyTor(bird: BirdHandle, key: string, o: { plain?: boolean } = {}): Promise<void> {
  writeFileSync(bird.configPath, torConfig(key, o));
  await bird.birdc('configure');
  await waitFor(async () => (await torState(bird, 'tor1')) !== 'Established', {
    describe: 'BIRD tor1 down with its new key',
    timeoutMs: 10_000,
  });
}

/** The agent's /v1/status, fetched with curl inside namespace `ns`. */
export const agentStatus = async (lab: Lab, ns: string, port: number): Promise<{ problems: string[] }> =>
  JSON.parse((await lab.exec(ns, ['curl', '-sf', `http://127.0.0.1:${port}/v1/status`])).stdout);
