// The error catalog of the Margay application (src/), STYLE rule 9. Codes are stable: scripts
// and the README's error table refer to them. Only src/main.ts turns an error into an exit code.

export const MargayErrorCode = {
  MARGAY_ERR_CONFIG: { exitCode: 2, text: 'the configuration file is invalid; the message names the field' },
  MARGAY_ERR_CONFIG_READ: { exitCode: 2, text: 'the configuration file could not be read' },
  MARGAY_ERR_USAGE: { exitCode: 2, text: 'the command line is invalid (unknown command or flag)' },
  MARGAY_ERR_API_LISTEN: {
    exitCode: 1,
    text: 'the REST API could not listen on its address, or a non-loopback address has no token',
  },
  MARGAY_ERR_API_UNREACHABLE: {
    exitCode: 1,
    text: 'margayctl could not reach the REST API at the given address',
  },
  MARGAY_ERR_BGP_LISTEN: { exitCode: 1, text: 'the BGP speaker could not listen on its address and port' },
  MARGAY_ERR_DEMO: { exitCode: 1, text: 'the demo could not set up its namespaces or start BIRD' },
  MARGAY_ERR_DATASTORE_INVALID: {
    exitCode: 2,
    text: 'the datastore file is invalid; the message names document, kind, name and field; the last good state stays',
  },
  MARGAY_ERR_DATASTORE_READ: {
    exitCode: 1,
    text: 'the datastore file could not be read or watched; the last good state stays in force',
  },
  MARGAY_ERR_KUBECONFIG: {
    exitCode: 2,
    text: 'the Kubernetes client configuration (kubeconfig file or in-cluster service account) could not be loaded',
  },
  MARGAY_ERR_DATASTORE_UNAVAILABLE: {
    exitCode: 1,
    text: 'the Kubernetes API server could not be reached or refused a list/watch; the last snapshot stays in force',
  },
  MARGAY_ERR_DATASTORE_OBJECT_INVALID: {
    exitCode: 1,
    text: 'a Kubernetes object is invalid; the message names kind, name and field; it is left out (or its last good version kept)',
  },
  MARGAY_ERR_DATASTORE_CRD_MISSING: {
    exitCode: 1,
    text: 'a margay.io CustomResourceDefinition is not installed; its kind is treated as empty and retried periodically',
  },
} as const;
export type MargayErrorCodeName = keyof typeof MargayErrorCode;

export class MargayError extends Error {
  readonly code: MargayErrorCodeName;
  constructor(code: MargayErrorCodeName, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MargayError';
    this.code = code;
  }
  get exitCode(): number {
    return MargayErrorCode[this.code].exitCode;
  }
}
