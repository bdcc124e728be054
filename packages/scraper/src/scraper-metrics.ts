import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * The scraper's metrics, registered once per registry (a worker may build several scrapers on
 * one registry, e.g. in tests or embedded mode, and prom-client refuses duplicate names).
 */
export class ScraperMetrics {
  readonly requests: Counter<'mode' | 'outcome'>;
  readonly escalations: Counter<'reason'>;
  readonly zenrowsCost: Counter;
  readonly zenrowsAttempts: Counter<'outcome'>;
  readonly zenrowsConcurrencyRemaining: Gauge;
  readonly rateLimitWaits: Counter<'scope'>;
  readonly rateLimitWaitSeconds: Histogram<'scope'>;
  readonly duration: Histogram<'mode'>;

  constructor(registry: Registry) {
    this.requests = reuse(registry, 'drover_scraper_requests_total', () => new Counter({ name: 'drover_scraper_requests_total', help: 'Scrapes by final mode and outcome (ok, blocked, needs_js, or an error code)', labelNames: ['mode', 'outcome'], registers: [registry] }));
    this.escalations = reuse(registry, 'drover_scraper_escalations_total', () => new Counter({ name: 'drover_scraper_escalations_total', help: 'Auto-mode escalations to ZenRows by reason (a block vendor, spa-shell, remembered)', labelNames: ['reason'], registers: [registry] }));
    this.zenrowsCost = reuse(registry, 'drover_scraper_zenrows_cost_total', () => new Counter({ name: 'drover_scraper_zenrows_cost_total', help: 'ZenRows credits charged (sum of X-Request-Cost)', registers: [registry] }));
    this.zenrowsAttempts = reuse(registry, 'drover_scraper_zenrows_attempts_total', () => new Counter({ name: 'drover_scraper_zenrows_attempts_total', help: 'ZenRows API calls by outcome (ok or an error code)', labelNames: ['outcome'], registers: [registry] }));
    this.zenrowsConcurrencyRemaining = reuse(registry, 'drover_scraper_zenrows_concurrency_remaining', () => new Gauge({ name: 'drover_scraper_zenrows_concurrency_remaining', help: 'Concurrency-Remaining reported by the last ZenRows response', registers: [registry] }));
    this.rateLimitWaits = reuse(registry, 'drover_scraper_rate_limit_waits_total', () => new Counter({ name: 'drover_scraper_rate_limit_waits_total', help: 'Requests that had to wait for a rate limit or cooldown', labelNames: ['scope'], registers: [registry] }));
    this.rateLimitWaitSeconds = reuse(registry, 'drover_scraper_rate_limit_wait_seconds', () => new Histogram({ name: 'drover_scraper_rate_limit_wait_seconds', help: 'Time spent waiting for rate limits', labelNames: ['scope'], buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60], registers: [registry] }));
    this.duration = reuse(registry, 'drover_scraper_duration_seconds', () => new Histogram({ name: 'drover_scraper_duration_seconds', help: 'Whole-scrape duration by final mode', labelNames: ['mode'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers: [registry] }));
  }
}

function reuse<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}
