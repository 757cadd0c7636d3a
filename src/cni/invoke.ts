// Running CNI plugins the way a runtime does (containerd/CRI-O through libcni): a `.conflist`'s
// plugins in order for ADD and CHECK, in reverse for DEL; each plugin found by its `type` in
// CNI_PATH, given CNI_* variables and its own configuration on stdin with the list's `name` and
// `cniVersion`, the previous plugin's result as `prevResult` (for DEL and CHECK the cached ADD
// result), and `runtimeConfig` holding only the capabilities it declares (portMappings…).
// The interop tests and tools use it to drive margay-cni chained with the reference plugins.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

export interface ConfList {
  readonly cniVersion: string;
  readonly name: string;
  readonly plugins: readonly Record<string, unknown>[];
  readonly disableCheck?: boolean;
}

export interface Attachment {
  readonly containerId: string;
  /** CNI_NETNS (omitted for a DEL after the sandbox is gone). */
  readonly netns?: string;
  readonly ifName: string;
  /** CNI_ARGS pairs, e.g. K8S_POD_NAMESPACE. */
  readonly args?: Readonly<Record<string, string>>;
  /** Capability values (`portMappings`, `bandwidth`…), handed to plugins that declare them. */
  readonly capabilities?: Readonly<Record<string, unknown>>;
}

export interface InvokeOptions {
  /** Directories searched for plugin executables (CNI_PATH). */
  readonly cniPath: readonly string[];
  /** Prefix for every plugin command, e.g. ['ip', 'netns', 'exec', 'node1'] (the lab's nodes). */
  readonly wrapper?: readonly string[];
  /** PATH of the plugin processes (default /usr/sbin:/usr/bin:/sbin:/bin: a runtime's, no Node). */
  readonly path?: string;
  readonly timeoutMs?: number;
}

export interface PluginRun {
  readonly type: string;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Parsed stdout when it is JSON. */
  readonly json: Record<string, unknown> | undefined;
}

/** A plugin failed: its CNI error (code, msg) when it printed one. */
export class PluginError extends Error {
  readonly run: PluginRun;
  constructor(command: string, run: PluginRun) {
    const cni = run.json as { code?: number; msg?: string } | undefined;
    super(
      `${run.type} ${command}: exit ${run.code}${cni?.code !== undefined ? `, CNI error ${cni.code}: ${cni.msg}` : `: ${run.stderr.trim() || run.stdout.trim()}`}`,
    );
    this.name = 'PluginError';
    this.run = run;
  }
}

export function findPlugin(type: string, cniPath: readonly string[]): string {
  for (const dir of cniPath) {
    const p = join(dir, type);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not in this directory
    }
  }
  throw new Error(`CNI plugin ${JSON.stringify(type)} not found in ${cniPath.join(':')}`);
}

/** The stdin configuration of one plugin of the list (libcni's buildOneConfig). */
export function pluginConfig(
  list: ConfList,
  plugin: Record<string, unknown>,
  att: Attachment,
  prevResult: unknown,
): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
  const caps = plugin.capabilities as Record<string, boolean> | undefined;
  const runtimeConfig: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(att.capabilities ?? {})) if (caps?.[k] === true) runtimeConfig[k] = v;
  if (Object.keys(runtimeConfig).length > 0) conf.runtimeConfig = runtimeConfig;
  if (prevResult !== undefined) conf.prevResult = prevResult;
  return conf;
}

export function runPluginProcess(
  command: string,
  type: string,
  conf: Record<string, unknown>,
  att: Attachment,
  opts: InvokeOptions,
): Promise<PluginRun> {
  const exe = findPlugin(type, opts.cniPath);
  const argv = [...(opts.wrapper ?? []), exe];
  const env: Record<string, string> = {
    PATH: opts.path ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: command,
    CNI_CONTAINERID: att.containerId,
    CNI_IFNAME: att.ifName,
    CNI_PATH: opts.cniPath.join(':'),
    CNI_ARGS: Object.entries(att.args ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(';'),
    ...(att.netns !== undefined ? { CNI_NETNS: att.netns } : {}),
  };
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] as string, argv.slice(1), { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {});
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      let json: Record<string, unknown> | undefined;
      try {
        json = stdout.trim() === '' ? undefined : (JSON.parse(stdout) as Record<string, unknown>);
      } catch {
        json = undefined;
      }
      resolve({
        type,
        code: code ?? (signal ? 128 : 1),
        stdout,
        stderr: Buffer.concat(err).toString('utf8'),
        json,
      });
    });
    child.stdin.end(JSON.stringify(conf));
  });
}

/** ADD through the list; returns the last plugin's result (the runtime caches it for DEL/CHECK). */
export async function addNetworkList(list: ConfList, att: Attachment, opts: InvokeOptions): Promise<unknown> {
  let prev: unknown;
  for (const plugin of list.plugins) {
    const type = String(plugin.type);
    const r = await runPluginProcess('ADD', type, pluginConfig(list, plugin, att, prev), att, opts);
    if (r.code !== 0) throw new PluginError('ADD', r);
    prev = r.json;
  }
  return prev;
}

/** CHECK through the list with the cached result (skipped when the list disables it). */
export async function checkNetworkList(
  list: ConfList,
  att: Attachment,
  cached: unknown,
  opts: InvokeOptions,
): Promise<void> {
  if (list.disableCheck === true) return;
  for (const plugin of list.plugins) {
    const r = await runPluginProcess(
      'CHECK',
      String(plugin.type),
      pluginConfig(list, plugin, att, cached),
      att,
      opts,
    );
    if (r.code !== 0) throw new PluginError('CHECK', r);
  }
}

/** DEL through the list in reverse order, with the cached result when there is one. */
export async function delNetworkList(
  list: ConfList,
  att: Attachment,
  cached: unknown,
  opts: InvokeOptions,
): Promise<void> {
  for (const plugin of [...list.plugins].reverse()) {
    const r = await runPluginProcess(
      'DEL',
      String(plugin.type),
      pluginConfig(list, plugin, att, cached),
      att,
      opts,
    );
    if (r.code !== 0) throw new PluginError('DEL', r);
  }
}
