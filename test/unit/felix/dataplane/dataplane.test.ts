// The Dataplane's loop and bookkeeping against a fake command runner (no kernel): nothing applied
// before the first setDesired, whole-state validation (conflicting chains name both sources, a rule
// naming a missing ipset), coalescing (one pass in flight, changes during it give one more), the
// periodic resync re-reading every part, retries with backoff reported in status(), stop() leaving
// the kernel alone. The real kernel side is test/interop/felix-dataplane.test.ts.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mergeIptables } from '../../../../felix/dataplane/desired.ts';
import type { Command, CommandResult } from '../../../../felix/dataplane/exec.ts';
import { FelixError } from '../../../../felix/errors.ts';
import { Dataplane, type DataplaneDesired, workloadEndpoint } from '../../../../felix/index.ts';
import type { TableState } from '../../../../felix/model/iptables.ts';
import { ManualClock } from '../../../support/manual-clock.ts';
import { FakeRouteKernel } from '../routes/fake-kernel.ts';

interface Fake {
  readonly calls: string[];
  runner: (c: Command) => Promise<CommandResult>;
  /** Commands whose text matches fail (exit 1 with this stderr). */
  failing: { re: RegExp; stderr: string } | undefined;
  /** When set, commands matching wait for release(). */
  gate: { re: RegExp; waiting: (() => void)[] } | undefined;
  /** When set, route reads and route batches go to this fake routing table. */
  kernel: FakeRouteKernel | undefined;
  /** What a command (by its text) prints instead of nothing. */
  readonly answers: Map<string, string>;
}

function fake(): Fake {
  const f: Fake = {
    calls: [],
    failing: undefined,
    gate: undefined,
    kernel: undefined,
    answers: new Map(),
    runner: async (c) => {
      const text = c.argv.join(' ');
      f.calls.push(text);
      const answer = f.answers.get(text);
      if (answer !== undefined) return { stdout: answer, stderr: '', code: 0 };
      const routed = f.kernel?.handle(c);
      if (routed !== undefined) return routed;
      if (f.gate?.re.test(text)) await new Promise<void>((r) => f.gate!.waiting.push(r));
      if (f.failing?.re.test(text)) {
        const r = { stdout: '', stderr: f.failing.stderr, code: 1 };
        if (c.allowFailure) return r;
        throw new FelixError('FELIX_ERR_COMMAND_FAILED', `${text}: exit 1: ${f.failing.stderr}`, {
          cause: r,
        });
      }
      if (c.argv[0] === 'sysctl' && c.argv[1] === '-n') {
        return {
          stdout: c.argv
            .slice(2)
            .map(() => '0\n')
            .join(''),
          stderr: '',
          code: 0,
        };
      }
      if (text.includes('addr show')) {
        return { stdout: JSON.stringify([{ ifname: 'mgyaaaaaaaaaaa', addr_info: [] }]), stderr: '', code: 0 };
      }
      return { stdout: text.includes('-json') ? '[]' : '', stderr: '', code: 0 };
    },
  };
  return f;
}

const filter = (chains: TableState['chains'], jumps: TableState['jumps'] = []): TableState => ({
  table: 'filter',
  chains,
  jumps,
});

function desired(extra: Partial<DataplaneDesired> = {}): DataplaneDesired {
  return {
    routes: [{ dst: '10.244.1.0/24', type: 'blackhole', reason: 'own pod CIDR' }],
    endpoints: [
      workloadEndpoint({
        namespace: 'prod',
        name: 'web',
        ipv4: ['10.244.1.10'],
        ifaceName: 'mgyaaaaaaaaaaa',
      }),
    ],
    iptables: {
      inet: [
        filter(
          [
            {
              name: 'mgy-FORWARD',
              rules: [
                { match: ['-m', 'set', '--match-set', 'mgy-s-web', 'src'], action: { type: 'accept' } },
              ],
            },
          ],
          [{ from: 'FORWARD', to: 'mgy-FORWARD' }],
        ),
      ],
      inet6: [],
    },
    ipsets: [{ name: 'mgy-s-web', type: 'hash:ip', family: 'inet', members: ['10.244.1.10'] }],
    ...extra,
  };
}

