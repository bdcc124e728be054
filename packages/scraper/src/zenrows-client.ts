import { backoffDelay } from '@drover/shared';
import { Agent, type Dispatcher } from 'undici';
import type { ScrapeZenrowsOptions } from '@drover/shared';
import { abortableSleep } from './abortable-sleep.js';
import { readBody } from './body-reader.js';
import type { RateLimiter } from './rate-limit.js';
import { ScrapeError, ScrapeErrorCodes } from './scrape-error.js';
import type { Semaphore } from './semaphore.js';
import { firstHeader } from './standard-fetcher.js';
import { validateZenrowsOptions, zenrowsQuery } from './zenrows-params.js';

export interface ZenrowsClientOptions {
  apiKey: string | undefined;
  baseUrl: string;
  semaphore: Semaphore;
  limiter: RateLimiter;
  timeoutMs: number;
  maxRetries: number;
  maxResponseSize: number;
  /** Base of the jittered backoff between retries. */
  backoffMs?: number;
  onAttempt?: (outcome: string) => void;
}

export interface ZenrowsRequest {
  url: string;
  options: ScrapeZenrowsOptions;
  headers: Record<string, string>;
}

export interface ZenrowsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  contentType: string | undefined;
  body: Buffer;
  /** Credits charged (X-Request-Cost). */
  cost: number | undefined;
  /** Where the target ended up after its redirects (Zr-Final-Url). */
  finalUrl: string | undefined;
  concurrencyRemaining: number | undefined;
  concurrencyLimit: number | undefined;
  attempts: number;
  slotWaitMs: number;
}

/** ZenRows' error body: RFC 9457 problem+json with its own `code` (AUTH002, RESP001, …). */
export interface ZenrowsProblem {
  code?: string;
  title?: string;
  detail?: string;
  status?: number;
  type?: string;
  instance?: string;
}

/** The rate-limit key whose cooldown a ZenRows 429 sets for every worker. */
export const ZENROWS_KEY = 'zenrows';

/**
 * A thin client of the ZenRows API. Retries what ZenRows says is transient (422, 429, 5xx) with
 * jittered backoff and leaves 400/401/402 alone. A request in flight is never aborted: ZenRows
 * keeps the slot busy until it finishes anyway, so the caller is released on abort but the lease
 * is held until the response is in.
 */
export class ZenrowsClient {
  private readonly dispatcher: Dispatcher;

  constructor(private readonly options: ZenrowsClientOptions) {
    this.dispatcher = new Agent({ headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs, keepAliveTimeout: 10_000 });
  }

  get configured(): boolean {
    return this.options.apiKey !== undefined;
  }

  async fetch(req: ZenrowsRequest, ctx: { deadline: number; signal?: AbortSignal | undefined }): Promise<ZenrowsResponse> {
    const apiKey = this.options.apiKey;
    if (apiKey === undefined) {
      throw new ScrapeError(ScrapeErrorCodes.ZENROWS_NOT_CONFIGURED, 'ZenRows mode needs an API key: set DROVER_ZENROWS_API_KEY on the workers.');
    }
    validateZenrowsOptions(req.options);
    const customHeaders = Object.keys(req.headers).length > 0;
    const query = zenrowsQuery(req.url, req.options, customHeaders);
    query.set('apikey', apiKey);
    const endpoint = new URL(this.options.baseUrl);
    endpoint.search = query.toString();
    let slotWaitMs = 0;
    for (let attempt = 1; ; attempt++) {
      ctx.signal?.throwIfAborted();
      // Honour a cluster-wide ZenRows cooldown before taking a slot, so paused workers hold none.
      await this.options.limiter.acquire([{ key: ZENROWS_KEY, limit: 0 }], ctx);
      const waitStart = Date.now();
      const lease = await this.options.semaphore.acquire(ctx);
      slotWaitMs += Date.now() - waitStart;
      const inflight = this.once(endpoint, customHeaders ? req.headers : {}).finally(() => lease.release());
      let outcome: Awaited<ReturnType<ZenrowsClient['once']>>;
      try {
        outcome = await raceAbort(inflight, ctx.signal);
      } catch (err) {
        throw this.scrub(err, apiKey);
      }
      if (outcome.kind === 'ok') {
        this.options.onAttempt?.('ok');
        return { ...outcome.response, attempts: attempt, slotWaitMs };
      }
      const error = outcome.error;
      this.options.onAttempt?.(error.code);
      if (outcome.status === 429) await this.options.limiter.penalize(ZENROWS_KEY, outcome.retryAfterMs ?? 1000);
      if (!error.retryable || attempt > this.options.maxRetries) throw this.scrub(error, apiKey);
      const delay = Math.max(outcome.retryAfterMs ?? 0, backoffDelay(attempt, this.options.backoffMs ?? 500));
      if (Date.now() + delay > ctx.deadline) throw this.scrub(error, apiKey);
      await abortableSleep(delay, ctx.signal);
    }
  }

