// ipsets: member canonicalization (compared with what `ipset save` prints), the in-place vs swap
// decision, parsing a real `ipset save` (ipset-save.txt, provenance in its header), and the
// writer's two phases with a fake runner.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  parseIpsetSave,
  planUpdates,
  sortedDelta,
  unwantedSets,
} from '../../../../felix/dataplane/ipsets/restore.ts';
import { IpsetWriter } from '../../../../felix/dataplane/ipsets/writer.ts';
import { FelixError } from '../../../../felix/errors.ts';
import type { IpSet } from '../../../../felix/model/ipsets.ts';
import {
  canonicalMember,
  ipsetName,
  normalizeIpSets,
  tempIpsetName,
} from '../../../../felix/model/ipsets.ts';
import { CAPTURED_IPSETS, FakeRunner, readText } from '../iptables/fixtures.ts';

const saves = readdirSync(import.meta.dirname).filter((f) => f.endsWith('-save.txt'));
const SAVE = readText(join(import.meta.dirname, 'ipset-save.txt'));

describe('canonicalMember', () => {
  const cases: [Parameters<typeof canonicalMember>, string][] = [
    [['hash:ip', 'inet', '10.244.0.1'], '10.244.0.1'],
    [['hash:ip', 'inet6', '2001:DB8:0:0::1'], '2001:db8::1'],
    [['hash:ip', 'inet6', '2001:db8:0:1:0:0:0:1'], '2001:db8:0:1::1'],
    [['hash:ip', 'inet6', '2001:db8:0:1:1:1:1:1'], '2001:db8:0:1:1:1:1:1'],
    [['hash:ip', 'inet6', '::ffff:192.0.2.1'], '::ffff:192.0.2.1'],
    [['hash:ip', 'inet6', '::'], '::'],
    [['hash:net', 'inet', '10.244.1.5/24'], '10.244.1.0/24'],
    [['hash:net', 'inet', '10.244.1.5/32'], '10.244.1.5'],
    [['hash:net', 'inet', '10.244.1.5'], '10.244.1.5'],
    [['hash:net', 'inet6', '2001:db8::1/48'], '2001:db8::/48'],
    [['hash:ip,port', 'inet', '10.0.0.1,80'], '10.0.0.1,tcp:80'],
    [['hash:ip,port', 'inet', '10.0.0.1,UDP:53'], '10.0.0.1,udp:53'],
    [['hash:net,port', 'inet', '10.0.0.0/8,sctp:9'], '10.0.0.0/8,sctp:9'],
  ];
  for (const [args, want] of cases)
    it(`${args.join(' ')} → ${want}`, () => expect(canonicalMember(...args)).toBe(want));

  for (const [type, family, m] of [
    ['hash:ip', 'inet', '10.0.0.256'],
    ['hash:ip', 'inet', '2001:db8::1'],
    ['hash:ip', 'inet6', '1:2:3:4:5:6:7:8:9'],
    ['hash:net', 'inet', '0.0.0.0/0'],
    ['hash:net', 'inet', '10.0.0.0/33'],
    ['hash:ip', 'inet', '10.0.0.1,80'],
    ['hash:ip,port', 'inet', '10.0.0.1,icmp:0'],
    ['hash:ip,port', 'inet', '10.0.0.1,70000'],
  ] as const) {
    it(`rejects ${type} ${family} ${m}`, () =>
      expect(() => canonicalMember(type, family, m)).toThrow(FelixError));
  }
});

describe('names', () => {
  it('fit 31 characters and hash in type and family', () => {
    const n = ipsetName('s', "app == 'web'", 'hash:ip', 'inet');
    expect(n).toMatch(/^mgy-s-[\w-]{16}$/);
    expect(ipsetName('s', "app == 'web'", 'hash:ip', 'inet6')).not.toBe(n);
    expect(tempIpsetName(n).length).toBeLessThanOrEqual(31);
    expect(tempIpsetName(n).startsWith('mgytmp-')).toBe(true);
    expect(() => normalizeIpSets([{ name: 'other', type: 'hash:ip', family: 'inet', members: [] }])).toThrow(
      FelixError,
    );
  });
});

