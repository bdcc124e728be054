import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from '@drover/shared';

export interface RetryPolicy {
  /** Further attempts after the first; 0 disables retrying. */
  retries: number;
  /** First backoff step; doubles each attempt, with jitter. */
  baseMs: number;
  /** Upper bound of one wait, Retry-After included, so a server cannot park us for an hour. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 4, baseMs: 200, maxDelayMs: 10_000 };

/** What to do with a failed attempt: give up, or retry (after the server's Retry-After if it sent one). */
export type RetryDecision = { retry: false } | { retry: true; afterMs?: number };

/**
 * Runs `attempt` until it succeeds, `decide` says the error is final, or the retries are used
 * up; then the last error is thrown. The wait honours an abort signal.
 */
export async function withRetry<T>(
  attempt: (n: number) => Promise<T>,
  decide: (err: unknown) => RetryDecision,
  policy: RetryPolicy,
  signal?: AbortSignal,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      const decision = decide(err);
      if (!decision.retry || n > policy.retries || signal?.aborted) throw err;
      const wait = decision.afterMs ?? backoffDelay(n, policy.baseMs);
      await sleep(Math.min(wait, policy.maxDelayMs), undefined, { signal });
    }
  }
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); undefined if absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
