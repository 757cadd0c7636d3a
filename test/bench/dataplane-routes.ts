// Benchmark: install and remove N kernel routes with the RouteTable reconciler, against a raw
// `ip -batch` of the same routes (DESIGN.md "What fast means": target ≤ 1.2× the raw tool).
//
// Everything happens in one fresh network namespace (`mgyrb-<pid>-…`) holding a veth pair with
// 192.0.2.1/24; the routes are distinct IPv4 prefixes inside 10.244.0.0/16 (/32s, then /31s, /30s,
// … — 65536 + 32768 + … so 100k fit the lab's pod range) via 192.0.2.2. The namespace is deleted in
// `finally`, also when a step fails. Each phase is checked (route count in the kernel) so a run
// that silently wrote nothing cannot look fast.
//
// Phases per count N: raw add, raw del, and the reconciler's install (setDesired + first apply:
// reads the empty table, then streams one batch), adopt (a second reconciler's first apply with
// all N in place: the read and the diff, zero writes) and remove (setDesired([]) + apply from the
// cached view). Each count runs `rounds` times (default 3) after one small warm-up round (JIT; a
// daemon is warm); the raw phases go first in even rounds and last in odd ones, so neither side
// always runs on a table the other just emptied.
//
// The ratios are the median over rounds of reconciler / raw *within* a round: the two sides of a
// round run within a second of each other, so they share the machine's state, while this machine's
// speed drifts between rounds (raw `ip` alone lands at ~70 or ~105 ms for 10k routes from one
// minute to the next). A ratio of the two medians would pair a raw time from one phase with a
// reconciler time from another; it is reported too (`…RatioOfMedians`), and the medians of each
// time.
//
// Run: `npx node test/bench/dataplane-routes.ts --counts 10000,100000` (root), or through the
// dispatcher with runDataplaneRoutesBench({ counts }).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Netlink } from '../../felix/dataplane/netlink/netlink.ts';
import { RouteTable } from '../../felix/dataplane/routes/route-table.ts';
import type { RouteSpec } from '../../felix/model/routes.ts';

const execFileP = promisify(execFile);

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

async function countRoutes(ns: string): Promise<number> {
  const out = await sh(['ip', '-n', ns, 'route', 'show', 'table', 'all', 'proto', '109']);
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

export interface DataplaneRoutesFigures {
  readonly count: number;
  readonly rawAddSeconds: number;
  readonly rawDelSeconds: number;
  readonly installSeconds: number;
  readonly adoptSeconds: number;
  readonly removeSeconds: number;
  /** Median over rounds of install / raw add within the round (see the file header). */
  readonly installRatio: number;
  /** Median over rounds of remove / raw del within the round. */
  readonly removeRatio: number;
  readonly installRatioOfMedians?: number;
  readonly removeRatioOfMedians?: number;
  readonly bytesWritten: number;
  readonly commands: number;
}

async function benchOne(ns: string, count: number, rawFirst = true): Promise<DataplaneRoutesFigures> {
  const prefixes = benchPrefixes(count);
  const raw = async (verb: 'add' | 'del') => {
    const lines = prefixes.map((p) =>
      verb === 'add' ? `route add ${p} via 192.0.2.2 proto 109` : `route del ${p} proto 109`,
    );
    await sh(['ip', '-n', ns, '-batch', '-'], `${lines.join('\n')}\n`);
  };
  const rawPhases = async () => {
    const add = await timed(() => raw('add'));
    expectCount('raw add', await countRoutes(ns), count);
    const del = await timed(() => raw('del'));
    expectCount('raw del', await countRoutes(ns), 0);
    return { add, del };
  };
  const before = rawFirst ? await rawPhases() : undefined;

  const routes: RouteSpec[] = prefixes.map((dst) => ({ dst, nextHops: [{ gateway: '192.0.2.2' }] }));
  const rt = new RouteTable({ netlink: new Netlink({ netns: ns }), families: [4] });
  const installSeconds = await timed(async () => {
    rt.setDesired(routes);
    await rt.apply();
  });
  expectCount('reconciler install', await countRoutes(ns), count);

  const adopter = new RouteTable({ netlink: new Netlink({ netns: ns }), families: [4] });
  const adoptSeconds = await timed(async () => {
    adopter.setDesired(routes);
    const r = await adopter.apply();
    if (r.unchanged !== count || r.added + r.replaced + r.deleted !== 0) {
      throw new Error(`adopt wrote routes: ${JSON.stringify(r)}`);
    }
  });

  const removeSeconds = await timed(async () => {
    rt.setDesired([]);
    await rt.apply();
  });
  expectCount('reconciler remove', await countRoutes(ns), 0);
  const { add: rawAddSeconds, del: rawDelSeconds } = before ?? (await rawPhases());
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    count,
    rawAddSeconds: round(rawAddSeconds),
    rawDelSeconds: round(rawDelSeconds),
    installSeconds: round(installSeconds),
    adoptSeconds: round(adoptSeconds),
    removeSeconds: round(removeSeconds),
    installRatio: round(installSeconds / rawAddSeconds),
    removeRatio: round(removeSeconds / rawDelSeconds),
    bytesWritten: rt.stats.bytesWritten,
    commands: rt.stats.commands,
  };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function benchMedian(ns: string, count: number, rounds: number): Promise<DataplaneRoutesFigures> {
  const runs: DataplaneRoutesFigures[] = [];
  for (let i = 0; i < rounds; i++) runs.push(await benchOne(ns, count, i % 2 === 0));
  const m = (k: 'rawAddSeconds' | 'rawDelSeconds' | 'installSeconds' | 'adoptSeconds' | 'removeSeconds') =>
    median(runs.map((r) => r[k]));
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    count,
    rawAddSeconds: m('rawAddSeconds'),
    rawDelSeconds: m('rawDelSeconds'),
    installSeconds: m('installSeconds'),
    adoptSeconds: m('adoptSeconds'),
    removeSeconds: m('removeSeconds'),
    installRatio: round(median(runs.map((r) => r.installSeconds / r.rawAddSeconds))),
    removeRatio: round(median(runs.map((r) => r.removeSeconds / r.rawDelSeconds))),
    installRatioOfMedians: round(m('installSeconds') / m('rawAddSeconds')),
    removeRatioOfMedians: round(m('removeSeconds') / m('rawDelSeconds')),
    bytesWritten: runs[0]!.bytesWritten,
    commands: runs[0]!.commands,
  };
}

export async function runDataplaneRoutesBench(opts: { counts: number[]; rounds?: number }): Promise<object> {
  const ns = `mgyrb-${process.pid}-routes`;
  await sh(['ip', 'netns', 'add', ns]);
  try {
    await sh(['ip', '-n', ns, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1']);
    for (const d of ['lo', 'veth0', 'veth1']) await sh(['ip', '-n', ns, 'link', 'set', d, 'up']);
    await sh(['ip', '-n', ns, 'addr', 'add', '192.0.2.1/24', 'dev', 'veth0']);
    await benchOne(ns, 2000); // warm-up, not reported
    const rounds = opts.rounds ?? 3;
    const results: DataplaneRoutesFigures[] = [];
    for (const count of opts.counts) results.push(await benchMedian(ns, count, rounds));
    return {
      bench: 'dataplane-routes',
      target: 'installRatio and removeRatio (medians of per-round ratios) <= 1.2',
      rounds,
      results,
    };
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