describe('ipset save parsing', () => {
  it('found the captured file', () => expect(saves.length).toBeGreaterThanOrEqual(1));
  it('reads our sets only, with canonical members', () => {
    const actual = parseIpsetSave(SAVE);
    expect([...actual.keys()].sort()).toEqual(normalizeIpSets(CAPTURED_IPSETS).map((s) => s.name));
    expect(actual.get('mgy-s-web6')).toMatchObject({ type: 'hash:ip', family: 'inet6' });
  });
  it('the captured state equals the desired one: nothing to write, nothing to delete', () => {
    const desired = normalizeIpSets(CAPTURED_IPSETS);
    const actual = parseIpsetSave(SAVE);
    expect(planUpdates(desired, actual).lines).toEqual([]);
    expect(unwantedSets(desired, actual)).toEqual([]);
  });
});

function set(name: string, n: number, offset = 0): IpSet {
  return {
    name,
    type: 'hash:ip',
    family: 'inet',
    members: Array.from(
      { length: n },
      (_, i) => `10.244.${Math.floor((i + offset) / 250)}.${((i + offset) % 250) + 1}`,
    ),
  };
}

describe('planUpdates: in place or swap', () => {
  const have = parseIpsetSave(
    planUpdates(normalizeIpSets([set('mgy-s-a', 100)]), new Map()).lines.join('\n'),
  );
  it('a small delta is written in place: dels then adds', () => {
    const p = planUpdates(normalizeIpSets([set('mgy-s-a', 100, 1)]), have);
    expect(p.updatedInPlace).toEqual(['mgy-s-a']);
    expect(p.lines).toEqual(['del mgy-s-a 10.244.0.1', 'add mgy-s-a 10.244.0.101']);
  });
  it('a delta larger than the set itself is swapped in', () => {
    const p = planUpdates(normalizeIpSets([set('mgy-s-a', 10, 500)]), have);
    expect(p.swapped).toEqual(['mgy-s-a']);
    const temp = tempIpsetName('mgy-s-a');
    expect(p.lines[0]).toBe(`create ${temp} hash:ip family inet maxelem 1048576`);
    expect(p.lines.slice(-2)).toEqual([`swap ${temp} mgy-s-a`, `destroy ${temp}`]);
  });
  it('a delta of at least minDelta is swapped in', () => {
    const p = planUpdates(normalizeIpSets([set('mgy-s-a', 100, 10)]), have, { minDelta: 20 });
    expect(p.swapped).toEqual(['mgy-s-a']);
  });
});

describe('sortedDelta', () => {
  // A small deterministic generator: lists drawn from a pool of 40 members, so that two lists
  // share some members and not others, sometimes none, sometimes all.
  let seed = 7;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const pool = Array.from({ length: 40 }, (_, i) => `10.244.${i % 3}.${i}`);
  const draw = (p: number) =>
    normalizeIpSets([
      { name: 'mgy-s-x', type: 'hash:ip', family: 'inet', members: pool.filter(() => rand() < p) },
    ])[0]!.members;
  it('gives what set arithmetic gives, sorted', () => {
    for (let round = 0; round < 200; round++) {
      const from = draw(rand());
      const to = draw(rand());
      const d = sortedDelta(from, to);
      const adds = to.filter((m) => !from.includes(m));
      const dels = from.filter((m) => !to.includes(m));
      expect(d.adds).toEqual([...adds].sort());
      expect(d.dels).toEqual([...dels].sort());
    }
  });
  it('of a list to itself, to nothing and from nothing', () => {
    const l = set('mgy-s-a', 5).members;
    expect(sortedDelta(l, l)).toEqual({ adds: [], dels: [] });
    expect(sortedDelta(l, [])).toEqual({ adds: [], dels: [...l] });
    expect(sortedDelta([], l)).toEqual({ adds: [...l], dels: [] });
  });
});

