// The init containers of the Margay DaemonSet (templates/daemonset.yaml), run with the image's
// Node.js; node: builtins only, so it needs nothing from the app's node_modules.
//
//   node install.mjs cni                  install margay-cni (+ portmap) and write the conflist
//   node install.mjs config IN OUT        copy the agent configuration, adding $MARGAY_API_TOKEN
//
// `cni`, in this order, so the runtime never sees a conflist whose plugin or pod CIDRs are not
// there yet (a node stays NotReady until the conflist appears):
//   1. read this node's spec.podCIDRs from the API server (the service account may get/list/watch
//      nodes, nothing more), retrying until POD_CIDR_TIMEOUT_SECONDS;
//   2. write them to the pod CIDR file margay-cni's IPAM reads (ipam.podCIDRsFile, see
//      src/cni/config.ts);
//   3. copy margay-cni into the CNI bin directory, and portmap when the node has none;
//   4. write the conflist (margay-cni, then portmap).
// Every file is written next to its target and renamed over it: a runtime that execs the plugin
// or reads the conflist at that moment sees the old file or the new one, never half of one.
// Exit 0 done, 1 failed (the message names the step), 2 bad usage.
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const env = process.env;

function fail(message) {
  process.stderr.write(`margay install: ${message}\n`);
  process.exit(1);
}

function info(message) {
  process.stdout.write(`margay install: ${message}\n`);
}

/** Writes `data` to `path` through a temporary file in the same directory and a rename. */
function writeAtomic(path, data, mode) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${Date.now()}-${process.pid}.margay-tmp`);
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

function copyAtomic(source, target, mode) {
  mkdirSync(dirname(target), { recursive: true });
  const tmp = join(dirname(target), `.${Date.now()}-${process.pid}.margay-tmp`);
  copyFileSync(source, tmp);
  chmodSync(tmp, mode);
  renameSync(tmp, target);
}

function apiBase() {
  if (env.KUBERNETES_API_URL) return env.KUBERNETES_API_URL.replace(/\/$/, '');
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) fail('KUBERNETES_SERVICE_HOST is not set: not running in a pod, and no KUBERNETES_API_URL');
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

async function fetchNode(name) {
  const tokenFile = env.SA_TOKEN_FILE ?? '/var/run/secrets/kubernetes.io/serviceaccount/token';
  const token = readFileSync(tokenFile, 'utf8').trim();
  const url = `${apiBase()}/api/v1/nodes/${encodeURIComponent(name)}`;
  const res = await fetch(url, {
    headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${(await res.text()).slice(0, 300)}`);
  return res.json();
}

