import { afterEach, describe, expect, it } from 'vitest';
import { retryDelay } from '../src/backoff.js';
import {
  DroverClient,
  DroverNetworkError,
  DroverRateLimitError,
  DroverTimeoutError,
  DroverUnavailableError,
  DroverValidationError,
} from '../src/index.js';
import { parseRetryAfter } from '../src/retry-after.js';
import { type ScriptedServer, json, problem, scriptedServer } from './http-server.js';

const KEY = 'secret-key-never-in-errors-123456';
const record = (id: string) => ({ id, type: 'echo', queue: 'general', tenant: 'a', status: 'queued' });
let server: ScriptedServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const client = (options: Partial<ConstructorParameters<typeof DroverClient>[0]> = {}) =>
  new DroverClient({ baseUrl: server!.baseUrl, apiKey: KEY, retries: { attempts: 3, baseMs: 20, maxMs: 5000 }, ...options });

async function rejection(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('retries', () => {
  it('waits out Retry-After on a 503, then succeeds', async () => {
    server = await scriptedServer((n, _req, res) => {
      if (n === 0) problem(res, 503, 'DROVER_ERR_BACKEND_UNAVAILABLE', 'The queue backend did not answer; retry shortly.', { 'retry-after': '1' });
      else json(res, 200, record('t1'));
    });
    const c = client();
    const started = Date.now();
    const task = await c.get('t1');
    expect(task.id).toBe('t1');
    expect(server.requests).toHaveLength(2);
    expect(c.lastAttempts).toBe(2);
    expect(server.requests[1]!.at - server.requests[0]!.at).toBeGreaterThanOrEqual(950);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(server.requests.every((r) => r.headers.authorization === `Bearer ${KEY}`)).toBe(true);
  });

  it('retries a 429 submission (refused before anything was done) and stops after `attempts`', async () => {
    server = await scriptedServer((_n, _req, res) => problem(res, 429, 'DROVER_ERR_BACKPRESSURE', 'Queue general is full.', { 'retry-after': '0' }));
    const c = client();
    const err = await rejection(c.submit({ type: 'echo' }));
    expect(err).toBeInstanceOf(DroverRateLimitError);
    expect(err.code).toBe('DROVER_ERR_BACKPRESSURE');
    expect(err.retryAfterMs).toBe(0);
    expect(server.requests).toHaveLength(3);
  });

  it('does not retry other 4xx', async () => {
    server = await scriptedServer((_n, _req, res) => problem(res, 400, 'DROVER_ERR_VALIDATION', 'Invalid body.'));
    const err = await rejection(client().get('t1'));
    expect(err).toBeInstanceOf(DroverValidationError);
    expect(server.requests).toHaveLength(1);
  });

  it('throws at once when Retry-After is longer than retries.maxMs', async () => {
    server = await scriptedServer((_n, _req, res) => problem(res, 503, 'DROVER_ERR_BACKEND_UNAVAILABLE', 'Down.', { 'retry-after': '120' }));
    const started = Date.now();
    const err = await rejection(client().get('t1'));
    expect(err).toBeInstanceOf(DroverUnavailableError);
    expect(err.retryAfterMs).toBe(120_000);
    expect(server.requests).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('retries network errors for GET and keyed submissions, never for an unkeyed POST', async () => {
    // Every even request has its connection cut before any answer.
    server = await scriptedServer((n, _req, res) => {
      if (n % 2 === 0) res.socket?.destroy();
      else json(res, n === 1 ? 200 : 201, record(`t${n}`));
    });
    const c = client();
    expect((await c.get('t1')).id).toBe('t1');
    expect(server.requests).toHaveLength(2);

    const keyed = await c.submit({ type: 'echo' }, { idempotencyKey: 'k-1' });
    expect(keyed.id).toBe('t3');
    expect(server.requests).toHaveLength(4);
    expect(JSON.parse(server.requests[3]!.body)).toEqual({ type: 'echo', idempotencyKey: 'k-1' });

    const err = await rejection(c.submit({ type: 'echo' }));
    expect(err).toBeInstanceOf(DroverNetworkError);
    expect(err.code).toBe('DROVER_CLIENT_ERR_NETWORK');
    expect(server.requests).toHaveLength(5);
  });

  it('times out a silent server per attempt', async () => {
    server = await scriptedServer(() => undefined); // never answers
    const c = client({ timeoutMs: 150, retries: { attempts: 2, baseMs: 10, maxMs: 100 } });
    const started = Date.now();
    const err = await rejection(c.get('t1'));
    expect(err).toBeInstanceOf(DroverTimeoutError);
    expect(err.code).toBe('DROVER_CLIENT_ERR_TIMEOUT');
    expect(server.requests).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  it("passes the caller's abort through, unwrapped and not retried", async () => {
    server = await scriptedServer(() => undefined);
    const controller = new AbortController();
    const pending = client().get('t1', { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const err = await rejection(pending);
    expect(err.name).toBe('AbortError');
    expect(server.requests).toHaveLength(1);
  });
});

describe('the API key stays out of errors', () => {
  it('redacts a key a misbehaving server echoes back, and never puts it in network errors', async () => {
    server = await scriptedServer((_n, req, res) => problem(res, 500, 'DROVER_ERR_INTERNAL', `failed for ${req.headers.authorization}`));
    const err = await rejection(client().get('t1'));
    expect(err.status).toBe(500);
    expect(err.detail).toContain('[redacted]');
    for (const text of [err.message, err.detail, String(err), err.stack, JSON.stringify(err), JSON.stringify(err.body)]) expect(text).not.toContain(KEY);

    const closed = server.baseUrl;
    await server.close();
    server = undefined;
    const down = await rejection(new DroverClient({ baseUrl: closed, apiKey: KEY, retries: { attempts: 1 } }).get('t1'));
    expect(down).toBeInstanceOf(DroverNetworkError);
    expect(down.message).toMatch(/ECONNREFUSED|fetch failed/);
    for (const text of [down.message, String(down), down.stack, JSON.stringify(down)]) expect(text).not.toContain(KEY);
  });
});

describe('backoff arithmetic', () => {
  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('grows exponentially within maxMs, with jitter, and honours Retry-After', () => {
    const opts = { attempts: 5, baseMs: 100, maxMs: 1000 };
    expect(retryDelay(1, opts, undefined, () => 0)).toBe(50);
    expect(retryDelay(1, opts, undefined, () => 1)).toBe(100);
    expect(retryDelay(3, opts, undefined, () => 1)).toBe(400);
    expect(retryDelay(10, opts, undefined, () => 1)).toBe(1000);
    expect(retryDelay(1, opts, 700, () => 0)).toBe(700);
    expect(retryDelay(1, opts, 700, () => 1)).toBe(800);
    expect(retryDelay(1, opts, 5000, () => 0)).toBeUndefined();
  });
});
