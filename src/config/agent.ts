// `margay agent --config FILE`: the node daemon's own settings. Cluster-wide settings (AS number,
// mesh, peers, pools) come from the datastore (BGPConfiguration, BGPPeer, IPPool); this file only
// says which node this is, where the datastore is, and how the local process behaves. Unknown
// fields are errors so a typo is reported, not ignored.
import { z } from 'zod';
import { MargayError } from '../errors.ts';
import { namespaceName } from '../model/fields.ts';
import { DEFAULT_SECRET_NAMESPACE } from '../model/secret.ts';
import { apiSchema, formatIssues, listenIp } from './fields.ts';
import { readYamlFile } from './yaml-file.ts';

/**
 * Node address autodetection, Calico's IP_AUTODETECTION_METHOD values: `kubernetes-internal-ip`
 * (the Node's InternalIP), `first-found`, `interface=REGEX`, `can-reach=IP`, `cidr=CIDR[,CIDR]`.
 */
export const autodetectMethod = z
  .string()
  .refine(
    (s) =>
      s === 'kubernetes-internal-ip' ||
      s === 'first-found' ||
      /^interface=.+$/.test(s) ||
      /^skip-interface=.+$/.test(s) ||
      /^can-reach=.+$/.test(s) ||
      /^cidr=.+$/.test(s),
    'must be kubernetes-internal-ip, first-found, interface=REGEX, skip-interface=REGEX, can-reach=IP or cidr=CIDR',
  );

const datastore = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('file'), path: z.string().min(1) }),
  z.strictObject({
    type: z.literal('kubernetes'),
    /** Path to a kubeconfig; default: in-cluster service account, then $KUBECONFIG. */
    kubeconfig: z.string().min(1).optional(),
  }),
]);

export const agentConfigSchema = z.strictObject({
  /** This node's name (the Kubernetes Node name). Default: $NODENAME, then the hostname. */
  nodeName: z.string().min(1).max(253).optional(),
  datastore,
  api: apiSchema(9099),
  bgp: z
    .strictObject({
      /** Address the speaker listens on (the port comes from BGPConfiguration.listenPort). */
      listenAddress: listenIp.default('::'),
      enabled: z.boolean().default(true),
    })
    .default({ listenAddress: '::', enabled: true }),
  ipv4Autodetection: autodetectMethod.default('first-found'),
  ipv6Autodetection: autodetectMethod.optional(),
  dataplane: z
    .strictObject({
      enabled: z.boolean().default(true),
      resyncIntervalSeconds: z.number().int().min(1).max(3600).default(90),
      routeProtocol: z.number().int().min(1).max(255).default(109),
      iptablesBackend: z.enum(['auto', 'legacy', 'nft']).default('auto'),
      /** Underlay interface MTU used for the VXLAN device (MTU - 50). */
      mtu: z.number().int().min(1280).max(9216).default(1500),
    })
    .default({
      enabled: true,
      resyncIntervalSeconds: 90,
      routeProtocol: 109,
      iptablesBackend: 'auto',
      mtu: 1500,
    }),
  logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /**
   * The namespace the agent runs in, where BGP password Secrets (BGPPeer `password`,
   * BGPConfiguration `nodeMeshPassword`) are read. Default: $POD_NAMESPACE, then `default`.
   */
  secretNamespace: namespaceName.optional(),
});

export type AgentConfig = z.output<typeof agentConfigSchema>;

/** Where the agent reads BGP password Secrets: the config's secretNamespace, $POD_NAMESPACE, `default`. */
export function secretNamespaceOf(config: AgentConfig, env: NodeJS.ProcessEnv = process.env): string {
  if (config.secretNamespace !== undefined) return config.secretNamespace;
  const fromEnv = env.POD_NAMESPACE;
  if (fromEnv !== undefined && namespaceName.safeParse(fromEnv).success) return fromEnv;
  return DEFAULT_SECRET_NAMESPACE;
}

export function parseAgentConfig(doc: unknown, source = 'config'): AgentConfig {
  const result = agentConfigSchema.safeParse(doc ?? {});
  if (!result.success) {
    throw new MargayError('MARGAY_ERR_CONFIG', `${source}: ${formatIssues(result.error).join('; ')}`);
  }
  return result.data;
}

export async function loadAgentConfig(path: string): Promise<AgentConfig> {
  return parseAgentConfig(await readYamlFile(path), path);
}
