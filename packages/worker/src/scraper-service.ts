import { type Scraper, createScraper } from '@drover/scraper';
import { type DroverConfig, type Logger, type Registry, createRedis } from '@drover/shared';

/**
 * The scraper a worker process hands to the `scrape` task. With Redis configured its limits
 * (per-domain rate, ZenRows slots, cooldowns, remembered modes) are shared by every worker.
 */
export function startScraper(config: DroverConfig, logger: Logger, registry: Registry): { scraper: Scraper; close(): Promise<void> } {
  const redis = config.redisUrl ? createRedis(config.redisUrl, { maxRetriesPerRequest: 2, lazyConnect: false }) : undefined;
  redis?.on('error', (err) => logger.warn({ err: err.message }, 'scraper redis connection error'));
  const scraper = createScraper({ config: config.scraper, redis, logger, registry, prefix: config.prefix });
  return {
    scraper,
    async close() {
      await scraper.close();
      redis?.disconnect();
    },
  };
}
