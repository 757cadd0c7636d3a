// The links step of a Dataplane that programs the namespace its own process runs in (no `netns`),
// run by felix-links-local.test.ts inside a test namespace (`ip netns exec NS node THIS SPEC`): a
// Netlink without a namespace reads and writes the workload interfaces through this process's
// /proc. SPEC (JSON in argv[2]) names the endpoints, the interfaces and sysctl keys to read
// beside them, and one key that must not exist. Prints one JSON line: what was read, what the
// step found missing and wrote, and how many processes it ran.
import { LinksReconciler } from '../../felix/dataplane/links.ts';
import { Netlink } from '../../felix/dataplane/netlink/netlink.ts';
import { FelixError } from '../../felix/errors.ts';
import { type EndpointInput, workloadEndpoint } from '../../felix/model/endpoints.ts';

interface Spec {
  readonly endpoints: readonly EndpointInput[];
  readonly names: readonly string[];
  readonly keys: readonly string[];
  readonly absentKey: string;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as Spec;
const nl = new Netlink();
const interfaces = Object.fromEntries(await nl.interfaces(spec.names, { ipv6Addresses: true }));
const sysctls = await nl.readSysctls(spec.keys);
let absentKeyError: string | undefined;
try {
  await nl.readSysctls([spec.absentKey]);
} catch (err) {
  absentKeyError = err instanceof FelixError ? err.code : String(err);
}
const readCommands = nl.stats.commands;
const links = new LinksReconciler({ netlink: nl });
links.setCompiled(links.compile(spec.endpoints.map(workloadEndpoint), undefined, undefined));
await links.apply();
console.log(
  JSON.stringify({
    local: nl.local,
    interfaces,
    sysctls,
    absentKeyError,
    readCommands,
    missing: links.missing,
    written: links.stats.vethSettingsWritten,
    applyCommands: nl.stats.commands - readCommands,
  }),
);
