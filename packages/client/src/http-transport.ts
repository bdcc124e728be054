import { DroverApiError, DroverRateLimitError, DroverUnavailableError, apiErrorOf } from './api-error.js';
import { abortableDelay } from './abortable-delay.js';
import { retryDelay } from './backoff.js';
import type { ResolvedClientOptions } from './client-options.js';
import { ClientErrorCodes, DroverClientError, DroverNetworkError, DroverTimeoutError } from './client-error.js';
import { LinkedAbort } from './linked-abort.js';
import { parseRetryAfter } from './retry-after.js';
import { redactSecret } from './key-redaction.js';

export type QueryValue = string | number | boolean | undefined;

export interface RequestSpec {
  method: 'GET' | 'POST' | 'DELETE';
  /** Under the base URL, e.g. /v1/tasks. */
  path: string;
  query?: Record<string, QueryValue>;
  /** Sent as JSON when defined. */
  body?: unknown;
  headers?: Record<string, string>;
  /**
   * Safe to send again after a network error (the first may have been processed): GET, and
   * submissions with idempotency keys. 429 and 503 are retried either way: the server refused
   * before doing anything.
   */
  idempotent?: boolean;
  signal?: AbortSignal | undefined;
  /** Per attempt; default the client's timeoutMs. */
  timeoutMs?: number;
}

export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  body: T;
}

/** An open response whose body the caller reads; close() releases the connection. */
export interface OpenResponse {
  response: Response;
  url: string;
  /** Aborted when the connection is given up (close(), the timeout, the caller's signal). */
  signal: AbortSignal;
  /** Aborts the body (and detaches from the caller's signal). */
  close(reason?: unknown): void;
}

/**
 * Fetch with what every call needs: the base URL and bearer key, JSON in and out, a timeout per
 * attempt, problem+json turned into typed errors, and bounded retries with backoff that honour
 * Retry-After.
 */
export class HttpTransport {
  /** Attempts made by the last request() (for callers that report it; tests read it). */
  lastAttempts = 0;

  constructor(private readonly options: ResolvedClientOptions) {}

  /** Sends `spec`, retrying what may be retried, and answers the parsed JSON body. */
  async request<T>(spec: RequestSpec): Promise<ApiResponse<T>> {
    const { retries } = this.options;
    for (let attempt = 1; ; attempt++) {
      this.lastAttempts = attempt;
      try {
        const opened = await this.open(spec, true);
        try {
          const text = await readText(opened, spec, this.options.apiKey);
          return { status: opened.response.status, headers: opened.response.headers, body: parseJson(text, spec, opened.url) as T };
        } finally {
          opened.close();
        }
      } catch (err) {
        if (spec.signal?.aborted) throw spec.signal.reason;
        if (attempt >= retries.attempts || !retryable(err, spec.idempotent ?? spec.method === 'GET')) throw err;
        const wait = retryDelay(attempt, retries, err instanceof DroverApiError ? err.retryAfterMs : undefined);
        if (wait === undefined) throw err;
        await abortableDelay(wait, spec.signal);
      }
    }
  }

  /**
   * One attempt: resolves once a 2xx answer's headers are in, the body left to the caller (the
   * event stream reads it for hours, so the timeout stops at the headers unless `untilClosed`).
   * Error answers are read and thrown as typed errors.
   */
  async open(spec: RequestSpec, untilClosed = false): Promise<OpenResponse> {
    const url = this.url(spec.path, spec.query);
    const timeoutMs = spec.timeoutMs ?? this.options.timeoutMs;
    const link = new LinkedAbort(spec.signal);
    const timer = setTimeout(() => link.abort(new DroverTimeoutError(spec.method, url, timeoutMs)), timeoutMs);
    const close = (reason?: unknown) => {
      clearTimeout(timer);
      link.abort(reason);
      link.dispose();
    };
    let response: Response;
    try {
      response = await this.options.fetch(url, { method: spec.method, headers: this.headers(spec), body: spec.body === undefined ? undefined : JSON.stringify(spec.body), signal: link.signal });
    } catch (err) {
      close();
      throw this.failure(err, spec, url, link.signal);
    }
    const opened: OpenResponse = { response, url, signal: link.signal, close };
    // A stream's body may stay open for hours: its timeout ends with the headers (an error's body is still bounded).
    if (!untilClosed && response.ok) clearTimeout(timer);
    if (response.ok) return opened;
    let text: string;
    try {
      text = await readText(opened, spec, this.options.apiKey);
    } finally {
      close();
    }
    throw apiErrorOf(response.status, parseBody(text), parseRetryAfter(response.headers.get('retry-after')));
  }

  /** The typed error for a fetch or body-read failure; the caller's own abort passes through. */
  failure(err: unknown, spec: RequestSpec, url: string, signal: AbortSignal): unknown {
    if (spec.signal?.aborted) return spec.signal.reason;
    if (signal.aborted && signal.reason instanceof DroverNetworkError) return signal.reason;
    if (err instanceof DroverNetworkError) return err;
    const why = err instanceof Error ? `${err.message}${causeText(err)}` : String(err);
    return new DroverNetworkError(spec.method, url, `${spec.method} ${url} failed: ${redactSecret(why, this.options.apiKey)}`, { cause: err });
  }

  url(path: string, query?: Record<string, QueryValue>): string {
    let url = `${this.options.baseUrl}${path}`;
    if (query) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
      const qs = params.toString();
      if (qs.length > 0) url += `?${qs}`;
    }
    return url;
  }

  private headers(spec: RequestSpec): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json, application/problem+json', authorization: `Bearer ${this.options.apiKey}`, ...spec.headers };
    if (spec.body !== undefined) h['content-type'] = 'application/json';
    if (this.options.userAgent !== undefined) h['user-agent'] = this.options.userAgent;
    return h;
  }
}

/** Reads the body as text; a connection cut mid-body is a network error like any other. */
async function readText(opened: OpenResponse, spec: RequestSpec, apiKey: string): Promise<string> {
  try {
    return redactSecret(await opened.response.text(), apiKey);
  } catch (err) {
    if (spec.signal?.aborted) throw spec.signal.reason;
    if (opened.signal.aborted && opened.signal.reason instanceof DroverNetworkError) throw opened.signal.reason;
    if (err instanceof DroverNetworkError) throw err;
    const why = err instanceof Error ? `${err.message}${causeText(err)}` : String(err);
    throw new DroverNetworkError(spec.method, opened.url, `${spec.method} ${opened.url}: the answer was cut short: ${redactSecret(why, apiKey)}`, { cause: err });
  }
}

function parseJson(text: string, spec: RequestSpec, url: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new DroverClientError(ClientErrorCodes.UNEXPECTED_RESPONSE, `${spec.method} ${url} answered a body that is not JSON: ${text.slice(0, 200)}`);
  }
}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function retryable(err: unknown, idempotent: boolean): boolean {
  if (err instanceof DroverRateLimitError) return true;
  if (err instanceof DroverUnavailableError) return err.status === 503 || idempotent;
  return err instanceof DroverNetworkError && idempotent;
}

/** undici hides the useful part ("ECONNREFUSED 127.0.0.1:1") in `cause`. */
function causeText(err: Error): string {
  const cause = err.cause as { code?: unknown; message?: unknown } | undefined;
  if (!cause || typeof cause !== 'object') return '';
  const part = typeof cause.code === 'string' ? cause.code : typeof cause.message === 'string' ? cause.message : '';
  return part ? ` (${part})` : '';
}