/** spec.podCIDRs (spec.podCIDR on old clusters), waiting for the controller manager to set them. */
async function podCIDRs(nodeName) {
  const timeoutMs = Number(env.POD_CIDR_TIMEOUT_SECONDS ?? '120') * 1000;
  const intervalMs = Number(env.POD_CIDR_POLL_MS ?? '2000');
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const node = await fetchNode(nodeName);
      const cidrs = node?.spec?.podCIDRs ?? (node?.spec?.podCIDR ? [node.spec.podCIDR] : []);
      if (cidrs.length > 0) return cidrs;
      last = `node ${nodeName} has no spec.podCIDRs yet (kube-controller-manager assigns them with --allocate-node-cidrs)`;
    } catch (e) {
      last = `cannot read node ${nodeName}: ${e.cause?.message ?? e.message}`;
    }
    if (Date.now() >= deadline) fail(`${last}; gave up after ${timeoutMs / 1000} s`);
    info(`${last}; retrying`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

const CNI_LOG_LEVELS = { debug: 'debug', info: 'info', warn: 'info', error: 'error' };

/** The conflist margay-cni reads (src/cni/config.ts): its IPAM takes the pod CIDR file. */
function conflist(opts) {
  const margay = {
    type: 'margay-cni',
    ipam: { type: 'margay', podCIDRsFile: opts.podCIDRsFile, dataDir: opts.ipamDataDir },
    log: { level: CNI_LOG_LEVELS[opts.logLevel] ?? 'info' },
  };
  if (opts.mtu !== undefined) margay.mtu = opts.mtu;
  if (opts.routeProtocol !== undefined) margay.routeProtocol = opts.routeProtocol;
  return {
    cniVersion: '1.0.0',
    name: 'margay',
    plugins: [margay, { type: 'portmap', capabilities: { portMappings: true }, snat: true }],
  };
}

function intEnv(name) {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (!/^[0-9]+$/.test(v)) fail(`${name}=${JSON.stringify(v)} must be a whole number`);
  return Number(v);
}

async function installCni() {
  const nodeName = env.NODENAME;
  if (!nodeName) fail('NODENAME is not set (the DaemonSet sets it from spec.nodeName)');
  const binDir = env.CNI_BIN_DIR ?? '/host/cni/bin';
  const confDir = env.CNI_CONF_DIR ?? '/host/cni/net.d';
  const confName = env.CNI_CONF_NAME ?? '10-margay.conflist';
  const stateDir = env.MARGAY_STATE_DIR ?? '/host/var/lib/margay';
  // Paths as the plugin sees them on the host (the init container sees them under /host/…).
  const hostStateDir = env.MARGAY_HOST_STATE_DIR ?? '/var/lib/margay';
  const pluginSource = env.MARGAY_CNI_SOURCE ?? '/opt/margay/bin/margay-cni';
  const portmapSource = env.PORTMAP_SOURCE ?? '/usr/lib/cni/portmap';

  const cidrs = await podCIDRs(nodeName);
  writeAtomic(join(stateDir, 'pod-cidrs'), `${JSON.stringify({ podCIDRs: cidrs })}\n`, 0o644);
  info(`node ${nodeName} pod CIDRs ${cidrs.join(', ')} → ${join(hostStateDir, 'pod-cidrs')}`);

  if (!existsSync(pluginSource)) fail(`${pluginSource} is missing from the image`);
  copyAtomic(pluginSource, join(binDir, 'margay-cni'), 0o755);
  info(`installed ${join(binDir, 'margay-cni')}`);
  if (env.CNI_INSTALL_PORTMAP !== 'false') {
    if (existsSync(join(binDir, 'portmap'))) info('kept the node’s own portmap plugin');
    else if (!existsSync(portmapSource)) fail(`${portmapSource} is missing from the image`);
    else {
      copyAtomic(portmapSource, join(binDir, 'portmap'), 0o755);
      info(`installed ${join(binDir, 'portmap')}`);
    }
  }

  const list = conflist({
    podCIDRsFile: join(hostStateDir, 'pod-cidrs'),
    ipamDataDir: join(hostStateDir, 'ipam'),
    mtu: intEnv('CNI_MTU'),
    routeProtocol: intEnv('CNI_ROUTE_PROTOCOL'),
    logLevel: env.CNI_LOG_LEVEL ?? 'info',
  });
  writeAtomic(join(confDir, confName), `${JSON.stringify(list, null, 2)}\n`, 0o644);
  info(`wrote ${join(confDir, confName)}`);
}

function writeAgentConfig(input, output) {
  if (!input || !output) {
    process.stderr.write('usage: node install.mjs config IN OUT\n');
    process.exit(2);
  }
  let config;
  try {
    config = JSON.parse(readFileSync(input, 'utf8'));
  } catch (e) {
    fail(`agent configuration ${input}: ${e.message}`);
  }
  // Secrets made with `kubectl create secret --from-file` often end in a newline.
  const token = (env.MARGAY_API_TOKEN ?? '').trim();
  if (token.length < 16) fail('MARGAY_API_TOKEN (from the API token Secret) must be at least 16 characters');
  config.api = { ...config.api, token };
  writeAtomic(output, `${JSON.stringify(config, null, 2)}\n`, 0o600);
  info(`wrote ${output} with the API token`);
}

const [command, ...args] = process.argv.slice(2);
if (command === 'cni') await installCni();
else if (command === 'config') writeAgentConfig(args[0], args[1]);
else {
  process.stderr.write('usage: node install.mjs cni | config IN OUT\n');
  process.exit(2);
}
