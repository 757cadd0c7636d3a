// The error catalog of the Margay application (src/). Codes are stable: scripts and the README's
// error table refer to them; test/unit/errors.test.ts checks each is documented there and
// asserted by some test. Only the CLIs' entry points turn an error into an exit code.

export const MargayErrorCode = {
  MARGAY_ERR_CONFIG: { exitCode: 2, text: 'the configuration file is invalid; the message names the field' },
  MARGAY_ERR_CONFIG_READ: { exitCode: 2, text: 'the configuration file could not be read' },
  MARGAY_ERR_USAGE: { exitCode: 2, text: 'the command line is invalid (unknown command or flag)' },
  MARGAY_ERR_API_LISTEN: {
    exitCode: 1,
    text: 'the REST API could not listen on its address, or a non-loopback address has no token',
  },
  MARGAY_ERR_BGP_LISTEN: {
    exitCode: 1,
    text: 'the BGP speaker could not listen on its address and port; no session was started',
  },
  MARGAY_ERR_API_UNREACHABLE: {
    exitCode: 1,
    text: 'margayctl could not reach the REST API at the given address',
  },
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
  // margay-cni (src/cni): the CNI error result's `code` is `cniCode` (CNI spec 1.0 "Error").
  MARGAY_ERR_CNI_VERSION: {
    exitCode: 1,
    cniCode: 1,
    text: 'margay-cni: the cniVersion asked for is not supported',
  },
  MARGAY_ERR_CNI_UNSUPPORTED_FIELD: {
    exitCode: 1,
    cniCode: 2,
    text: 'margay-cni: the network configuration has a field or value the plugin does not support',
  },
  MARGAY_ERR_CNI_UNKNOWN_CONTAINER: {
    exitCode: 1,
    cniCode: 3,
    text: 'margay-cni: CHECK found no attachment of this container (no address, no veth)',
  },
  MARGAY_ERR_CNI_ENV: {
    exitCode: 1,
    cniCode: 4,
    text: 'margay-cni: a CNI_* environment variable is missing or invalid; the message names it',
  },
  MARGAY_ERR_CNI_IO: {
    exitCode: 1,
    cniCode: 5,
    text: 'margay-cni: reading stdin or writing the result failed',
  },
  MARGAY_ERR_CNI_DECODE: {
    exitCode: 1,
    cniCode: 6,
    text: 'margay-cni: the network configuration is not JSON',
  },
  MARGAY_ERR_CNI_CONFIG: {
    exitCode: 1,
    cniCode: 7,
    text: 'margay-cni: the network configuration is invalid; the message names the field',
  },
  MARGAY_ERR_CNI_TRY_AGAIN: {
    exitCode: 1,
    cniCode: 11,
    text: 'margay-cni: the node pod CIDR file is not written yet (the agent writes it); the runtime retries',
  },
  MARGAY_ERR_CNI_POOL_FULL: {
    exitCode: 1,
    cniCode: 100,
    text: 'margay-cni: every address of the pod CIDR is allocated; the message names the CIDR',
  },
  MARGAY_ERR_CNI_IPAM_STORE: {
    exitCode: 1,
    cniCode: 101,
    text: 'margay-cni: the IPAM directory (one file per address) could not be read or written',
  },
  MARGAY_ERR_CNI_NETNS: {
    exitCode: 1,
    cniCode: 102,
    text: 'margay-cni: the pod network namespace (CNI_NETNS) does not exist or cannot be entered',
  },
  MARGAY_ERR_CNI_WIRING: {
    exitCode: 1,
    cniCode: 103,
    text: 'margay-cni: creating the veth, addresses or routes failed; the failed command is named',
  },
  MARGAY_ERR_CNI_CHECK_FAILED: {
    exitCode: 1,
    cniCode: 104,
    text: 'margay-cni: CHECK found the wiring broken; the message names what is missing or wrong',
  },
  MARGAY_ERR_CNI_NOT_AVAILABLE: {
    exitCode: 1,
    cniCode: 50,
    text: 'margay-cni STATUS: the plugin cannot serve ADD (no pod CIDR yet, or its IPAM directory is unusable)',
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
