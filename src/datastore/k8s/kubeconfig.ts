// Where the Kubernetes datastore's client configuration comes from: a KubeConfig object (tests,
// embedding), a kubeconfig file, or — the default for the DaemonSet — the pod's service account
// (KUBERNETES_SERVICE_HOST/PORT and the mounted token and CA), then $KUBECONFIG. A configuration that
// cannot work is an error naming what is missing, not a client that fails on its first request.
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { ipFamily } from '../../../felix/index.ts';
import { MargayError } from '../../errors.ts';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeConfigEnvironment {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Directory of the service account token and CA; default SERVICE_ACCOUNT_DIR. */
  readonly serviceAccountDir?: string;
}

/** A KubeConfig as is, a kubeconfig file path, or undefined for in-cluster (then $KUBECONFIG). */
export function loadKubeConfig(
  source?: KubeConfig | string,
  environment: KubeConfigEnvironment = {},
): KubeConfig {
  if (source instanceof KubeConfig) return checked(source, 'the given KubeConfig');
  const kc = new KubeConfig();
  if (typeof source === 'string') {
    try {
      kc.loadFromFile(source);
    } catch (err) {
      throw new MargayError('MARGAY_ERR_KUBECONFIG', `kubeconfig ${source}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return checked(kc, `kubeconfig ${source}`);
  }
  const env = environment.env ?? process.env;
  const dir = environment.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (env.KUBERNETES_SERVICE_HOST) {
    if (!existsSync(`${dir}/token`))
      throw new MargayError(
        'MARGAY_ERR_KUBECONFIG',
        `in-cluster configuration: KUBERNETES_SERVICE_HOST is set but ${dir}/token does not exist ` +
          '(is automountServiceAccountToken off?)',
      );
    return inCluster(env.KUBERNETES_SERVICE_HOST, env.KUBERNETES_SERVICE_PORT, dir);
  }
  const fromEnv = env.KUBECONFIG;
  if (fromEnv) return loadKubeConfig(fromEnv.split(':')[0], environment);
  throw new MargayError(
    'MARGAY_ERR_KUBECONFIG',
    'no Kubernetes configuration: not running in a pod (KUBERNETES_SERVICE_HOST is not set), no ' +
      'datastore.kubeconfig path given and $KUBECONFIG is not set',
  );
}

/** client-node's loadFromCluster, but from the given environment and directory (testable). */
function inCluster(host: string, port: string | undefined, dir: string): KubeConfig {
  if (!port)
    throw new MargayError(
      'MARGAY_ERR_KUBECONFIG',
      'in-cluster configuration: KUBERNETES_SERVICE_HOST is set but KUBERNETES_SERVICE_PORT is not',
    );
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
  const server = `${scheme}://${ipFamily(host) === 6 ? `[${host}]` : host}:${port}`;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'in-cluster', server, caFile: `${dir}/ca.crt`, skipTLSVerify: false }],
    users: [
      { name: 'service-account', authProvider: { name: 'tokenFile', config: { tokenFile: `${dir}/token` } } },
    ],
    contexts: [{ name: 'in-cluster', cluster: 'in-cluster', user: 'service-account' }],
    currentContext: 'in-cluster',
  });
  return checked(kc, 'in-cluster configuration');
}

function checked(kc: KubeConfig, what: string): KubeConfig {
  const cluster = kc.getCurrentCluster();
  if (cluster === null || !cluster.server)
    throw new MargayError(
      'MARGAY_ERR_KUBECONFIG',
      `${what}: the current context names no cluster with a server`,
    );
  return kc;
}
