// margay-cni's commands (CNI spec 1.0 "Operations"; STATUS and GC of 1.1), as a function from the
// runtime's environment and stdin to stdout and an exit code. main.ts only does the process I/O,
// so unit tests run every command in-process with injected netlink runners.
//
// - ADD: allocate (ipam.ts) → wire (wire.ts) → result in the config's cniVersion. A wiring failure
//   frees the address again; a retried ADD of the same container gets the same address.
// - DEL: remove the veth if it is this sandbox's, free the addresses; everything missing is fine
//   (spec: DEL must succeed when the resources are already gone), so DEL twice succeeds.
// - CHECK (0.4.0+): prevResult is required; the addresses must be allocated to this container and
//   the wiring intact, else code 104 listing every problem (3 when nothing of it exists at all).
// - STATUS (1.1.0): ready when the pod CIDR is known and the IPAM directory is writable, else 50.
// - GC (1.1.0): frees the addresses of attachments not in `cni.dev/valid-attachments`.
// - VERSION: the versions of formatResult.
//
// Host veth name: `workloadIfaceName(K8S_POD_NAMESPACE, K8S_POD_NAME)` — the name the agent
// computes from the datastore. Outside Kubernetes (no K8S_POD_* in CNI_ARGS) it is
// `workloadIfaceName(CNI_CONTAINERID, CNI_IFNAME)`, unique per attachment.
import { accessSync, appendFileSync, constants, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { type CommandRunner, Netlink, parseIp, run, workloadIfaceName } from '../../felix/index.ts';
import { type NetConf, parseNetConf, peekVersion, resolveRanges } from './config.ts';
import { type CniEnv, parseCommand, parseEnv } from './env.ts';
import { IpamStore, type Owner } from './ipam.ts';
import { netnsExists, podNetlink } from './netns.ts';
import {
  CniError,
  compareVersions,
  DEFAULT_VERSION,
  formatError,
  formatResult,
  parsePrevResult,
  SUPPORTED_VERSIONS,
  versionResult,
} from './spec.ts';
import { addPod, checkPod, delPod, readLink, sysctlReader } from './wire.ts';

export interface PluginInput {
  readonly env: NodeJS.ProcessEnv;
  readonly stdin: string;
  /** Injected for unit tests; default: real commands. */
  readonly runner?: CommandRunner;
  /** Injected for unit tests; default: whether the path can be opened. */
  readonly netnsExists?: (path: string) => boolean;
  /** Clock for the log's duration (tests). */
  readonly now?: () => number;
}

export interface PluginOutput {
  /** What goes to stdout ('' when the command prints nothing). */
  readonly stdout: string;
  readonly exitCode: 0 | 1;
  /** One line for the log file (and stderr on failure). */
  readonly logLine: string;
  /** Where the line goes; undefined = not configured (main.ts prints failures on stderr only). */
  readonly logFile: string | undefined;
}

export function hostIfaceName(
  env: Pick<CniEnv, 'podNamespace' | 'podName' | 'containerId' | 'ifName'>,
): string {
  return env.podNamespace !== undefined && env.podName !== undefined
    ? workloadIfaceName(env.podNamespace, env.podName)
    : workloadIfaceName(env.containerId, env.ifName);
}

function owner(env: CniEnv): Owner {
  return {
    containerId: env.containerId,
    ifName: env.ifName,
    pod:
      env.podNamespace !== undefined && env.podName !== undefined
        ? `${env.podNamespace}/${env.podName}`
        : undefined,
  };
}

export async function runPlugin(input: PluginInput): Promise<PluginOutput> {
  const now = input.now ?? Date.now;
  const started = now();
  const version = peekVersion(input.stdin) ?? DEFAULT_VERSION;
  let logFile: string | undefined;
  let logLevel: NetConf['logLevel'] = 'info';
  const log: Record<string, unknown> = {
    time: new Date(started).toISOString(),
    command: input.env.CNI_COMMAND,
    containerId: input.env.CNI_CONTAINERID,
    ifName: input.env.CNI_IFNAME,
    netns: input.env.CNI_NETNS,
    args: input.env.CNI_ARGS,
  };
  const finish = (stdout: string, exitCode: 0 | 1): PluginOutput => {
    log.ms = now() - started;
    // level error: failures only; info: every command; debug: with the result.
    const file = logLevel === 'error' && exitCode === 0 ? undefined : logFile;
    return { stdout, exitCode, logLine: JSON.stringify(log), logFile: file };
  };
  try {
    const command = parseCommand(input.env);
    if (command === 'VERSION') {
      const asked = peekVersion(input.stdin);
      return finish(JSON.stringify(versionResult(asked ?? SUPPORTED_VERSIONS.at(-1)!)), 0);
    }
    const env = parseEnv(input.env);
    const conf = parseNetConf(input.stdin);
    logFile = conf.logFile;
    logLevel = conf.logLevel;
    log.network = conf.name;
    const ctx = new Context(input, env, conf);
    const out = await ctx.run();
    if (out !== undefined && logLevel === 'debug') log.result = out;
    return finish(out === undefined ? '' : JSON.stringify(out), 0);
  } catch (e) {
    const err = formatError(e, version);
    log.error = err;
    return finish(JSON.stringify(err), 1);
  }
}

class Context {
  readonly #input: PluginInput;
  readonly #env: CniEnv;
  readonly #conf: NetConf;
  readonly #host: Netlink;
  readonly #store: IpamStore;

  constructor(input: PluginInput, env: CniEnv, conf: NetConf) {
    this.#input = input;
    this.#env = env;
    this.#conf = conf;
    this.#host = new Netlink(input.runner ? { runner: input.runner } : {});
    this.#store = new IpamStore({ dataDir: conf.ipam.dataDir, network: conf.name });
  }

  #netnsExists(path: string): boolean {
    return (this.#input.netnsExists ?? netnsExists)(path);
  }

  #requireVersion(min: string, command: string): void {
    if (compareVersions(this.#conf.cniVersion, min) < 0) {
      throw new CniError(
        'MARGAY_ERR_CNI_VERSION',
        `${command} needs cniVersion ${min} or later; the configuration says ${this.#conf.cniVersion}`,
      );
    }
  }

  async run(): Promise<Record<string, unknown> | undefined> {
    switch (this.#env.command) {
      case 'ADD':
        return this.#add();
      case 'DEL':
        await this.#del();
        return undefined;
      case 'CHECK':
        this.#requireVersion('0.4.0', 'CHECK');
        await this.#check();
        return undefined;
      case 'STATUS':
        this.#requireVersion('1.1.0', 'STATUS');
        this.#status();
        return undefined;
      case 'GC':
        this.#requireVersion('1.1.0', 'GC');
        this.#gc();
        return undefined;
      default:
        throw new CniError('MARGAY_ERR_CNI_ENV', `CNI_COMMAND ${this.#env.command} is not handled here`);
    }
  }

  async #add(): Promise<Record<string, unknown>> {
    const env = this.#env;
    const netns = env.netns as string;
    if (!this.#netnsExists(netns)) {
      throw new CniError('MARGAY_ERR_CNI_NETNS', `pod network namespace ${netns} does not exist`);
    }
    const ranges = resolveRanges(this.#conf.ipam);
    const allocated = this.#store.allocate(owner(env), ranges);
    try {
      const result = await addPod({
        host: this.#host,
        pod: podNetlink(netns, this.#input.runner),
        netnsPath: netns,
        containerId: env.containerId,
        hostIface: hostIfaceName(env),
        podIface: env.ifName,
        ipv4: allocated.find((a) => a.family === 4)?.address,
        ipv6: allocated.find((a) => a.family === 6)?.address,
        mtu: this.#conf.mtu,
        routeProtocol: this.#conf.routeProtocol,
      });
      return formatResult({ ...result, dns: this.#conf.dns }, this.#conf.cniVersion);
    } catch (e) {
      this.#store.release(owner(env));
      throw e;
    }
  }

  async #del(): Promise<void> {
    const env = this.#env;
    let failure: unknown;
    try {
      await delPod({ host: this.#host, containerId: env.containerId, hostIface: hostIfaceName(env) });
    } catch (e) {
      failure = e; // still free the address: the runtime retries DEL, the veth goes next time
    }
    this.#store.release(owner(env));
    if (failure !== undefined) throw failure;
  }

  async #check(): Promise<void> {
    const env = this.#env;
    const prev = parsePrevResult(this.#conf.prevResult);
    if (prev === undefined)
      throw new CniError('MARGAY_ERR_CNI_CONFIG', 'CHECK needs prevResult in the configuration');
    const sandboxIndex = prev.interfaces.findIndex((i) => i.name === env.ifName && i.sandbox !== undefined);
    const addresses = prev.ips
      .filter((ip) => ip.interface === undefined || ip.interface === sandboxIndex)
      .map((ip) => ip.address.split('/')[0] as string);
    const held = this.#store.find(owner(env));
    const hostIface = hostIfaceName(env);
    if (held.length === 0 && (await readLink(this.#host, hostIface)) === undefined) {
      throw new CniError(
        'MARGAY_ERR_CNI_UNKNOWN_CONTAINER',
        `container ${env.containerId} (${env.ifName}) has no address in IPAM and no veth ${hostIface}`,
      );
    }
    const problems: string[] = [];
    if (addresses.length === 0) problems.push('prevResult lists no address for this interface');
    for (const a of addresses) {
      if (!held.includes(a))
        problems.push(`address ${a} is not allocated to this container in IPAM (${this.#store.dir})`);
    }
    const netns = env.netns as string;
    if (!this.#netnsExists(netns)) {
      throw new CniError('MARGAY_ERR_CNI_NETNS', `pod network namespace ${netns} does not exist`);
    }
    const macs = new Map(
      prev.interfaces.flatMap((i) => (i.mac !== undefined ? [[i.name, i.mac] as const] : [])),
    );
    problems.push(
      ...(await checkPod({
        host: this.#host,
        pod: podNetlink(netns, this.#input.runner),
        netnsPath: netns,
        containerId: env.containerId,
        hostIface,
        podIface: env.ifName,
        ipv4: addresses.find((a) => parseIp(a)?.family === 4),
        ipv6: addresses.find((a) => parseIp(a)?.family === 6),
        mtu: this.#conf.mtu,
        routeProtocol: this.#conf.routeProtocol,
        expectedMacs: macs,
        sysctl: sysctlReader(this.#input.runner ?? run),
      })),
    );
    if (problems.length > 0) {
      throw new CniError(
        'MARGAY_ERR_CNI_CHECK_FAILED',
        `CHECK of ${env.containerId}: ${problems.join('; ')}`,
      );
    }
  }

  #status(): void {
    try {
      resolveRanges(this.#conf.ipam);
      mkdirSync(this.#store.dir, { recursive: true });
      accessSync(this.#store.dir, constants.W_OK);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new CniError('MARGAY_ERR_CNI_NOT_AVAILABLE', `margay-cni cannot serve ADD: ${why}`, { cause: e });
    }
  }

  #gc(): void {
    const valid = this.#conf.validAttachments;
    if (valid === undefined) {
      throw new CniError('MARGAY_ERR_CNI_CONFIG', 'GC needs cni.dev/valid-attachments in the configuration');
    }
    this.#store.gc(valid);
  }
}

/** Append the log line to the configured file (creating its directory); false when that failed. */
export function writeLog(file: string, line: string): boolean {
  try {
    mkdirSync(dirname(file), { recursive: true });
    appendFileSync(file, `${line}\n`);
    return true;
  } catch {
    return false;
  }
}