describe('IpsetWriter', () => {
  it('adopts the captured kernel state with one read and no write', async () => {
    const fake = new FakeRunner();
    fake.save = SAVE;
    const w = new IpsetWriter({ run: fake.run, netns: 'ns1' });
    w.setDesired(CAPTURED_IPSETS);
    const u = await w.applyUpdates();
    const d = await w.applyDeletions();
    expect([u.commandsRun, u.bytesWritten, d.commandsRun]).toEqual([1, 0, 0]);
    expect(fake.commands.map((c) => [c.argv.join(' '), c.netns])).toEqual([['ipset save', 'ns1']]);
  });

  it('a label change writes one del and one add, in one command', async () => {
    const fake = new FakeRunner();
    const w = new IpsetWriter({ run: fake.run });
    w.setDesired([set('mgy-s-a', 100), set('mgy-s-b', 100, 1000)]);
    await w.applyUpdates();
    const moved = '10.244.0.5';
    const a = set('mgy-s-a', 100);
    const b = set('mgy-s-b', 100, 1000);
    w.setDesired([
      { ...a, members: a.members.filter((m) => m !== moved) },
      { ...b, members: [...b.members, moved] },
    ]);
    const r = await w.applyUpdates();
    expect(fake.writes.at(-1)!.input).toBe(`del mgy-s-a ${moved}\nadd mgy-s-b ${moved}\n`);
    expect([r.commandsRun, r.entriesAdded, r.entriesDeleted]).toEqual([1, 1, 1]);
    expect(fake.writes.at(-1)!.argv).toEqual(['ipset', 'restore', '-exist']);
  });

  it('changes one after another: each writes its delta, and the cache follows the kernel', async () => {
    const fake = new FakeRunner();
    const w = new IpsetWriter({ run: fake.run });
    const base = set('mgy-s-a', 50);
    const withMembers = (members: readonly string[]): IpSet => ({ ...base, members });
    w.setDesired([base]);
    await w.applyUpdates();
    const steps: [string[], string][] = [
      [[...base.members, '10.244.9.1'], 'add mgy-s-a 10.244.9.1\n'],
      [
        [...base.members.slice(1), '10.244.9.1', '10.244.9.2'],
        `del mgy-s-a ${base.members[0]}\nadd mgy-s-a 10.244.9.2\n`,
      ],
      [[...base.members.slice(1), '10.244.9.2'], 'del mgy-s-a 10.244.9.1\n'],
    ];
    let members: string[] = [...base.members];
    for (const [next, input] of steps) {
      w.setDesired([withMembers(next)]);
      await w.applyUpdates();
      expect(fake.writes.at(-1)!.input).toBe(input);
      members = next;
    }
    // pendingUpdates compares the desired members with the cached ones member by member: the
    // cache holds what the kernel was given, so the set the kernel has needs nothing, and one
    // member more needs exactly that member.
    w.setDesired([withMembers([...members])]);
    expect(w.pendingUpdates()).toBe('');
    w.setDesired([withMembers([...members, '10.244.9.3'])]);
    expect(w.pendingUpdates()).toBe('add mgy-s-a 10.244.9.3\n');
    expect(fake.commands.filter((c) => c.input === undefined)).toHaveLength(1);
  });

  it('deletions destroy only our unwanted sets, after a failed batch one by one', async () => {
    const fake = new FakeRunner();
    fake.save = SAVE;
    const w = new IpsetWriter({ run: fake.run });
    w.setDesired([]);
    await w.applyUpdates(); // reads the kernel
    fake.failNext('ipset'); // the batch of destroys
    const r = await w.applyDeletions();
    const ours = normalizeIpSets(CAPTURED_IPSETS).map((s) => s.name);
    expect(r.destroyed).toEqual(ours);
    // batch (failed), re-read, then one destroy per set
    expect(fake.writes.map((c) => c.input)).toEqual([
      ours.map((n) => `destroy ${n}\n`).join(''),
      ...ours.map((n) => `destroy ${n}\n`),
    ]);
    expect(fake.commands.map((c) => c.input ?? '').join('')).not.toContain('foreign-set');
  });

  it('a failed update is FELIX_ERR_IPSET_RESTORE_FAILED and forces a re-read', async () => {
    const fake = new FakeRunner();
    const w = new IpsetWriter({ run: fake.run });
    w.setDesired([set('mgy-s-a', 3)]);
    await w.applyUpdates();
    w.setDesired([set('mgy-s-a', 4)]);
    fake.commands.length = 0;
    fake.failNext('ipset');
    const err = await w.applyUpdates().catch((e: unknown) => e);
    expect((err as FelixError).code).toBe('FELIX_ERR_IPSET_RESTORE_FAILED');
    const r = await w.applyUpdates();
    expect(r.readKernel).toBe(true);
  });
});
