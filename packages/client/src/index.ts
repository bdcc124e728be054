export { DroverClient, type SubmitOptions, type WaitOptions } from './drover-client.js';
export type { DroverClientOptions } from './client-options.js';
export type { RetryOptions } from './backoff.js';
export type { EventStreamOptions } from './event-stream.js';
export { Queues } from './queues.js';
export { Schedules } from './schedules.js';
export { DeadLetters } from './dead-letters.js';
export { ClientErrorCodes, DroverClientError, DroverNetworkError, DroverTimeoutError } from './client-error.js';
export {
  DroverApiError,
  DroverAuthError,
  DroverConflictError,
  DroverNotFoundError,
  DroverRateLimitError,
  DroverUnavailableError,
  DroverValidationError,
} from './api-error.js';
export { SseParser, type SseMessage } from './sse-parser.js';
export { FINISHED_STATUSES, isFinished } from './task-status.js';
export type * from './api-types.js';
