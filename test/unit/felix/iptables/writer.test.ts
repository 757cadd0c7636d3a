// IptablesWriter with a fake runner: what it reads, what it writes, and what it does on failure.
import { describe, expect, it } from 'vitest';
import { IptablesWriter } from '../../../../felix/dataplane/iptables/writer.ts';
import { FelixError } from '../../../../felix/errors.ts';
import { CAPTURED_TABLES, FakeRunner, fixtureFiles, GOLDEN_DIR, readText } from './fixtures.ts';

const NFT_SAVE = readText(fixtureFiles(GOLDEN_DIR, /^save-nft\.txt$/)[0]!).replace(
  '-A FORWARD -s 192.0.2.0/24 -j ACCEPT\n',
  '',
);

function writer(save = '') {
  const fake = new FakeRunner();
  fake.save = save;
  const w = new IptablesWriter({ family: 'inet', backend: 'nft', netns: 'ns1', run: fake.run });
  return { fake, w };
}

describe('IptablesWriter', () => {
  it('a new instance adopts a matching kernel state: one read, zero writes', async () => {
    const { fake, w } = writer(NFT_SAVE);
    w.setDesired(CAPTURED_TABLES);
    const r = await w.apply();
    expect([r.commandsRun, r.bytesWritten, r.readKernel]).toEqual([1, 0, true]);
    expect(fake.commands.map((c) => [c.argv.join(' '), c.netns])).toEqual([['iptables-nft-save', 'ns1']]);
    // Nothing changed: later applies do not even read.
    expect((await w.apply()).commandsRun).toBe(0);
  });

  it('writes only the changed chain, with --noflush, then trusts its cache', async () => {
    const { fake, w } = writer(NFT_SAVE);
    w.setDesired(CAPTURED_TABLES);
    await w.apply();
    const changed = CAPTURED_TABLES.map((t) =>
      t.table !== 'filter'
        ? t
        : {
            ...t,
            chains: t.chains.map((c) => (c.name === 'mgy-tw-web' ? { ...c, rules: c.rules.slice(0, 2) } : c)),
          },
    );
    w.setDesired(changed);
    const r = await w.apply();
    expect(r.chainsWritten).toEqual(['mgy-tw-web']);
    const write = fake.writes.at(-1)!;
    expect(write.argv).toEqual(['iptables-nft-restore', '--noflush']);
    expect(write.input!.split('\n').filter((l) => l.startsWith(':'))).toEqual([':mgy-tw-web - [0:0]']);
    expect(r.bytesWritten).toBe(Buffer.byteLength(write.input!));
    expect(w.stats.bytesWritten).toBe(r.bytesWritten);
  });

  it('legacy restores take the xtables lock', async () => {
    const fake = new FakeRunner();
    const w = new IptablesWriter({ family: 'inet6', backend: 'legacy', run: fake.run });
    w.setDesired([{ table: 'filter', chains: [{ name: 'mgy-x', rules: [] }], jumps: [] }]);
    await w.apply();
    expect(fake.commands.map((c) => c.argv.join(' '))).toEqual([
      'ip6tables-legacy-save',
      'ip6tables-legacy-restore --noflush --wait 10',
    ]);
  });

  it('a failed restore is FELIX_ERR_RESTORE_FAILED with the cause, and the next apply re-reads', async () => {
    const { fake, w } = writer('');
    w.setDesired(CAPTURED_TABLES);
    fake.failNext('restore');
    const err = await w.apply().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FelixError);
    expect((err as FelixError).code).toBe('FELIX_ERR_RESTORE_FAILED');
    expect(((err as FelixError).cause as FelixError).message).toContain('injected failure');
    expect(w.stats.failures).toBe(1);
    const r = await w.apply();
    expect(r.readKernel).toBe(true);
    expect(r.chainsWritten).toEqual(['mgy-nat-outgoing', 'mgy-FORWARD', 'mgy-tw-web']);
  });

  it('setDesired with an invalid state throws and keeps the previous desired state', async () => {
    const { w } = writer(NFT_SAVE);
    w.setDesired(CAPTURED_TABLES);
    expect(() =>
      w.setDesired([{ table: 'filter', chains: [{ name: 'bad', rules: [] }], jumps: [] }]),
    ).toThrow(FelixError);
    expect((await w.apply()).bytesWritten).toBe(0);
  });

  it('an empty desired state removes our chains and jumps, and nothing else', async () => {
    const { fake, w } = writer(NFT_SAVE);
    w.setDesired([]);
    const r = await w.apply();
    expect([...r.chainsDeleted].sort()).toEqual(['mgy-FORWARD', 'mgy-nat-outgoing', 'mgy-tw-web']);
    const input = fake.writes[0]!.input!;
    expect(input).not.toContain('KUBE-FOREIGN');
    expect(input).toContain('-X mgy-FORWARD');
  });

  it('describe() lists every rule with its origin (observable by construction)', () => {
    const { w } = writer();
    w.setDesired(CAPTURED_TABLES);
    const rules = w.describe();
    expect(rules.find((r) => r.origin === 'policy default/allow-web ingress[0]')).toMatchObject({
      table: 'filter',
      chain: 'mgy-tw-web',
      position: 0,
    });
    expect(rules.filter((r) => r.chain === 'FORWARD')).toHaveLength(1);
  });
});
