// The CNI protocol as plain data (CNI spec 1.0.0 "Result", "Error", "Version"; 1.1.0 adds STATUS
// and GC; 0.3.x/0.4.0 results for older runtimes). Pure: no I/O. The plugin builds one internal
// result and `formatResult` renders it for the cniVersion the runtime asked for:
// - 1.0.0/1.1.0: `ips[].interface` indexes `interfaces`, no `ips[].version`.
// - 0.3.0/0.3.1/0.4.0: the same plus `ips[].version` ("4"/"6"), which 1.0.0 removed.
// Results older than 0.3.0 (no interfaces list) are not produced: VERSION does not offer them.
import { MargayError, MargayErrorCode, type MargayErrorCodeName } from '../errors.ts';

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];
/** What the plugin answers with when nothing says otherwise (error before the config was read). */
export const DEFAULT_VERSION: CniVersion = '1.0.0';

export const CniCommand = {
  add: 'ADD',
  del: 'DEL',
  check: 'CHECK',
  version: 'VERSION',
  status: 'STATUS',
  gc: 'GC',
} as const;
export type CniCommand = (typeof CniCommand)[keyof typeof CniCommand];

export function isSupportedVersion(v: string): v is CniVersion {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/** Compare two "x.y.z" versions (-1, 0, 1). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export interface CniInterface {
  readonly name: string;
  readonly mac?: string;
  /** The netns path for interfaces inside the container; absent for host-side interfaces. */
  readonly sandbox?: string;
}

export interface CniIp {
  /** Address in CIDR notation ("10.244.1.5/32"). */
  readonly address: string;
  readonly gateway?: string;
  /** Index into `interfaces`. */
  readonly interface?: number;
}

export interface CniRoute {
  readonly dst: string;
  readonly gw?: string;
}

export interface CniDns {
  readonly nameservers?: readonly string[];
  readonly domain?: string;
  readonly search?: readonly string[];
  readonly options?: readonly string[];
}

/** The version-independent result the plugin computes. */
export interface CniResult {
  readonly interfaces: readonly CniInterface[];
  readonly ips: readonly CniIp[];
  readonly routes: readonly CniRoute[];
  readonly dns: CniDns;
}

/** The result as JSON for `version` (the config's cniVersion). */
export function formatResult(result: CniResult, version: CniVersion): Record<string, unknown> {
  const isLegacy = compareVersions(version, '1.0.0') < 0;
  return {
    cniVersion: version,
    interfaces: result.interfaces.map((i) => ({ ...i })),
    ips: result.ips.map((ip) => ({
      ...(isLegacy ? { version: ip.address.includes(':') ? '6' : '4' } : {}),
      address: ip.address,
      ...(ip.gateway !== undefined ? { gateway: ip.gateway } : {}),
      ...(ip.interface !== undefined ? { interface: ip.interface } : {}),
    })),
    routes: result.routes.map((r) => ({ ...r })),
    dns: { ...result.dns },
  };
}

/**
 * Read a prevResult of any supported version back into the internal shape (CHECK and chained
 * plugins get it in the config's version). Fields it does not know are ignored.
 */
export function parsePrevResult(v: unknown): CniResult | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  const list = (x: unknown): Record<string, unknown>[] =>
    Array.isArray(x)
      ? x.filter((e): e is Record<string, unknown> => e !== null && typeof e === 'object')
      : [];
  const str = (x: unknown): string | undefined => (typeof x === 'string' ? x : undefined);
  return {
    interfaces: list(o.interfaces).map((i) => ({
      name: str(i.name) ?? '',
      ...(str(i.mac) !== undefined ? { mac: str(i.mac) } : {}),
      ...(str(i.sandbox) !== undefined ? { sandbox: str(i.sandbox) } : {}),
    })),
    ips: list(o.ips).map((ip) => ({
      address: str(ip.address) ?? '',
      ...(str(ip.gateway) !== undefined ? { gateway: str(ip.gateway) } : {}),
      ...(typeof ip.interface === 'number' ? { interface: ip.interface } : {}),
    })),
    routes: list(o.routes).map((r) => ({
      dst: str(r.dst) ?? '',
      ...(str(r.gw) !== undefined ? { gw: str(r.gw) } : {}),
    })),
    dns: o.dns !== null && typeof o.dns === 'object' ? (o.dns as CniDns) : {},
  };
}

/** VERSION's answer (CNI spec "VERSION": cniVersion + supportedVersions). */
export function versionResult(version: string): Record<string, unknown> {
  return { cniVersion: version, supportedVersions: [...SUPPORTED_VERSIONS] };
}

export type CniErrorCodeName = {
  [K in MargayErrorCodeName]: (typeof MargayErrorCode)[K] extends { cniCode: number } ? K : never;
}[MargayErrorCodeName];

/** A failure with its CNI error code (from the catalog in src/errors.ts). */
export class CniError extends MargayError {
  readonly details: string | undefined;
  constructor(code: CniErrorCodeName, message: string, options?: { cause?: unknown; details?: string }) {
    super(code, message, options);
    this.name = 'CniError';
    this.details = options?.details;
  }
  get cniCode(): number {
    return (MargayErrorCode[this.code as CniErrorCodeName] as { cniCode: number }).cniCode;
  }
}

/** The spec's error object (printed on stdout, exit status 1). Anything not a CniError is code 999. */
export function formatError(err: unknown, version: string): Record<string, unknown> {
  if (err instanceof CniError) {
    return {
      cniVersion: version,
      code: err.cniCode,
      msg: err.message,
      ...(err.details !== undefined ? { details: err.details } : causeDetails(err)),
    };
  }
  const msg = err instanceof Error ? err.message : String(err);
  return { cniVersion: version, code: 999, msg: `margay-cni internal error: ${msg}` };
}

function causeDetails(err: Error): { details?: string } {
  const parts: string[] = [];
  let c: unknown = err.cause;
  while (c instanceof Error && parts.length < 5) {
    parts.push(c.message);
    c = c.cause;
  }
  return parts.length > 0 ? { details: parts.join(' <- ') } : {};
}
