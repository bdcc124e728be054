import { Registry } from 'prom-client';
import { AllowList } from './allow-list.js';
import { decodeBody, detectCharset } from './charset.js';
import { type BlockReason, classify } from './classify.js';
import { MemoryModeMemory, type ModeMemory, RedisModeMemory } from './mode-memory.js';
import { type LimitSpec, MemoryRateLimitStore, RateLimiter, RedisRateLimitStore } from './rate-limit.js';
import { ScrapeError, ScrapeErrorCodes } from './scrape-error.js';
import { ScraperMetrics } from './scraper-metrics.js';
import type { ScrapeContext, Scraper, ScraperOptions, ScrapeRequest, ScrapeResult } from './scraper-options.js';
import { MemorySemaphore, RedisSemaphore } from './semaphore.js';
import { type FetchedPage, mimeOf, StandardFetcher } from './standard-fetcher.js';
import { checkTargetUrl, type UrlPolicy } from './target-url.js';
import { DeadlineSignal } from './deadline-signal.js';
import { type RunDeps, ScrapeRun } from './scrape-run.js';
import { ZenrowsClient, type ZenrowsResponse } from './zenrows-client.js';
import { type ScrapeZenrowsOptions, SpanKind, inSpan, trace, traceContext } from '@drover/shared';

