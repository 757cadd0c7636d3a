// `margay lab …`: a whole cluster on this machine, in network namespaces, running the real agent.
// Exit codes: 0 ok, 1 the lab failed (did not converge, a command failed), 2 usage or an invalid
// topology/resource file; `lab probe`: 0 reachable, 1 blocked, 2 error.
import { readFileSync } from 'node:fs';
import { stringify as toYaml } from 'yaml';
import { readYamlFile } from '../config/yaml-file.ts';
import { MargayError } from '../errors.ts';
import { restartAgent } from '../lab/agents.ts';
import { labApply, labDelete } from '../lab/apply.ts';
import { MARGAYCTL_MAIN } from '../lab/build.ts';
import { AGENT_API } from '../lab/cluster.ts';
import { describeNotConverged, isNodeConverged, type NodeView, nodeView } from '../lab/converge.ts';
import { defaultStateDir, isRecordedAlive, type LabState } from '../lab/state.ts';
import { defaultTopology, parseTopology, TOR_KINDS, type Topology, type TorKind } from '../lab/topology.ts';
import { type TorSession, torSessions } from '../lab/tor.ts';
import { labExec, labMatrix, labProbe, probeExitCode } from '../lab/traffic.ts';
import { labDown, labUp, requireLab } from '../lab/up.ts';
import { parseArgs } from './args.ts';
import { renderTable } from './table.ts';

export const LAB_USAGE = `  margay lab up [--topology FILE] [--nodes N] [--tor bird|frr|gobgp|none] [--route-reflectors N]
                                    build a cluster of network namespaces running margay agent (root)
  margay lab status [-o json]       nodes, agents, BGP sessions, pods
  margay lab apply|delete FILE      resources into / out of the lab's datastore (policies, peers, pools, nodes, pods)
  margay lab exec NODE|NS/POD -- CMD…          run a command in a node's or pod's namespace
  margay lab probe FROM TO PORT/PROTO [-6]     TCP connect / UDP echo (exit 0 reachable, 1 blocked, 2 error)
  margay lab probe --matrix PORT/PROTO [-6]    JSON matrix of every pod pair
  margay lab restart-agent NODE [--no-wait]    (re)start a node's agent as lab up does (SIGTERM first if running)
  margay lab down                   remove everything the lab created (also after a crash)
`;

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

function intFlag(value: string | boolean | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isInteger(n) || n < min)
    throw new MargayError('MARGAY_ERR_USAGE', `margay lab: --${name} must be an integer ≥ ${min}`);
  return n;
}

async function topologyFrom(flags: Readonly<Record<string, string | boolean>>): Promise<Topology> {
  const tor = flags.tor;
  if (tor !== undefined && !(TOR_KINDS as readonly unknown[]).includes(tor))
    throw new MargayError('MARGAY_ERR_USAGE', `margay lab up: --tor must be one of ${TOR_KINDS.join(', ')}`);
  const nodes = intFlag(flags.nodes, 'nodes', 1);
  const routeReflectors = intFlag(flags['route-reflectors'], 'route-reflectors', 0);
  if (typeof flags.topology === 'string') {
    if (nodes !== undefined)
      throw new MargayError('MARGAY_ERR_USAGE', 'margay lab up: --nodes and --topology exclude each other');
    const doc = (await readYamlFile(flags.topology)) as Record<string, unknown> | null;
    return parseTopology(
      {
        ...(doc ?? {}),
        ...(tor !== undefined ? { tor } : {}),
        ...(routeReflectors !== undefined ? { routeReflectors } : {}),
      },
      flags.topology,
    );
  }
  return defaultTopology({
    ...(nodes !== undefined ? { nodes } : {}),
    ...(tor !== undefined ? { tor: tor as TorKind } : {}),
    ...(routeReflectors !== undefined ? { routeReflectors } : {}),
  });
}

function stateDirOf(flags: Readonly<Record<string, string | boolean>>): string {
  return typeof flags['state-dir'] === 'string' ? flags['state-dir'] : defaultStateDir();
}

function nodesTable(state: LabState, views?: readonly NodeView[]): string {
  return renderTable(
    ['NODE', 'ADDRESS', 'POD CIDRS', 'AGENT', 'READY', 'BGP', 'PODS'],
    state.nodes.map((n) => {
      const v = views?.find((x) => x.name === n.name);
      const up = v?.peers.filter((p) => p.state === 'Established').length ?? 0;
      return [
        `${n.name}${n.isRouteReflector ? ' (RR)' : ''}`,
        [n.ipv4, n.ipv6].filter(Boolean).join(' '),
        [n.podCIDRv4, n.podCIDRv6].filter(Boolean).join(' '),
        n.agent && isRecordedAlive(n.agent) ? `pid ${n.agent.pid}` : 'down',
        v ? (v.ready ? 'yes' : 'no') : '?',
        v ? `${up}/${v.peers.length} up` : '?',
        String(state.pods.filter((p) => p.node === n.name).length),
      ];
    }),
  );
}

