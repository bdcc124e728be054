import { DEFAULT_RETRIES, type RetryOptions } from './backoff.js';

export interface DroverClientOptions {
  /** Where the orchestrator answers, e.g. http://127.0.0.1:8080 (a path prefix is kept). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`; never part of an error message. */
  apiKey: string;
  /** The fetch to use; default globalThis.fetch (Node 20, browsers, or a test double). */
  fetch?: typeof fetch;
  /** Retries of 429/503 answers (and of network errors on idempotent calls). */
  retries?: Partial<RetryOptions>;
  /** Per attempt, until the answer is read (long-polls add their wait to it). Default 30 s. */
  timeoutMs?: number;
  /**
   * Sent as User-Agent when set. Not set by default: browsers refuse to send it or make it a
   * CORS preflight matter, so the SDK leaves the choice to the caller.
   */
  userAgent?: string;
}

/** The options with every default filled in. */
export interface ResolvedClientOptions {
  baseUrl: string;
  apiKey: string;
  fetch: typeof fetch;
  retries: RetryOptions;
  timeoutMs: number;
  userAgent: string | undefined;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

export function resolveClientOptions(options: DroverClientOptions): ResolvedClientOptions {
  if (typeof options.baseUrl !== 'string' || !/^https?:\/\//i.test(options.baseUrl)) {
    throw new TypeError(`baseUrl must be an http(s) URL such as http://127.0.0.1:8080; got ${JSON.stringify(options.baseUrl)}.`);
  }
  if (typeof options.apiKey !== 'string' || options.apiKey.length === 0) {
    throw new TypeError('apiKey must be a non-empty string: one of the keys in the orchestrator\'s DROVER_API_KEYS.');
  }
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') throw new TypeError('No fetch available: pass options.fetch (Node 20 and browsers have one built in).');
  const retries = { ...DEFAULT_RETRIES, ...options.retries };
  if (!Number.isInteger(retries.attempts) || retries.attempts < 1) throw new TypeError(`retries.attempts must be an integer >= 1; got ${retries.attempts}.`);
  return {
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    apiKey: options.apiKey,
    // Called unbound: some fetch implementations (browsers') refuse a `this` other than globalThis.
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    retries,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    userAgent: options.userAgent,
  };
}
