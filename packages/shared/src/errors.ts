/**
 * Errors with stable codes. Callers branch on `code`, never on message text.
 * The table in docs/errors.md lists every code; keep the two in step.
 */
export const ErrorCodes = {
  // client input (HTTP 4xx)
  BAD_REQUEST: { code: 'DROVER_ERR_BAD_REQUEST', status: 400, title: 'Bad request' },
  VALIDATION: { code: 'DROVER_ERR_VALIDATION', status: 400, title: 'Request failed validation' },
  INVALID_INPUT: { code: 'DROVER_ERR_INVALID_INPUT', status: 400, title: 'Task input does not match the task type schema' },
  UNKNOWN_TASK_TYPE: { code: 'DROVER_ERR_UNKNOWN_TASK_TYPE', status: 400, title: 'Unknown task type' },
  UNKNOWN_QUEUE: { code: 'DROVER_ERR_UNKNOWN_QUEUE', status: 400, title: 'Unknown queue' },
  BAD_TASK_ID: { code: 'DROVER_ERR_BAD_TASK_ID', status: 400, title: 'Malformed task id' },
  BAD_CURSOR: { code: 'DROVER_ERR_BAD_CURSOR', status: 400, title: 'Malformed cursor' },
  BATCH_TOO_LARGE: { code: 'DROVER_ERR_BATCH_TOO_LARGE', status: 400, title: 'Batch too large' },
  JSON_TOO_DEEP: { code: 'DROVER_ERR_JSON_TOO_DEEP', status: 400, title: 'JSON nested too deeply' },
  INPUT_UNSTORABLE: { code: 'DROVER_ERR_INPUT_UNSTORABLE', status: 400, title: 'Task input cannot be stored' },
  UNAUTHENTICATED: { code: 'DROVER_ERR_UNAUTHENTICATED', status: 401, title: 'Missing or invalid API key' },
  FORBIDDEN: { code: 'DROVER_ERR_FORBIDDEN', status: 403, title: 'Not allowed for this tenant' },
  TASK_NOT_FOUND: { code: 'DROVER_ERR_TASK_NOT_FOUND', status: 404, title: 'Task not found' },
  QUEUE_NOT_FOUND: { code: 'DROVER_ERR_QUEUE_NOT_FOUND', status: 404, title: 'Queue not found' },
  ROUTE_NOT_FOUND: { code: 'DROVER_ERR_ROUTE_NOT_FOUND', status: 404, title: 'No such route' },
  METHOD_NOT_ALLOWED: { code: 'DROVER_ERR_METHOD_NOT_ALLOWED', status: 405, title: 'Method not allowed' },
  IDEMPOTENCY_CONFLICT: { code: 'DROVER_ERR_IDEMPOTENCY_CONFLICT', status: 409, title: 'Idempotency key reused with a different request' },
  TASK_FINISHED: { code: 'DROVER_ERR_TASK_FINISHED', status: 409, title: 'Task already finished' },
  SCHEDULE_NOT_FOUND: { code: 'DROVER_ERR_SCHEDULE_NOT_FOUND', status: 404, title: 'Schedule not found' },
  NOT_DEAD_LETTER: { code: 'DROVER_ERR_NOT_DEAD_LETTER', status: 409, title: 'The task is not a dead letter' },
  PAYLOAD_TOO_LARGE: { code: 'DROVER_ERR_PAYLOAD_TOO_LARGE', status: 413, title: 'Request body too large' },
  UNSUPPORTED_MEDIA_TYPE: { code: 'DROVER_ERR_UNSUPPORTED_MEDIA_TYPE', status: 415, title: 'Unsupported media type' },
  BACKPRESSURE: { code: 'DROVER_ERR_BACKPRESSURE', status: 429, title: 'Queue backlog is full' },
  API_RATE_LIMITED: { code: 'DROVER_ERR_API_RATE_LIMITED', status: 429, title: "The API key's request rate is used up" },
  TENANT_RATE_LIMITED: { code: 'DROVER_ERR_TENANT_RATE_LIMITED', status: 429, title: "The tenant's submission rate is used up" },
  // server side
  BACKEND_UNAVAILABLE: { code: 'DROVER_ERR_BACKEND_UNAVAILABLE', status: 503, title: 'Queue backend unavailable' },
  SHUTTING_DOWN: { code: 'DROVER_ERR_SHUTTING_DOWN', status: 503, title: 'Shutting down' },
  INTERNAL: { code: 'DROVER_ERR_INTERNAL', status: 500, title: 'Internal error' },
  // task outcomes (stored in TaskRecord.error, not HTTP answers)
  TASK_FAILED: { code: 'DROVER_ERR_TASK_FAILED', status: 500, title: 'Task handler failed' },
  TASK_TIMEOUT: { code: 'DROVER_ERR_TASK_TIMEOUT', status: 504, title: 'Task exceeded its timeout' },
  TASK_CANCELED: { code: 'DROVER_ERR_TASK_CANCELED', status: 409, title: 'Task canceled' },
  TASK_INPUT_REJECTED: { code: 'DROVER_ERR_TASK_INPUT_REJECTED', status: 400, title: 'Worker rejected the task input' },
  NO_HANDLER: { code: 'DROVER_ERR_NO_HANDLER', status: 500, title: 'No worker handler for the task type' },
  TASK_QUARANTINED: { code: 'DROVER_ERR_TASK_QUARANTINED', status: 500, title: 'Quarantined as a poison task: its runs kept killing the worker' },
  CHILD_FAILED: { code: 'DROVER_ERR_CHILD_FAILED', status: 500, title: 'A child task failed or was canceled' },
  SPAWN_MISMATCH: { code: 'DROVER_ERR_SPAWN_MISMATCH', status: 500, title: 'A resumed task spawned different children than before' },
  // configuration
  CONFIG: { code: 'DROVER_ERR_CONFIG', status: 500, title: 'Invalid configuration' },
} as const;

export type ErrorKind = keyof typeof ErrorCodes;
export type ErrorCode = (typeof ErrorCodes)[ErrorKind]['code'];

export interface DroverErrorOptions {
  retryable?: boolean;
  details?: Record<string, unknown>;
  cause?: unknown;
  /** Extra response headers (e.g. Retry-After) when the error becomes an HTTP answer. */
  headers?: Record<string, string>;
}

export class DroverError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly title: string;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(kind: ErrorKind, message: string, options: DroverErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const entry = ErrorCodes[kind];
    this.name = 'DroverError';
    this.code = entry.code;
    this.status = entry.status;
    this.title = entry.title;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
    this.headers = options.headers;
  }
}

export function isDroverError(err: unknown): err is DroverError {
  return err instanceof DroverError;
}

/**
 * A handler error that should not be retried. Throw it from `run()` when another attempt
 * cannot succeed (bad input, a permanent 4xx from a dependency).
 */
export class PermanentError extends Error {
  readonly retryable = false;
  readonly code: string;
  constructor(message: string, code = 'DROVER_ERR_TASK_FAILED') {
    super(message);
    this.name = 'PermanentError';
    this.code = code;
  }
}
