// The one error catalog of the felix/ dataplane agent. Every error felix/ throws or reports
// carries a stable `code` from this table, with the underlying failure chained as `cause`;
// test/unit/errors.test.ts checks each code is documented in the README's error table and
// asserted by some test. The library never logs and never exits: callers (src/) decide.

export const FelixErrorCode = {
  FELIX_ERR_COMMAND_FAILED: 'a dataplane command could not be started, timed out or exited non-zero',
  FELIX_ERR_RESTORE_FAILED:
    'iptables-restore rejected a batch; the tables it names keep their previous rules',
  FELIX_ERR_IPSET_RESTORE_FAILED: 'ipset restore rejected a batch of ipset changes',
  FELIX_ERR_INVALID_DESIRED: 'a desired chain, rule, jump or ipset is invalid (name, length, reference)',
  FELIX_ERR_PARSE: 'the output of iptables-save or ipset save could not be parsed',
  FELIX_ERR_BATCH_FAILED:
    'ip/bridge -batch rejected lines of a route, FDB or neighbour batch; each failed line is named',
  FELIX_ERR_INVALID_ROUTE:
    'a desired route, workload endpoint or VTEP is invalid (prefix, next hop, duplicate)',
  FELIX_ERR_NETLINK_PARSE: 'the JSON output of ip or bridge could not be parsed',
  FELIX_ERR_ENCAP_UNSUPPORTED: 'the kernel lacks the tunnel link type (ipip, vxlan) an IPPool mode needs',
  FELIX_ERR_INVALID_POLICY:
    'a NetworkPolicy or pod is invalid; the field is named, the rule or policy left out',
  FELIX_ERR_APPLY_FAILED: 'a dataplane apply still failed after its retries; the last error is the cause',
  FELIX_ERR_STOPPED: 'the Dataplane was stopped: it applies nothing more (the kernel state stays as it was)',
} as const;
export type FelixErrorCodeName = keyof typeof FelixErrorCode;

export class FelixError extends Error {
  readonly code: FelixErrorCodeName;
  constructor(code: FelixErrorCodeName, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FelixError';
    this.code = code;
  }
}
