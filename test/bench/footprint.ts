// `npm run bench -- footprint`: what a Margay daemon costs a node while it does nothing, and how
// long it takes to start.
//
// 1. `margay speaker` with one configured peer, in a pair of namespaces this run creates: BIRD in
//    one namespace and the speaker in the other, each the other's only peer, so the session comes
//    up and then both sit idle. BIRD in exactly this setting is the reference. Measured: the time
//    from spawning the speaker to its first 200 on /readyz, and the resident set (VmRSS) of both.
// 2. `margay agent` in a 3-node lab with a BIRD top-of-rack, brought up by this run with
//    `margay lab up --nodes 3 --tor bird --state-dir DIR` (a state directory of its own; every
//    lab picks a namespace prefix of its own). Measured per agent: the time from the process's
//    start (its start time in /proc) to its first 200 on /readyz, and its resident set; the
//    ToR's BIRD alongside.
//
// Resident set is read twice: 10 s after the start ("fresh") and after `--settle-s` seconds of
// idling ("settled", what a node shows from then on). V8 gives memory back only in a
// memory-reducing garbage collection, which an idle process gets from its memory reducer at the
// latest some 100 s after its last collection, so the default settle time is longer than that.
// The split of the settled set into anonymous memory (heap, code) and file pages (mostly the
// node binary, shared between Node processes) is reported too.
//
// `--from dist` (the default) runs the build, `node dist/src/main.js`, which is what the container
// image runs: these are the figures a cluster sees. It refuses a build older than the sources
// (run `npm run build`). `--from src` runs the .ts sources through Node's type stripping, as
// `npm run margay` and `npm run demo` do from a checkout: the speaker as `npm run margay --
// speaker` starts it, the lab through its CLI, which hands Node's compile cache to the agents.
// `--compile-cache warm` (the default) measures a second start of the same sources (the speaker
// and a lab up and down run once before), `cold` the first one.
//
// Output: one JSON line on stdout, a table on stderr. Everything this run creates (namespaces,
// processes by PID, the lab, temporary files) is removed at the end, on failure and on SIGINT too.

import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type * as LabModule from '../../src/lab/lab.ts';
import type * as StateModule from '../../src/lab/state.ts';
import type * as UpModule from '../../src/lab/up.ts';
import { type Probe, startProbe } from './bgp/probe-client.ts';
import { staleBuildFile } from './lib/build.ts';
import { createNsPair, RUN_PREFIX } from './lib/netns.ts';
import { GiveUpError, sleep, waitFor } from './lib/poll.ts';
import { type Memory, memoryOf, type Spawned, spawnTracked, table } from './lib/proc.ts';
import { Teardown } from './lib/teardown.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SPEAKER_ASN = 64_512;
const BIRD_ASN = 64_513;
const API_PORT = 9099;
/** The lab's agents listen here, each in its own node namespace (src/lab/cluster.ts). */
const AGENT_API = '127.0.0.1:9099';
const FRESH_AFTER_MS = 10_000;
const TARGETS = { speakerRssMb: 80, agentRssMb: 100 } as const;

type From = 'dist' | 'src';

const round = (v: number, digits = 1): number => Math.round(v * 10 ** digits) / 10 ** digits;

/** Seconds since boot, as /proc/uptime has them (10 ms resolution). */
async function uptime(): Promise<number> {
  return Number((await readFile('/proc/uptime', 'utf8')).split(' ')[0]);
}

/** When the process started, in seconds since boot (/proc/PID/stat field 22, in clock ticks). */
async function startedAt(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[19]) / 100;
}

/** GET over the in-namespace probe: the status, or 0 when nothing answers yet. */
async function statusOf(probe: Probe, url: string): Promise<number> {
  try {
    return (await probe.http(url, 1000)).status;
  } catch {
    return 0;
  }
}

interface SpeakerRun {
  readonly readyMs: number;
  readonly pid: number;
  readonly birdPid: number;
  readonly fresh: Memory;
  readonly birdFresh: Memory;
}

/**
 * The speaker and its BIRD peer; with `runBefore`, the speaker is started and stopped once before
 * the measured start (a second run, as after any earlier one from the same tree).
 */
