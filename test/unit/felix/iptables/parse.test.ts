// Parsing real `iptables-save` output (golden/save-*.txt, captured on this machine from both
// backends) and the drift plans computed from it. Adopting a captured state that equals the
// desired one must plan nothing; each drift case must plan exactly its repair, touching no
// foreign rule and no unchanged chain.
import { describe, expect, it } from 'vitest';
import { parseIptablesSave } from '../../../../felix/dataplane/iptables/parse.ts';
import { planTable } from '../../../../felix/dataplane/iptables/plan.ts';
import { renderTable } from '../../../../felix/dataplane/iptables/render.ts';
import type { IptablesTable } from '../../../../felix/model/iptables.ts';
import { normalizeTables } from '../../../../felix/model/iptables.ts';
import { CAPTURED_TABLES, fixtureFiles, GOLDEN_DIR, readText } from './fixtures.ts';

const saves = fixtureFiles(GOLDEN_DIR, /^save-.*\.txt$/);
const rendered = new Map(normalizeTables(CAPTURED_TABLES).map((t) => [t.table, renderTable(t)]));

function plan(text: string, table: IptablesTable) {
  return planTable(table, rendered.get(table), parseIptablesSave(text).get(table));
}

/** Edits the captured text line by line. */
function edit(text: string, fn: (lines: string[]) => string[]): string {
  return fn(text.split('\n')).join('\n');
}

describe('iptables-save fixtures', () => {
  it('found the captured files', () => expect(saves.length).toBeGreaterThanOrEqual(2));

  for (const file of saves) {
    const text = readText(file);
    describe(file.split('/').pop()!, () => {
      it('parses chains, rules and our hashes', () => {
        const tables = parseIptablesSave(text);
        const filter = tables.get('filter')!;
        expect([...filter.keys()]).toEqual([
          'INPUT',
          'FORWARD',
          'OUTPUT',
          'KUBE-FOREIGN',
          'mgy-FORWARD',
          'mgy-tw-web',
        ]);
        expect(filter.get('FORWARD')!.rules.map((r) => r.hash === undefined)).toEqual([true, false]);
        expect(filter.get('mgy-tw-web')!.rules.map((r) => r.hash)).toEqual(
          rendered
            .get('filter')!
            .chains.find((c) => c.name === 'mgy-tw-web')!
            .rules.map((r) => r.hash),
        );
        expect(filter.get('KUBE-FOREIGN')!.rules[0]!.hash).toBeUndefined();
        expect(tables.get('nat')!.get('POSTROUTING')!.policy).toBe('ACCEPT');
      });

      it('adopting it plans nothing, although a foreign rule sits above our jump', () => {
        // The foreign rule was inserted at FORWARD 1 after we wrote: our jump is no longer first.
        // That IS drift by Felix's rule; the plan moves ours back up and leaves the foreign one.
        const p = plan(text, 'filter');
        expect(p.chainsWritten).toEqual([]);
        expect(p.chainsDeleted).toEqual([]);
        expect(p.jumpsRepaired).toEqual(['FORWARD']);
        expect(p.lines).toEqual([
          `-D FORWARD -m comment --comment "mgy:${rendered.get('filter')!.jumps.get('FORWARD')![0]!.hash}" -j mgy-FORWARD`,
          `-I FORWARD 1 ${rendered.get('filter')!.jumps.get('FORWARD')![0]!.args}`,
        ]);
        expect(plan(text, 'nat').lines).toEqual([]);
      });

      const clean = edit(text, (ls) => ls.filter((l) => l !== '-A FORWARD -s 192.0.2.0/24 -j ACCEPT'));

      it('with the foreign FORWARD rule gone, adoption plans nothing at all', () => {
        expect(plan(clean, 'filter').lines).toEqual([]);
      });

      it('a flushed chain is rewritten whole, nothing else', () => {
        const p = plan(
          edit(clean, (ls) => ls.filter((l) => !l.startsWith('-A mgy-tw-web'))),
          'filter',
        );
        expect(p.chainsWritten).toEqual(['mgy-tw-web']);
        expect(p.lines[0]).toBe(':mgy-tw-web - [0:0]');
        expect(p.lines.filter((l) => l.startsWith('-A mgy-tw-web'))).toHaveLength(3);
        expect(p.lines.some((l) => l.includes('FORWARD'))).toBe(false);
      });

      it('a foreign rule inside our chain makes it rewritten', () => {
        const p = plan(
          edit(clean, (ls) =>
            ls.flatMap((l) => (l.startsWith('-A mgy-tw-web -p tcp') ? ['-A mgy-tw-web -j ACCEPT', l] : [l])),
          ),
          'filter',
        );
        expect(p.chainsWritten).toEqual(['mgy-tw-web']);
      });

      it('a deleted jump is inserted again at the top', () => {
        const p = plan(
          edit(clean, (ls) => ls.filter((l) => !l.startsWith('-A FORWARD'))),
          'filter',
        );
        expect(p.lines).toEqual([`-I FORWARD 1 ${rendered.get('filter')!.jumps.get('FORWARD')![0]!.args}`]);
      });

      it('a stale chain of ours is flushed, then deleted after the jump to it is gone', () => {
        const p = planTable('filter', undefined, parseIptablesSave(clean).get('filter'));
        expect(p.chainsDeleted).toEqual(['mgy-FORWARD', 'mgy-tw-web']);
        const dIdx = p.lines.findIndex((l) => l.startsWith('-D FORWARD'));
        const xIdx = p.lines.findIndex((l) => l.startsWith('-X '));
        expect(dIdx).toBeGreaterThan(-1);
        expect(xIdx).toBeGreaterThan(dIdx);
        expect(p.lines.some((l) => l.includes('KUBE-FOREIGN'))).toBe(false);
        expect(p.next.has('KUBE-FOREIGN')).toBe(true);
      });
    });
  }

  it('rejects text it does not understand, naming the line', () => {
    expect(() => parseIptablesSave('*filter\n:INPUT ACCEPT [0:0]\n-Z nonsense\nCOMMIT\n')).toThrow(
      expect.objectContaining({ code: 'FELIX_ERR_PARSE', message: expect.stringMatching(/line 3/) }),
    );
    expect(() => parseIptablesSave('-A INPUT -j ACCEPT\n')).toThrow(
      expect.objectContaining({ code: 'FELIX_ERR_PARSE', message: expect.stringMatching(/line 1/) }),
    );
  });

  it('ignores tables it does not manage (security)', () => {
    const t = parseIptablesSave('*security\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n');
    expect(t.size).toBe(0);
  });
});
