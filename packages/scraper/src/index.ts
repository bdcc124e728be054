/**
 * @drover/scraper — fetches web pages for agents: standard (undici) and ZenRows modes, `auto`
 * escalation, an SSRF guard enforced at connect time, and cluster-wide limits in Redis.
 */
export { createScraper } from './scraper.js';
export { retryAfterMs } from './retry-after.js';
export type { FetchResult, Scraper, ScraperOptions, ScrapeContext, ScrapeRequest, ScrapeResult } from './scraper-options.js';
export { ScrapeError, ScrapeErrorCodes, isScrapeError, type ScrapeErrorCode } from './scrape-error.js';
export { classify, isSpaShell, type Verdict, type BlockReason } from './classify.js';
export { classifyAddress, type AddressClass } from './address-class.js';
export { AllowList } from './allow-list.js';
export { vetDestination, systemLookup, type LookupFn, type ResolvedAddress } from './ssrf-guard.js';
export { checkTargetUrl, type UrlPolicy } from './target-url.js';
export { validateZenrowsOptions } from './zenrows-params.js';
export { ScraperMetrics } from './scraper-metrics.js';