async function runSpeaker(
  teardown: Teardown,
  main: string,
  dir: string,
  opts: { readonly runBefore: boolean },
): Promise<SpeakerRun> {
  const ns = await createNsPair(teardown, 'footprint');
  const birdConf = join(dir, 'bird.conf');
  await writeFile(
    birdConf,
    `log stderr { warning, error, fatal, bug };
router id ${ns.senderAddress};
protocol device { scan time 60; }
protocol bgp margay {
  local ${ns.senderAddress} as ${BIRD_ASN};
  neighbor ${ns.receiverAddress} as ${SPEAKER_ASN};
  ipv4 { import all; export none; };
}
`,
  );
  const bird = spawnTracked(
    teardown,
    'bird',
    ['bird', '-f', '-c', birdConf, '-s', join(dir, 'bird.ctl'), '-P', join(dir, 'bird.pid')],
    { netns: ns.sender, logFile: join(dir, 'bird.log') },
  );
  const conf = join(dir, 'speaker.yaml');
  await writeFile(
    conf,
    `asn: ${SPEAKER_ASN}
routerId: ${ns.receiverAddress}
listen: { address: ${ns.receiverAddress}, port: 179 }
api: { listen: "127.0.0.1:${API_PORT}" }
peers:
  - { address: ${ns.senderAddress}, asn: ${BIRD_ASN} }
`,
  );
  const probe = startProbe(teardown, ns.receiver, join(dir, 'probe.log'));
  const api = `http://127.0.0.1:${API_PORT}`;
  // The probe answers (with an error) once it runs; only then is any clock started.
  await probe.http('http://127.0.0.1:1/', 1000).catch(() => undefined);
  const start = async (log: string): Promise<{ proc: Spawned; readyMs: number }> => {
    const t0 = performance.now();
    const proc = spawnTracked(
      teardown,
      'margay speaker',
      [process.execPath, main, 'speaker', '--config', conf],
      { netns: ns.receiver, logFile: log },
    );
    const readyMs = await waitFor(
      'margay speaker /readyz',
      async () => {
        if (proc.hasExited())
          throw new GiveUpError(`margay speaker exited: ${(await readFile(log, 'utf8')).slice(-500)}`);
        return (await statusOf(probe, `${api}/readyz`)) === 200 ? performance.now() - t0 : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 5 },
    );
    return { proc, readyMs };
  };
  if (opts.runBefore) {
    const first = await start(join(dir, 'speaker-first.log'));
    await first.proc.stop(10_000);
  }
  const t0 = performance.now();
  const { proc, readyMs } = await start(join(dir, 'speaker.log'));
  await waitFor(
    'the speaker’s session with BIRD to be Established',
    async () => {
      if (bird.hasExited())
        throw new GiveUpError(`bird exited: ${await readFile(join(dir, 'bird.log'), 'utf8')}`);
      const r = await probe.http(`${api}/v1/bgp/peers`);
      const peers = (JSON.parse(r.body) as { peers: { state: string }[] }).peers;
      return peers[0]?.state === 'Established' ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
  await sleep(Math.max(0, FRESH_AFTER_MS - (performance.now() - t0)));
  return {
    readyMs: round(readyMs, 0),
    pid: proc.pid,
    birdPid: bird.pid,
    fresh: await memoryOf(proc.pid),
    birdFresh: await memoryOf(bird.pid),
  };
}

interface LabModules {
  readonly up: typeof UpModule;
  readonly lab: typeof LabModule;
  readonly state: typeof StateModule;
}

/** The lab library of the tree that is measured, for reading the lab's state and taking it down. */
async function labModules(from: From): Promise<LabModules> {
  const load = async <T>(name: string): Promise<T> => {
    const path =
      from === 'dist'
        ? join(ROOT, 'dist', 'src', 'lab', `${name}.js`)
        : join(ROOT, 'src', 'lab', `${name}.ts`);
    return (await import(pathToFileURL(path).href)) as T;
  };
  return {
    up: await load<typeof UpModule>('up'),
    lab: await load<typeof LabModule>('lab'),
    state: await load<typeof StateModule>('state'),
  };
}

interface AgentRun {
  readonly node: string;
  readonly pid: number;
  readonly readyMs: number;
  readonly fresh?: Memory;
}

interface LabRun {
  readonly convergedMs: number;
  readonly agents: AgentRun[];
  readonly torPid: number;
}

/**
 * `margay lab up --nodes 3 --tor bird` as a user runs it (from the measured tree, with a state
 * directory of this run's own) and, meanwhile, each agent watched from the moment the state file
 * names it: a probe in its node namespace asks /readyz until it answers 200.
 */
async function runLab(
  teardown: Teardown,
  m: LabModules,
  main: string,
  stateDir: string,
  dir: string,
): Promise<LabRun> {
  teardown.add(`the lab of ${stateDir}`, async () => {
    const state = m.state.readState(stateDir);
    await m.up.labDown(stateDir);
    if (state) await m.lab.cleanupStale(state.prefix);
  });
  const log = join(dir, 'lab-up.log');
  const cli = spawnTracked(
    teardown,
    'margay lab up',
    [process.execPath, main, 'lab', 'up', '--nodes', '3', '--tor', 'bird', '--state-dir', stateDir],
    { logFile: log },
  );
  const ready = new Map<string, AgentRun>();
  const probes = new Map<string, Probe>();
  await waitFor(
    'margay lab up to converge and every agent’s first 200 on /readyz',
    async () => {
      const state = m.state.readState(stateDir);
      for (const n of state?.nodes ?? []) {
        if (!probes.has(n.name))
          probes.set(n.name, startProbe(teardown, n.ns, join(dir, `probe-${n.name}.log`)));
        const agent = n.agent;
        if (agent === undefined || ready.has(n.name)) continue;
        if ((await statusOf(probes.get(n.name) as Probe, `http://${AGENT_API}/readyz`)) === 200) {
          const at = await uptime();
          ready.set(n.name, {
            node: n.name,
            pid: agent.pid,
            readyMs: round((at - (await startedAt(agent.pid))) * 1000, 0),
          });
        }
      }
      if (cli.hasExited() && (await cli.exited) !== 0) {
        throw new GiveUpError(`margay lab up failed: ${(await readFile(log, 'utf8')).slice(-800)}`);
      }
      return cli.hasExited() && ready.size === 3 ? true : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 10 },
  );
  const state = m.state.readState(stateDir);
  const tor = state?.router?.torProcesses?.[0];
  if (state === undefined || tor === undefined) throw new Error(`no lab with a ToR in ${stateDir}`);
  const converged = /converged in ([\d.]+) s/.exec(await readFile(log, 'utf8'));
  const started = Math.min(...[...ready.values()].map((a) => a.readyMs));
  await sleep(Math.max(0, FRESH_AFTER_MS - started));
  const agents: AgentRun[] = [];
  for (const n of state.nodes) {
    const a = ready.get(n.name) as AgentRun;
    agents.push({ ...a, fresh: await memoryOf(a.pid) });
  }
  return { convergedMs: converged ? Number(converged[1]) * 1000 : Number.NaN, agents, torPid: tor.pid };
}

/** `margay lab up` to convergence, then down again. */
async function labUpAndDown(
  teardown: Teardown,
  m: LabModules,
  main: string,
  stateDir: string,
  dir: string,
): Promise<void> {
  teardown.add(`the lab of ${stateDir}`, async () => {
    await m.up.labDown(stateDir);
  });
  const log = join(dir, 'lab-first.log');
  const cli = spawnTracked(
    teardown,
    'margay lab up',
    [process.execPath, main, 'lab', 'up', '--nodes', '3', '--tor', 'bird', '--state-dir', stateDir],
    { logFile: log },
  );
  const code = await cli.exited;
  if (code !== 0) throw new Error(`margay lab up failed: ${(await readFile(log, 'utf8')).slice(-800)}`);
  await m.up.labDown(stateDir);
}

export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      from: { type: 'string', default: 'dist' },
      'settle-s': { type: 'string', default: '180' },
      'compile-cache': { type: 'string', default: 'warm' },
    },
  });
  const from = values.from as From;
  if (from !== 'dist' && from !== 'src') throw new Error('--from must be dist or src');
  const compileCache = values['compile-cache'];
  if (compileCache !== 'warm' && compileCache !== 'cold')
    throw new Error('--compile-cache must be warm or cold');
  const settleMs = Number(values['settle-s']) * 1000;
  if (!Number.isFinite(settleMs) || settleMs < 0) throw new Error('--settle-s must be a number of seconds');
  if (process.getuid?.() !== 0) throw new Error('footprint needs root (network namespaces)');
  if (from === 'dist') {
    const stale = staleBuildFile(ROOT);
    if (stale)
      throw new Error(`dist/ is missing or older than ${stale}: run npm run build (or use --from src)`);
  }
  const main = from === 'dist' ? join(ROOT, 'dist', 'src', 'main.js') : join(ROOT, 'src', 'main.ts');
  const load = loadavg()[0] as number;

  const teardown = new Teardown();
  let failure: unknown;
  let line: Record<string, unknown> | undefined;
  let human = '';
  try {
    const dir = await mkdtemp(join(tmpdir(), `${RUN_PREFIX}footprint-`));
    teardown.add(`directory ${dir}`, () => rm(dir, { recursive: true, force: true }));
    process.stderr.write(`footprint: margay speaker from ${from}…\n`);
    const warm = from === 'src' && compileCache === 'warm';
    let speaker: SpeakerRun;
    if (from === 'src') {
      // `npm run margay -- speaker` starts without a compile cache in its environment, and
      // src/main.ts enables Node's default one, under the temporary directory, after its own
      // imports. The speaker gets a temporary directory of this run's own, so the cache is warm
      // or cold as asked.
      const saved = process.env.TMPDIR;
      process.env.TMPDIR = join(dir, 'speaker-tmp');
      await mkdir(process.env.TMPDIR);
      try {
        speaker = await runSpeaker(teardown, main, dir, { runBefore: warm });
      } finally {
        if (saved === undefined) delete process.env.TMPDIR;
        else process.env.TMPDIR = saved;
      }
    } else {
      speaker = await runSpeaker(teardown, main, dir, { runBefore: false });
    }
    const modules = await labModules(from);
    if (from === 'src') {
      // The lab CLI hands Node's compile cache to its agents (src/main.ts); this run gives it a
      // directory of its own, and for `warm` fills it with one lab up and down first.
      process.env.NODE_COMPILE_CACHE = join(dir, 'compile-cache');
      if (warm) {
        process.stderr.write('footprint: a first lab up and down, to fill the compile cache…\n');
        await labUpAndDown(teardown, modules, main, join(dir, 'lab-first'), dir);
      }
    }
    process.stderr.write(`footprint: 3-node lab from ${from}…\n`);
    const lab = await runLab(teardown, modules, main, join(dir, 'lab'), dir);
    process.stderr.write(`footprint: idle for ${settleMs / 1000} s…\n`);
    await sleep(settleMs);
    const speakerSettled = await memoryOf(speaker.pid);
    const birdSettled = await memoryOf(speaker.birdPid);
    const agents = await Promise.all(lab.agents.map(async (a) => ({ ...a, settled: await memoryOf(a.pid) })));
    const tor = await memoryOf(lab.torPid);
    const worstAgent = Math.max(...agents.map((a) => a.settled.rssMb));
    line = {
      bench: 'footprint',
      from,
      ...(from === 'src' ? { compileCache } : {}),
      settleSeconds: settleMs / 1000,
      speaker: {
        readyMs: speaker.readyMs,
        fresh: speaker.fresh,
        settled: speakerSettled,
        bird: { fresh: speaker.birdFresh, settled: birdSettled },
        rssVsBird: round(speakerSettled.rssMb / birdSettled.rssMb, 1),
      },
      lab: {
        convergedMs: lab.convergedMs,
        agents: agents.map(({ pid: _pid, ...a }) => a),
        torBird: tor,
        worstAgentRssVsTor: round(worstAgent / tor.rssMb, 1),
      },
      targets: {
        speakerSettledRssMbAtMost80: speakerSettled.rssMb <= TARGETS.speakerRssMb ? 'pass' : 'fail',
        agentSettledRssMbAtMost100: worstAgent <= TARGETS.agentRssMb ? 'pass' : 'fail',
      },
      host: { loadavg1: round(load, 2) },
    };
    const mb = (x: Memory | undefined): string => (x ? x.rssMb.toFixed(1) : '-');
    const rows = [
      ['process', 'start→ready ms', 'RSS fresh MB', 'RSS settled MB', 'anon MB', 'file MB', 'peak MB'],
      [
        `margay speaker (${from})`,
        String(speaker.readyMs),
        mb(speaker.fresh),
        mb(speakerSettled),
        String(speakerSettled.anonMb),
        String(speakerSettled.fileMb),
        String(speakerSettled.peakMb),
      ],
      [
        'bird (its peer)',
        '-',
        mb(speaker.birdFresh),
        mb(birdSettled),
        String(birdSettled.anonMb),
        String(birdSettled.fileMb),
        String(birdSettled.peakMb),
      ],
      ...agents.map((a) => [
        `margay agent ${a.node} (${from})`,
        String(a.readyMs),
        mb(a.fresh),
        mb(a.settled),
        String(a.settled.anonMb),
        String(a.settled.fileMb),
        String(a.settled.peakMb),
      ]),
      [
        'bird ToR (6 sessions)',
        '-',
        '-',
        mb(tor),
        String(tor.anonMb),
        String(tor.fileMb),
        String(tor.peakMb),
      ],
    ];
    human =
      `footprint (${from}; the lab converged in ${lab.convergedMs} ms; settled: after ${settleMs / 1000} s idle)\n` +
      `${table(rows)}targets: ${JSON.stringify(line.targets)}\n`;
  } catch (err) {
    failure = err;
  }
  await teardown.finish(failure);
  process.stdout.write(`${JSON.stringify(line)}\n`);
  process.stderr.write(human);
  return 0;
}
