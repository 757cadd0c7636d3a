// Properties (fast-check, seeds printed on failure and replayable with `seed`): the restore input
// depends only on the final desired state — not on the order chains, jumps, sets or members were
// given in, not on duplicates, and not on the desired states set before it on the same writer.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IpsetWriter } from '../../../../felix/dataplane/ipsets/writer.ts';
import { IptablesWriter } from '../../../../felix/dataplane/iptables/writer.ts';
import type { IpSet } from '../../../../felix/model/ipsets.ts';
import type { Chain, Rule, TableState } from '../../../../felix/model/iptables.ts';
import { FakeRunner, ipsetRestoreText, iptablesRestoreText } from './fixtures.ts';

const chainNames = ['mgy-a', 'mgy-b', 'mgy-c', 'mgy-d'];
const ruleArb: fc.Arbitrary<Rule> = fc.record({
  match: fc.constantFrom([], ['-p', 'tcp'], ['-p', 'udp', '--dport', '53'], ['-s', '10.244.0.0/16']),
  action: fc.oneof(
    fc.constant({ type: 'accept' as const }),
    fc.constant({ type: 'drop' as const }),
    fc.constantFrom(...chainNames).map((chain) => ({ type: 'jump' as const, chain })),
  ),
  comment: fc.option(fc.constantFrom('policy a', 'policy b'), { nil: undefined }),
});

/** A consistent table: every chain any rule jumps to exists. */
const tableArb: fc.Arbitrary<TableState> = fc
  .record({
    chains: fc.uniqueArray(
      fc.record({ name: fc.constantFrom(...chainNames), rules: fc.array(ruleArb, { maxLength: 4 }) }),
      { selector: (c) => c.name, maxLength: 4 },
    ),
    jumpFrom: fc.subarray(['INPUT', 'FORWARD', 'OUTPUT']),
  })
  .map(({ chains, jumpFrom }) => {
    const all: Chain[] = chainNames.map((name) => chains.find((c) => c.name === name) ?? { name, rules: [] });
    return { table: 'filter', chains: all, jumps: jumpFrom.map((from) => ({ from, to: 'mgy-a' })) };
  });

const ipsetArb: fc.Arbitrary<IpSet[]> = fc.uniqueArray(
  fc.record({
    name: fc.constantFrom('mgy-s-1', 'mgy-s-2', 'mgy-s-3'),
    type: fc.constant('hash:ip' as const),
    family: fc.constant('inet' as const),
    members: fc.array(
      fc.integer({ min: 0, max: 20 }).map((i) => `10.244.0.${i}`),
      { maxLength: 8 },
    ),
  }),
  { selector: (s) => s.name },
);

/** The same content as `xs`, shuffled and with some entries repeated. */
function scrambled<T>(xs: readonly T[]): fc.Arbitrary<T[]> {
  return fc
    .tuple(fc.shuffledSubarray([...xs], { minLength: xs.length, maxLength: xs.length }), fc.subarray([...xs]))
    .chain(([all, dups]) => fc.shuffledSubarray([...all, ...dups], { minLength: all.length + dups.length }));
}

describe('restore input depends only on the final state', () => {
  it('iptables: any order and duplication of chains and jumps renders the same text', () => {
    fc.assert(
      fc.property(
        tableArb.chain((t) => fc.tuple(fc.constant(t), scrambled(t.chains), scrambled(t.jumps))),
        ([t, chains, jumps]) => {
          // Split the scrambled content across two partial states, as separate renderers would.
          const half = Math.floor(chains.length / 2);
          const parts: TableState[] = [
            { table: 'filter', chains: chains.slice(0, half), jumps },
            { table: 'filter', chains: chains.slice(half), jumps: jumps.slice(0, 1) },
          ];
          expect(iptablesRestoreText(parts)).toBe(iptablesRestoreText([t]));
        },
      ),
    );
  });

  it('ipsets: any order and duplication of sets and members renders the same text', () => {
    fc.assert(
      fc.property(
        ipsetArb.chain((sets) =>
          fc.tuple(
            fc.constant(sets),
            scrambled(sets).chain((ss) =>
              fc.tuple(...ss.map((s) => scrambled(s.members).map((members) => ({ ...s, members })))),
            ),
          ),
        ),
        ([sets, rebuilt]) => {
          expect(ipsetRestoreText(rebuilt)).toBe(ipsetRestoreText(sets));
        },
      ),
    );
  });

  it('a writer that saw other states first writes what a fresh one writes for the final state', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(tableArb, { maxLength: 4 }), tableArb, async (earlier, final) => {
        const fake = new FakeRunner();
        const w = new IptablesWriter({ family: 'inet', backend: 'nft', run: fake.run });
        for (const t of earlier) w.setDesired([t]);
        w.setDesired([final]);
        await w.apply();
        const fresh = new FakeRunner();
        const w2 = new IptablesWriter({ family: 'inet', backend: 'nft', run: fresh.run });
        w2.setDesired([final]);
        await w2.apply();
        expect(fake.writes.map((c) => c.input)).toEqual(fresh.writes.map((c) => c.input));
      }),
    );
  });

  it('ipset writer: the same holds for sets', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(ipsetArb, { maxLength: 4 }), ipsetArb, async (earlier, final) => {
        const a = new FakeRunner();
        const w = new IpsetWriter({ run: a.run });
        for (const s of earlier) w.setDesired(s);
        w.setDesired(final);
        await w.applyUpdates();
        const b = new FakeRunner();
        const w2 = new IpsetWriter({ run: b.run });
        w2.setDesired(final);
        await w2.applyUpdates();
        expect(a.writes.map((c) => c.input)).toEqual(b.writes.map((c) => c.input));
      }),
    );
  });
});
