// Rendering of rules and names: the hash is part of the on-kernel format (a restarted agent adopts
// rules by it), so its exact value is pinned here; changing it means every node rewrites every rule.
import { describe, expect, it } from 'vitest';
import {
  actionArgs,
  commentText,
  hashOf,
  renderRule,
  ruleHash,
  sanitize,
} from '../../../../felix/dataplane/iptables/render.ts';
import { FelixError } from '../../../../felix/errors.ts';
import { chainName, normalizeTables, stableHash } from '../../../../felix/model/iptables.ts';

describe('rule hash', () => {
  it('is stable across releases (pinned values)', () => {
    expect(stableHash('x')).toBe('LXEWQrcmsEQBYnyp');
    expect(ruleHash('mgy-FORWARD', 0, '-j ACCEPT', undefined)).toBe('1-GWyI_utxxaLYgc');
    const r = renderRule('mgy-tw-web', 3, { match: [], action: { type: 'drop' } });
    expect(r).toEqual({
      hash: 'xcz9UQExUngI2yv6',
      args: '-m comment --comment "mgy:xcz9UQExUngI2yv6" -j DROP',
    });
  });

  it('depends on chain, position, content and origin', () => {
    const base = ruleHash('mgy-a', 0, '-j ACCEPT', 'o');
    expect(ruleHash('mgy-b', 0, '-j ACCEPT', 'o')).not.toBe(base);
    expect(ruleHash('mgy-a', 1, '-j ACCEPT', 'o')).not.toBe(base);
    expect(ruleHash('mgy-a', 0, '-j DROP', 'o')).not.toBe(base);
    expect(ruleHash('mgy-a', 0, '-j ACCEPT', 'p')).not.toBe(base);
    expect(ruleHash('mgy-a', 0, '-j ACCEPT', 'o')).toBe(base);
  });

  it('is read back from iptables-save text, quoted or not, and only when it is ours', () => {
    expect(hashOf('-A X -m comment --comment "mgy:abcdefghijklmnop; why" -j ACCEPT')).toBe(
      'abcdefghijklmnop',
    );
    expect(hashOf('-A X -m comment --comment mgy:abcdefghijklmnop -j ACCEPT')).toBe('abcdefghijklmnop');
    expect(hashOf('-A X -m comment --comment "mgy:short" -j ACCEPT')).toBeUndefined();
    expect(hashOf('-A X -m comment --comment "not mgy:abcdefghijklmnop" -j ACCEPT')).toBeUndefined();
    expect(hashOf('-A X -j ACCEPT')).toBeUndefined();
  });
});

describe('comments', () => {
  it('carry the hash then the origin, sanitized and within 255 bytes', () => {
    expect(commentText('h'.repeat(16), 'policy "a"\\b\n')).toBe(`mgy:${'h'.repeat(16)}; policy \`a\`/b?`);
    expect(commentText('h'.repeat(16), 'x'.repeat(400))).toHaveLength(255);
    expect(sanitize('é')).toBe('?');
  });
});

describe('actions', () => {
  it('render every action type', () => {
    expect(actionArgs({ type: 'accept' })).toEqual(['-j', 'ACCEPT']);
    expect(actionArgs({ type: 'goto', chain: 'mgy-x' })).toEqual(['-g', 'mgy-x']);
    expect(actionArgs({ type: 'masquerade' })).toEqual(['-j', 'MASQUERADE']);
    expect(actionArgs({ type: 'masquerade', fullyRandom: true })).toEqual([
      '-j',
      'MASQUERADE',
      '--random-fully',
    ]);
    expect(actionArgs({ type: 'setMark', mark: 0x10000, mask: 0xffffffff })).toEqual([
      '-j',
      'MARK',
      '--set-xmark',
      '0x10000/0xffffffff',
    ]);
    expect(actionArgs({ type: 'reject', with: 'tcp-reset' })).toEqual([
      '-j',
      'REJECT',
      '--reject-with',
      'tcp-reset',
    ]);
    expect(actionArgs({ type: 'notrack' })).toEqual(['-j', 'NOTRACK']);
  });
});

