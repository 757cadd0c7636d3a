// `margay demo` (`npm run demo`): the README's first command. It brings up a 3-node lab with a
// BIRD top-of-rack router (real `margay agent` processes in network namespaces, never connected
// to the host), shows `margayctl node status` of every node, proves pod-to-pod traffic across
// nodes and the routes the ToR learned, and says how to explore and tear down. Every step is a
// real `margay …` command, printed before it runs, so the user can repeat it.
// With --once the lab is removed at the end (what the test of this command does).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MargayError } from '../errors.ts';
import { MARGAYCTL_MAIN } from '../lab/build.ts';
import { AGENT_API } from '../lab/cluster.ts';
import { defaultStateDir } from '../lab/state.ts';
import { torPrefixes } from '../lab/tor.ts';
import { requireLab } from '../lab/up.ts';

const MAIN = fileURLToPath(
  new URL(`../main.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url),
);

function margay(args: readonly string[], opts: { quiet?: boolean } = {}): { status: number; stdout: string } {
  if (!opts.quiet) process.stdout.write(`\n$ margay ${args.join(' ')}\n`);
  const run = spawnSync(process.execPath, [MAIN, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (!opts.quiet) process.stdout.write(run.stdout);
  return { status: run.status ?? 1, stdout: run.stdout };
}

export async function runDemo(opts: { once: boolean }): Promise<number> {
  if (process.getuid?.() !== 0)
    throw new MargayError('MARGAY_ERR_DEMO', 'the demo creates network namespaces: run it as root');
  if (margay(['lab', 'up', '--nodes', '3', '--tor', 'bird']).status !== 0) {
    throw new MargayError(
      'MARGAY_ERR_DEMO',
      'the lab did not come up (see above); "margay lab down" removes what is left',
    );
  }
  try {
    const state = requireLab(defaultStateDir());
    for (const node of state.nodes) {
      const r = margay([
        'lab',
        'exec',
        node.name,
        '--',
        process.execPath,
        MARGAYCTL_MAIN,
        'node',
        'status',
        '--api',
        AGENT_API,
      ]);
      if (r.status !== 0)
        throw new MargayError('MARGAY_ERR_DEMO', `margayctl node status failed on ${node.name}`);
    }

    const [a, b] = [state.pods[0], state.pods.find((p) => p.node !== state.pods[0]?.node)];
    if (a && b) {
      const port = `${b.ports[0]?.port ?? 8080}/${(b.ports[0]?.protocol ?? 'TCP').toLowerCase()}`;
      const probe = margay(['lab', 'probe', `${a.namespace}/${a.name}`, `${b.namespace}/${b.name}`, port]);
      process.stdout.write(
        probe.status === 0
          ? `pod ${a.namespace}/${a.name} on ${a.node} reached ${b.namespace}/${b.name} on ${b.node}\n`
          : `pod-to-pod probe failed (exit ${probe.status})\n`,
      );
      if (probe.status !== 0) throw new MargayError('MARGAY_ERR_DEMO', 'cross-node pod traffic failed');
    }
    const matrix = JSON.parse(margay(['lab', 'probe', '--matrix', '8080/tcp'], { quiet: true }).stdout) as {
      summary: { reachable: number; blocked: number; error: number };
    };
    const { reachable, blocked, error } = matrix.summary;
    process.stdout.write(
      `\n$ margay lab probe --matrix 8080/tcp\n${reachable} of ${reachable + blocked + error} pod pairs reachable on 8080/tcp\n`,
    );
    if (blocked + error > 0)
      throw new MargayError('MARGAY_ERR_DEMO', 'some pod pairs could not reach each other');

    if (state.router) {
      const prefixes = await torPrefixes(state.router);
      process.stdout.write(`\nBIRD top-of-rack (AS ${state.router.torAsNumber}) learned:\n`);
      for (const p of prefixes) process.stdout.write(`  ${p}\n`);
    }

    process.stdout.write(
      [
        '',
        'Explore the lab (as root):',
        '  npm run margay -- lab status',
        '  npm run margay -- lab probe --matrix 8080/tcp',
        `  npm run margay -- lab exec node-1 -- ip route show proto 109`,
        '  npm run margay -- lab apply FILE      # NetworkPolicy, BGPPeer, IPPool, Node, Pod …',
        'Tear it down:',
        '  npm run margay -- lab down',
        '',
      ].join('\n'),
    );
    return 0;
  } finally {
    if (opts.once) margay(['lab', 'down']);
  }
}
