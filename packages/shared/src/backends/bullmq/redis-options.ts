import { DroverError } from '../../errors.js';

/** Whatever a Redis call threw, as the error callers branch on. */
export function unavailable(err: unknown): DroverError {
  if (err instanceof DroverError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new DroverError('BACKEND_UNAVAILABLE', `Redis is unreachable (${message}); retry shortly.`, { retryable: true, cause: err });
}
