/** Bounds of the client's retries (of requests and of event-stream reconnects). */
export interface RetryOptions {
  /** Attempts in all, the first included (1 turns retries off). Default 3. */
  attempts: number;
  /** Base of the exponential backoff. Default 250 ms. */
  baseMs: number;
  /** Longest single wait; a Retry-After longer than this is not waited out but thrown. Default 30 s. */
  maxMs: number;
}

export const DEFAULT_RETRIES: RetryOptions = { attempts: 3, baseMs: 250, maxMs: 30_000 };

/**
 * Wait before retry number `retry` (1 for the first retry): exponential with "equal jitter",
 * half fixed and half random, so a crowd of clients cut off together does not come back in step
 * yet none retries at once. A server's Retry-After wins over the curve, plus a little jitter.
 * undefined when the server asks for more than `maxMs`: the caller gets the error instead.
 */
export function retryDelay(retry: number, options: RetryOptions, retryAfterMs?: number, random: () => number = Math.random): number | undefined {
  if (retryAfterMs !== undefined) {
    if (retryAfterMs > options.maxMs) return undefined;
    return retryAfterMs + random() * Math.min(options.baseMs, 1000);
  }
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** (retry - 1));
  return ceiling / 2 + random() * (ceiling / 2);
}
