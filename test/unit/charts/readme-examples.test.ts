// The operator documentation's examples are real configurations: README.md's top-of-rack blocks
// are parsed by BIRD 2 (`bird -p`) and FRR (`vtysh --dryrun`), the programs an operator pastes
// them into, and its chart values block is rendered with helm and its objects validated. Both
// programs come with .ci/setup (bird2, frr); a missing one fails rather than skips.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateResource } from '../../../src/model/index.ts';
import { REPO, render } from './helm.ts';

const README = readFileSync(join(REPO, 'README.md'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'margay-readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The fenced block right after `<!-- MARKER -->`. */
function block(marker: string): string {
  const at = README.indexOf(`<!-- ${marker} -->`);
  expect(at, `README.md has <!-- ${marker} -->`).toBeGreaterThanOrEqual(0);
  const m = /```[a-z]*\n([\s\S]*?)\n```/.exec(README.slice(at));
  expect(m, `a fenced block after <!-- ${marker} -->`).not.toBeNull();
  return `${m![1]!}\n`;
}

function check(argv: string[]): { status: number | null; output: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.error) throw new Error(`${argv[0]}: ${r.error.message} (installed by .ci/setup)`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('README top-of-rack examples', () => {
  it('the BIRD 2 configuration parses', () => {
    const file = join(dir, 'bird.conf');
    writeFileSync(file, block('tor-example: bird'));
    const r = check(['bird', '-p', '-c', file]);
    expect(r.status, r.output).toBe(0);
  });

  it('the FRR configuration passes vtysh --dryrun', () => {
    const file = join(dir, 'frr.conf');
    writeFileSync(file, block('tor-example: frr'));
    const r = check(['vtysh', '--dryrun', '-f', file]);
    expect(r.status, r.output).toBe(0);
  });

  it('a broken configuration is caught (the checks can fail)', () => {
    const file = join(dir, 'broken.conf');
    writeFileSync(
      file,
      block('tor-example: frr').replace('route-reflector-client', 'route-reflektor-client'),
    );
    expect(check(['vtysh', '--dryrun', '-f', file]).status).not.toBe(0);
    writeFileSync(file, block('tor-example: bird').replace('rr client;', 'rr clinet;'));
    expect(check(['bird', '-p', '-c', file]).status).not.toBe(0);
  });

  it('the chart values render valid BGPPeers, one per rack, in the rack AS', () => {
    const file = join(dir, 'values.yaml');
    writeFileSync(file, block('chart-values: tor'));
    const objs = render({ extra: ['--values', file] });
    const peers = objs.filter((o) => o.kind === 'BGPPeer');
    expect(peers.map((p) => p.metadata.name)).toEqual(['tor-r1', 'tor-r2']);
    for (const o of objs.filter((x) => x.apiVersion === 'margay.io/v1')) {
      const r = validateResource(o);
      expect(r.ok ? [] : r.problems).toEqual([]);
    }
    const bgpConfig = objs.find((o) => o.kind === 'BGPConfiguration')!.spec as {
      nodeASNumbers: { asNumber: number }[];
    };
    expect(peers.map((p) => (p.spec as { asNumber: number }).asNumber)).toEqual(
      bgpConfig.nodeASNumbers.map((n) => n.asNumber),
    );
  });
});
