// Commands inside the pod's network namespace, given as the runtime gives it: a path.
//
// - `/var/run/netns/NAME` or `/run/netns/NAME` (containerd, CRI-O, `ip netns add`): the name is
//   handed to the Netlink wrapper, which runs `ip -n NAME …` (no extra process per command).
// - Any other path (`/proc/PID/ns/net`, a bind mount elsewhere): every command runs under
//   `nsenter --net=PATH --`, through the Netlink wrapper's injectable runner; iproute2's own
//   `-n` only takes names.
// `ip link add … netns PATH` takes either form (iproute2 opens a value containing '/' as a path).
import { accessSync, constants } from 'node:fs';
import { type CommandRunner, Netlink, run } from '../../felix/index.ts';

const NAMED = /^\/(?:var\/)?run\/netns\/([^/]+)$/;

/** The `ip netns` name of a path under /run/netns, else undefined. */
export function netnsName(path: string): string | undefined {
  return NAMED.exec(path)?.[1];
}

/** A runner that executes every command inside the namespace at `path` (via nsenter). */
export function nsenterRunner(path: string, inner: CommandRunner = run): CommandRunner {
  return (command) => {
    const { netns: _ignored, ...rest } = command;
    return inner({ ...rest, argv: ['nsenter', `--net=${path}`, '--', ...command.argv] });
  };
}

/** A Netlink for the namespace at `path` (see the file comment). */
export function podNetlink(path: string, runner?: CommandRunner): Netlink {
  const name = netnsName(path);
  if (name !== undefined) return new Netlink({ netns: name, ...(runner ? { runner } : {}) });
  return new Netlink({ runner: nsenterRunner(path, runner) });
}

/** Whether the namespace file exists and can be opened. */
export function netnsExists(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}
