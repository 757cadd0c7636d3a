// The streaming `-force -batch` path (batch-writer.ts, Netlink.openBatch/readThenBatch, and the
// RouteTable on top of it) against a fake `ip`: a POSIX sh script that reads the batch line by
// line as ip does, logs what it got (and, per process, when it started and when its input
// ended: the route table may run two at once, family-streams.ts), and fails on request the ways ip
// fails — a refused line ("<message>\nCommand failed -:N", exit 1 at the end), dying mid-batch
// (SIGKILL), exiting at once with 255 (ip's exit(-1) on an argument it cannot parse), never
// answering (timeout). The runner fakes in reconciler.test.ts never see this path: with a runner
// the lines are collected and run at close. The real kernel is in
// test/interop/felix-routes*.test.ts and netns-phases.test.ts here.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchOutcome } from '../../../../felix/dataplane/netlink/batch-writer.ts';
import { Netlink } from '../../../../felix/dataplane/netlink/netlink.ts';
import { RouteTable } from '../../../../felix/dataplane/routes/route-table.ts';

let dir: string;
let seq = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'margay-fake-ip-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface FakeIp {
  /** The script: pass as Netlink `tools.ip`. */
  readonly path: string;
  /** Every batch line it read, in order (across runs). */
  lines(): string[];
  /** Per process, in the order they started: the pid and the batch lines it read (no reads). */
  runs(): { pid: number; lines: string[] }[];
  /** What every process did, in order: `start`, each line it read, `end` (its input ended). */
  events(): { pid: number; what: string }[];
  /** Change its behaviour for the next runs. */
  set(b: Behaviour): void;
}

interface Behaviour {
  /** Lines containing this are refused with "RTNETLINK answers: No route to host". */
  readonly refuse?: string;
  /** Kill itself (SIGKILL) on reading batch line N. */
  readonly dieAt?: number;
  /** Kill itself (SIGKILL) on reading a line containing this. */
  readonly dieOn?: string;
  /** Exit 255 at once on reading a line containing this. */
  readonly exitOn?: string;
  /** Exit 255 at once on reading batch line N, as ip does on an argument it cannot parse. */
  readonly exitAt?: number;
  /** Hang (spin, reading nothing more) on reading batch line N. */
  readonly hangAt?: number;
  /** What a `route show` prints (one line of JSON); default "[]". */
  readonly show?: string;
  /** `route show` is refused (its failure marker, no output). */
  readonly refuseShow?: boolean;
}

function fakeIp(b: Behaviour = {}): FakeIp {
  const path = join(dir, `ip-${++seq}`);
  const log = `${path}.log`;
  const events = `${path}.events`;
  writeFileSync(log, '');
  writeFileSync(events, '');
  const set = (x: Behaviour): void => {
    const show = x.refuseShow
      ? `printf 'Error: cannot dump\\nCommand failed -:%s\\n' "$n" >&2; rc=1`
      : `printf '%s\\n' '${x.show ?? '[]'}'`;
    writeFileSync(
      path,
      `#!/bin/sh
case " $* " in *" -batch "*) ;; *) printf '%s\\n' '${x.show ?? '[]'}'; exit 0;; esac
n=0; rc=0
printf '%s start\\n' "$$" >> '${events}'
while IFS= read -r line; do
  n=$((n + 1))
  printf '%s\\n' "$line" >> '${log}'
  printf '%s %s\\n' "$$" "$line" >> '${events}'
  case "$line" in "route show"*) ${show}; continue;; esac
  if [ "$n" -eq ${x.dieAt ?? 0} ]; then kill -9 $$; fi
  case "$line" in *'${x.dieOn ?? '\u0000never'}'*) kill -9 $$;; esac
  if [ "$n" -eq ${x.exitAt ?? 0} ]; then echo 'Error: argument "x" is wrong: "protocol" value is invalid' >&2; exit 255; fi
  case "$line" in *'${x.exitOn ?? '\u0000never'}'*) echo 'Error: argument "x" is wrong' >&2; exit 255;; esac
  if [ "$n" -eq ${x.hangAt ?? 0} ]; then while :; do :; done; fi
  case "$line" in *'${x.refuse ?? '\u0000never'}'*) printf 'RTNETLINK answers: No route to host\\nCommand failed -:%s\\n' "$n" >&2; rc=1;; esac
done
printf '%s end\\n' "$$" >> '${events}'
exit $rc
`,
    );
    chmodSync(path, 0o755);
  };
  set(b);
  const readEvents = () =>
    readFileSync(events, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const at = l.indexOf(' ');
        return { pid: Number(l.slice(0, at)), what: l.slice(at + 1) };
      });
  return {
    path,
    set,
    lines: () => readFileSync(log, 'utf8').split('\n').filter(Boolean),
    events: readEvents,
    runs: () => {
      const runs = new Map<number, string[]>();
      for (const { pid, what } of readEvents()) {
        if (what === 'start') runs.set(pid, []);
        else if (what !== 'end' && !what.startsWith('route show')) runs.get(pid)?.push(what);
      }
      return [...runs].map(([pid, lines]) => ({ pid, lines }));
    },
  };
}

