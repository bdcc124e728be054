/**
 * The root of every error this client throws, so callers can catch the SDK's errors in one
 * `instanceof` and branch on `code`. Server codes are `DROVER_ERR_*` (docs/errors.md); faults
 * found on the client side (network, timeout, a broken stream) are `DROVER_CLIENT_ERR_*`.
 */
export class DroverClientError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DroverClientError';
    this.code = code;
  }
}

/** Codes of the faults the client itself detects. */
export const ClientErrorCodes = {
  NETWORK: 'DROVER_CLIENT_ERR_NETWORK',
  TIMEOUT: 'DROVER_CLIENT_ERR_TIMEOUT',
  STREAM: 'DROVER_CLIENT_ERR_STREAM',
  UNEXPECTED_RESPONSE: 'DROVER_CLIENT_ERR_UNEXPECTED_RESPONSE',
  INVALID_ARGUMENT: 'DROVER_CLIENT_ERR_INVALID_ARGUMENT',
} as const;

/**
 * No answer from the server: refused or reset connection, DNS failure, a body cut short, or an
 * event stream that ended before its task did. The request may or may not have been processed.
 */
export class DroverNetworkError extends DroverClientError {
  readonly method: string;
  readonly url: string;

  constructor(method: string, url: string, message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? ClientErrorCodes.NETWORK, message, options);
    this.name = 'DroverNetworkError';
    this.method = method;
    this.url = url;
  }
}

/** The server did not answer (or the stream stayed silent) within the time allowed. */
export class DroverTimeoutError extends DroverNetworkError {
  readonly timeoutMs: number;

  constructor(method: string, url: string, timeoutMs: number, what = 'answer') {
    super(method, url, `${method} ${url}: no ${what} within ${timeoutMs} ms; raise timeoutMs or check the server.`, { code: ClientErrorCodes.TIMEOUT });
    this.name = 'DroverTimeoutError';
    this.timeoutMs = timeoutMs;
  }
}