/** Request headers a task may not set: they belong to the connection or to our decoding. */
const FORBIDDEN_HEADERS = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'te', 'upgrade', 'keep-alive', 'trailer', 'expect', 'accept-encoding', 'proxy-authorization', 'proxy-connection']);
const HTML_TYPES = new Set(['text/html', 'application/xhtml+xml']);
export function createScraper(options: ScraperOptions): Scraper {
  const { config } = options;
  const prefix = options.prefix ?? 'drover';
  const metrics = new ScraperMetrics(options.registry ?? new Registry());
  const log = options.logger?.child({ component: 'scraper' });
  const policy: UrlPolicy = { guard: config.ssrfGuard, allowList: new AllowList(config.allowHosts), allowPorts: config.allowPorts };
  const limiter = new RateLimiter(options.redis ? new RedisRateLimitStore(options.redis, prefix) : new MemoryRateLimitStore(), config.rateWindowMs);
  const modes: ModeMemory = options.redis ? new RedisModeMemory(options.redis, prefix, config.modeTtlMs) : new MemoryModeMemory(config.modeTtlMs);
  const semaphore = options.redis
    ? new RedisSemaphore(options.redis, `${prefix}:scraper:zenrows:slots`, config.zenrowsConcurrency, config.zenrowsLeaseMs)
    : new MemorySemaphore(config.zenrowsConcurrency);
  const zenrows = new ZenrowsClient({
    apiKey: config.zenrowsApiKey,
    baseUrl: config.zenrowsUrl,
    semaphore,
    limiter,
    timeoutMs: config.zenrowsTimeoutMs,
    maxRetries: config.zenrowsMaxRetries,
    maxResponseSize: config.maxResponseSize,
    backoffMs: options.zenrowsBackoffMs,
    onAttempt: (outcome) => metrics.zenrowsAttempts.inc({ outcome }),
  });

  // The specs of a host never change; keep a bounded cache so the hot path allocates none.
  const specsByHost = new Map<string, LimitSpec[]>();
  const limitsFor = (url: URL): LimitSpec[] => {
    let specs = specsByHost.get(url.hostname);
    if (specs) return specs;
    specs = [{ key: `domain:${url.hostname.toLowerCase()}`, limit: config.perDomainPerMinute }];
    if (config.globalPerMinute > 0) specs.unshift({ key: 'global', limit: config.globalPerMinute });
    if (specsByHost.size >= 10_000) specsByHost.clear();
    specsByHost.set(url.hostname, specs);
    return specs;
  };

  const standard = new StandardFetcher({
    policy,
    lookup: options.lookup,
    connectTimeoutMs: config.connectTimeoutMs,
    headersTimeoutMs: config.headersTimeoutMs,
    bodyTimeoutMs: config.bodyTimeoutMs,
    maxResponseSize: config.maxResponseSize,
    maxRedirects: config.maxRedirects,
    contentTypes: config.contentTypes,
    userAgent: config.userAgent,
  });

  // Labelled once: prom-client hashes the label object on every inc() otherwise.
  const standardOk = metrics.requests.labels({ mode: 'standard', outcome: 'ok' });
  const runDeps: RunDeps = { limiter, metrics, limitsFor, log };
  const newRun = (url: URL, deadline: number, budget: DeadlineSignal, started: number) => new ScrapeRun(url, deadline, budget, started, runDeps);

  const fetchStandard = async (run: ScrapeRun, headers: Record<string, string>): Promise<FetchedPage> => {
    try {
      return await standard.fetch(run.url, { headers, signal: run.budget.emitter, hooks: run });
    } finally {
      if (run.penalties.length > 0) await Promise.all(run.penalties);
    }
  };

  const standardResult = async (run: ScrapeRun, page: FetchedPage, input: ScrapeRequest, fetchMs: number) => {
    const { extractHtml, parseHtml } = await htmlTools();
    const mime = mimeOf(page.contentType) ?? 'text/html';
    const isHtml = HTML_TYPES.has(mime);
    const text = decodeBody(page.body, detectCharset(page.contentType, page.body, isHtml));
    const $ = isHtml ? parseHtml(text) : undefined;
    const verdict = classify({ status: page.status, headers: page.headers, $, html: isHtml ? text : undefined });
    const extracted = $ ? extractHtml($, page.finalUrl.toString(), input.format ?? 'text', input.selector) : { content: text, title: undefined, links: [] };
    const result: ScrapeResult = {
      url: run.url.toString(),
      finalUrl: page.finalUrl.toString(),
      status: page.status,
      mode: 'standard',
      contentType: page.contentType,
      bytes: page.body.length,
      ...extracted,
      redirects: page.redirects,
      timings: { totalMs: Date.now() - run.started, rateLimitWaitMs: run.rateLimitWaitMs, fetchMs },
    };
    if (verdict.kind === 'blocked') result.blocked = verdict.reason;
    if (verdict.kind === 'needs-js') result.blocked = 'needs-js';
    return { result, verdict };
  };

  const scrapeZenrows = async (run: ScrapeRun, input: ScrapeRequest, headers: Record<string, string>, zrOptions: ScrapeZenrowsOptions): Promise<ScrapeResult> => {
    await run.gate(run.url);
    const t0 = Date.now();
    const res: ZenrowsResponse = await zenrows.fetch({ url: run.url.toString(), options: zrOptions, headers }, { deadline: run.deadline, signal: run.budget.signal });
    const fetchMs = Date.now() - t0;
    if (res.cost !== undefined) metrics.zenrowsCost.inc(res.cost);
    if (res.concurrencyRemaining !== undefined) metrics.zenrowsConcurrencyRemaining.set(res.concurrencyRemaining);
    const finalUrl = res.finalUrl ?? run.url.toString();
    const mime = mimeOf(res.contentType) ?? 'text/html';
    const text = decodeBody(res.body, detectCharset(res.contentType, res.body, HTML_TYPES.has(mime)));
    const { extractHtml, parseHtml } = await htmlTools();
    const raw = zrOptions.response_type !== undefined || zrOptions.css_extractor !== undefined || !HTML_TYPES.has(mime);
    const extracted = raw ? { content: text, title: undefined, links: [] as string[] } : extractHtml(parseHtml(text), finalUrl, input.format ?? 'text', input.selector);
    const result: ScrapeResult = {
      url: run.url.toString(),
      finalUrl,
      status: res.status,
      mode: 'zenrows',
      contentType: res.contentType,
      bytes: res.body.length,
      ...extracted,
      redirects: 0,
      zenrows: { attempts: res.attempts, concurrencyRemaining: res.concurrencyRemaining, concurrencyLimit: res.concurrencyLimit },
      timings: { totalMs: Date.now() - run.started, rateLimitWaitMs: run.rateLimitWaitMs, fetchMs, slotWaitMs: res.slotWaitMs },
    };
    if (res.cost !== undefined) result.cost = res.cost;
    return result;
  };

  const scrapeOnce = async (input: ScrapeRequest, run: ScrapeRun, headers: Record<string, string>): Promise<ScrapeResult> => {
    const mode = input.mode ?? 'auto';
    if (mode === 'zenrows') return scrapeZenrows(run, input, headers, input.zenrows ?? {});
    const domain = run.url.hostname.toLowerCase();
    if (mode === 'auto' && zenrows.configured && (await modes.get(domain)) === 'zenrows') {
      metrics.escalations.inc({ reason: 'remembered' });
      const result = await scrapeZenrows(run, input, headers, input.zenrows ?? { js_render: true });
      result.escalated = { from: 'standard', reason: 'remembered' };
      return result;
    }
    const t0 = Date.now();
    const page = await fetchStandard(run, headers);
    const { result, verdict } = await standardResult(run, page, input, Date.now() - t0);
    if (mode === 'standard' || verdict.kind === 'ok') {
      if (mode === 'auto' && verdict.kind === 'ok') await modes.set(domain, 'standard');
      return result;
    }
    if (!zenrows.configured) return result;
    const reason: BlockReason | 'spa-shell' = verdict.kind === 'blocked' ? verdict.reason : 'spa-shell';
    metrics.escalations.inc({ reason });
    log?.info({ domain, reason }, 'escalating to ZenRows');
    await modes.set(domain, 'zenrows');
    // Defaults: a JS shell needs rendering; a bot wall gets ZenRows' adaptive mode, which picks
    // the cheapest configuration that gets through.
    const zrOptions = input.zenrows ?? (verdict.kind === 'needs-js' ? { js_render: true } : { mode: 'auto' as const });
    const escalated = await scrapeZenrows(run, input, headers, zrOptions);
    escalated.escalated = { from: 'standard', reason };
    return escalated;
  };

  const measuredScrape = async (input: ScrapeRequest, ctx: ScrapeContext): Promise<ScrapeResult> => {
    const started = Date.now();
    let mode: string = input.mode ?? 'auto';
    try {
      const headers = checkHeaders(input.headers);
      const budget = input.timeoutMs ?? config.timeoutMs;
      const deadline = Math.min(ctx.deadline ?? Number.POSITIVE_INFINITY, started + budget);
      const url = checkTargetUrl(input.url, policy);
      const budgetSignal = new DeadlineSignal(deadline - started, ctx.signal);
      const run = newRun(url, deadline, budgetSignal, started);
      let result: ScrapeResult;
      try {
        result = await scrapeOnce(input, run, headers);
      } catch (err) {
        throw toScrapeError(err, budgetSignal.timedOut, ctx.signal, budget);
      } finally {
        budgetSignal.dispose();
      }
      mode = result.mode;
      metrics.requests.inc({ mode, outcome: result.blocked === undefined ? 'ok' : result.blocked === 'needs-js' ? 'needs_js' : 'blocked' });
      metrics.duration.observe({ mode }, (Date.now() - started) / 1000);
      log?.debug({ url: result.url, mode, status: result.status, blocked: result.blocked, ms: result.timings.totalMs }, 'scraped');
      return result;
    } catch (err) {
      const code = err instanceof ScrapeError ? err.code : 'unknown';
      metrics.requests.inc({ mode, outcome: code });
      log?.debug({ mode, code }, 'scrape failed');
      throw err;
    }
  };

  // The global OpenTelemetry API: a no-op tracer unless the process started tracing
  // (startTracing), and then the scrape is a child of the running task's span.
  const tracer = trace.getTracer('@drover/scraper');

  return {
    scrape(input, ctx: ScrapeContext = {}) {
      const span = tracer.startSpan('drover.scrape', { kind: SpanKind.CLIENT, attributes: { 'drover.scrape.mode': input.mode ?? 'auto' } });
      if (!span.isRecording()) return measuredScrape(input, ctx);
      return inSpan(span, traceContext.active(), async () => {
        const result = await measuredScrape(input, ctx);
        span.setAttributes({
          'server.address': new URL(result.url).hostname,
          'http.response.status_code': result.status,
          'drover.scrape.mode': result.mode,
          ...(result.cost !== undefined ? { 'drover.zenrows.cost': result.cost } : {}),
        });
        return result;
      });
    },

    async fetch(rawUrl, options = {}) {
      const started = Date.now();
      const headers = checkHeaders(options.headers);
      const budget = options.timeoutMs ?? config.timeoutMs;
      const deadline = Math.min(options.deadline ?? Number.POSITIVE_INFINITY, started + budget);
      const url = checkTargetUrl(rawUrl, policy);
      const budgetSignal = new DeadlineSignal(deadline - started, options.signal);
      try {
        const page = await fetchStandard(newRun(url, deadline, budgetSignal, started), headers);
        standardOk.inc();
        return {
          url: url.toString(),
          finalUrl: page.finalUrl.toString(),
          status: page.status,
          headers: page.headers,
          contentType: page.contentType,
          body: page.body,
          redirects: page.redirects,
        };
      } catch (err) {
        const e = toScrapeError(err, budgetSignal.timedOut, options.signal, budget);
        metrics.requests.inc({ mode: 'standard', outcome: e instanceof ScrapeError ? e.code : 'unknown' });
        throw e;
      } finally {
        budgetSignal.dispose();
      }
    },
    async close() {
      await Promise.allSettled([standard.close(), zenrows.close()]);
    },
  };
}