/** Every process the fake ran has exited and was reaped: none is left waiting for lines. */
function expectNoProcessLeft(ip: FakeIp): void {
  const started = ip.events().filter((e) => e.what === 'start');
  expect(started.length).toBeGreaterThan(0);
  for (const { pid } of started) expect(() => process.kill(pid, 0), `process ${pid}`).toThrow(/ESRCH/);
}

const lines = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => `route add 10.${(from + i) >> 8}.${(from + i) & 255}.0/24 proto 109`);

describe('streaming batch (fake ip)', () => {
  it('streams every line through chunks and drains, in order', async () => {
    const ip = fakeIp();
    const nl = new Netlink({ tools: { ip: ip.path } });
    const w = nl.openBatch('ip', 4);
    const want = lines(3000);
    for (const [i, l] of want.entries()) {
      w.push(l);
      if (i % 256 === 0) await w.flush();
    }
    expect(await w.close()).toEqual({ failures: [] });
    expect(ip.lines()).toEqual(want);
    expect(nl.stats).toMatchObject({ commands: 1, batchLines: 3000 });
  });

  it('names refused lines by number, with the text from lineText (no copy kept)', async () => {
    const ip = fakeIp({ refuse: '10.0.7.0/24' });
    const nl = new Netlink({ tools: { ip: ip.path } });
    const want = lines(10);
    const w = nl.openBatch('ip', 4, { lineText: (n) => `#${n}: ${want[n - 1]}` });
    for (const l of want) w.push(l);
    expect(await w.close()).toEqual({
      failures: [
        {
          line: 8,
          command: '#8: route add 10.0.7.0/24 proto 109',
          message: 'RTNETLINK answers: No route to host',
        },
      ],
    });
  });

  it('a process killed mid-batch is an error saying how many lines it had, not a partial result', async () => {
    const ip = fakeIp({ refuse: '10.0.1.0/24', dieAt: 5 });
    const nl = new Netlink({ tools: { ip: ip.path } });
    const w = nl.openBatch('ip', 4);
    for (const l of lines(50)) w.push(l);
    const err = await w.close().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'FELIX_ERR_COMMAND_FAILED' });
    expect(String((err as Error).message)).toMatch(/killed by SIGKILL with 50 line\(s\) handed to it/);
    expect(String((err as Error).message)).toContain('which of them took effect is unknown');
    expect(ip.lines()).toHaveLength(5);
  });

  it('after the process died, pushes are dropped and flush no longer waits', async () => {
    const ip = fakeIp({ dieAt: 3 });
    const nl = new Netlink({ tools: { ip: ip.path } });
    const w = nl.openBatch('ip', 4);
    const many = lines(20_000);
    for (const [i, l] of many.entries()) {
      w.push(l);
      if (i % 512 === 0) await w.flush();
    }
    expect(w.lineCount).toBe(20_000);
    const err = await w.close().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'FELIX_ERR_COMMAND_FAILED' });
    expect(nl.stats.batchLines).toBeLessThan(20_000); // only what was handed over before it died
  });

  it('exit 255 after a refused line is an error too (ip stopped: the later lines were never tried)', async () => {
    const ip = fakeIp({ refuse: '10.0.1.0/24', exitAt: 4 });
    const nl = new Netlink({ tools: { ip: ip.path } });
    const w = nl.openBatch('ip', 4);
    for (const l of lines(10)) w.push(l);
    await expect(w.close()).rejects.toMatchObject({
      code: 'FELIX_ERR_COMMAND_FAILED',
      message: expect.stringMatching(/exit 255 .*"protocol" value is invalid/s),
    });
  });

  it('times out, kills the process and says so', async () => {
    const ip = fakeIp({ hangAt: 1 });
    const nl = new Netlink({ tools: { ip: ip.path }, timeoutMs: 300 });
    const w = nl.openBatch('ip', 4);
    w.push(lines(1)[0]!);
    await expect(w.close()).rejects.toMatchObject({
      code: 'FELIX_ERR_COMMAND_FAILED',
      message: expect.stringMatching(/timed out after 300 ms/),
    });
  });

  it('a tool that cannot be started is an error naming it', async () => {
    const nl = new Netlink({ tools: { ip: join(dir, 'no-such-ip') } });
    const w = nl.openBatch('ip', 4);
    w.push('route add 10.0.0.0/24 proto 109');
    await expect(w.close()).rejects.toMatchObject({
      code: 'FELIX_ERR_COMMAND_FAILED',
      message: expect.stringMatching(/no-such-ip .*cannot run/),
    });
  });

  it('readThenBatch: one process reads, then takes the writes, numbered from 1', async () => {
    const show = JSON.stringify([{ dst: '10.9.0.0/24', gateway: '192.0.2.2', protocol: '109' }]);
    const ip = fakeIp({ show, refuse: '10.0.1.0/24' });
    const nl = new Netlink({ tools: { ip: ip.path } });
    const { list, writer } = await nl.readThenBatch(
      'ip',
      { options: ['-N', '-d'], args: ['route', 'show', 'table', 'all', 'proto', '109'] },
      4,
    );
    expect(list).toEqual(JSON.parse(show));
    for (const l of lines(3)) writer.push(l);
    expect(await writer.close()).toEqual({
      failures: [
        {
          line: 2,
          command: 'route add 10.0.1.0/24 proto 109',
          message: 'RTNETLINK answers: No route to host',
        },
      ],
    });
    expect(ip.lines()).toEqual(['route show table all proto 109', ...lines(3)]);
    expect(nl.stats.commands).toBe(1);
  });

  it('readThenBatch: a refused read is an error, and the process is ended', async () => {
    const ip = fakeIp({ refuseShow: true });
    // A command timeout past the test's: only the refusal can end the read in time.
    const nl = new Netlink({ tools: { ip: ip.path }, timeoutMs: 120_000 });
    await expect(
      nl.readThenBatch('ip', { options: [], args: ['route', 'show', 'table', 'all', 'proto', '109'] }, 6),
    ).rejects.toMatchObject({
      code: 'FELIX_ERR_COMMAND_FAILED',
      message: expect.stringMatching(/route show table all proto 109: refused: Error: cannot dump/),
    });
    expectNoProcessLeft(ip);
  });
});

