// The iptables and ipset writers against the real kernel, inside network namespaces only (the host's
// firewall is never read or written). Two namespaces joined by a veth (192.0.2.1 ↔ 192.0.2.2,
// 2001:db8::1 ↔ 2001:db8::2); ruleset programmed in `b`; real TCP connections from `a` decide
// whether a DROP in our chain blocks and an ACCEPT lets through. Then the drift cases (chain
// flushed, jump deleted, foreign rule inserted before our jump, rule edited, ipset member added by
// hand, set destroyed by hand), each repaired by one resync while the counters of untouched chains
// and of foreign rules survive; a restarted writer adopts with zero writes; a rejected batch leaves
// the previous ruleset; cleanupAll leaves only what is not ours.
//
// Namespaces are `mgyi-<pid>-…`, removed by exact name in afterAll; `nc` listeners are ended by
// their PID. ipsets are per network namespace on this kernel (checked below, not assumed).
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderPolicy } from '../../felix/calc/render-policy.ts';
import { applyAll, createApplyStatus } from '../../felix/dataplane/apply.ts';
import { run } from '../../felix/dataplane/exec.ts';
import { IpsetWriter } from '../../felix/dataplane/ipsets/writer.ts';
import { detectBackend } from '../../felix/dataplane/iptables/backend.ts';
import { cleanupAll } from '../../felix/dataplane/iptables/cleanup.ts';
import { IptablesWriter } from '../../felix/dataplane/iptables/writer.ts';
import { FelixError } from '../../felix/errors.ts';
import type { IpSet } from '../../felix/model/ipsets.ts';
import type { Rule, TableState } from '../../felix/model/iptables.ts';
import { renderNatOutgoing } from '../../felix/model/nat-outgoing.ts';
import { requirePrograms } from '../support/programs.ts';

const PREFIX = `mgyi-${process.pid}-`;
const A = `${PREFIX}a`;
const B = `${PREFIX}b`;
const C = `${PREFIX}c`;
const created: string[] = [];
const listeners: ChildProcess[] = [];

async function sh(ns: string | undefined, argv: string[], input?: string): Promise<string> {
  const r = await run({ argv, ...(ns ? { netns: ns } : {}), ...(input === undefined ? {} : { input }) });
  return r.stdout;
}

async function addNs(name: string): Promise<void> {
  await sh(undefined, ['ip', 'netns', 'add', name]);
  created.push(name);
  await sh(undefined, ['ip', '-n', name, 'link', 'set', 'lo', 'up']);
}

/** Resolves when `ns` has a TCP listener on `port` (ss), with a deadline. */
async function waitListening(ns: string, port: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const out = await sh(ns, ['ss', '-Htln', `sport = :${port}`]);
    if (out.trim() !== '') return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port} in ${ns} after 5 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function tcpConnects(from: string, addr: string, port: number): Promise<boolean> {
  const r = await run({ argv: ['nc', '-z', '-w', '1', addr, String(port)], netns: from, allowFailure: true });
  return r.code === 0;
}

const iptablesSave = (ns: string, family: 'inet' | 'inet6' = 'inet', counters = false) =>
  sh(ns, [family === 'inet' ? 'iptables-nft-save' : 'ip6tables-nft-save', ...(counters ? ['-c'] : [])]);

/** `[packets:bytes]` of the first rule whose text contains `needle` in `iptables-save -c`. */
function counterOf(saved: string, needle: string): string {
  const line = saved.split('\n').find((l) => l.includes(needle));
  if (line === undefined) throw new Error(`no rule with ${needle} in:\n${saved}`);
  return line.slice(0, line.indexOf(']') + 1);
}

function rulesOf(saved: string, chain: string): string[] {
  return saved.split('\n').filter((l) => l.startsWith(`-A ${chain} `));
}

const MEMBER_SET = 'mgy-s-clients';
const SPARE_SET = 'mgy-s-spare';

