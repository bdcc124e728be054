import { ScrapeInput } from '@drover/shared';
import type { Scraper } from '@drover/scraper';
import { defineTask } from '../task-definition.js';

/**
 * The built-in `scrape` task: one fetch through the scraper (SSRF guard, cluster-wide rate
 * limits, auto escalation to ZenRows), bounded by the attempt's timeout and cancel signal.
 */
export function scrapeTask(scraper: Scraper) {
  return defineTask({
    name: 'scrape',
    queue: 'scrape',
    input: ScrapeInput,
    description: 'Fetches a web page and extracts its content.',
    timeoutMs: 120_000,
    maxAttempts: 3,
    backoffMs: 2000,
    run: (input, ctx) => scraper.scrape(input, { signal: ctx.signal, deadline: Date.now() + ctx.task.timeoutMs }),
  });
}
