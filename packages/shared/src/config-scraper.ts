import type { EnvReader } from './env-reader.js';

/** Scraper settings (owned by packages/scraper's needs; read here so loadConfig stays the one reader). */
export interface ScraperConfig {
  zenrowsApiKey: string | undefined;
  zenrowsConcurrency: number;
  perDomainPerMinute: number;
}

export function readScraperConfig(r: EnvReader): ScraperConfig {
  return {
    zenrowsApiKey: r.string('DROVER_ZENROWS_API_KEY'),
    zenrowsConcurrency: r.int('DROVER_ZENROWS_CONCURRENCY', 5, { min: 1, max: 10_000 }),
    perDomainPerMinute: r.int('DROVER_SCRAPER_DOMAIN_RATE_PER_MIN', 60, { min: 1, max: 1_000_000 }),
  };
}
