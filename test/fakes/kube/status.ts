// Kubernetes `Status` objects (meta/v1) as the API server writes them for every failed request and for
// watch ERROR events. Messages, reasons and `details` follow k8s.io/apimachinery/pkg/api/errors so a
// client that switches on `reason` or `code` behaves as it would against a real cluster.
import type { ResourceDef } from './resources.ts';

export interface StatusCause {
  readonly reason: string;
  readonly message: string;
  readonly field?: string;
}

export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly uid?: string;
  readonly causes?: readonly StatusCause[];
  readonly retryAfterSeconds?: number;
}

export interface Status {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: Record<string, never>;
  readonly status: 'Failure' | 'Success';
  readonly message?: string;
  readonly reason?: string;
  readonly details?: StatusDetails;
  readonly code: number;
}

/** The `reason` the API server uses for a bare HTTP status code (metav1.StatusReason*). */
export const REASON_BY_CODE: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Expired',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** A request that fails with a Status body. Thrown by the store and the handlers, caught at the edge. */
export class ApiError extends Error {
  readonly status: Status;
  constructor(status: Status) {
    super(status.message ?? status.reason ?? `HTTP ${status.code}`);
    this.name = 'ApiError';
    this.status = status;
  }
}

export function failure(code: number, message: string, reason?: string, details?: StatusDetails): Status {
  const status: Status = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: reason ?? REASON_BY_CODE[code] ?? '',
    code,
  };
  return details === undefined ? status : { ...status, details };
}

/** `pods` for the core group, `ippools.margay.io` otherwise (schema.GroupResource.String()). */
export function groupResource(def: ResourceDef): string {
  return def.group === '' ? def.resource : `${def.resource}.${def.group}`;
}

function resourceDetails(def: ResourceDef, name: string): StatusDetails {
  return def.group === '' ? { name, kind: def.resource } : { name, group: def.group, kind: def.resource };
}

export function notFound(def: ResourceDef, name: string): ApiError {
  return new ApiError(
    failure(404, `${groupResource(def)} "${name}" not found`, 'NotFound', resourceDetails(def, name)),
  );
}

export function alreadyExists(def: ResourceDef, name: string): ApiError {
  return new ApiError(
    failure(
      409,
      `${groupResource(def)} "${name}" already exists`,
      'AlreadyExists',
      resourceDetails(def, name),
    ),
  );
}

export function conflict(def: ResourceDef, name: string, why: string): ApiError {
  return new ApiError(
    failure(
      409,
      `Operation cannot be fulfilled on ${groupResource(def)} "${name}": ${why}`,
      'Conflict',
      resourceDetails(def, name),
    ),
  );
}

export const STALE_OBJECT =
  'the object has been modified; please apply your changes to the latest version and try again';

/** 422 Invalid, `Pod "x" is invalid: metadata.name: Required value: …` (errors.NewInvalid). */
export function invalid(def: ResourceDef, name: string, causes: readonly StatusCause[]): ApiError {
  const qualifiedKind = def.group === '' ? def.kind : `${def.kind}.${def.group}`;
  const summary = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).join(', ');
  const details: StatusDetails =
    def.group === '' ? { name, kind: def.kind, causes } : { name, group: def.group, kind: def.kind, causes };
  return new ApiError(failure(422, `${qualifiedKind} "${name}" is invalid: ${summary}`, 'Invalid', details));
}

export function badRequest(message: string): ApiError {
  return new ApiError(failure(400, message, 'BadRequest'));
}

/** 410 Gone with reason Expired: a watch or list from a resourceVersion that has been compacted. */
export function expired(message: string): Status {
  return failure(410, message, 'Expired');
}

/** 504 for a resourceVersion the server has not reached (storage.NewTooLargeResourceVersionError). */
export function tooLargeResourceVersion(requested: number, current: number): ApiError {
  return new ApiError(
    failure(504, `Too large resource version: ${requested}, current: ${current}`, 'Timeout', {
      causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
      retryAfterSeconds: 1,
    }),
  );
}