function desiredIpsets(extra: string[] = []): IpSet[] {
  const nat = renderNatOutgoing([{ name: 'default', cidr: '10.244.0.0/16', natOutgoing: true }], 'inet');
  return [
    { name: MEMBER_SET, type: 'hash:ip', family: 'inet', members: ['192.0.2.1', ...extra] },
    { name: SPARE_SET, type: 'hash:net', family: 'inet', members: ['198.51.100.0/24'] },
    { name: 'mgy-s-clients6', type: 'hash:ip', family: 'inet6', members: ['2001:db8::1'] },
    ...nat.ipsets,
  ];
}

function filterTable(port8081: Rule['action']): TableState {
  return {
    table: 'filter',
    chains: [
      {
        name: 'mgy-INPUT',
        rules: [
          { match: [], action: { type: 'jump', chain: 'mgy-counted' }, comment: 'count everything' },
          {
            match: ['-p', 'tcp', '-m', 'set', '--match-set', MEMBER_SET, 'src', '--dport', '8080'],
            action: { type: 'accept' },
            comment: 'policy default/allow-web ingress[0]',
          },
          { match: ['-p', 'tcp', '--dport', '8081'], action: port8081, comment: 'policy default/deny-8081' },
        ],
      },
      {
        name: 'mgy-counted',
        rules: [{ match: ['-p', 'tcp'], action: { type: 'return' }, comment: 'counter' }],
      },
    ],
    jumps: [{ from: 'INPUT', to: 'mgy-INPUT', comment: 'margay input' }],
  };
}

function v4Tables(port8081: Rule['action'] = { type: 'drop' }): TableState[] {
  const nat = renderNatOutgoing([{ name: 'default', cidr: '10.244.0.0/16', natOutgoing: true }], 'inet');
  return [filterTable(port8081), nat.nat];
}

const v6Tables: TableState[] = [
  {
    table: 'filter',
    chains: [
      {
        name: 'mgy-INPUT',
        rules: [
          {
            match: ['-p', 'tcp', '-m', 'set', '--match-set', 'mgy-s-clients6', 'src', '--dport', '8080'],
            action: { type: 'accept' },
            comment: 'v6 allow',
          },
        ],
      },
    ],
    jumps: [{ from: 'INPUT', to: 'mgy-INPUT' }],
  },
];

