import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedMemoryStore, LocalEmbedder, OpenAiEmbedder, createMemoryStore } from '../src/index.js';

/**
 * A real HTTP server with OpenAI's embeddings shape: POST /embeddings {model, input} →
 * {object: 'list', data: [{object: 'embedding', embedding, index}], model, usage}. Vectors come
 * from a LocalEmbedder of 48 dimensions, answered in reverse order to prove `index` is read.
 */
class EmbeddingsServer {
  readonly seen: Array<{ authorization: string | undefined; body: { model: string; input: string[] } }> = [];
  /** Statuses to answer before serving, one per request. */
  readonly faults: Array<{ status: number; retryAfter?: string }> = [];
  delayMs = 0;
  /** Requests that reached the handler, counted before their body is read. */
  attempts = 0;
  private readonly local = new LocalEmbedder({ dimension: 48 });
  private constructor(private readonly server: Server) {}

  static async start(): Promise<EmbeddingsServer> {
    let self: EmbeddingsServer | undefined;
    const server = createServer((req, res) => void self!.handle(req, res));
    self = new EmbeddingsServer(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return self;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.attempts++;
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || req.url !== '/v1/embeddings') return json(404, { error: { message: 'not found', type: 'invalid_request_error' } });
    const body = JSON.parse(raw) as { model: string; input: string[] };
    this.seen.push({ authorization: req.headers.authorization, body });
    const fault = this.faults.shift();
    if (fault) return json(fault.status, { error: { message: `injected ${fault.status}`, type: 'server_error' } }, fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
    if (req.headers.authorization !== 'Bearer sk-test') return json(401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error' } });
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    const vectors = await this.local.embed(body.input);
    const data = vectors.map((embedding, index) => ({ object: 'embedding', embedding, index })).reverse();
    json(200, { object: 'list', data, model: body.model, usage: { prompt_tokens: 1, total_tokens: 1 } });
  }
}

let server: EmbeddingsServer;
beforeAll(async () => {
  server = await EmbeddingsServer.start();
});
afterAll(() => server.close());
beforeEach(() => {
  server.seen.length = 0;
  server.faults.length = 0;
  server.delayMs = 0;
  server.attempts = 0;
});

const fast = { retries: 3, baseMs: 5, maxDelayMs: 2_000 };
const embedder = (extra: Partial<ConstructorParameters<typeof OpenAiEmbedder>[0]> = {}) =>
  new OpenAiEmbedder({ url: server.url, model: 'text-embedding-test', apiKey: 'sk-test', retry: fast, ...extra });

describe('OpenAiEmbedder', () => {
  it('posts {model, input} with the bearer key, orders by index, and learns the dimension', async () => {
    const e = embedder();
    expect(e.dimension).toBe(0);
    const texts = ['alpha beta', 'gamma', 'delta epsilon'];
    const vectors = await e.embed(texts);
    expect(e.dimension).toBe(48);
    expect(vectors).toEqual(await new LocalEmbedder({ dimension: 48 }).embed(texts));
    expect(server.seen).toEqual([{ authorization: 'Bearer sk-test', body: { model: 'text-embedding-test', input: texts } }]);
  });

  it('splits large inputs into batches', async () => {
    const vectors = await embedder({ batchSize: 2 }).embed(['a', 'b', 'c', 'd', 'e']);
    expect(vectors).toHaveLength(5);
    expect(server.seen.map((s) => s.body.input.length)).toEqual([2, 2, 1]);
  });

  it('retries 429 after Retry-After and 5xx, then succeeds', async () => {
    server.faults.push({ status: 429, retryAfter: '1' }, { status: 503 });
    const started = Date.now();
    expect(await embedder().embed(['x'])).toHaveLength(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(server.seen).toHaveLength(3);
  });

  it('does not retry a 4xx and reports the server message', async () => {
    await expect(embedder({ apiKey: 'sk-wrong' }).embed(['x'])).rejects.toMatchObject({
      code: 'DROVER_ERR_MEMORY_EMBEDDING_FAILED',
      retryable: false,
      message: expect.stringContaining('Incorrect API key provided'),
    });
    expect(server.seen).toHaveLength(1);
  });

  it('gives up after the retries with a retryable error', async () => {
    server.faults.push({ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 });
    await expect(embedder().embed(['x'])).rejects.toMatchObject({ code: 'DROVER_ERR_MEMORY_EMBEDDING_FAILED', retryable: true });
    expect(server.seen).toHaveLength(4);
  });

  it('times out a slow answer and retries it', async () => {
    server.delayMs = 2_000;
    await expect(embedder({ timeoutMs: 250, retry: { retries: 1, baseMs: 1, maxDelayMs: 5 } }).embed(['x'])).rejects.toMatchObject({
      code: 'DROVER_ERR_MEMORY_EMBEDDING_FAILED',
      message: expect.stringContaining('timeout'),
    });
    expect(server.attempts).toBe(2);
  });

  it('refuses an answer whose dimension differs from the configured one', async () => {
    await expect(embedder({ dimension: 1536 }).embed(['x'])).rejects.toMatchObject({ code: 'DROVER_ERR_MEMORY_DIMENSION_MISMATCH' });
  });

  it('serves a store end to end, learning the dimension before checking raw vectors', async () => {
    const store = new EmbeddedMemoryStore({ embedder: embedder() });
    await expect(store.remember('acme', 'notes', [{ id: 'v', vector: [1, 0, 0] }])).rejects.toMatchObject({ code: 'DROVER_ERR_MEMORY_DIMENSION_MISMATCH' });
    await store.remember('acme', 'notes', [
      { id: 'a', text: 'drover runs agents' },
      { id: 'b', text: 'qdrant stores vectors' },
    ]);
    expect((await store.recall('acme', 'notes', 'qdrant stores vectors'))[0]!.id).toBe('b');
    expect(store.dimension).toBe(48);
    await store.close();
  });

  it('is what createMemoryStore picks when an embeddings URL is configured', async () => {
    const store = createMemoryStore({ embeddingsUrl: server.url, embeddingsApiKey: 'sk-test', embeddingsModel: 'm' });
    await store.remember('acme', 'notes', [{ id: 'a', text: 'hello' }]);
    expect(server.seen.at(-1)?.body.model).toBe('m');
    expect(store).toBeInstanceOf(EmbeddedMemoryStore);
    await store.close();
  });
});