describe('batchOutcome (how a batch ended)', () => {
  const argv = ['ip', '-4', '-force', '-batch', '-'];
  const text = (n: number) => `line ${n}`;
  const marker = 'RTNETLINK answers: File exists\nCommand failed -:3\n';

  it('exit 0: nothing refused; exit 1 with markers: those lines, shifted by the read', () => {
    expect(batchOutcome({ argv, code: 0, stderr: '', lineCount: 5 }, text)).toEqual({ failures: [] });
    expect(batchOutcome({ argv, code: 1, stderr: marker, lineCount: 5, lineOffset: 1 }, text)).toEqual({
      failures: [{ line: 2, command: 'line 2', message: 'RTNETLINK answers: File exists' }],
    });
  });

  it.each([
    ['exit 1 naming no line', { code: 1, stderr: 'Cannot open netns' }, /exit 1 with 5 line/],
    ['another exit code, even with markers', { code: 255, stderr: marker }, /exit 255/],
    ['a signal', { code: null, signal: 'SIGKILL', stderr: marker }, /killed by SIGKILL/],
    ['a marker beyond the lines given', { code: 1, stderr: 'x\nCommand failed -:9\n' }, /exit 1/],
  ])('%s is FELIX_ERR_COMMAND_FAILED', (_why, exit, message) => {
    expect(() => batchOutcome({ argv, lineCount: 5, ...exit }, text)).toThrow(
      expect.objectContaining({ code: 'FELIX_ERR_COMMAND_FAILED', message: expect.stringMatching(message) }),
    );
  });
});

