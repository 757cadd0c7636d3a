// `margay demo`: the README's first command until `margay lab` exists. Two network namespaces
// joined by a veth (192.0.2.0/24, 2001:db8::/64; never connected to the host): BIRD 2 in one,
// `margay speaker` in the other, eBGP over IPv4 and IPv6. It waits for both sessions, prints
// `margayctl node status`, the routes Margay learned and the routes BIRD learned, then keeps
// running until Ctrl-C (or exits at once with --once) and removes everything it created.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MargayError } from '../errors.ts';
import { birdConfig, birdc, startBird, waitBirdEstablished } from '../lab/bird.ts';
import { Lab } from '../lab/lab.ts';
import { waitFor } from '../lab/wait.ts';

const MARGAY = { v4: '192.0.2.1', v6: '2001:db8::1', asn: 64512 };
const BIRD = { v4: '192.0.2.2', v6: '2001:db8::2', asn: 64513 };
const API = '127.0.0.1:9179';

const SPEAKER_YAML = `# written by margay demo
asn: ${MARGAY.asn}
routerId: ${MARGAY.v4}
listen: { address: "::", port: 179 }
api: { listen: "${API}" }
peers:
  - { address: ${BIRD.v4}, asn: ${BIRD.asn}, localAddress: ${MARGAY.v4}, families: [ipv4-unicast], description: bird-v4, holdTime: 9 }
  - { address: ${BIRD.v6}, asn: ${BIRD.asn}, localAddress: ${MARGAY.v6}, families: [ipv6-unicast], description: bird-v6, holdTime: 9 }
announce:
  - { prefix: 10.244.1.0/24, communities: ["64512:100"], largeCommunities: ["64512:1:2"], med: 10 }
  - { prefix: 10.244.2.0/24, communities: [no-export] }
  - { prefix: "2001:db8:244:1::/64", communities: ["64512:600"] }
`;

const BIRD_CONF = birdConfig({
  routerId: BIRD.v4,
  localAs: BIRD.asn,
  neighbors: [
    { name: 'margay4', address: MARGAY.v4, remoteAs: MARGAY.asn, ipv4: true, holdTime: 9 },
    { name: 'margay6', address: MARGAY.v6, remoteAs: MARGAY.asn, ipv4: false, ipv6: true, holdTime: 9 },
  ],
  staticRoutes: [
    { prefix: '203.0.113.0/24', communities: [[64513, 7]], largeCommunities: [[64513, 0, 7]] },
    { prefix: '198.51.100.0/24' },
    { prefix: '2001:db8:feed::/48' },
  ],
});

function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function runDemo(opts: {
  once: boolean;
  waitForSignal: () => Promise<unknown>;
}): Promise<number> {
  if (process.getuid?.() !== 0)
    throw new MargayError('MARGAY_ERR_DEMO', 'the demo creates network namespaces: run it as root');
  for (const cmd of ['ip', 'bird', 'birdc']) {
    if (!hasCommand(cmd))
      throw new MargayError('MARGAY_ERR_DEMO', `${cmd} is not installed: run .ci/setup first`);
  }
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  const main = fileURLToPath(new URL(`../main.${ext}`, import.meta.url));
  const ctl = fileURLToPath(new URL(`../ctl/main.${ext}`, import.meta.url));
  const lab = new Lab({ prefix: `mgy-demo-${process.pid}-` });
  const say = (text: string) => process.stdout.write(`${text}\n`);
  try {
    const nsMargay = await lab.addNamespace('margay');
    const nsBird = await lab.addNamespace('bird');
    await lab.connect(
      { ns: nsMargay, ifname: 'eth0', ipv4: `${MARGAY.v4}/24`, ipv6: `${MARGAY.v6}/64` },
      { ns: nsBird, ifname: 'eth0', ipv4: `${BIRD.v4}/24`, ipv6: `${BIRD.v6}/64` },
    );
    say(`namespaces ${nsMargay} (${MARGAY.v4}, AS ${MARGAY.asn}) and ${nsBird} (${BIRD.v4}, AS ${BIRD.asn})`);

    const bird = await startBird(lab, nsBird, BIRD_CONF);
    const config = join(lab.dir, 'speaker.yaml');
    writeFileSync(config, SPEAKER_YAML);
    const speaker = lab.spawn(nsMargay, [process.execPath, main, 'speaker', '--config', config], {
      name: 'margay',
    });
    say(`started BIRD (pid ${bird.pid}) and margay speaker (pid ${speaker.pid}); config ${config}`);

    const ctlRun = async (...args: string[]) =>
      (await lab.exec(nsMargay, [process.execPath, ctl, ...args, '--api', API])).stdout;
    await waitFor(
      async () => {
        if (speaker.exitStatus()) throw new Error(`margay speaker exited; see ${speaker.logFile}`);
        const { peers } = JSON.parse(await ctlRun('node', 'status', '-o', 'json')) as {
          peers: { state: string }[];
        };
        return peers.length === 2 && peers.every((p) => p.state === 'Established');
      },
      { describe: 'both BGP sessions to reach Established', timeoutMs: 30_000, intervalMs: 250 },
    );
    await waitBirdEstablished(bird, 'margay4');
    await waitBirdEstablished(bird, 'margay6');
    // 10.244.2.0/24 carries NO_EXPORT, so Margay does not send it over eBGP (RFC 1997).
    await waitFor(
      async () =>
        (await birdc(bird.socket, 'show route protocol margay4')).includes('10.244.1.0/24') &&
        (await birdc(bird.socket, 'show route protocol margay6')).includes('2001:db8:244:1::/64'),
      { describe: "BIRD to learn Margay's prefixes", timeoutMs: 15_000 },
    );

    say('\n$ margayctl node status');
    say(await ctlRun('node', 'status'));
    say('$ margayctl bgp routes -o wide');
    say(await ctlRun('bgp', 'routes', '-o', 'wide'));
    say(`$ birdc show route protocol margay4 all   (in ${nsBird})`);
    say(await birdc(bird.socket, 'show route protocol margay4 all'));
    say(`$ birdc show route protocol margay6   (in ${nsBird})`);
    say(await birdc(bird.socket, 'show route protocol margay6'));

    if (!opts.once) {
      say('Explore while it runs (another terminal, as root):');
      say(`  ip netns exec ${nsMargay} ${process.execPath} ${ctl} node status --api ${API}`);
      say(`  birdc -s ${bird.socket} show protocols all margay4`);
      say('Press Ctrl-C to stop; everything the demo created is removed.');
      await opts.waitForSignal();
    }
    await speaker.stop();
    const lastError = async () =>
      /Last error:\s*(.*)/.exec(await birdc(bird.socket, 'show protocols all margay4'))?.[1]?.trim();
    await waitFor(lastError, { describe: 'BIRD to see the session end', timeoutMs: 10_000 });
    say(`BIRD's view after margay speaker stopped: ${await lastError()}`);
    return 0;
  } finally {
    await lab.teardown();
  }
}
