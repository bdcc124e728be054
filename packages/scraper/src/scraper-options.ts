import type { Logger, ScrapeInput, ScraperConfig } from '@drover/shared';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { BlockReason } from './classify.js';
import type { LookupFn } from './ssrf-guard.js';

export interface ScraperOptions {
  config: ScraperConfig;
  /** Shared by every worker, so limits hold cluster-wide; without it limits are per process. */
  redis?: Redis | undefined;
  logger?: Logger | undefined;
  registry?: Registry | undefined;
  /** Redis key prefix; default 'drover'. */
  prefix?: string | undefined;
  /** DNS resolution for the SSRF guard; tests pass one that answers private addresses. */
  lookup?: LookupFn | undefined;
  /** Base of the jittered ZenRows retry backoff (ms); default 500. */
  zenrowsBackoffMs?: number | undefined;
}

export interface ScrapeContext {
  signal?: AbortSignal | undefined;
  /** Epoch ms by which the scrape must finish (the task's deadline); waits never go past it. */
  deadline?: number | undefined;
}

export type ScrapeRequest = ScrapeInput;

export interface ScrapeResult {
  url: string;
  finalUrl: string;
  status: number;
  mode: 'standard' | 'zenrows';
  contentType: string | undefined;
  /** Bytes of the (decompressed) body. */
  bytes: number;
  content: string;
  title: string | undefined;
  links: string[];
  /** Set when the page returned is a bot wall (standard mode, or auto without ZenRows). */
  blocked?: BlockReason | 'needs-js';
  /** ZenRows credits charged. */
  cost?: number;
  /** Auto mode: why it used ZenRows. */
  escalated?: { from: 'standard'; reason: BlockReason | 'spa-shell' | 'remembered' };
  zenrows?: { attempts: number; concurrencyRemaining: number | undefined; concurrencyLimit: number | undefined };
  redirects: number;
  timings: { totalMs: number; rateLimitWaitMs: number; fetchMs: number; slotWaitMs?: number };
}

/** A standard-mode response before extraction (what `Scraper.fetch` returns). */
export interface FetchResult {
  url: string;
  finalUrl: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  contentType: string | undefined;
  /** Decompressed body. */
  body: Buffer;
  redirects: number;
}

export interface Scraper {
  scrape(input: ScrapeRequest, ctx?: ScrapeContext): Promise<ScrapeResult>;
  /**
   * Standard mode without extraction: the same SSRF guard, rate limits, redirects, size cap and
   * decompression, returning the raw body (for JSON APIs, files a task parses itself, benchmarks).
   */
  fetch(url: string, options?: ScrapeContext & { headers?: Record<string, string>; timeoutMs?: number }): Promise<FetchResult>;
  close(): Promise<void>;
}
