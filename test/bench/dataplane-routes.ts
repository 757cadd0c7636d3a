// Benchmark: install and remove N kernel routes with the RouteTable reconciler, against raw
// `ip -batch` of the same lines written two ways:
//   - raw1: one `ip -batch` process takes every line, in order. One writer streaming its routes to
//     the kernel one after another is what BIRD's kernel protocol and FRR's zebra do.
//   - raw2: two concurrent `ip -batch` processes, the lines partitioned as the reconciler partitions
//     them (a large phase is split by the parity of each route's slot, family-streams.ts). This is
//     the physical limit of the reconciler's own approach on this machine: the same processes and
//     the same partition, with no diff, no read and no bookkeeping.
// The reconciler itself writes through two concurrent processes once a phase has SPLIT_LINES lines,
// so raw2 is the like-for-like comparison and raw1 says what a user gains over a single writer.
// The raw lines are spelled by the reconciler's own line functions (felix/dataplane/routes/lines.ts)
// and run with its flags (`ip -n NS -4 -force -batch -`), so both sides send the kernel the same
// text.
//
// Everything happens in one fresh network namespace (`mgyrb-<pid>-…`) holding a veth pair with
// 192.0.2.1/24; the routes are distinct IPv4 prefixes inside 10.244.0.0/16 (/32s, then /31s, /30s,
// … — 65536 + 32768 + … so 100k fit the lab's pod range) via 192.0.2.2. The namespace is deleted in
// `finally`, also when a step fails. Each phase is checked (route count in the kernel) so a run
// that silently wrote nothing cannot look fast.
//
// Phases per count N and side: raw1 add and del, raw2 add and del, and the reconciler's install
// (setDesired + first apply: reads the empty table, then writes), adopt (a second reconciler's first
// apply with all N in place: the read and the diff, zero writes) and remove (setDesired([]) + apply
// from the cached view). Each count runs `rounds` times (default 3) after one small warm-up round
// (JIT; a daemon is warm); the order of the three sides rotates from round to round, so no side
// always runs first or right after another.
//
// The ratios are the median over rounds of reconciler / raw *within* a round: the sides of a round
// run within seconds of each other and share the machine's state, while the speed of a shared
// machine drifts between rounds. The ratio of the two medians is reported too (`…OfMedians`), with
// the medians of each time.
//
// Run: `node test/bench/dataplane-routes.ts --counts 10000,100000 [--rounds 3]` (root), or through
// the dispatcher (`npm run bench -- dataplane --only routes`).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Netlink } from '../../felix/dataplane/netlink/netlink.ts';
import { SPLIT_LINES } from '../../felix/dataplane/routes/family-streams.ts';
import { deleteLine, routeLine } from '../../felix/dataplane/routes/lines.ts';
import { RouteTable } from '../../felix/dataplane/routes/route-table.ts';
import { MARGAY_RT_PROTO, type RouteSpec, RT_TABLE_MAIN } from '../../felix/model/routes.ts';

const execFileP = promisify(execFile);
const GATEWAY = '192.0.2.2';

async function sh(argv: readonly string[], input?: string): Promise<string> {
  const p = execFileP(argv[0]!, argv.slice(1), { maxBuffer: 1 << 30, timeout: 300_000 });
  if (input !== undefined) p.child.stdin?.end(input);
  const r = await p;
  return r.stdout;
}

/** `count` distinct prefixes inside 10.244.0.0/16: all /32s, then /31s, … */
export function benchPrefixes(count: number): string[] {
  const out: string[] = [];
  for (let len = 32; len >= 17 && out.length < count; len--) {
    const step = 2 ** (32 - len);
    for (let off = 0; off < 65536 && out.length < count; off += step) {
      out.push(`10.244.${off >> 8}.${off & 0xff}/${len}`);
    }
  }
  if (out.length < count) throw new Error(`cannot make ${count} distinct prefixes in 10.244.0.0/16`);
  return out;
}

/**
 * The raw lines for `prefixes`, in the reconciler's spelling: one list (raw1), or the two lanes of
 * the reconciler's split (raw2: the route of desired slot i goes to lane i & 1). Below SPLIT_LINES
 * the reconciler does not split, and neither does raw2.
 */