function podsTable(state: LabState): string {
  if (state.pods.length === 0) return 'No pods.';
  return renderTable(
    ['POD', 'NODE', 'IPS', 'PORTS', 'LABELS'],
    state.pods.map((p) => [
      `${p.namespace}/${p.name}`,
      p.node,
      [p.ipv4, p.ipv6].filter(Boolean).join(' '),
      p.ports.map((x) => `${x.port}/${x.protocol}${x.name ? `(${x.name})` : ''}`).join(' ') || '-',
      Object.entries(p.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',') || '-',
    ]),
  );
}

async function up(rest: readonly string[]): Promise<number> {
  const args = parseArgs(
    rest,
    {
      topology: 'string',
      nodes: 'string',
      tor: 'string',
      'route-reflectors': 'string',
      timeout: 'string',
      keep: 'boolean',
      'state-dir': 'string',
    },
    'margay lab up',
  );
  const topology = await topologyFrom(args.flags);
  const timeout = intFlag(args.flags.timeout, 'timeout', 1);
  const stateDir = stateDirOf(args.flags);
  say(`margay lab up (state ${stateDir}; if this is interrupted, "margay lab down" cleans up)`);
  const r = await labUp({
    topology,
    stateDir,
    ...(timeout !== undefined ? { timeoutMs: timeout * 1000 } : {}),
    keep: args.flags.keep === true,
    say: (l) => say(`  ${l}`),
  });
  const s = r.state;
  say(`\nconverged in ${(r.convergedMs / 1000).toFixed(1)} s — lab ${s.prefix} (files in ${s.dir})\n`);
  say(nodesTable(s, r.views));
  say('');
  say(podsTable(s));
  const first = s.nodes[0];
  const pods = s.pods.map((p) => `${p.namespace}/${p.name}`);
  say('\nexplore:');
  say('  margay lab status');
  if (first)
    say(
      `  margay lab exec ${first.name} -- ${process.execPath} ${MARGAYCTL_MAIN} node status --api ${AGENT_API}`,
    );
  if (pods.length >= 2)
    say(`  margay lab probe ${pods[0]} ${pods[1]} ${s.pods[1]?.ports[0]?.port ?? 8080}/tcp`);
  if (s.pods.some((p) => p.ports.length > 0))
    say(`  margay lab probe --matrix ${s.pods.find((p) => p.ports.length > 0)?.ports[0]?.port}/tcp`);
  say('  margay lab apply FILE   (NetworkPolicy, BGPPeer, IPPool, Node, Pod …)');
  say('  margay lab down');
  return 0;
}

async function status(rest: readonly string[]): Promise<number> {
  const args = parseArgs(rest, { o: 'string', output: 'string', 'state-dir': 'string' }, 'margay lab status');
  const format = (args.flags.o ?? args.flags.output ?? 'table') as string;
  const state = requireLab(stateDirOf(args.flags));
  const views = await Promise.all(state.nodes.map((n) => nodeView(state, n)));
  let tor: TorSession[] | string | undefined;
  if (state.router !== undefined && state.router.tor !== 'none')
    tor = await torSessions(state.router).catch((e: unknown) => `unavailable: ${(e as Error).message}`);
  const converged = views.every(isNodeConverged);
  if (format === 'json' || format === 'yaml') {
    const doc = {
      prefix: state.prefix,
      phase: state.phase,
      converged,
      datastore: state.datastorePath,
      nodes: views,
      tor,
      pods: state.pods,
    };
    process.stdout.write(format === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : toYaml(doc));
    return 0;
  }
  say(
    `lab ${state.prefix} (${state.phase}${converged ? ', converged' : ', NOT converged'}), datastore ${state.datastorePath}\n`,
  );
  say(nodesTable(state, views));
  for (const v of views.filter((x) => !isNodeConverged(x))) say(`  ${describeNotConverged(v)}`);
  if (tor !== undefined) {
    say(`\nToR ${state.router?.tor} (AS ${state.router?.torAsNumber}) in ${state.router?.ns}:`);
    say(
      typeof tor === 'string'
        ? `  ${tor}`
        : renderTable(
            ['SESSION', 'STATE'],
            tor.map((t) => [t.peer, t.state]),
          ),
    );
  }
  say('');
  say(podsTable(state));
  return 0;
}

async function probeCmd(rest: readonly string[]): Promise<number> {
  const args = parseArgs(
    rest,
    { matrix: 'boolean', timeout: 'string', '6': 'boolean', 'state-dir': 'string' },
    'margay lab probe',
  );
  const timeoutMs = intFlag(args.flags.timeout, 'timeout', 1) ?? 1_000;
  const family = args.flags['6'] === true ? 6 : 4;
  const state = requireLab(stateDirOf(args.flags));
  try {
    if (args.flags.matrix === true) {
      const [port, ...extra] = args.positionals;
      if (port === undefined || extra.length > 0)
        throw new MargayError('MARGAY_ERR_USAGE', 'usage: margay lab probe --matrix PORT/PROTO');
      const m = await labMatrix(state, port, { timeoutMs, family });
      process.stdout.write(`${JSON.stringify(m, null, 2)}\n`);
      return 0;
    }
    const [from, to, port, ...extra] = args.positionals;
    if (from === undefined || to === undefined || port === undefined || extra.length > 0)
      throw new MargayError('MARGAY_ERR_USAGE', 'usage: margay lab probe FROM TO PORT/PROTO');
    const r = await labProbe(state, from, to, port, { timeoutMs, family });
    say(
      `${r.from} → ${r.to} ${r.target}: ${r.outcome}${r.responder ? ` (answered by ${r.responder})` : ''}` +
        `${r.detail ? ` — ${r.detail}` : ''} [${r.ms} ms]`,
    );
    return probeExitCode(r.outcome);
  } catch (err) {
    if (err instanceof MargayError) throw err;
    process.stderr.write(`margay lab probe: ${(err as Error).message}\n`);
    return 2;
  }
}