describe('names and validation', () => {
  it('chain names fit 28 characters whatever the kind', () => {
    for (const kind of ['a', 'pi', 'tw', 'abcdefghijkl']) {
      const n = chainName(kind, 'default/allow-web');
      // iptables refuses longer chain names (XT_EXTENSION_MAXNAMELEN is 29 with the NUL).
      expect(n.length).toBeLessThanOrEqual(28);
      expect(n.startsWith(`mgy-${kind}-`)).toBe(true);
      expect(chainName(kind, 'default/allow-web')).toBe(n);
    }
    expect(chainName('pi', 'a')).not.toBe(chainName('pi', 'b'));
    expect(() => chainName('Bad', 'x')).toThrow(FelixError);
  });

  const bad: [string, Parameters<typeof normalizeTables>[0]][] = [
    ['foreign chain name', [{ table: 'filter', chains: [{ name: 'FOO', rules: [] }], jumps: [] }]],
    [
      'name too long',
      [{ table: 'filter', chains: [{ name: `mgy-${'x'.repeat(30)}`, rules: [] }], jumps: [] }],
    ],
    [
      'jump to an undesired chain of ours',
      [
        {
          table: 'filter',
          chains: [{ name: 'mgy-a', rules: [{ match: [], action: { type: 'jump', chain: 'mgy-b' } }] }],
          jumps: [],
        },
      ],
    ],
    [
      'jump from a non-builtin',
      [{ table: 'filter', chains: [{ name: 'mgy-a', rules: [] }], jumps: [{ from: 'mgy-a', to: 'mgy-a' }] }],
    ],
    [
      'POSTROUTING is not in filter',
      [
        {
          table: 'filter',
          chains: [{ name: 'mgy-a', rules: [] }],
          jumps: [{ from: 'POSTROUTING', to: 'mgy-a' }],
        },
      ],
    ],
    [
      'argument with a space',
      [
        {
          table: 'filter',
          chains: [{ name: 'mgy-a', rules: [{ match: ['a b'], action: { type: 'drop' } }] }],
          jumps: [],
        },
      ],
    ],
    [
      'two chains, one name',
      [
        { table: 'filter', chains: [{ name: 'mgy-a', rules: [] }], jumps: [] },
        {
          table: 'filter',
          chains: [{ name: 'mgy-a', rules: [{ match: [], action: { type: 'drop' } }] }],
          jumps: [],
        },
      ],
    ],
  ];
  for (const [what, tables] of bad) {
    it(`rejects: ${what}`, () => {
      const err = (() => {
        try {
          normalizeTables(tables);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(FelixError);
      expect((err as FelixError).code).toBe('FELIX_ERR_INVALID_DESIRED');
    });
  }

  it('keeps a state already in order as it is, sorts one that is not, and merges duplicates', () => {
    const a = { name: 'mgy-a', rules: [{ match: [], action: { type: 'jump' as const, chain: 'mgy-b' } }] };
    const b = { name: 'mgy-b', rules: [] };
    const inOrder = { table: 'filter' as const, chains: [a, b], jumps: [{ from: 'FORWARD', to: 'mgy-a' }] };
    const [kept] = normalizeTables([inOrder]);
    expect(kept).toBe(inOrder);
    expect(normalizeTables([kept!])[0]).toBe(inOrder);
    const reversed = { ...inOrder, chains: [b, a] };
    const [sorted] = normalizeTables([reversed]);
    expect(sorted).not.toBe(reversed);
    expect(sorted!.chains.map((c) => c.name)).toEqual(['mgy-a', 'mgy-b']);
    const twice = { ...inOrder, chains: [a, a, b] };
    expect(normalizeTables([twice])[0]!.chains).toEqual([a, b]);
    const jumpsReversed = {
      ...inOrder,
      jumps: [
        { from: 'INPUT', to: 'mgy-b' },
        { from: 'FORWARD', to: 'mgy-a' },
      ],
    };
    expect(normalizeTables([jumpsReversed])[0]!.jumps.map((j) => j.from)).toEqual(['FORWARD', 'INPUT']);
  });

  it('a jump to a foreign chain (KUBE-…) is allowed', () => {
    expect(() =>
      normalizeTables([
        {
          table: 'filter',
          chains: [
            { name: 'mgy-a', rules: [{ match: [], action: { type: 'jump', chain: 'KUBE-FORWARD' } }] },
          ],
          jumps: [],
        },
      ]),
    ).not.toThrow();
  });
});