  private async once(
    endpoint: URL,
    headers: Record<string, string>,
  ): Promise<
    | { kind: 'ok'; response: Omit<ZenrowsResponse, 'attempts' | 'slotWaitMs'> }
    | { kind: 'error'; status: number; error: ScrapeError; retryAfterMs: number | undefined }
  > {
    let res: Dispatcher.ResponseData;
    try {
      res = await this.dispatcher.request({ origin: endpoint.origin, path: endpoint.pathname + endpoint.search, method: 'GET', headers });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return {
        kind: 'error',
        status: 0,
        retryAfterMs: undefined,
        error: new ScrapeError(ScrapeErrorCodes.ZENROWS_UNAVAILABLE, `ZenRows could not be reached (${code ?? 'network error'}).`, { retryable: true }),
      };
    }
    const contentType = firstHeader(res.headers['content-type']);
    const body = (await readBody(res.body, firstHeader(res.headers['content-encoding']), this.options.maxResponseSize)).body;
    const num = (name: string) => {
      const v = firstHeader(res.headers[name]);
      return v === undefined || v === '' || Number.isNaN(Number(v)) ? undefined : Number(v);
    };
    const isProblem = contentType?.toLowerCase().startsWith('application/problem+json') ?? false;
    // With original_status the target's own status comes through; only problem+json bodies are API errors.
    if (!isProblem && (res.statusCode < 400 || endpoint.searchParams.get('original_status') === 'true')) {
      return {
        kind: 'ok',
        response: {
          status: res.statusCode,
          headers: res.headers,
          contentType,
          body,
          cost: num('x-request-cost'),
          finalUrl: firstHeader(res.headers['zr-final-url']),
          concurrencyRemaining: num('concurrency-remaining'),
          concurrencyLimit: num('concurrency-limit'),
        },
      };
    }
    let problem: ZenrowsProblem = {};
    try {
      problem = JSON.parse(body.toString('utf8')) as ZenrowsProblem;
    } catch {
      problem = { detail: body.toString('utf8').slice(0, 200) };
    }
    const retryAfter = num('retry-after');
    return { kind: 'error', status: res.statusCode, retryAfterMs: retryAfter === undefined ? undefined : retryAfter * 1000, error: zenrowsError(res.statusCode, problem) };
  }

  /** The API key must never reach an error or a log line, whatever ZenRows echoed back. */
  private scrub(err: unknown, apiKey: string): unknown {
    if (!(err instanceof ScrapeError) || apiKey === '') return err;
    if (!err.message.includes(apiKey) && !JSON.stringify(err.details ?? {}).includes(apiKey)) return err;
    const clean = (s: string) => s.split(apiKey).join('***');
    return new ScrapeError(err.code, clean(err.message), {
      retryable: err.retryable,
      details: JSON.parse(clean(JSON.stringify(err.details ?? {}))) as Record<string, unknown>,
      ...(err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs }),
    });
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }
}

export function zenrowsError(status: number, problem: ZenrowsProblem): ScrapeError {
  const zr = problem.code ? ` [${problem.code}]` : '';
  const what = problem.detail ?? problem.title ?? `HTTP ${status}`;
  const details = { status, zenrowsCode: problem.code, title: problem.title, detail: problem.detail };
  if (status === 400) return new ScrapeError(ScrapeErrorCodes.ZENROWS_BAD_PARAMS, `ZenRows rejected the request${zr}: ${what}`, { details });
  if (status === 401 || status === 403) {
    return new ScrapeError(ScrapeErrorCodes.ZENROWS_AUTH, `ZenRows refused the API key${zr}: ${what}. Check DROVER_ZENROWS_API_KEY.`, { details });
  }
  if (status === 402) return new ScrapeError(ScrapeErrorCodes.ZENROWS_PAYMENT, `ZenRows plan limit${zr}: ${what}`, { details });
  if (status === 422) return new ScrapeError(ScrapeErrorCodes.ZENROWS_UNPROCESSABLE, `ZenRows could not get the page${zr}: ${what}`, { details, retryable: true });
  if (status === 429) return new ScrapeError(ScrapeErrorCodes.ZENROWS_RATE_LIMITED, `ZenRows is throttling${zr}: ${what}`, { details, retryable: true });
  if (status >= 500) return new ScrapeError(ScrapeErrorCodes.ZENROWS_UNAVAILABLE, `ZenRows failed${zr}: ${what}`, { details, retryable: true });
  return new ScrapeError(ScrapeErrorCodes.ZENROWS_BAD_PARAMS, `ZenRows answered ${status}${zr}: ${what}`, { details });
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