describe('RouteTable over the streaming path (fake ip)', () => {
  const routes = Array.from({ length: 40 }, (_, i) => ({
    dst: `10.244.${i}.0/24`,
    nextHops: [{ gateway: '192.0.2.2' }],
  }));

  it('ip dying mid-batch: the apply throws, nothing is listed as programmed, the next apply reads and retries all', async () => {
    const ip = fakeIp({ dieAt: 10 }); // line 1 is the read
    const rt = new RouteTable({ netlink: new Netlink({ tools: { ip: ip.path } }), families: [4] });
    rt.setDesired(routes);
    await expect(rt.apply()).rejects.toMatchObject({
      code: 'FELIX_ERR_COMMAND_FAILED',
      message: expect.stringMatching(/killed by SIGKILL/),
    });
    expect(rt.stats.failures).toBe(1);
    expect(rt.list().every((l) => l.state === 'pending')).toBe(true);
    ip.set({});
    const before = ip.lines().length;
    expect(await rt.apply()).toMatchObject({ didRead: true, added: 40, failed: [] });
    expect(ip.lines().slice(before)).toEqual([
      'route show table all proto 109',
      ...routes.map((r) => `route add ${r.dst} proto 109 via 192.0.2.2`),
    ]);
    expect(rt.list().every((l) => l.state === 'programmed')).toBe(true);
  });

  it('a refused read: the apply throws, no process is left waiting, the next apply reads again', async () => {
    const ip = fakeIp({ refuseShow: true });
    const rt = new RouteTable({ netlink: new Netlink({ tools: { ip: ip.path } }), families: [4, 6] });
    rt.setDesired(routes);
    await expect(rt.apply()).rejects.toMatchObject({ code: 'FELIX_ERR_COMMAND_FAILED' });
    expect(ip.lines()).toEqual(['route show table all proto 109', 'route show table all proto 109']);
    ip.set({});
    expect(await rt.apply()).toMatchObject({ didRead: true, added: 40 });
  });

  it('a refused route is marked failed, the rest programmed, and the view re-read', async () => {
    const ip = fakeIp({ refuse: '10.244.7.0/24' });
    const rt = new RouteTable({ netlink: new Netlink({ tools: { ip: ip.path } }), families: [4] });
    rt.setDesired(routes);
    const r = await rt.apply();
    expect(r).toMatchObject({ added: 39, didRead: true });
    expect(r.failed).toEqual([
      {
        key: '10.244.7.0/24',
        dst: '10.244.7.0/24',
        table: 254,
        message: 'RTNETLINK answers: No route to host',
      },
    ]);
    expect(rt.stats.reads).toBe(2); // the first read, and the re-read after the refused line
    expect(rt.failedCount).toBe(1);
  });
});

