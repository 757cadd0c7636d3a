// The CNI runtime's environment (CNI spec 1.0 "Parameters"), validated. Pure: takes the env object.
//
// - CNI_CONTAINERID: "must have an alphanumeric start, then alphanumeric, underscore, period, hyphen".
// - CNI_IFNAME: a Linux interface name (at most 15 bytes, no '/', ':' or whitespace, not . or ..).
// - CNI_NETNS: a path (`/var/run/netns/NAME` from `ip netns`/containerd, or `/proc/PID/ns/net`).
//   Required for ADD and CHECK; DEL may come without it (the sandbox is already gone).
// - CNI_ARGS: "K=V;K=V". Kubernetes runtimes pass K8S_POD_NAMESPACE, K8S_POD_NAME,
//   K8S_POD_INFRA_CONTAINER_ID, K8S_POD_UID and IgnoreUnknown; other keys are kept and ignored.
// - CNI_PATH: where other plugins live; margay-cni delegates to none, so it is not required.
import { type CniCommand, CniError } from './spec.ts';

export interface CniEnv {
  readonly command: CniCommand;
  readonly containerId: string;
  readonly netns: string | undefined;
  readonly ifName: string;
  readonly args: ReadonlyMap<string, string>;
  readonly path: readonly string[];
  /** From CNI_ARGS when the runtime is Kubernetes. */
  readonly podNamespace: string | undefined;
  readonly podName: string | undefined;
}

const COMMANDS: readonly string[] = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'];
const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function parseCommand(env: NodeJS.ProcessEnv): CniCommand {
  const c = env.CNI_COMMAND;
  if (c === undefined || c === '') throw new CniError('MARGAY_ERR_CNI_ENV', 'CNI_COMMAND is not set');
  if (!COMMANDS.includes(c)) {
    throw new CniError(
      'MARGAY_ERR_CNI_ENV',
      `CNI_COMMAND ${JSON.stringify(c)} is not one of ${COMMANDS.join(', ')}`,
    );
  }
  return c as CniCommand;
}

/** "K=V;K=V" → map; an element without "=" is an error naming it. */
export function parseCniArgs(s: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (s === undefined || s.trim() === '') return out;
  for (const part of s.split(';')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0)
      throw new CniError('MARGAY_ERR_CNI_ENV', `CNI_ARGS: ${JSON.stringify(part)} is not KEY=VALUE`);
    out.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return out;
}

export function isValidIfName(s: string): boolean {
  return (
    s.length > 0 &&
    Buffer.byteLength(s) <= 15 &&
    s !== '.' &&
    s !== '..' &&
    !/[\s/:]/.test(s) &&
    !s.includes('\0')
  );
}

/** Validate the variables `command` needs (VERSION, STATUS and GC need none beyond CNI_COMMAND). */
export function parseEnv(env: NodeJS.ProcessEnv): CniEnv {
  const command = parseCommand(env);
  const needsAttachment = command === 'ADD' || command === 'DEL' || command === 'CHECK';
  const containerId = env.CNI_CONTAINERID ?? '';
  const ifName = env.CNI_IFNAME ?? '';
  const netns = env.CNI_NETNS === undefined || env.CNI_NETNS === '' ? undefined : env.CNI_NETNS;
  if (needsAttachment) {
    if (containerId === '') throw new CniError('MARGAY_ERR_CNI_ENV', 'CNI_CONTAINERID is not set');
    if (!CONTAINER_ID.test(containerId)) {
      throw new CniError(
        'MARGAY_ERR_CNI_ENV',
        `CNI_CONTAINERID ${JSON.stringify(containerId)} must start with a letter or digit and hold only letters, digits, _ . -`,
      );
    }
    if (ifName === '') throw new CniError('MARGAY_ERR_CNI_ENV', 'CNI_IFNAME is not set');
    if (!isValidIfName(ifName)) {
      throw new CniError(
        'MARGAY_ERR_CNI_ENV',
        `CNI_IFNAME ${JSON.stringify(ifName)} is not an interface name (1-15 bytes, no / : or spaces)`,
      );
    }
    if (command !== 'DEL' && netns === undefined) {
      throw new CniError('MARGAY_ERR_CNI_ENV', `CNI_NETNS is not set (required for ${command})`);
    }
    if (netns !== undefined && !netns.startsWith('/')) {
      throw new CniError('MARGAY_ERR_CNI_ENV', `CNI_NETNS ${JSON.stringify(netns)} is not an absolute path`);
    }
  }
  const args = parseCniArgs(env.CNI_ARGS);
  return {
    command,
    containerId,
    netns,
    ifName,
    args,
    path: (env.CNI_PATH ?? '').split(':').filter((p) => p !== ''),
    podNamespace: args.get('K8S_POD_NAMESPACE') || undefined,
    podName: args.get('K8S_POD_NAME') || undefined,
  };
}
