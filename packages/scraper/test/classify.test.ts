import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScraper, type Scraper } from '../src/index.js';
import { scraperConfig } from './fixtures/config.js';
import { vendorPages } from './fixtures/pages.js';
import { TargetServer } from './fixtures/target-server.js';

// Auto mode without a ZenRows key cannot escalate: it returns the standard page with the verdict,
// which is exactly what this suite inspects.
describe('block and JS-shell classification (auto mode, no ZenRows key)', () => {
  let target: TargetServer;
  let scraper: Scraper;

  beforeAll(async () => {
    target = await TargetServer.start(vendorPages);
    scraper = createScraper({ config: scraperConfig({ allowHosts: [`localhost:${target.port}`], perDomainPerMinute: 100_000 }) });
  });
  afterAll(async () => {
    await scraper.close();
    await target.close();
  });

  it.each([
    ['/cf-challenge', 'cloudflare'],
    ['/cf-legacy', 'cloudflare'],
    ['/datadome', 'datadome'],
    ['/perimeterx', 'perimeterx'],
    ['/incapsula', 'incapsula'],
    ['/forbidden', 'http-403'],
    ['/too-many', 'http-429'],
    ['/spa', 'needs-js'],
    ['/next-shell', 'needs-js'],
  ])('%s is classified as %s', async (path, reason) => {
    const r = await scraper.scrape({ url: target.url(path), mode: 'auto' });
    expect(r.mode).toBe('standard');
    expect(r.blocked).toBe(reason);
  });

  it.each(['/mentions', '/ssr'])('%s is not blocked (no broad substring matches)', async (path) => {
    const r = await scraper.scrape({ url: target.url(path), mode: 'auto' });
    expect(r.blocked).toBeUndefined();
    expect(r.content.length).toBeGreaterThan(100);
  });
});