describe('RouteTable over two streams (fake ip; family-streams.ts)', () => {
  /** `10.244.i.0/24 via 192.0.2.2`, i in [from, from + n). */
  const viaRoutes = (n: number, from = 0) =>
    Array.from({ length: n }, (_, i) => ({
      dst: `10.244.${from + i}.0/24`,
      nextHops: [{ gateway: '192.0.2.2' }],
    }));
  /** `198.51.i.0/24 dev v1` (no gateway: the free phase). */
  const devRoutes = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ dst: `198.51.${i}.0/24`, dev: 'v1' }));
  /** The key of a `route add|replace|del [type] DST …` line. */
  const keyOf = (line: string) => line.split(' ')[2]!;
  const table = (ip: FakeIp, splitLines: number) => {
    const nl = new Netlink({ tools: { ip: ip.path } });
    return { nl, rt: new RouteTable({ netlink: nl, families: [4], splitLines }) };
  };

  it('every line of one key goes to one process, in the diff order: the add, then the delete at another metric', async () => {
    // Ours at metric 100 for every desired key: the diff adds each at the default metric, then
    // deletes the metric-100 one (make before break), 24 lines of the gateway phase, split in two.
    const show = JSON.stringify(
      viaRoutes(12).map((r) => ({
        dst: r.dst,
        gateway: '192.0.2.2',
        dev: 'v0',
        protocol: '109',
        metric: 100,
      })),
    );
    const ip = fakeIp({ show });
    const { rt } = table(ip, 4);
    rt.setDesired(viaRoutes(12));
    expect(await rt.apply()).toMatchObject({ added: 12, deleted: 12, failed: [], didRead: true });
    const runs = ip.runs().filter((r) => r.lines.length > 0);
    expect(runs).toHaveLength(2);
    for (const { dst } of viaRoutes(12)) {
      const holding = runs.filter((r) => r.lines.some((l) => keyOf(l) === dst));
      expect(holding, dst).toHaveLength(1);
      expect(holding[0]!.lines.filter((l) => keyOf(l) === dst)).toEqual([
        `route add ${dst} proto 109 via 192.0.2.2`,
        `route del ${dst} proto 109 metric 100`,
      ]);
    }
    expect(rt.list().every((l) => l.state === 'programmed')).toBe(true);
    expectNoProcessLeft(ip);
  });

  it('a gateway route is written after the device routes of the same apply, once their processes are done', async () => {
    // The gateway routes come first in the desired set (and so in the diff).
    const desired = [...viaRoutes(6), ...devRoutes(6)];
    for (const splitLines of [4, Number.POSITIVE_INFINITY]) {
      const ip = fakeIp();
      const { rt } = table(ip, splitLines);
      rt.setDesired(desired);
      expect(await rt.apply()).toMatchObject({ added: 12, failed: [] });
      const events = ip.events();
      const isGateway = (what: string) => what.includes(' via ');
      const isDevice = (what: string) => what.includes(' dev v1');
      const deviceProcesses = new Set(events.filter((e) => isDevice(e.what)).map((e) => e.pid));
      const firstGateway = events.findIndex((e) => isGateway(e.what));
      expect(firstGateway).toBeGreaterThan(0);
      // Every process that wrote a device route read its input to the end before the first gateway line.
      for (const pid of deviceProcesses) {
        const end = events.findIndex((e) => e.pid === pid && e.what === 'end');
        expect(end, `${splitLines}: process ${pid} ended before the gateway phase`).toBeGreaterThanOrEqual(0);
        expect(end).toBeLessThan(firstGateway);
      }
      // No process holds lines of both phases; split in two each when the threshold says so.
      const runs = ip.runs().filter((r) => r.lines.length > 0);
      for (const r of runs) expect(r.lines.every(isGateway) || r.lines.every(isDevice)).toBe(true);
      expect(runs).toHaveLength(splitLines === 4 ? 4 : 2);
      expectNoProcessLeft(ip);
    }
  });

  it('a refused line of the second process is reported for its own route (line numbers are per process)', async () => {
    // Slots 1, 3, 5, 7, … go to the second process: 10.244.7.0/24 is its line 4. The first process
    // (the read's, whose line 1 is the read) has 10.244.6.0/24 as its line 4 of ours.
    const ip = fakeIp({ refuse: '10.244.7.0/24' });
    const { rt } = table(ip, 4);
    rt.setDesired(viaRoutes(12));
    const r = await rt.apply();
    const runs = ip.runs();
    expect(runs[1]!.lines[3]).toBe('route add 10.244.7.0/24 proto 109 via 192.0.2.2');
    expect(r).toMatchObject({ added: 11, conflicts: [] });
    expect(r.failed).toEqual([
      {
        key: '10.244.7.0/24',
        dst: '10.244.7.0/24',
        table: 254,
        message: 'RTNETLINK answers: No route to host',
      },
    ]);
    // (The fake lists nothing when the view is re-read: the rest is pending, not failed.)
    expect(rt.list().filter((l) => l.state === 'failed')).toMatchObject([
      { route: { dst: '10.244.7.0/24' }, message: 'RTNETLINK answers: No route to host' },
    ]);
    expectNoProcessLeft(ip);
  });

  it.each([
    ['killed in the free phase', { dieOn: 'route add 198.51.3.0/24' }, /killed by SIGKILL/],
    ['exit 255 in the gateway phase', { exitOn: 'route add 10.244.5.0/24' }, /exit 255/],
  ])(
    'one of the two processes %s: the apply throws, the view is dropped, no process is left',
    async (_how, fail, message) => {
      const ip = fakeIp(fail);
      const { rt } = table(ip, 4);
      const desired = [...viaRoutes(8), ...devRoutes(8)];
      rt.setDesired(desired);
      await expect(rt.apply()).rejects.toMatchObject({ code: 'FELIX_ERR_COMMAND_FAILED', message });
      expect(rt.stats.failures).toBe(1);
      expectNoProcessLeft(ip);
      const runs = ip.runs().filter((r) => r.lines.length > 0);
      if ('dieOn' in fail) {
        // The free phase failed: which of its lines took effect is unknown, the gateway phase was not written.
        expect(ip.lines().some((l) => l.includes(' via '))).toBe(false);
        expect(runs).toHaveLength(2);
      } else {
        // The gateway phase's two processes are spawned together, so which of them logs its start
        // first is up to the scheduler: they are told apart by their lines, not by their order.
        // The one given 10.244.5.0/24 stopped on it; the other still ran every line it had (the
        // 8 gateway routes split in two lanes of 4).
        expect(runs).toHaveLength(4);
        const exitLine = 'route add 10.244.5.0/24 proto 109 via 192.0.2.2';
        const gateway = runs.slice(2);
        const stopped = gateway.filter((r) => r.lines.includes(exitLine));
        expect(stopped).toHaveLength(1);
        expect(stopped[0]!.lines.at(-1)).toBe(exitLine);
        const other = gateway.find((r) => r !== stopped[0])!;
        expect(other.lines).toHaveLength(4);
        expect(other.lines.every((l) => l.includes(' via '))).toBe(true);
      }
      expect(rt.list().every((l) => l.state === 'pending')).toBe(true);
      // The next apply reads again and writes everything.
      ip.set({});
      expect(await rt.apply()).toMatchObject({ didRead: true, added: 16, failed: [] });
      expect(rt.list().every((l) => l.state === 'programmed')).toBe(true);
      expectNoProcessLeft(ip);
    },
  );

  it('stats count every process and every line of both streams; an apply from the cached view removes through two', async () => {
    const ip = fakeIp();
    const { nl, rt } = table(ip, 4);
    rt.setDesired([...viaRoutes(10), ...devRoutes(6)]);
    await rt.apply();
    const started = () => ip.events().filter((e) => e.what === 'start').length;
    const written = () => ip.events().filter((e) => !['start', 'end'].includes(e.what));
    expect(started()).toBe(4); // the read's (then the free phase's lane 0), lane 1, the gateway phase's two
    expect(rt.stats.commands).toBe(started());
    expect(nl.stats.commands).toBe(started());
    const routeLines = written().filter((e) => !e.what.startsWith('route show'));
    expect(rt.stats.linesWritten).toBe(16);
    expect(nl.stats.batchLines).toBe(16);
    expect(routeLines).toHaveLength(16);
    const bytes = (ls: readonly { what: string }[]) => ls.reduce((n, e) => n + e.what.length + 1, 0);
    expect(rt.stats.bytesWritten).toBe(bytes(routeLines));
    expect(nl.stats.bytesWritten).toBe(bytes(written())); // the read's line too
    rt.setDesired([]);
    expect(await rt.apply()).toMatchObject({ deleted: 16, didRead: false });
    expect(started()).toBe(6);
    const removal = ip.runs().slice(4);
    expect(removal.map((r) => r.lines.length)).toEqual([8, 8]);
    expect(rt.stats.commands).toBe(6);
    expect(nl.stats.batchLines).toBe(32);
    expectNoProcessLeft(ip);
  });
});

describe('RouteTable processes left behind (fake ip)', () => {
  it('an apply that reads and finds nothing to write closes the read process, with no lines', async () => {
    const show = JSON.stringify([{ dst: '10.244.1.0/24', gateway: '192.0.2.2', dev: 'v0', protocol: '109' }]);
    const ip = fakeIp({ show });
    const rt = new RouteTable({
      netlink: new Netlink({ tools: { ip: ip.path } }),
      families: [4],
      splitLines: 1,
    });
    rt.setDesired([{ dst: '10.244.1.0/24', nextHops: [{ gateway: '192.0.2.2' }] }]);
    expect(await rt.apply()).toMatchObject({ didRead: true, unchanged: 1, added: 0 });
    expect(ip.runs()).toEqual([{ pid: expect.any(Number), lines: [] }]);
    expectNoProcessLeft(ip);
  });
});
