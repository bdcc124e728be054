import { testRedisUrl, uniqueName } from '@drover/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScraper, ScrapeErrorCodes } from '../src/index.js';
import { MemoryRateLimitStore, RateLimiter, RedisRateLimitStore } from '../src/rate-limit.js';
import { scraperConfig } from './fixtures/config.js';
import { html, TargetServer } from './fixtures/target-server.js';

describe('rate limits', () => {
  let redis: Redis;
  let target: TargetServer;
  beforeAll(async () => {
    redis = new Redis(testRedisUrl());
    let throttle = 0;
    target = await TargetServer.start({
      '/p': (_req, res) => html(res, '<title>p</title>'),
      // Answers 429 with Retry-After to the first request after /arm.
      '/arm': (_req, res) => {
        throttle = 1;
        html(res, 'armed');
      },
      '/maybe-429': (_req, res) => {
        if (throttle > 0) {
          throttle -= 1;
          html(res, 'slow down', 429, { 'retry-after': '1' });
        } else html(res, '<title>ok</title>');
      },
    });
  });
  afterAll(async () => {
    await target.close();
    await redis.quit();
  });

  for (const kind of ['redis', 'memory'] as const) {
    it(`${kind}: admits the limit per window (paced), then makes the next caller wait for the oldest to expire`, async () => {
      const store = kind === 'redis' ? new RedisRateLimitStore(redis, uniqueName('rl')) : new MemoryRateLimitStore();
      const limiter = new RateLimiter(store, 1000);
      const specs = [{ key: 'domain:a', limit: 3 }];
      const times: number[] = [];
      const t0 = Date.now();
      for (let i = 0; i < 4; i++) {
        await limiter.acquire(specs, { deadline: Date.now() + 5_000 });
        times.push(Date.now() - t0);
      }
      // Three within the window, at least half an interval (166 ms) apart; the fourth a window after the first.
      expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(160);
      expect(times[2]!).toBeLessThan(800);
      expect(times[3]!).toBeGreaterThanOrEqual(990);
    });

    it(`${kind}: fails with RATE_LIMITED when the wait would pass the deadline`, async () => {
      const store = kind === 'redis' ? new RedisRateLimitStore(redis, uniqueName('rl')) : new MemoryRateLimitStore();
      const limiter = new RateLimiter(store, 60_000);
      await limiter.acquire([{ key: 'd', limit: 1 }], { deadline: Date.now() + 1000 });
      await expect(limiter.acquire([{ key: 'd', limit: 1 }], { deadline: Date.now() + 1000 })).rejects.toMatchObject({
        code: ScrapeErrorCodes.RATE_LIMITED,
        retryable: true,
      });
    });

    it(`${kind}: a cooldown pauses the key, halves its rate, then probes back up`, async () => {
      const store = kind === 'redis' ? new RedisRateLimitStore(redis, uniqueName('rl')) : new MemoryRateLimitStore();
      const limiter = new RateLimiter(store, 1000);
      const specs = [{ key: 'domain:c', limit: 4 }];
      const acquire = () => limiter.acquire(specs, { deadline: Date.now() + 5_000 });
      const t0 = Date.now();
      await limiter.penalize('domain:c', 200);
      await acquire();
      expect(Date.now() - t0).toBeGreaterThanOrEqual(195);
      // Halved to 2 per window: the third waits for the first to leave the window (~1 s).
      await acquire();
      const t1 = Date.now();
      await acquire();
      expect(Date.now() - t1).toBeGreaterThanOrEqual(300);
      // After a quiet window at the reduced rate it doubles back to 4: four fit in one window.
      await new Promise((r) => setTimeout(r, 1100));
      const t2 = Date.now();
      for (let i = 0; i < 4; i++) await acquire();
      expect(Date.now() - t2).toBeLessThan(900);
    });
  }

  it('a 429 with Retry-After from a target slows that domain for every scraper sharing Redis', async () => {
    const prefix = uniqueName('lim');
    const config = scraperConfig({ allowHosts: [`localhost:${target.port}`], perDomainPerMinute: 100_000 });
    const a = createScraper({ config, redis, prefix });
    const b = createScraper({ config, redis, prefix });
    try {
      await a.scrape({ url: target.url('/arm'), mode: 'standard' });
      const blocked = await a.scrape({ url: target.url('/maybe-429'), mode: 'standard' });
      expect(blocked.blocked).toBe('http-429');
      const t0 = Date.now();
      const r = await b.scrape({ url: target.url('/maybe-429'), mode: 'standard' });
      expect(r.status).toBe(200);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
      expect(r.timings.rateLimitWaitMs).toBeGreaterThanOrEqual(900);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('scrapes wait for the per-domain limit within the task deadline, and fail past it', async () => {
    const prefix = uniqueName('lim');
    const s = createScraper({ config: scraperConfig({ allowHosts: [`localhost:${target.port}`], perDomainPerMinute: 2, rateWindowMs: 500 }), redis, prefix });
    try {
      await s.scrape({ url: target.url('/p'), mode: 'standard' });
      await s.scrape({ url: target.url('/p'), mode: 'standard' });
      const third = await s.scrape({ url: target.url('/p'), mode: 'standard' });
      expect(third.timings.rateLimitWaitMs).toBeGreaterThan(200);
      await s.scrape({ url: target.url('/p'), mode: 'standard' });
      await expect(s.scrape({ url: target.url('/p'), mode: 'standard' }, { deadline: Date.now() + 50 })).rejects.toMatchObject({ code: ScrapeErrorCodes.RATE_LIMITED });
    } finally {
      await s.close();
    }
  });
});