async function applyOrDelete(verb: 'apply' | 'delete', rest: readonly string[]): Promise<number> {
  const args = parseArgs(
    rest,
    verb === 'apply'
      ? { 'no-wait': 'boolean', timeout: 'string', 'state-dir': 'string' }
      : { 'state-dir': 'string' },
    `margay lab ${verb}`,
  );
  const [file, ...extra] = args.positionals;
  if (file === undefined || extra.length > 0)
    throw new MargayError('MARGAY_ERR_USAGE', `usage: margay lab ${verb} FILE`);
  let text: string;
  try {
    text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (err) {
    throw new MargayError('MARGAY_ERR_CONFIG_READ', `${file}: ${(err as Error).message}`, { cause: err });
  }
  const stateDir = stateDirOf(args.flags);
  if (verb === 'apply') {
    const timeout = intFlag(args.flags.timeout, 'timeout', 1);
    const r = await labApply(stateDir, text, file, {
      wait: args.flags['no-wait'] !== true,
      ...(timeout !== undefined ? { timeoutMs: timeout * 1000 } : {}),
    });
    for (const k of r.created) say(`${k} created`);
    for (const k of r.replaced) say(`${k} configured`);
    if (r.nodesAdded.length > 0) say(`nodes started: ${r.nodesAdded.join(', ')}`);
    if (r.podsAdded.length > 0) say(`pods wired: ${r.podsAdded.join(', ')}`);
    if (r.views) say('lab converged');
    return 0;
  }
  const r = await labDelete(stateDir, text, file);
  for (const k of r.removed) say(`${k} deleted`);
  for (const k of r.missing) say(`${k} not found`);
  if (r.nodesRemoved.length > 0) say(`nodes removed: ${r.nodesRemoved.join(', ')}`);
  return r.missing.length > 0 && r.removed.length === 0 ? 1 : 0;
}

/** Dispatch `margay lab SUBCOMMAND …`. */
export async function runLab(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  // `margay lab status | head`: a closed pipe is not an error worth a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  try {
    switch (sub) {
      case 'up':
        return await up(rest);
      case 'status':
        return await status(rest);
      case 'apply':
      case 'delete':
        return await applyOrDelete(sub, rest);
      case 'exec': {
        const args = parseArgs(rest, { 'state-dir': 'string' }, 'margay lab exec');
        const [target, ...extra] = args.positionals;
        if (target === undefined || extra.length > 0)
          throw new MargayError('MARGAY_ERR_USAGE', 'usage: margay lab exec NODE|NS/POD -- CMD…');
        return await labExec(requireLab(stateDirOf(args.flags)), target, args.rest);
      }
      case 'probe':
        return await probeCmd(rest);
      case 'restart-agent': {
        const args = parseArgs(
          rest,
          { 'no-wait': 'boolean', timeout: 'string', 'state-dir': 'string' },
          'margay lab restart-agent',
        );
        const [node, ...extra] = args.positionals;
        if (node === undefined || extra.length > 0)
          throw new MargayError('MARGAY_ERR_USAGE', 'usage: margay lab restart-agent NODE');
        const timeout = intFlag(args.flags.timeout, 'timeout', 1);
        const r = await restartAgent(stateDirOf(args.flags), node, {
          wait: args.flags['no-wait'] !== true,
          ...(timeout !== undefined ? { timeoutMs: timeout * 1000 } : {}),
        });
        if (r.stopped) say(`${node}: agent pid ${r.stopped.pid} stopped (SIGTERM)`);
        say(`${node}: agent started, pid ${r.agent.pid} (log ${r.agent.logFile})`);
        if (r.views) say('lab converged');
        return 0;
      }
      case 'down': {
        const args = parseArgs(rest, { 'state-dir': 'string' }, 'margay lab down');
        const r = await labDown(stateDirOf(args.flags));
        if (r.prefix === undefined) say('no lab is up');
        else
          say(
            `lab ${r.prefix} removed: ${r.stoppedProcesses} process(es) stopped, ` +
              `${r.removedNamespaces.length} namespace(s) deleted`,
          );
        return 0;
      }
      default:
        throw new MargayError(
          'MARGAY_ERR_USAGE',
          `margay lab: unknown subcommand "${sub ?? ''}"\n\n${LAB_USAGE}`,
        );
    }
  } catch (err) {
    if (err instanceof MargayError) throw err;
    process.stderr.write(`margay lab ${sub}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
