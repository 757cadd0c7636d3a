// A pair of network namespaces joined by one veth, and nothing else: no link to the machine's real
// interfaces, no default route. The veth is created inside the first namespace with its peer placed
// directly in the second, so it never appears in the host namespace. Names carry a per-run prefix
// (`mgyb-<pid>-`), so concurrent runs by other people never collide with ours.

import { run } from './proc.ts';
import type { Teardown } from './teardown.ts';

export const RUN_PREFIX = `mgyb-${process.pid}-`;

export interface NsPair {
  readonly sender: string;
  readonly receiver: string;
  readonly senderAddress: string;
  readonly receiverAddress: string;
}

let counter = 0;

async function addNetns(teardown: Teardown, name: string): Promise<void> {
  await run(['ip', 'netns', 'add', name]);
  teardown.add(`netns ${name}`, async () => {
    await run(['ip', 'netns', 'del', name]);
  });
  await run(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
}

/** Creates `<prefix><k>s` (192.0.2.1/24) and `<prefix><k>r` (192.0.2.2/24) linked by a veth. */
export async function createNsPair(teardown: Teardown, label: string): Promise<NsPair> {
  const k = counter++;
  const pair: NsPair = {
    sender: `${RUN_PREFIX}${label}${k}s`,
    receiver: `${RUN_PREFIX}${label}${k}r`,
    senderAddress: '192.0.2.1',
    receiverAddress: '192.0.2.2',
  };
  await addNetns(teardown, pair.sender);
  await addNetns(teardown, pair.receiver);
  await run([
    'ip',
    '-n',
    pair.sender,
    'link',
    'add',
    'veth0',
    'type',
    'veth',
    'peer',
    'name',
    'veth0',
    'netns',
    pair.receiver,
  ]);
  for (const [ns, addr] of [
    [pair.sender, pair.senderAddress],
    [pair.receiver, pair.receiverAddress],
  ] as const) {
    await run(['ip', '-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'veth0']);
    await run(['ip', '-n', ns, 'link', 'set', 'veth0', 'up']);
  }
  return pair;
}
