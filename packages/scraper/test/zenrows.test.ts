import { PassThrough } from 'node:stream';
import { createLogger } from '@drover/shared';
import { testRedisUrl, uniqueName } from '@drover/testkit';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createScraper, ScrapeErrorCodes, type Scraper, type ScraperOptions } from '../src/index.js';
import { RedisSemaphore } from '../src/semaphore.js';
import { scraperConfig } from './fixtures/config.js';
import { vendorPages } from './fixtures/pages.js';
import { html, TargetServer } from './fixtures/target-server.js';
import { ZenrowsFake } from './fixtures/zenrows-fake.js';

describe('ZenRows mode against a local ZenRows-compatible server', () => {
  let target: TargetServer;
  let fake: ZenrowsFake;
  let redis: Redis;
  const scrapers: Scraper[] = [];
  let logged = '';

  const make = (overrides: Partial<ScraperOptions['config']> = {}, extra: Partial<ScraperOptions> = {}) => {
    const logStream = new PassThrough();
    logStream.on('data', (d: Buffer) => {
      logged += d.toString();
    });
    const s = createScraper({
      config: scraperConfig({
        allowHosts: [`localhost:${target.port}`],
        perDomainPerMinute: 100_000,
        zenrowsApiKey: fake.apiKey,
        zenrowsUrl: fake.baseUrl,
        ...overrides,
      }),
      redis,
      prefix: uniqueName('zr'),
      zenrowsBackoffMs: 10,
      logger: createLogger({ service: 'test', instance: 'i', region: 'r', level: 'debug', destination: logStream }),
      ...extra,
    });
    scrapers.push(s);
    return s;
  };

  beforeAll(async () => {
    target = await TargetServer.start({ ...vendorPages, '/plain': (_req, res) => html(res, '<title>plain</title><p>hello world</p>') });
    fake = await ZenrowsFake.start({ concurrencyLimit: 5 });
    redis = new Redis(testRedisUrl());
  });
  beforeEach(() => {
    fake.delayMs = 0;
  });
  afterAll(async () => {
    await Promise.all(scrapers.map((s) => s.close()));
    await fake.close();
    await target.close();
    await redis.quit();
    expect(logged).not.toContain(fake.apiKey);
  });

  it('sends the documented parameters and records cost, final URL and concurrency headers', async () => {
    const registry = new Registry();
    const s = make({}, { registry });
    const r = await s.scrape({
      url: target.url('/plain?q=1'),
      mode: 'zenrows',
      format: 'text',
      zenrows: { js_render: true, wait: 500, wait_for: '#main', block_resources: 'image,font', premium_proxy: true, proxy_country: 'US', session_id: 42 },
    });
    const q = fake.requests.at(-1)!;
    expect(Object.fromEntries(q)).toMatchObject({
      url: target.url('/plain?q=1'),
      js_render: 'true',
      wait: '500',
      wait_for: '#main',
      block_resources: 'image,font',
      premium_proxy: 'true',
      proxy_country: 'us',
      session_id: '42',
      apikey: fake.apiKey,
    });
    expect(r).toMatchObject({ mode: 'zenrows', status: 200, cost: 25, finalUrl: `${target.url('/plain?q=1')}&final=1`, title: `Rendered ${target.url('/plain?q=1')}` });
    expect(r.zenrows).toMatchObject({ attempts: 1, concurrencyLimit: 5, concurrencyRemaining: 4 });
    expect(r.links).toEqual([target.url('/after')]);
    const metrics = await registry.getMetricsAsJSON();
    const cost = metrics.find((m) => m.name === 'drover_scraper_zenrows_cost_total')!;
    expect(cost.values[0]!.value).toBe(25);
    const requests = metrics.find((m) => m.name === 'drover_scraper_requests_total')!;
    expect(requests.values).toContainEqual(expect.objectContaining({ labels: { mode: 'zenrows', outcome: 'ok' }, value: 1 }));
  });

  it('supports response_type, css_extractor, original_status and custom headers', async () => {
    const s = make();
    const md = await s.scrape({ url: target.url('/plain'), mode: 'zenrows', zenrows: { response_type: 'markdown' } });
    expect(md.content).toBe('# Rendered\n\njs_render=false');
    const css = await s.scrape({ url: target.url('/plain'), mode: 'zenrows', zenrows: { css_extractor: { title: 'h1', links: 'a @href' } } });
    expect(JSON.parse(css.content)).toEqual({ title: 'value of title', links: 'value of links' });
    expect(fake.requests.at(-1)!.get('css_extractor')).toBe(JSON.stringify({ title: 'h1', links: 'a @href' }));
    const st = await s.scrape({ url: target.url('/status/404'), mode: 'zenrows', zenrows: { original_status: true } });
    expect(st.status).toBe(404);
    const h = await s.scrape({ url: target.url('/plain'), mode: 'zenrows', headers: { 'X-Custom': 'from-task' } });
    expect(fake.requests.at(-1)!.get('custom_headers')).toBe('true');
    expect(h.content).toContain('header=from-task');
  });

  it.each([
    [{ wait: 1000 }, 'wait needs js_render'],
    [{ wait_for: '.x' }, 'wait_for needs js_render'],
    [{ block_resources: 'image' }, 'block_resources needs js_render'],
    [{ proxy_country: 'de' }, 'proxy_country needs premium_proxy'],
    [{ mode: 'auto' as const, js_render: true }, 'mode "auto"'],
    [{ js_render: true, block_resources: 'images' }, 'block_resources accepts'],
  ])('refuses %j before spending a request', async (zenrows, message) => {
    const s = make();
    const before = fake.requests.length;
    const err = await s.scrape({ url: target.url('/plain'), mode: 'zenrows', zenrows }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ScrapeErrorCodes.ZENROWS_BAD_PARAMS, retryable: false });
    expect((err as Error).message).toContain(message);
    expect(fake.requests.length).toBe(before);
  });

  it.each([
    [400, 'REQS002', ScrapeErrorCodes.ZENROWS_BAD_PARAMS],
    [401, 'AUTH002', ScrapeErrorCodes.ZENROWS_AUTH],
    [402, 'AUTH004', ScrapeErrorCodes.ZENROWS_PAYMENT],
  ])('does not retry %i %s', async (status, code, ours) => {
    const s = make();
    fake.failNext({ status, code });
    const before = fake.requests.length;
    await expect(s.scrape({ url: target.url('/plain'), mode: 'zenrows' })).rejects.toMatchObject({ code: ours, retryable: false, details: { zenrowsCode: code, status } });
    expect(fake.requests.length - before).toBe(1);
  });

  it('retries 422, 429 and 5xx with backoff, then succeeds', async () => {
    const s = make();
    fake.failNext({ status: 422, code: 'RESP001' }, { status: 429, code: 'AUTH006' }, { status: 503, code: 'SRV001' });
    const r = await s.scrape({ url: target.url('/plain'), mode: 'zenrows' });
    expect(r.zenrows?.attempts).toBe(4);
  });

  it('gives up after the retry budget with a retryable error', async () => {
    const s = make({ zenrowsMaxRetries: 2 });
    fake.failNext({ status: 422, code: 'RESP001' }, { status: 422, code: 'RESP001' }, { status: 422, code: 'RESP001' });
    await expect(s.scrape({ url: target.url('/plain'), mode: 'zenrows' })).rejects.toMatchObject({ code: ScrapeErrorCodes.ZENROWS_UNPROCESSABLE, retryable: true });
  });

  it('never puts the API key in errors, even when ZenRows echoes it', async () => {
    const s = make({ zenrowsApiKey: 'wrong-key-SECRET-987' });
    const err = (await s.scrape({ url: target.url('/plain'), mode: 'zenrows' }).catch((e: unknown) => e)) as Error & { details?: unknown };
    expect(err).toMatchObject({ code: ScrapeErrorCodes.ZENROWS_AUTH });
    const text = `${err.message} ${JSON.stringify(err)} ${JSON.stringify(err.details)} ${err.stack}`;
    expect(text).not.toContain('wrong-key-SECRET-987');
    expect(logged).not.toContain('wrong-key-SECRET-987');
  });

  it('requires a configured key', async () => {
    const s = make({ zenrowsApiKey: undefined });
    await expect(s.scrape({ url: target.url('/plain'), mode: 'zenrows' })).rejects.toMatchObject({ code: ScrapeErrorCodes.ZENROWS_NOT_CONFIGURED });
  });

  it('a 429 with Retry-After cools ZenRows down for every worker', async () => {
    const prefix = uniqueName('cool');
    const s = make({}, { prefix });
    fake.failNext({ status: 429, code: 'AUTH006', retryAfter: 1 });
    const t0 = Date.now();
    await s.scrape({ url: target.url('/plain'), mode: 'zenrows' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    const until = Number(await redis.hget(`${prefix}:scraper:cooldown:zenrows`, 'until'));
    expect(until).toBeGreaterThan(t0);
  });

  it('a cancelled request keeps its slot until ZenRows finishes it', async () => {
    const s = make({ zenrowsConcurrency: 1 });
    fake.delayMs = 400;
    const before429 = fake.requests.length;
    const ac = new AbortController();
    const first = s.scrape({ url: target.url('/plain'), mode: 'zenrows' }, { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await expect(first).rejects.toMatchObject({ code: ScrapeErrorCodes.ABORTED });
    const completedAtAbort = fake.completed;
    const second = await s.scrape({ url: target.url('/plain'), mode: 'zenrows' });
    // The second request only started after the first finished server-side.
    expect(fake.completed).toBe(completedAtAbort + 2);
    expect(second.timings.slotWaitMs).toBeGreaterThan(200);
    expect(fake.requests.length - before429).toBe(2);
  });

  it('auto mode escalates a blocked page, remembers the domain in Redis and goes straight there next time', async () => {
    const prefix = uniqueName('auto');
    const registry = new Registry();
    const s = make({ modeTtlMs: 60_000 }, { prefix, registry });
    const r = await s.scrape({ url: target.url('/cf-challenge'), mode: 'auto' });
    expect(r).toMatchObject({ mode: 'zenrows', escalated: { from: 'standard', reason: 'cloudflare' } });
    expect(fake.requests.at(-1)!.get('mode')).toBe('auto');
    expect(await redis.get(`${prefix}:scraper:mode:localhost`)).toBe('zenrows');
    const ttl = await redis.pttl(`${prefix}:scraper:mode:localhost`);
    expect(ttl).toBeGreaterThan(50_000);
    const hits = target.hits.length;
    const again = await s.scrape({ url: target.url('/plain'), mode: 'auto' });
    expect(again).toMatchObject({ mode: 'zenrows', escalated: { reason: 'remembered' } });
    expect(target.hits.length).toBe(hits);
    const esc = (await registry.getMetricsAsJSON()).find((m) => m.name === 'drover_scraper_escalations_total')!;
    expect(esc.values.map((v) => v.labels['reason']).sort()).toEqual(['cloudflare', 'remembered']);
  });

  it('auto mode renders an SPA shell with js_render and keeps ok domains on standard', async () => {
    const prefix = uniqueName('auto');
    const s = make({}, { prefix });
    const r = await s.scrape({ url: target.url('/spa'), mode: 'auto' });
    expect(r).toMatchObject({ mode: 'zenrows', escalated: { reason: 'spa-shell' } });
    expect(fake.requests.at(-1)!.get('js_render')).toBe('true');

    const other = uniqueName('auto');
    const s2 = make({}, { prefix: other });
    const ok = await s2.scrape({ url: target.url('/plain'), mode: 'auto' });
    expect(ok.mode).toBe('standard');
    expect(await redis.get(`${other}:scraper:mode:localhost`)).toBe('standard');
  });
});

describe('ZenRows semaphore leases', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    await redis.quit();
  });

  it("a crashed worker's slot comes back when its lease expires", async () => {
    const key = `${uniqueName('sem')}:slots`;
    // A holder that will never renew nor release: its lease ends in 300 ms.
    const [sec, usec] = await redis.time();
    await redis.zadd(key, Number(sec) * 1000 + Math.floor(Number(usec) / 1000) + 300, 'crashed-worker');
    const sem = new RedisSemaphore(redis, key, 1, 5_000);
    await expect(sem.acquire({ deadline: Date.now() + 100 })).rejects.toMatchObject({ code: ScrapeErrorCodes.ZENROWS_SLOT_TIMEOUT, retryable: true });
    const lease = await sem.acquire({ deadline: Date.now() + 2_000 });
    expect(await redis.zscore(key, 'crashed-worker')).toBeNull();
    await lease.release();
    expect(await redis.zcard(key)).toBe(0);
  });
});