const live: Dataplane[] = [];
function dataplane(f: Fake, opts: Partial<ConstructorParameters<typeof Dataplane>[0]> = {}): Dataplane {
  const d = new Dataplane({ runner: f.runner, backend: 'nft', resyncIntervalMs: 0, ...opts });
  live.push(d);
  return d;
}
afterEach(async () => {
  for (const d of live.splice(0)) await d.stop();
});

const count = (f: Fake, re: RegExp) => f.calls.filter((c) => re.test(c)).length;

describe('Dataplane', () => {
  it('applies nothing before the first setDesired, then everything in the fixed order', async () => {
    const f = fake();
    const d = dataplane(f);
    expect((await d.resync()).applies).toBe(0);
    expect(f.calls).toEqual([]);
    d.setDesired(desired());
    const s = await d.idle();
    expect(s).toMatchObject({ ready: true, inSync: true, applies: 1, consecutiveFailures: 0 });
    const order = ['ipset restore', 'iptables-nft-restore', 'sysctl -q -w', 'ip -4 -force -batch'].map((k) =>
      f.calls.findIndex((c) => c.includes(k)),
    );
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(s.counts).toMatchObject({
      routes: 2,
      chains: 1,
      rules: 2,
      ipsets: 1,
      ipsetMembers: 1,
      endpoints: 1,
    });
    expect(s.counts.endpointsWired).toBe(1);
    // The workload route was added from the endpoint, with its reason.
    expect(d.listRoutes().map((r) => [r.dst, r.reason])).toContainEqual([
      '10.244.1.10/32',
      'local workload prod/web',
    ]);
    expect(d.describeRules().rules.map((r) => `${r.family} ${r.table} ${r.chain} ${r.position}`)).toEqual([
      'inet filter FORWARD 0',
      'inet filter mgy-FORWARD 0',
    ]);
  });

  it('rejects an invalid state whole, naming the problem; the previous state stays', async () => {
    const f = fake();
    const d = dataplane(f);
    d.setDesired(desired());
    await d.idle();
    const calls = f.calls.length;
    const other = (source: string, action: 'accept' | 'drop') => ({
      source,
      inet: [filter([{ name: 'mgy-x', rules: [{ match: [], action: { type: action } }] }])],
      inet6: [],
    });
    expect(() =>
      d.setDesired(desired({ iptables: [other('policy', 'accept'), other('nat', 'drop')] })),
    ).toThrow(/chain mgy-x is given by both "policy" and "nat" with different rules/);
    expect(() => d.setDesired(desired({ ipsets: [] }))).toThrow(/ipset mgy-s-web is not a desired inet set/);
    expect(() => d.setDesired(desired({ routes: [{ dst: '10.244.1.0/33' }] }))).toThrow(FelixError);
    expect(() =>
      d.setDesired(
        desired({
          endpoints: [
            workloadEndpoint({ namespace: 'a', name: 'x', ipv4: ['10.244.1.2'], ifaceName: 'mgyshared' }),
            workloadEndpoint({ namespace: 'b', name: 'y', ipv4: ['10.244.1.3'], ifaceName: 'mgyshared' }),
          ],
        }),
      ),
    ).toThrow(/share interface mgyshared/);
    await d.idle();
    expect(f.calls.length).toBe(calls);
    expect(d.status().counts.chains).toBe(1);
  });

  it('merges identical chains from two sources', () => {
    const chain = {
      name: 'mgy-same',
      rules: [{ match: ['-i', 'eth0'], action: { type: 'accept' as const } }],
    };
    const m = mergeIptables([
      { source: 'a', inet: [filter([chain])], inet6: [] },
      { source: 'b', inet: [filter([{ ...chain }]), { table: 'nat', chains: [], jumps: [] }], inet6: [] },
    ]);
    expect(m.merged.inet.map((t) => [t.table, t.chains.map((c) => c.name)])).toEqual([
      ['nat', []],
      ['filter', ['mgy-same']],
    ]);
  });

  it('a state handed again part by part: reused parts are trusted, every new part is checked', async () => {
    const f = fake();
    const d = dataplane(f);
    const first = desired();
    d.setDesired(first);
    await d.idle();
    const writes = () => count(f, /restore/);
    const before = writes();
    // Every part the same object: nothing to write.
    d.setDesired({ ...first });
    await d.idle();
    expect(writes()).toBe(before);
    // The same ipsets with new chains that name a set nobody desires: refused.
    const orphan = filter([
      {
        name: 'mgy-FORWARD',
        rules: [{ match: ['-m', 'set', '--match-set', 'mgy-s-none', 'src'], action: { type: 'accept' } }],
      },
    ]);
    expect(() => d.setDesired({ ...first, iptables: { inet: [orphan], inet6: [] } })).toThrow(
      /ipset mgy-s-none is not a desired inet set/,
    );
    // The same chains with new ipsets that lack the one they name: refused.
    expect(() => d.setDesired({ ...first, ipsets: [] })).toThrow(/ipset mgy-s-web is not a desired inet set/);
    // A new set with a bad member among sets handed before: refused, whatever was remembered.
    const bad = {
      name: 'mgy-s-bad',
      type: 'hash:ip' as const,
      family: 'inet' as const,
      members: ['10.0.0.256'],
    };
    expect(() => d.setDesired({ ...first, ipsets: [...first.ipsets, bad] })).toThrow(FelixError);
    await d.idle();
    expect(writes()).toBe(before);
    // One set changes: only its delta is written.
    const more = { ...first.ipsets[0]!, members: ['10.244.1.10', '10.244.1.11'] };
    const mark = f.calls.length;
    d.setDesired({ ...first, ipsets: [more] });
    await d.idle();
    expect(f.calls.slice(mark).filter((c) => /restore/.test(c))).toEqual(['ipset restore -exist']);
  });

  it('mergeIptables keeps the merge of a family whose table lists are the very same', () => {
    const chain = { name: 'mgy-a', rules: [{ match: ['-i', 'eth0'], action: { type: 'accept' as const } }] };
    const inet = [filter([chain])];
    const first = mergeIptables([{ source: 'p', inet, inet6: [] }]);
    const same = mergeIptables([{ source: 'p', inet, inet6: [] }], first);
    expect(same.merged.inet).toBe(first.merged.inet);
    const copy = mergeIptables([{ source: 'p', inet: [filter([{ ...chain }])], inet6: [] }], first);
    expect(copy.merged.inet).not.toBe(first.merged.inet);
    expect(copy.merged.inet).toEqual(first.merged.inet);
    // Another source name is another merge, even with the same lists.
    expect(mergeIptables([{ source: 'q', inet, inet6: [] }], first).merged.inet).not.toBe(first.merged.inet);
  });

  it('a resync finds drift in sets and chains handed again as the same objects', async () => {
    const f = fake();
    const d = dataplane(f);
    const first = desired();
    d.setDesired(first);
    await d.idle();
    // The kernel now says our set has a member nobody wants and our chain is empty.
    f.answers.set(
      'ipset save',
      'create mgy-s-web hash:ip family inet hashsize 1024 maxelem 1048576\nadd mgy-s-web 10.244.1.10\nadd mgy-s-web 10.9.9.9\n',
    );
    f.answers.set('iptables-nft-save', '*filter\n:FORWARD ACCEPT [0:0]\n:mgy-FORWARD - [0:0]\nCOMMIT\n');
    const mark = f.calls.length;
    d.setDesired({ ...first });
    await d.resync();
    const calls = f.calls.slice(mark);
    expect(calls).toContain('ipset restore -exist');
    expect(calls).toContain('iptables-nft-restore --noflush');
  });

  it('coalesces: changes during a pass give exactly one more pass', async () => {
    const f = fake();
    f.gate = { re: /^ipset save/, waiting: [] };
    const d = dataplane(f);
    d.setDesired(desired());
    await vi.waitFor(() => expect(f.gate?.waiting).toHaveLength(1));
    for (let i = 0; i < 5; i++)
      d.setDesired(desired({ routes: [{ dst: `10.244.${i}.0/24`, type: 'blackhole' }] }));
    expect(d.status().pending).toBe(true);
    f.gate.re = /^$/;
    for (const r of f.gate.waiting.splice(0)) r();
    const s = await d.idle();
    expect(s.applies).toBe(2);
    expect(d.listRoutes().map((r) => r.dst)).toContain('10.244.4.0/24');
    expect(d.listRoutes().map((r) => r.dst)).not.toContain('10.244.3.0/24');
  });

  it('resyncs periodically: every part re-reads the kernel', async () => {
    const f = fake();
    const clock = new ManualClock();
    const d = dataplane(f, { resyncIntervalMs: 30_000, now: clock.now, timers: clock.timers });
    d.setDesired(desired());
    await d.idle();
    const reads = () => [
      count(f, /^ipset save/),
      count(f, /^iptables-nft-save/),
      count(f, /route show/),
      count(f, /sysctl -n/),
    ];
    const before = reads();
    clock.advance(29_999);
    await d.idle();
    expect(d.status().resyncs).toBe(0);
    expect(reads()).toEqual(before);
    clock.advance(1);
    await d.idle();
    expect(d.status().resyncs).toBe(1);
    const after = reads();
    after.forEach((n, i) => {
      expect(n, `reader ${i}`).toBeGreaterThan(before[i]!);
    });
    // And again an interval later.
    clock.advance(30_000);
    await d.idle();
    expect(d.status().resyncs).toBe(2);
    reads().forEach((n, i) => {
      expect(n, `reader ${i}`).toBeGreaterThan(after[i]!);
    });
  });

  it('retries with backoff, reports the failure with its code, and recovers', async () => {
    const f = fake();
    f.failing = { re: /^iptables-nft-restore/, stderr: 'iptables-nft-restore: line 3 failed' };
    const clock = new ManualClock();
    const d = dataplane(f, {
      retry: { maxAttempts: 3, initialDelayMs: 5, maxDelayMs: 40 },
      retryIntervalMs: 20_000,
      now: clock.now,
      timers: clock.timers,
    });
    d.setDesired(desired());
    const s = await d.idle();
    expect(s).toMatchObject({ ready: false, inSync: false, consecutiveFailures: 3, attempts: 3 });
    expect(s.lastError).toMatchObject({ step: 'iptables', code: 'FELIX_ERR_RESTORE_FAILED' });
    expect(s.lastError?.causes.join(' ')).toContain('line 3 failed');
    // Routes do not wait for iptables (felix/dataplane/apply.ts): they went in beside it.
    expect(count(f, /-batch/)).toBeGreaterThan(0);
    const restores = count(f, /^iptables-nft-restore/);
    f.failing = undefined;
    // The next try comes retryIntervalMs after the failed pass.
    clock.advance(19_999);
    expect((await d.idle()).attempts).toBe(3);
    clock.advance(1);
    const ok = await d.idle();
    expect(ok).toMatchObject({ inSync: true, ready: true, consecutiveFailures: 0, totalFailures: 3 });
    expect(count(f, /^iptables-nft-restore/)).toBeGreaterThan(restores);
  });

  it('stop() cuts a backoff wait short, clears the timers and leaves the kernel alone', async () => {
    const f = fake();
    f.failing = { re: /^iptables-nft-restore/, stderr: 'nope' };
    const clock = new ManualClock();
    const d = dataplane(f, {
      resyncIntervalMs: 30_000,
      now: clock.now,
      timers: clock.timers,
      retry: { maxAttempts: 10, initialDelayMs: 60_000 },
    });
    d.setDesired(desired());
    // The failure is recorded right before the backoff wait starts.
    await vi.waitFor(() => expect(d.status().consecutiveFailures).toBe(1));
    expect(clock.pendingCount).toBe(1); // the resync timer
    // The wait is 60 s, past the test's timeout: stop() resolving at all shows it did not wait it
    // out.
    await d.stop();
    expect(clock.pendingCount).toBe(0);
    const calls = f.calls.length;
    clock.advance(10 * 30_000);
    await d.idle();
    expect(f.calls.length).toBe(calls);
    expect(f.calls.some((c) => /-X |route del|link del|destroy/.test(c))).toBe(false);
    expect(d.status().stopped).toBe(true);
    expect(() => d.setDesired(desired())).toThrow(expect.objectContaining({ code: 'FELIX_ERR_STOPPED' }));
  });

  it('VXLAN: null deletes our device once, undefined never touches it', async () => {
    const f = fake();
    const d = dataplane(f);
    d.setDesired(desired());
    await d.idle();
    expect(count(f, /vxlan/)).toBe(0);
    d.setDesired(desired({ vxlan: null }));
    await d.idle();
    d.setDesired(desired({ vxlan: null, routes: [] }));
    await d.idle();
    expect(f.calls.filter((c) => c.includes('link del'))).toEqual(['ip link del vxlan.margay']);
    d.setDesired(
      desired({
        vxlan: {
          nodeName: 'n1',
          underlayAddress: '192.0.2.1',
          tunnelAddress: '10.244.1.0',
          remoteVteps: [{ nodeName: 'n2', nodeIp: '192.0.2.2', tunnelAddress: '10.244.2.0' }],
        },
      }),
    );
    await d.idle();
    expect(f.calls.some((c) => c.startsWith('ip link add vxlan.margay type vxlan id 4096'))).toBe(true);
    expect(d.status().counts.remoteVteps).toBe(1);
  });
  it('a route the kernel refuses: the pass succeeds, the rest is programmed, the refusal is shown and retried', async () => {
    const f = fake();
    f.kernel = new FakeRouteKernel();
    f.kernel.refuse = [{ re: /2001:db8:244:3::/, message: 'RTNETLINK answers: No route to host' }];
    const d = dataplane(f, { retryIntervalMs: 20 });
    d.setDesired(
      desired({
        routes: [
          { dst: '10.244.1.0/24', type: 'blackhole', reason: 'own pod CIDR' },
          { dst: '2001:db8:244:1::/64', type: 'blackhole', reason: 'own pod CIDR' },
          { dst: '10.244.2.0/24', nextHops: [{ gateway: '192.0.2.12' }], reason: 'node-2' },
          { dst: '2001:db8:244:3::/64', nextHops: [{ gateway: '2001:db8:0:2::13' }], reason: 'node-3' },
        ],
      }),
    );
    const s = await d.idle();
    expect(s).toMatchObject({ ready: true, inSync: true, consecutiveFailures: 0 });
    expect(s.counts).toMatchObject({ routes: 5, routesProgrammed: 4, routeConflicts: 0, routeFailures: 1 });
    expect(s.routeProblems).toEqual([
      {
        family: 6,
        table: 254,
        dst: '2001:db8:244:3::/64',
        state: 'failed',
        message: 'RTNETLINK answers: No route to host',
      },
    ]);
    // What the agent announces from: both own blackholes are programmed.
    expect(
      d
        .listRoutes()
        .filter((r) => r.type === 'blackhole')
        .map((r) => [r.dst, r.state]),
    ).toEqual([
      ['10.244.1.0/24', 'programmed'],
      ['2001:db8:244:1::/64', 'programmed'],
    ]);
    expect(d.listRoutes().find((r) => r.dst === '2001:db8:244:3::/64')).toMatchObject({
      state: 'failed',
      message: 'RTNETLINK answers: No route to host',
      reason: 'node-3',
    });
    // Retried after retryIntervalMs without any new setDesired; once the kernel takes it, it is in.
    f.kernel.refuse = [];
    const kernel = f.kernel;
    await vi.waitFor(() => expect(kernel.routes[6].has('2001:db8:244:3::/64')).toBe(true), {
      timeout: 2_000,
    });
    const after = await d.idle();
    expect(after.counts).toMatchObject({ routesProgrammed: 5, routeFailures: 0 });
    expect(after.routeProblems).toEqual([]);
  });
});