describe('iptables/ipset writers in network namespaces', () => {
  let v4: IptablesWriter;
  let v6: IptablesWriter;
  let sets: IpsetWriter;

  beforeAll(async () => {
    // The listeners in B and the connect checks from A.
    requirePrograms('nc');
    await addNs(A);
    await addNs(B);
    await sh(undefined, [
      'ip',
      '-n',
      A,
      'link',
      'add',
      'veth0',
      'type',
      'veth',
      'peer',
      'name',
      'veth0',
      'netns',
      B,
    ]);
    for (const [ns, v4addr, v6addr] of [
      [A, '192.0.2.1/24', '2001:db8::1/64'],
      [B, '192.0.2.2/24', '2001:db8::2/64'],
    ] as const) {
      await sh(undefined, ['ip', '-n', ns, 'addr', 'add', v4addr, 'dev', 'veth0']);
      await sh(undefined, ['ip', '-n', ns, '-6', 'addr', 'add', v6addr, 'dev', 'veth0', 'nodad']);
      await sh(undefined, ['ip', '-n', ns, 'link', 'set', 'veth0', 'up']);
    }
    for (const port of [8080, 8081]) {
      const child = spawn('ip', ['netns', 'exec', B, 'nc', '-lk', '0.0.0.0', String(port)], {
        stdio: 'ignore',
      });
      listeners.push(child);
      await waitListening(B, port);
    }
    // A foreign rule and a foreign ipset that must survive everything below.
    await sh(B, ['ipset', 'create', 'other-set', 'hash:ip']);
    // It counts b's replies on OUTPUT, a builtin chain we do not use, so its counter moves.
    await sh(B, [
      'iptables-nft',
      '-A',
      'OUTPUT',
      '-p',
      'tcp',
      '--sport',
      '8080',
      '-m',
      'comment',
      '--comment',
      'foreign',
    ]);
  });

  afterAll(async () => {
    for (const child of listeners) {
      if (child.pid !== undefined && child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    }
    for (const ns of created.reverse()) {
      await run({ argv: ['ip', 'netns', 'del', ns], allowFailure: true });
    }
  });

  it('ipsets are per network namespace on this kernel', async () => {
    expect(await sh(B, ['ipset', 'list', '-n'])).toContain('other-set');
    expect(await sh(A, ['ipset', 'list', '-n'])).not.toContain('other-set');
  });

  it('detects nft on an empty namespace and legacy where legacy holds the rules', async () => {
    expect((await detectBackend({ netns: A })).backend).toBe('nft');
    await addNs(C);
    await sh(C, ['iptables-legacy', '-A', 'INPUT', '-p', 'tcp', '--dport', '1', '-j', 'ACCEPT']);
    const c = await detectBackend({ netns: C });
    expect(c.backend).toBe('legacy');
    expect(c.ruleCounts.legacy).toBe(1);
    // The writer follows the backend: our chain lands in legacy, nft stays empty.
    const w = new IptablesWriter({ family: 'inet', backend: c.backend, netns: C });
    w.setDesired([
      {
        table: 'filter',
        chains: [
          { name: 'mgy-INPUT', rules: [{ match: ['-p', 'tcp', '--dport', '2'], action: { type: 'drop' } }] },
        ],
        jumps: [{ from: 'INPUT', to: 'mgy-INPUT' }],
      },
    ]);
    await w.apply();
    expect(await sh(C, ['iptables-legacy-save', '-t', 'filter'])).toContain(':mgy-INPUT');
    expect(await sh(C, ['iptables-nft-save'])).not.toContain('mgy-');
  });

  it('programs ipsets then IPv4 and IPv6 rules with hash comments, jump at the top', async () => {
    v4 = new IptablesWriter({ family: 'inet', backend: 'nft', netns: B });
    v6 = new IptablesWriter({ family: 'inet6', backend: 'nft', netns: B });
    sets = new IpsetWriter({ netns: B });
    sets.setDesired(desiredIpsets());
    v4.setDesired(v4Tables());
    v6.setDesired(v6Tables);
    const status = await applyAll({ ipsets: sets, iptables: [v4, v6] });
    expect(status.inSync).toBe(true);

    const saved = await iptablesSave(B);
    const input = rulesOf(saved, 'INPUT');
    expect(input[0]).toMatch(/^-A INPUT -m comment --comment "mgy:[\w-]{16}; margay input" -j mgy-INPUT$/);
    expect(input).toHaveLength(1);
    expect(rulesOf(saved, 'mgy-INPUT')).toHaveLength(3);
    expect(rulesOf(saved, 'mgy-INPUT')[1]).toContain('policy default/allow-web ingress[0]');
    expect(rulesOf(saved, 'mgy-nat-outgoing')[0]).toMatch(
      /--match-set mgy-masq-ipam-pools src -m set ! --match-set mgy-all-ipam-pools dst -j MASQUERADE --random-fully/,
    );
    expect(rulesOf(saved, 'POSTROUTING')[0]).toContain('-j mgy-nat-outgoing');
    expect(rulesOf(await iptablesSave(B, 'inet6'), 'INPUT')[0]).toContain('-j mgy-INPUT');
    const ipsetSave = await sh(B, ['ipset', 'save']);
    expect(ipsetSave).toContain(`add ${MEMBER_SET} 192.0.2.1`);
    expect(ipsetSave).toContain('add mgy-all-ipam-pools 10.244.0.0/16');
    expect(ipsetSave).toContain('add mgy-s-clients6 2001:db8::1');
  });

  it('real traffic: ACCEPT lets through, DROP blocks, and a change of action takes effect', async () => {
    expect(await tcpConnects(A, '192.0.2.2', 8080)).toBe(true);
    expect(await tcpConnects(A, '192.0.2.2', 8081)).toBe(false);
    v4.setDesired(v4Tables({ type: 'accept' }));
    const r = await v4.apply();
    expect(r.chainsWritten).toEqual(['mgy-INPUT']); // mgy-counted untouched
    expect(await tcpConnects(A, '192.0.2.2', 8081)).toBe(true);
    v4.setDesired(v4Tables({ type: 'drop' }));
    await v4.apply();
    expect(await tcpConnects(A, '192.0.2.2', 8081)).toBe(false);
  });

  it('a restarted writer adopts the state with zero writes', async () => {
    const again4 = new IptablesWriter({ family: 'inet', backend: 'nft', netns: B });
    const again6 = new IptablesWriter({ family: 'inet6', backend: 'nft', netns: B });
    const againSets = new IpsetWriter({ netns: B });
    again4.setDesired(v4Tables());
    again6.setDesired(v6Tables);
    againSets.setDesired(desiredIpsets());
    const u = await againSets.applyUpdates();
    const r4 = await again4.apply();
    const r6 = await again6.apply();
    const d = await againSets.applyDeletions();
    for (const r of [u, r4, r6]) expect([r.commandsRun, r.bytesWritten]).toEqual([1, 0]); // the read only
    expect([d.commandsRun, d.bytesWritten]).toEqual([0, 0]);
  });

  it('drift: flushed chain, deleted jump, foreign rule before our jump — one resync each, counters kept', async () => {
    // Put packets through mgy-counted and the foreign rule.
    expect(await tcpConnects(A, '192.0.2.2', 8080)).toBe(true);
    const before = await iptablesSave(B, 'inet', true);
    const counted = counterOf(before, '-A mgy-counted');
    const foreign = counterOf(before, 'comment foreign');
    expect(counted).not.toBe('[0:0]');
    expect(foreign).not.toBe('[0:0]');

    await sh(B, ['iptables-nft', '-F', 'mgy-INPUT']);
    let r = await v4.resync();
    expect(r.chainsWritten).toEqual(['mgy-INPUT']);
    expect(r.jumpsRepaired).toEqual([]);

    await sh(B, ['iptables-nft', '-D', 'INPUT', '1']);
    r = await v4.resync();
    expect([r.chainsWritten, r.jumpsRepaired]).toEqual([[], ['filter/INPUT']]);
    expect(rulesOf(await iptablesSave(B), 'INPUT')[0]).toContain('-j mgy-INPUT');

    await sh(B, ['iptables-nft', '-I', 'INPUT', '1', '-p', 'udp', '--dport', '9', '-j', 'ACCEPT']);
    r = await v4.resync();
    expect(r.jumpsRepaired).toEqual(['filter/INPUT']);
    const after = await iptablesSave(B, 'inet', true);
    const input = rulesOf(await iptablesSave(B), 'INPUT');
    expect(input[0]).toContain('-j mgy-INPUT');
    expect(input[1]).toContain('--dport 9 -j ACCEPT'); // the foreign rule stays, just below ours
    expect(input).toHaveLength(2);
    expect(counterOf(after, '-A mgy-counted')).toBe(counted);
    expect(counterOf(after, 'comment foreign')).toBe(foreign);

    // Nothing left to repair: a further resync reads and writes nothing.
    r = await v4.resync();
    expect([r.commandsRun, r.bytesWritten]).toEqual([1, 0]);
    await sh(B, ['iptables-nft', '-D', 'INPUT', '-p', 'udp', '--dport', '9', '-j', 'ACCEPT']);
  });

  it('drift: a rule edited in place with our comment kept is rewritten', async () => {
    await v4.resync(); // learns the saved text of every rule
    const line = rulesOf(await iptablesSave(B), 'mgy-INPUT')[2]!;
    const comment = /--comment "([^"]+)"/.exec(line)![1]!;
    await sh(B, [
      'iptables-nft',
      '-R',
      'mgy-INPUT',
      '3',
      '-p',
      'tcp',
      '--dport',
      '8081',
      '-m',
      'comment',
      '--comment',
      comment,
      '-j',
      'ACCEPT',
    ]);
    expect(await tcpConnects(A, '192.0.2.2', 8081)).toBe(true);
    const r = await v4.resync();
    expect(r.chainsWritten).toEqual(['mgy-INPUT']);
    expect(await tcpConnects(A, '192.0.2.2', 8081)).toBe(false);
  });

  it('drift: an ipset member added by hand is removed, a set destroyed by hand is recreated', async () => {
    await sh(B, ['ipset', 'add', MEMBER_SET, '192.0.2.99']);
    await sh(B, ['ipset', 'destroy', SPARE_SET]);
    sets.requestResync();
    const r = await sets.applyUpdates();
    expect(r.updatedInPlace).toEqual([MEMBER_SET]);
    expect(r.created).toEqual([SPARE_SET]);
    expect(r.entriesDeleted).toBe(1);
    const saved = await sh(B, ['ipset', 'save']);
    expect(saved).not.toContain('192.0.2.99');
    expect(saved).toContain(`add ${SPARE_SET} 198.51.100.0/24`);
  });

  it('a label change writes only the affected ipset entries, no iptables', async () => {
    sets.setDesired(desiredIpsets(['192.0.2.77']));
    const status = await applyAll({ ipsets: sets, iptables: [v4, v6] });
    expect(status.inSync).toBe(true);
    expect(v4.lastReport?.commandsRun).toBe(0);
    expect(sets.pendingUpdates()).toBe('');
    sets.setDesired(desiredIpsets());
    const r = await sets.applyUpdates();
    expect([r.commandsRun, r.entriesDeleted, r.entriesAdded]).toEqual([1, 1, 0]);
    expect(r.bytesWritten).toBe(`del ${MEMBER_SET} 192.0.2.77\n`.length);
  });

  it('a rejected batch leaves the previous ruleset and is reported after retries', async () => {
    const before = await iptablesSave(B);
    const broken: TableState = {
      table: 'filter',
      chains: [
        ...filterTable({ type: 'drop' }).chains.map((c) => ({ ...c, rules: [] })),
        {
          name: 'mgy-broken',
          rules: [
            { match: ['-m', 'set', '--match-set', 'mgy-no-such-set', 'src'], action: { type: 'drop' } },
          ],
        },
      ],
      jumps: [{ from: 'INPUT', to: 'mgy-INPUT' }],
    };
    // iptables-restore commits table by table: the nat table stays as desired, so the only table at
    // stake is filter, whose batch the kernel refuses as a whole.
    v4.setDesired([broken, v4Tables()[1]!]);
    const status = createApplyStatus();
    const delays: number[] = [];
    const err = await applyAll(
      { iptables: v4 },
      { status, retry: { maxAttempts: 3, initialDelayMs: 10 }, sleep: async (ms) => void delays.push(ms) },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FelixError);
    expect((err as FelixError).code).toBe('FELIX_ERR_APPLY_FAILED');
    expect(status.consecutiveFailures).toBe(3);
    expect(status.lastError?.code).toBe('FELIX_ERR_RESTORE_FAILED');
    expect(status.lastError?.causes.join(' ')).toMatch(/mgy-no-such-set|Set .* doesn't exist|line/);
    expect(delays).toEqual([10, 20]);
    const stripDates = (s: string) => s.replace(/^#.*$/gm, '');
    expect(stripDates(await iptablesSave(B))).toBe(stripDates(before));
    v4.setDesired(v4Tables());
    expect((await applyAll({ iptables: v4 }, { status })).consecutiveFailures).toBe(0);
  });

  it('the golden restore texts are accepted by the kernel as they are', async () => {
    const dir = join(import.meta.dirname, '..', 'unit', 'felix', 'iptables', 'golden');
    const stems = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => join(dir, f.replace(/\.json$/, '')));
    expect(stems.length).toBeGreaterThanOrEqual(1);
    for (const stem of stems) {
      await sh(C, ['ipset', 'restore'], readFileSync(`${stem}.ipset`, 'utf8'));
      await sh(C, ['iptables-nft-restore', '--noflush'], readFileSync(`${stem}.inet.restore`, 'utf8'));
      await sh(C, ['ip6tables-nft-restore', '--noflush'], readFileSync(`${stem}.inet6.restore`, 'utf8'));
      // And read back, every rule carries our hash.
      const saved = await sh(C, ['iptables-nft-save']);
      const ours = saved.split('\n').filter((l) => /^-A mgy-/.test(l));
      expect(ours.length).toBeGreaterThan(5);
      for (const l of ours) expect(l).toMatch(/--comment "?mgy:[\w-]{16}/);
      await cleanupAll({ netns: C, backend: 'nft' });
      expect(await sh(C, ['iptables-nft-save'])).not.toContain('mgy');
    }
  });

  it('a node with many pods: the split dispatch chains are accepted, each pod reached by its group', async () => {
    const pods = Array.from({ length: 40 }, (_, i) => ({
      namespace: 'prod',
      name: `pod-${i}`,
      nodeName: 'n1',
      labels: { app: 'web' },
      ipv4: [`10.244.1.${i + 1}`],
    }));
    const r = renderPolicy({
      nodeName: 'n1',
      namespaces: [{ name: 'prod', labels: {} }],
      pods,
      policies: [],
    });
    const w = new IptablesWriter({ family: 'inet', backend: 'nft', netns: C });
    w.setDesired(r.iptables.inet);
    expect((await applyAll({ iptables: w }, { status: createApplyStatus() })).consecutiveFailures).toBe(0);
    const saved = await sh(C, ['iptables-nft-save']);
    const top = rulesOf(saved, 'mgy-from-wl-dispatch');
    // The top chain goes by group; each pod's interface is in its group's chain, which goes to its chain.
    expect(top.length).toBeLessThan(20);
    for (const ep of r.explain.endpoints) {
      const group = `mgy-from-wl-dispatch-${ep.ifaceName.charAt(3)}`;
      expect(
        top.some((l) => l.includes(`-i ${ep.ifaceName.slice(0, 4)}+`) && l.includes(`-g ${group}`)),
      ).toBe(true);
      expect(
        rulesOf(saved, group).some(
          (l) => l.includes(`-i ${ep.ifaceName} `) && l.includes(`-g ${ep.chains.fromWorkload}`),
        ),
      ).toBe(true);
    }
    await cleanupAll({ netns: C, backend: 'nft' });
    expect(await sh(C, ['iptables-nft-save'])).not.toContain('mgy');
  });

  it('cleanupAll removes every chain, jump and set of ours and nothing else', async () => {
    const report = await cleanupAll({ netns: B });
    expect(report.chainsDeleted).toEqual(
      expect.arrayContaining([
        'nft/inet/mgy-INPUT',
        'nft/inet/mgy-counted',
        'nft/inet/mgy-nat-outgoing',
        'nft/inet6/mgy-INPUT',
      ]),
    );
    for (const family of ['inet', 'inet6'] as const) {
      expect(await iptablesSave(B, family)).not.toContain('mgy');
    }
    const saved = await iptablesSave(B);
    expect(rulesOf(saved, 'INPUT')).toEqual([]);
    expect(rulesOf(saved, 'OUTPUT')).toEqual([
      '-A OUTPUT -p tcp -m tcp --sport 8080 -m comment --comment foreign',
    ]);
    expect((await sh(B, ['ipset', 'list', '-n'])).trim().split('\n')).toEqual(['other-set']);
    // Idempotent: nothing left to do.
    const again = await cleanupAll({ netns: B });
    expect([again.chainsDeleted, again.ipsetsDestroyed]).toEqual([[], []]);
  });
});
