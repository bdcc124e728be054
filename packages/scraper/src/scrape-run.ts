import type { Logger } from '@drover/shared';
import type { DeadlineSignal } from './deadline-signal.js';
import type { LimitSpec, RateLimiter } from './rate-limit.js';
import { retryAfterMs } from './retry-after.js';
import type { HopHooks } from './scrape-hop.js';
import type { ScraperMetrics } from './scraper-metrics.js';
import { firstHeader } from './standard-fetcher.js';

/** Longest pause a target's Retry-After may impose on everyone. */
const MAX_RETRY_AFTER_MS = 600_000;

export interface RunDeps {
  limiter: RateLimiter;
  metrics: ScraperMetrics;
  limitsFor(url: URL): LimitSpec[];
  log: Logger | undefined;
}

/**
 * One scrape in progress: its deadline and budget signal, the time it spent waiting for limits,
 * and the hooks the interceptors call for each of its hops. A class rather than closures, since
 * one is made per scrape on the hot path.
 */
export class ScrapeRun implements HopHooks {
  rateLimitWaitMs = 0;
  /** Cooldowns being recorded; awaited before the scrape returns so the next one sees them. */
  readonly penalties: Promise<void>[] = [];

  constructor(
    readonly url: URL,
    readonly deadline: number,
    readonly budget: DeadlineSignal,
    readonly started: number,
    private readonly deps: RunDeps,
  ) {}

  /** The AbortSignal of this run, built only when something has to wait on it. */
  get signal(): AbortSignal {
    return this.budget.signal;
  }

  gate(url: URL): Promise<void> | undefined {
    const specs = this.deps.limitsFor(url);
    // In-process limits answer synchronously; an admitted request then costs no promise at all.
    if (this.deps.limiter.admitNow(specs)) return undefined;
    return this.deps.limiter.acquire(specs, this).then((waited) => {
      if (waited <= 0) return;
      this.deps.metrics.rateLimitWaits.inc({ scope: 'domain' });
      this.deps.metrics.rateLimitWaitSeconds.observe({ scope: 'domain' }, waited / 1000);
      this.rateLimitWaitMs += waited;
    });
  }

  observe(url: URL, status: number, headers: Record<string, string | string[] | undefined>): void {
    // A 429, or a 503 with Retry-After, slows this host down for every worker.
    const retryAfter = retryAfterMs(firstHeader(headers['retry-after']));
    if (status === 503 && retryAfter === undefined) return;
    this.penalties.push(
      this.deps.limiter.penalize(`domain:${url.hostname.toLowerCase()}`, Math.min(retryAfter ?? 0, MAX_RETRY_AFTER_MS)).catch((err: unknown) => {
        this.deps.log?.warn({ err }, 'could not record a cooldown');
      }),
    );
  }
}
