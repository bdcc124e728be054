import { Agent, type Dispatcher } from 'undici';
import { readBody } from './body-reader.js';
import { cooldownInterceptor } from './cooldown-interceptor.js';
import type { AbortEmitter } from './deadline-signal.js';
import { rateLimitInterceptor } from './rate-limit-interceptor.js';
import { type HopHooks, SCRAPE_HOP, type ScrapeHop } from './scrape-hop.js';
import { ScrapeError, ScrapeErrorCodes } from './scrape-error.js';
import { type LookupFn, ssrfGuardConnector } from './ssrf-guard.js';
import { checkTargetUrl, type UrlPolicy } from './target-url.js';

export interface StandardFetcherOptions {
  policy: UrlPolicy;
  lookup?: LookupFn | undefined;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  maxResponseSize: number;
  maxRedirects: number;
  contentTypes: readonly string[];
  userAgent: string;
}

export interface FetchedPage {
  finalUrl: URL;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  contentType: string | undefined;
  body: Buffer;
  /** Bytes on the wire for the final response. */
  wireBytes: number;
  redirects: number;
}

export interface HopOptions {
  headers: Record<string, string>;
  /** An AbortSignal, or the lighter emitter undici also accepts. */
  signal: AbortSignal | AbortEmitter;
  /** Rate-limit and cooldown hooks, run by the interceptors for every hop. */
  hooks?: HopHooks;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Request headers that carry credentials; dropped when a redirect leaves the origin. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

/**
 * Standard mode: one pooled keep-alive undici Agent whose connector is the SSRF guard, composed
 * with the rate-limit and cooldown interceptors. Redirects are followed here, not by undici's
 * redirect interceptor, because each hop's URL must pass the policy and the redirect cap (and
 * drop credentials when it leaves the origin) before it is dispatched.
 */
export class StandardFetcher {
  readonly dispatcher: Dispatcher;
  private readonly agent: Agent;

  constructor(private readonly options: StandardFetcherOptions) {
    this.agent = new Agent({
      connect: ssrfGuardConnector({ policy: options.policy, lookup: options.lookup, connectTimeoutMs: options.connectTimeoutMs }),
      headersTimeout: options.headersTimeoutMs,
      bodyTimeout: options.bodyTimeoutMs,
      keepAliveTimeout: 10_000,
    });
    this.dispatcher = this.agent.compose(rateLimitInterceptor(), cooldownInterceptor());
  }

  async fetch(start: URL, hop: HopOptions): Promise<FetchedPage> {
    let url = start;
    let headers: Record<string, string> = { 'user-agent': this.options.userAgent, accept: 'text/html,application/xhtml+xml,*/*;q=0.8', 'accept-encoding': 'gzip, deflate, br', ...hop.headers };
    for (let redirects = 0; ; redirects++) {
      const request: Dispatcher.RequestOptions & { [SCRAPE_HOP]?: ScrapeHop } = {
        origin: url.origin,
        path: url.pathname + url.search,
        method: 'GET',
        headers,
        signal: hop.signal,
      };
      if (hop.hooks) request[SCRAPE_HOP] = { url, hooks: hop.hooks };
      const res = await this.dispatcher.request(request);
      const location = res.headers['location'];
      if (REDIRECTS.has(res.statusCode) && typeof location === 'string') {
        res.body.dump().catch(() => undefined);
        if (redirects >= this.options.maxRedirects) {
          throw new ScrapeError(ScrapeErrorCodes.TOO_MANY_REDIRECTS, `Stopped after ${this.options.maxRedirects} redirects (DROVER_SCRAPER_MAX_REDIRECTS).`, {
            details: { url: url.toString(), maxRedirects: this.options.maxRedirects },
          });
        }
        let next: URL;
        try {
          next = checkTargetUrl(location, this.options.policy, url);
        } catch (err) {
          if (err instanceof ScrapeError && err.code === ScrapeErrorCodes.BAD_URL) {
            throw new ScrapeError(ScrapeErrorCodes.BAD_REDIRECT, `Redirect from ${url} to an unusable location: ${err.message}`, { cause: err });
          }
          throw err;
        }
        if (next.origin !== url.origin) {
          headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !CREDENTIAL_HEADERS.includes(k.toLowerCase())));
        }
        url = next;
        continue;
      }
      const contentType = firstHeader(res.headers['content-type']);
      const mime = mimeOf(contentType);
      if (mime && !this.options.contentTypes.includes(mime)) {
        res.body.dump().catch(() => undefined);
        throw new ScrapeError(ScrapeErrorCodes.CONTENT_TYPE, `Content-Type ${mime} is not scraped; accepted types are ${this.options.contentTypes.join(', ')} (DROVER_SCRAPER_CONTENT_TYPES).`, {
          details: { contentType: mime, url: url.toString() },
        });
      }
      const declared = Number(firstHeader(res.headers['content-length']) ?? Number.NaN);
      if (Number.isFinite(declared) && declared > this.options.maxResponseSize) {
        res.body.destroy();
        throw new ScrapeError(ScrapeErrorCodes.TOO_LARGE, `Response declares ${declared} bytes, over the ${this.options.maxResponseSize}-byte cap (DROVER_SCRAPER_MAX_RESPONSE_BYTES).`, {
          details: { contentLength: declared, maxBytes: this.options.maxResponseSize },
        });
      }
      let read: Awaited<ReturnType<typeof readBody>>;
      try {
        read = await readBody(res.body, firstHeader(res.headers['content-encoding']), this.options.maxResponseSize);
      } catch (err) {
        res.body.destroy();
        throw err;
      }
      return { finalUrl: url, status: res.statusCode, headers: res.headers, contentType, body: read.body, wireBytes: read.wireBytes, redirects };
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

export function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** The media type of a Content-Type value, lower-cased, without parameters. */
export function mimeOf(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  return (contentType.split(';')[0] ?? '').trim().toLowerCase() || undefined;
}
