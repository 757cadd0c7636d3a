// Backend detection (Felix feature_detect.go) with a fake runner answering each *-save command.
import { describe, expect, it } from 'vitest';
import type { CommandRunner } from '../../../../felix/dataplane/exec.ts';
import { detectBackend, iptablesCommands } from '../../../../felix/dataplane/iptables/backend.ts';
import { FelixError } from '../../../../felix/errors.ts';

function runner(outputs: Record<string, string | null>): CommandRunner {
  return async ({ argv }) => {
    const out = outputs[argv[0]!];
    if (out === undefined) return { stdout: '', stderr: '', code: 0 };
    if (out === null) throw new FelixError('FELIX_ERR_COMMAND_FAILED', `${argv[0]}: cannot run: ENOENT`);
    return { stdout: out, stderr: '', code: 0 };
  };
}

const rules = (n: number) => `*filter\n:INPUT ACCEPT [0:0]\n${'-A INPUT -j ACCEPT\n'.repeat(n)}COMMIT\n`;

describe('detectBackend', () => {
  it('both empty: nft, the Debian 12 default', async () => {
    expect((await detectBackend({ run: runner({}) })).backend).toBe('nft');
  });
  it('more rules in legacy: legacy', async () => {
    const e = await detectBackend({
      run: runner({ 'iptables-legacy-save': rules(3), 'iptables-nft-save': rules(1) }),
    });
    expect(e).toMatchObject({ backend: 'legacy', ruleCounts: { legacy: 3, nft: 1 } });
  });
  it('IPv6 rules count too', async () => {
    expect((await detectBackend({ run: runner({ 'ip6tables-legacy-save': rules(2) }) })).backend).toBe(
      'legacy',
    );
  });
  it("kubelet's hint chain wins over rule counts", async () => {
    const hint = '*mangle\n:KUBE-IPTABLES-HINT - [0:0]\nCOMMIT\n';
    const e = await detectBackend({
      run: runner({ 'iptables-legacy-save': rules(9), 'iptables-nft-save': hint }),
    });
    expect(e.backend).toBe('nft');
    expect(e.reason).toContain('hint');
  });
  it('a missing binary counts as an empty backend', async () => {
    expect(
      (await detectBackend({ run: runner({ 'iptables-legacy-save': null, 'iptables-nft-save': rules(1) }) }))
        .backend,
    ).toBe('nft');
  });
  it('names the binaries per backend and family', () => {
    expect(iptablesCommands('nft', 'inet6')).toMatchObject({
      save: 'ip6tables-nft-save',
      restore: 'ip6tables-nft-restore',
    });
    expect(iptablesCommands('legacy', 'inet').restoreArgs).toContain('--wait');
  });
});
