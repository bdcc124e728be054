/**
 * Stable codes of scrape failures. The worker's error classifier reads `code` and `retryable`;
 * callers branch on `code`, never on message text. docs/scraper.md keeps the table.
 */
export const ScrapeErrorCodes = {
  BAD_URL: 'DROVER_ERR_SCRAPE_BAD_URL',
  BAD_INPUT: 'DROVER_ERR_SCRAPE_BAD_INPUT',
  SSRF_REFUSED: 'DROVER_ERR_SCRAPE_SSRF_REFUSED',
  PORT_REFUSED: 'DROVER_ERR_SCRAPE_PORT_REFUSED',
  DNS: 'DROVER_ERR_SCRAPE_DNS',
  CONNECT: 'DROVER_ERR_SCRAPE_CONNECT',
  TIMEOUT: 'DROVER_ERR_SCRAPE_TIMEOUT',
  TOO_LARGE: 'DROVER_ERR_SCRAPE_TOO_LARGE',
  CONTENT_TYPE: 'DROVER_ERR_SCRAPE_CONTENT_TYPE',
  TOO_MANY_REDIRECTS: 'DROVER_ERR_SCRAPE_TOO_MANY_REDIRECTS',
  BAD_REDIRECT: 'DROVER_ERR_SCRAPE_BAD_REDIRECT',
  DECODE: 'DROVER_ERR_SCRAPE_DECODE',
  RATE_LIMITED: 'DROVER_ERR_SCRAPE_RATE_LIMITED',
  ABORTED: 'DROVER_ERR_SCRAPE_ABORTED',
  ZENROWS_NOT_CONFIGURED: 'DROVER_ERR_SCRAPE_ZENROWS_NOT_CONFIGURED',
  ZENROWS_BAD_PARAMS: 'DROVER_ERR_SCRAPE_ZENROWS_BAD_PARAMS',
  ZENROWS_AUTH: 'DROVER_ERR_SCRAPE_ZENROWS_AUTH',
  ZENROWS_PAYMENT: 'DROVER_ERR_SCRAPE_ZENROWS_PAYMENT',
  ZENROWS_UNPROCESSABLE: 'DROVER_ERR_SCRAPE_ZENROWS_UNPROCESSABLE',
  ZENROWS_RATE_LIMITED: 'DROVER_ERR_SCRAPE_ZENROWS_RATE_LIMITED',
  ZENROWS_UNAVAILABLE: 'DROVER_ERR_SCRAPE_ZENROWS_UNAVAILABLE',
  ZENROWS_SLOT_TIMEOUT: 'DROVER_ERR_SCRAPE_ZENROWS_SLOT_TIMEOUT',
} as const;

export type ScrapeErrorCode = (typeof ScrapeErrorCodes)[keyof typeof ScrapeErrorCodes];

export interface ScrapeErrorOptions {
  retryable?: boolean;
  details?: Record<string, unknown>;
  cause?: unknown;
  /** When a retry makes sense no earlier than this many ms from now. */
  retryAfterMs?: number;
}

export class ScrapeError extends Error {
  override readonly name = 'ScrapeError';
  readonly code: ScrapeErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(code: ScrapeErrorCode, message: string, options: ScrapeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
    this.retryAfterMs = options.retryAfterMs;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, retryable: this.retryable, details: this.details };
  }
}

export function isScrapeError(err: unknown): err is ScrapeError {
  return err instanceof ScrapeError;
}
