// Desired states shared by the iptables/ipset unit tests. `CAPTURED_*` is exactly the state the
// writers had applied when golden/save-*.txt and ../ipsets/ipset-save.txt were captured (see the
// provenance headers there), so adopting those files must need zero writes.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command, CommandRunner } from '../../../../felix/dataplane/exec.ts';
import { planUpdates } from '../../../../felix/dataplane/ipsets/restore.ts';
import { planTable, restoreInput } from '../../../../felix/dataplane/iptables/plan.ts';
import { renderTable } from '../../../../felix/dataplane/iptables/render.ts';
import { FelixError } from '../../../../felix/errors.ts';
import type { IpSet } from '../../../../felix/model/ipsets.ts';
import { normalizeIpSets } from '../../../../felix/model/ipsets.ts';
import type { TableState } from '../../../../felix/model/iptables.ts';
import { normalizeTables } from '../../../../felix/model/iptables.ts';
import { renderNatOutgoing } from '../../../../felix/model/nat-outgoing.ts';

export const GOLDEN_DIR = join(import.meta.dirname, 'golden');

/** Files in `dir` whose name matches; throws when there are none, so a wrong directory cannot pass. */
export function fixtureFiles(dir: string, re: RegExp): string[] {
  const files = readdirSync(dir)
    .filter((f) => re.test(f))
    .sort();
  if (files.length === 0) throw new Error(`no fixture matching ${re} in ${dir}`);
  return files.map((f) => join(dir, f));
}

export const readText = (path: string): string => readFileSync(path, 'utf8');

const NAT = renderNatOutgoing(
  [
    { name: 'default', cidr: '10.244.0.0/16', natOutgoing: true },
    { name: 'nonat', cidr: '10.245.0.0/16', natOutgoing: false },
  ],
  'inet',
);

export const CAPTURED_TABLES: TableState[] = [
  NAT.nat,
  {
    table: 'filter',
    chains: [
      {
        name: 'mgy-FORWARD',
        rules: [
          {
            match: ['-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED'],
            action: { type: 'accept' },
            comment: 'return traffic',
          },
          { match: ['-o', 'mgy+'], action: { type: 'goto', chain: 'mgy-tw-web' }, comment: 'to workloads' },
        ],
      },
      {
        name: 'mgy-tw-web',
        rules: [
          {
            match: [
              '-p',
              'tcp',
              '-m',
              'set',
              '--match-set',
              'mgy-s-web',
              'src',
              '-m',
              'multiport',
              '--dports',
              '80,443',
            ],
            action: { type: 'setMark', mark: 0x10000, mask: 0x10000 },
            comment: 'policy default/allow-web ingress[0]',
          },
          { match: ['-m', 'mark', '--mark', '0x10000/0x10000'], action: { type: 'return' } },
          { match: [], action: { type: 'drop' }, comment: 'default deny "quoted"' },
        ],
      },
    ],
    jumps: [{ from: 'FORWARD', to: 'mgy-FORWARD' }],
  },
];

export const CAPTURED_IPSETS: IpSet[] = [
  ...NAT.ipsets,
  { name: 'mgy-s-web', type: 'hash:ip', family: 'inet', members: ['10.244.1.5', '10.244.2.7'] },
  { name: 'mgy-s-web6', type: 'hash:ip', family: 'inet6', members: ['2001:db8::5'] },
  {
    name: 'mgy-p-dns',
    type: 'hash:ip,port',
    family: 'inet',
    members: ['10.244.1.5,udp:53', '10.244.1.5,53'],
  },
];

/**
 * A fake runner: `save` answers reads (iptables*-save, ipset save), every command is recorded, and
 * `failNext` makes the next command whose argv[0] contains the given text fail (Felix mocknetlink's
 * FailNextRouteAdd).
 */
export class FakeRunner {
  save = '';
  readonly commands: Command[] = [];
  #fail: string[] = [];

  failNext(argv0Contains: string): void {
    this.#fail.push(argv0Contains);
  }

  get writes(): Command[] {
    return this.commands.filter((c) => c.input !== undefined);
  }

  readonly run: CommandRunner = async (command) => {
    this.commands.push(command);
    const i = this.#fail.findIndex((f) => (command.argv[0] ?? '').includes(f));
    if (i >= 0) {
      this.#fail.splice(i, 1);
      throw new FelixError('FELIX_ERR_COMMAND_FAILED', `${command.argv[0]}: exit 1: injected failure`);
    }
    const isRead = command.input === undefined;
    return { stdout: isRead ? this.save : '', stderr: '', code: 0 };
  };
}

/** The iptables-restore input that writes `tables` to an empty kernel. */
export function iptablesRestoreText(tables: readonly TableState[]): string {
  return restoreInput(normalizeTables(tables).map((t) => planTable(t.table, renderTable(t), undefined)));
}

/** The ipset restore input that creates `sets` on an empty kernel. */
export function ipsetRestoreText(sets: readonly IpSet[]): string {
  const lines = planUpdates(normalizeIpSets(sets), new Map()).lines;
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