function checkHeaders(headers: Record<string, string> | undefined): Record<string, string> {
  if (!headers) return {};
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (FORBIDDEN_HEADERS.has(lower) || lower.startsWith('proxy-') || !/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name) || /[\r\n]/.test(value)) {
      throw new ScrapeError(ScrapeErrorCodes.BAD_INPUT, `Header ${JSON.stringify(name)} cannot be set on a scrape (connection-level or malformed).`, { details: { header: name } });
    }
    out[lower] = value;
  }
  return out;
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

function toScrapeError(err: unknown, timedOut: boolean, caller: AbortSignal | undefined, budget: number): unknown {
  const inner = unwrap(err);
  if (inner instanceof ScrapeError) return inner;
  if (caller?.aborted) {
    return new ScrapeError(ScrapeErrorCodes.ABORTED, 'The scrape was cancelled.', { cause: err });
  }
  const code = (inner as NodeJS.ErrnoException | undefined)?.code;
  if (timedOut || (code !== undefined && TIMEOUT_CODES.has(code))) {
    return new ScrapeError(ScrapeErrorCodes.TIMEOUT, timedOut ? `The scrape did not finish within ${budget} ms (timeoutMs or the task deadline).` : `Timed out (${code}); the target was too slow.`, {
      retryable: true,
      cause: err,
      details: { undiciCode: code },
    });
  }
  if (code !== undefined && CONNECT_CODES.has(code)) {
    return new ScrapeError(ScrapeErrorCodes.CONNECT, `Connection failed (${code}).`, { retryable: true, cause: err, details: { socketCode: code } });
  }
  return err;
}

/** undici sometimes wraps what the connector threw; the scrape error is the cause. */
function unwrap(err: unknown): unknown {
  let e = err;
  for (let i = 0; i < 4 && e instanceof Error; i++) {
    if (e instanceof ScrapeError) return e;
    if (!(e.cause instanceof Error)) break;
    e = e.cause;
  }
  return e instanceof ScrapeError ? e : err;
}

/**
 * The HTML parser and converters (cheerio, turndown) load on the first scrape, not at start:
 * they are most of a worker's start-up time, and a worker that never scrapes never needs them.
 */
let extractModule: Promise<typeof import('./extract.js')> | undefined;
function htmlTools(): Promise<typeof import('./extract.js')> {
  extractModule ??= import('./extract.js');
  return extractModule;
}
