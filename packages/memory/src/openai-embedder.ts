import type { Embedder } from './embedder.js';
import { MemoryError } from './memory-error.js';
import { DEFAULT_RETRY, type RetryDecision, type RetryPolicy, parseRetryAfter, withRetry } from './retry.js';

export interface OpenAiEmbedderOptions {
  /** Base URL of an OpenAI-compatible API, e.g. https://api.openai.com/v1; `/embeddings` is appended. */
  url: string;
  model: string;
  /** Sent as `Authorization: Bearer …` when set. */
  apiKey?: string;
  /** The model's vector length when known up front; otherwise learned from the first answer. */
  dimension?: number;
  /** Per attempt; default 30 s. */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Texts per request; default 128 (OpenAI accepts up to 2048). */
  batchSize?: number;
  fetch?: typeof fetch;
}

interface EmbeddingsResponse {
  data?: Array<{ embedding?: unknown; index?: unknown }>;
}

/** A failed HTTP attempt, kept apart so the retry decision can read its status and Retry-After. */
class EmbeddingsHttpError extends Error {
  constructor(
    readonly status: number,
    readonly retryAfterMs: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Embeds through `POST {url}/embeddings` of an OpenAI-compatible service (OpenAI, Azure-style
 * gateways, vLLM, Ollama, LM Studio …). Retries 429 and 5xx with backoff, honouring Retry-After.
 */
export class OpenAiEmbedder implements Embedder {
  private learned: number;
  private readonly endpoint: string;
  private readonly timeoutMs: number;
  private readonly retry: RetryPolicy;
  private readonly batchSize: number;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: OpenAiEmbedderOptions) {
    if (!/^https?:\/\//.test(options.url)) throw new MemoryError('CONFIG', `embeddings url must start with http:// or https://, got ${JSON.stringify(options.url)}`);
    if (!options.model) throw new MemoryError('CONFIG', 'embeddings model must be named (e.g. text-embedding-3-small)');
    this.endpoint = `${options.url.replace(/\/+$/, '')}/embeddings`;
    this.learned = options.dimension ?? 0;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.batchSize = options.batchSize ?? 128;
    this.fetch = options.fetch ?? fetch;
  }

  get dimension(): number {
    return this.learned;
  }

  async embed(texts: string[], signal?: AbortSignal): Promise<number[][]> {
    const out: number[][] = [];
    for (let i = 0; i < texts.length; i += this.batchSize) {
      out.push(...(await this.embedBatch(texts.slice(i, i + this.batchSize), signal)));
    }
    return out;
  }

  private async embedBatch(input: string[], signal?: AbortSignal): Promise<number[][]> {
    if (input.length === 0) return [];
    const body = JSON.stringify({ model: this.options.model, input });
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.options.apiKey) headers['authorization'] = `Bearer ${this.options.apiKey}`;
    try {
      const json = await withRetry(
        async () => {
          const timeout = AbortSignal.timeout(this.timeoutMs);
          const res = await this.fetch(this.endpoint, {
            method: 'POST',
            headers,
            body,
            signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
          });
          const text = await res.text();
          if (!res.ok) {
            throw new EmbeddingsHttpError(res.status, parseRetryAfter(res.headers.get('retry-after')), `HTTP ${res.status}: ${serverMessage(text)}`);
          }
          return JSON.parse(text) as EmbeddingsResponse;
        },
        (err) => this.decide(err, signal),
        this.retry,
        signal,
      );
      return this.read(json, input.length);
    } catch (err) {
      if (err instanceof MemoryError) throw err;
      if (signal?.aborted) throw err;
      const retryable = err instanceof EmbeddingsHttpError ? err.status === 429 || err.status >= 500 : true;
      throw new MemoryError('EMBEDDING_FAILED', `embeddings request to ${this.endpoint} failed: ${(err as Error).message}`, { retryable, cause: err });
    }
  }

  private decide(err: unknown, signal: AbortSignal | undefined): RetryDecision {
    if (signal?.aborted) return { retry: false };
    if (err instanceof EmbeddingsHttpError) {
      if (err.status !== 429 && err.status < 500) return { retry: false };
      return err.retryAfterMs === undefined ? { retry: true } : { retry: true, afterMs: err.retryAfterMs };
    }
    // Timeouts and connection errors are worth another try; a reply that is not JSON is not.
    return err instanceof SyntaxError ? { retry: false } : { retry: true };
  }

  private read(json: EmbeddingsResponse, count: number): number[][] {
    const data = json?.data;
    if (!Array.isArray(data) || data.length !== count) {
      throw new MemoryError('EMBEDDING_FAILED', `embeddings answer has ${Array.isArray(data) ? data.length : 'no'} vectors for ${count} texts`);
    }
    const out: number[][] = new Array(count);
    data.forEach((entry, position) => {
      // `index` says which input a vector belongs to; servers may answer out of order.
      const index = typeof entry.index === 'number' ? entry.index : position;
      const vector = entry.embedding;
      if (!Array.isArray(vector) || vector.length === 0 || vector.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
        throw new MemoryError('EMBEDDING_FAILED', `embeddings answer item ${position} is not an array of numbers`);
      }
      if (index < 0 || index >= count || out[index] !== undefined) throw new MemoryError('EMBEDDING_FAILED', `embeddings answer has a bad or repeated index ${index}`);
      if (this.learned === 0) this.learned = vector.length;
      if (vector.length !== this.learned) {
        throw new MemoryError('DIMENSION_MISMATCH', `embeddings model ${this.options.model} returned ${vector.length} dimensions; expected ${this.learned}`, {
          details: { expected: this.learned, actual: vector.length },
        });
      }
      out[index] = vector as number[];
    });
    return out;
  }
}

/** The error text an OpenAI-style server sends (`{error: {message}}`), else the start of the body. */
function serverMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } | string };
    if (typeof parsed.error === 'string') return parsed.error;
    if (typeof parsed.error?.message === 'string') return parsed.error.message;
  } catch {
    // not JSON: fall through to the raw text
  }
  return body.slice(0, 200);
}
