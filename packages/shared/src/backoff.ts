/**
 * Exponential backoff with equal jitter: half the step is fixed, half random, so retries of
 * many tasks that failed together spread out instead of hitting a dependency in lockstep.
 * `attempt` is the attempt that just failed (1-based).
 */
export function backoffDelay(attempt: number, baseMs: number, random: () => number = Math.random): number {
  if (baseMs <= 0) return 0;
  const step = Math.min(baseMs * 2 ** Math.max(0, attempt - 1), MAX_BACKOFF_MS);
  return Math.round(step / 2 + random() * (step / 2));
}

export const MAX_BACKOFF_MS = 3_600_000;