export function rawLines(prefixes: readonly string[], verb: 'add' | 'del', lanes: 1 | 2): string[][] {
  const line = (dst: string) =>
    verb === 'add'
      ? routeLine('add', 'unicast', dst, MARGAY_RT_PROTO, ` via ${GATEWAY}`)
      : deleteLine(dst, RT_TABLE_MAIN, 4, 0, MARGAY_RT_PROTO);
  if (lanes === 1 || prefixes.length < SPLIT_LINES) return [prefixes.map(line)];
  const out: string[][] = [[], []];
  prefixes.forEach((p, i) => {
    out[i & 1]!.push(line(p));
  });
  return out;
}

async function countRoutes(ns: string): Promise<number> {
  const out = await sh(['ip', '-n', ns, 'route', 'show', 'table', 'all', 'proto', String(MARGAY_RT_PROTO)]);
  return out === '' ? 0 : out.trimEnd().split('\n').length;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

function expectCount(what: string, got: number, want: number): void {
  if (got !== want) throw new Error(`${what}: expected ${want} routes in the kernel, found ${got}`);
}

/** One round's times, seconds. */
interface RoundTimes {
  readonly raw1Add: number;
  readonly raw1Del: number;
  readonly raw2Add: number;
  readonly raw2Del: number;
  readonly install: number;
  readonly adopt: number;
  readonly remove: number;
  readonly bytesWritten: number;
  readonly commands: number;
}

export interface DataplaneRoutesFigures {
  readonly count: number;
  /** Medians over rounds, seconds. */
  readonly raw1AddSeconds: number;
  readonly raw1DelSeconds: number;
  readonly raw2AddSeconds: number;
  readonly raw2DelSeconds: number;
  readonly installSeconds: number;
  readonly adoptSeconds: number;
  readonly removeSeconds: number;
  /** Median over rounds of install / raw add within the round: one raw process, two. */
  readonly installVsRaw1: number;
  readonly installVsRaw2: number;
  readonly removeVsRaw1: number;
  readonly removeVsRaw2: number;
  /** The same ratios taken of the medians. */
  readonly ofMedians: {
    readonly installVsRaw1: number;
    readonly installVsRaw2: number;
    readonly removeVsRaw1: number;
    readonly removeVsRaw2: number;
  };
  /** Every round's times, in round order. */
  readonly rounds: readonly RoundTimes[];
  readonly bytesWritten: number;
  readonly commands: number;
}

async function benchRound(ns: string, count: number, order: number): Promise<RoundTimes> {
  const prefixes = benchPrefixes(count);
  const raw = async (verb: 'add' | 'del', lanes: 1 | 2) => {
    const batches = rawLines(prefixes, verb, lanes);
    const argv = ['ip', '-n', ns, '-4', '-force', '-batch', '-'];
    await Promise.all(batches.map((lines) => sh(argv, `${lines.join('\n')}\n`)));
  };
  const rawSide = (lanes: 1 | 2) => async () => {
    const add = await timed(() => raw('add', lanes));
    expectCount(`raw${lanes} add`, await countRoutes(ns), count);
    const del = await timed(() => raw('del', lanes));
    expectCount(`raw${lanes} del`, await countRoutes(ns), 0);
    return { add, del };
  };
  const reconcilerSide = async () => {
    const routes: RouteSpec[] = prefixes.map((dst) => ({ dst, nextHops: [{ gateway: GATEWAY }] }));
    const rt = new RouteTable({ netlink: new Netlink({ netns: ns }), families: [4] });
    const install = await timed(async () => {
      rt.setDesired(routes);
      await rt.apply();
    });
    expectCount('reconciler install', await countRoutes(ns), count);
    const adopter = new RouteTable({ netlink: new Netlink({ netns: ns }), families: [4] });
    const adopt = await timed(async () => {
      adopter.setDesired(routes);
      const r = await adopter.apply();
      if (r.unchanged !== count || r.added + r.replaced + r.deleted !== 0) {
        throw new Error(`adopt wrote routes: ${JSON.stringify(r)}`);
      }
    });
    const remove = await timed(async () => {
      rt.setDesired([]);
      await rt.apply();
    });
    expectCount('reconciler remove', await countRoutes(ns), 0);
    return { install, adopt, remove, bytesWritten: rt.stats.bytesWritten, commands: rt.stats.commands };
  };
  const sides = ['raw1', 'raw2', 'reconciler'] as const;
  let r1: { add: number; del: number } | undefined;
  let r2: { add: number; del: number } | undefined;
  let rec: Awaited<ReturnType<typeof reconcilerSide>> | undefined;
  for (let k = 0; k < sides.length; k++) {
    const side = sides[(k + order) % sides.length]!;
    if (side === 'raw1') r1 = await rawSide(1)();
    else if (side === 'raw2') r2 = await rawSide(2)();
    else rec = await reconcilerSide();
  }
  return {
    raw1Add: r1!.add,
    raw1Del: r1!.del,
    raw2Add: r2!.add,
    raw2Del: r2!.del,
    install: rec!.install,
    adopt: rec!.adopt,
    remove: rec!.remove,
    bytesWritten: rec!.bytesWritten,
    commands: rec!.commands,
  };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** Medians and paired ratios over the rounds of one count. */
export function summariseRounds(count: number, runs: readonly RoundTimes[]): DataplaneRoutesFigures {
  const m = (k: keyof RoundTimes) => median(runs.map((r) => r[k]));
  const paired = (a: keyof RoundTimes, b: keyof RoundTimes) => r3(median(runs.map((r) => r[a] / r[b])));
  return {
    count,
    raw1AddSeconds: r3(m('raw1Add')),
    raw1DelSeconds: r3(m('raw1Del')),
    raw2AddSeconds: r3(m('raw2Add')),
    raw2DelSeconds: r3(m('raw2Del')),
    installSeconds: r3(m('install')),
    adoptSeconds: r3(m('adopt')),
    removeSeconds: r3(m('remove')),
    installVsRaw1: paired('install', 'raw1Add'),
    installVsRaw2: paired('install', 'raw2Add'),
    removeVsRaw1: paired('remove', 'raw1Del'),
    removeVsRaw2: paired('remove', 'raw2Del'),
    ofMedians: {
      installVsRaw1: r3(m('install') / m('raw1Add')),
      installVsRaw2: r3(m('install') / m('raw2Add')),
      removeVsRaw1: r3(m('remove') / m('raw1Del')),
      removeVsRaw2: r3(m('remove') / m('raw2Del')),
    },
    rounds: runs.map((r) => ({
      raw1Add: r3(r.raw1Add),
      raw1Del: r3(r.raw1Del),
      raw2Add: r3(r.raw2Add),
      raw2Del: r3(r.raw2Del),
      install: r3(r.install),
      adopt: r3(r.adopt),
      remove: r3(r.remove),
      bytesWritten: r.bytesWritten,
      commands: r.commands,
    })),
    bytesWritten: runs[0]!.bytesWritten,
    commands: runs[0]!.commands,
  };
}

export async function runDataplaneRoutesBench(opts: {
  counts: number[];
  rounds?: number;
}): Promise<{ bench: 'dataplane-routes'; rounds: number; results: DataplaneRoutesFigures[] }> {
  const ns = `mgyrb-${process.pid}-routes`;
  await sh(['ip', 'netns', 'add', ns]);
  try {
    await sh(['ip', '-n', ns, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1']);
    for (const d of ['lo', 'veth0', 'veth1']) await sh(['ip', '-n', ns, 'link', 'set', d, 'up']);
    await sh(['ip', '-n', ns, 'addr', 'add', '192.0.2.1/24', 'dev', 'veth0']);
    await benchRound(ns, 3000, 0); // warm-up (above SPLIT_LINES, so both paths run), not reported
    const rounds = opts.rounds ?? 3;
    const results: DataplaneRoutesFigures[] = [];
    for (const count of opts.counts) {
      const runs: RoundTimes[] = [];
      for (let i = 0; i < rounds; i++) {
        process.stderr.write(`dataplane routes: N=${count} round ${i + 1}/${rounds}\n`);
        runs.push(await benchRound(ns, count, i));
      }
      results.push(summariseRounds(count, runs));
    }
    return { bench: 'dataplane-routes', rounds, results };
  } finally {
    await sh(['ip', 'netns', 'del', ns]);
  }
}

function parseRounds(argv: readonly string[]): number {
  const i = argv.indexOf('--rounds');
  const n = i >= 0 ? Number(argv[i + 1]) : 3;
  if (!Number.isInteger(n) || n < 1) throw new Error(`bad --rounds ${argv[i + 1]}`);
  return n;
}

function parseCounts(argv: readonly string[]): number[] {
  const i = argv.indexOf('--counts');
  const text = i >= 0 ? argv[i + 1] : undefined;
  const counts = (text ?? '10000,100000').split(',').map((s) => Number(s));
  if (counts.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error(`bad --counts ${text}`);
  return counts;
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  const result = await runDataplaneRoutesBench({ counts: parseCounts(argv), rounds: parseRounds(argv) });
  console.log(JSON.stringify(result));
}
