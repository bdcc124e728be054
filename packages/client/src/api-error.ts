import type { ProblemBody } from './api-types.js';
import { ClientErrorCodes, DroverClientError } from './client-error.js';

/** What an error answer carried, as the transport read it. */
export interface ApiErrorInit {
  status: number;
  code: string;
  title: string;
  detail: string;
  /** From Retry-After, when the answer had one. */
  retryAfterMs: number | undefined;
  /** The parsed problem document, or the raw text when the body was not JSON. */
  body: unknown;
}

/**
 * An error answer of the API (RFC 9457 problem details). Branch on `code` (stable, listed in
 * docs/errors.md) or on the subclass, never on `detail`, which is for people.
 */
export class DroverApiError extends DroverClientError {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly retryAfterMs: number | undefined;
  readonly body: unknown;
  /** Field-level problems (JSON pointers) of a validation error; empty otherwise. */
  readonly errors: Array<{ path: string; message: string }>;

  constructor(init: ApiErrorInit) {
    super(init.code, `${init.detail} (${init.code}, HTTP ${init.status})`);
    this.name = 'DroverApiError';
    this.status = init.status;
    this.title = init.title;
    this.detail = init.detail;
    this.retryAfterMs = init.retryAfterMs;
    this.body = init.body;
    const errors = (init.body as Partial<ProblemBody> | null)?.errors;
    this.errors = Array.isArray(errors) ? errors : [];
  }
}

/** 400, 413, 415: the request itself is wrong (see `errors` for the fields). */
export class DroverValidationError extends DroverApiError {
  override readonly name = 'DroverValidationError';
}
/** 401 (missing or unknown key) and 403 (the tenant may not do this). */
export class DroverAuthError extends DroverApiError {
  override readonly name = 'DroverAuthError';
}
/** 404: no such task, schedule, queue or route for this tenant. */
export class DroverNotFoundError extends DroverApiError {
  override readonly name = 'DroverNotFoundError';
}
/** 409: idempotency key reused, task already finished, not a dead letter. */
export class DroverConflictError extends DroverApiError {
  override readonly name = 'DroverConflictError';
}
/** 429: backpressure or a rate limit; `retryAfterMs` says when to come back. */
export class DroverRateLimitError extends DroverApiError {
  override readonly name = 'DroverRateLimitError';
}
/** 502, 503, 504: the backend or a replica is unavailable; worth retrying. */
export class DroverUnavailableError extends DroverApiError {
  override readonly name = 'DroverUnavailableError';
}

/**
 * The error for an answer of `status` with `body` (already parsed, or text). A body that is not a
 * problem document (a proxy's HTML page) still gets a typed error, with a client-side code.
 */
export function apiErrorOf(status: number, body: unknown, retryAfterMs: number | undefined): DroverApiError {
  const problem = isProblem(body) ? body : undefined;
  const init: ApiErrorInit = {
    status,
    code: problem?.code ?? ClientErrorCodes.UNEXPECTED_RESPONSE,
    title: problem?.title ?? `HTTP ${status}`,
    detail: problem?.detail ?? `The server answered HTTP ${status} without a problem document${typeof body === 'string' && body.length > 0 ? `: ${body.slice(0, 200)}` : ''}.`,
    retryAfterMs,
    body,
  };
  const Family = familyOf(status);
  return new Family(init);
}

function familyOf(status: number): typeof DroverApiError {
  if (status === 401 || status === 403) return DroverAuthError;
  if (status === 404) return DroverNotFoundError;
  if (status === 409) return DroverConflictError;
  if (status === 429) return DroverRateLimitError;
  if (status === 502 || status === 503 || status === 504) return DroverUnavailableError;
  if (status === 400 || status === 413 || status === 415 || status === 422) return DroverValidationError;
  return DroverApiError;
}

function isProblem(body: unknown): body is ProblemBody {
  if (typeof body !== 'object' || body === null) return false;
  const p = body as Record<string, unknown>;
  return typeof p.code === 'string' && typeof p.detail === 'string';
}
