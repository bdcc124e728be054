import { type Backend, MemoryBackend } from '@drover/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { type Fixture, authA, authAdmin, expectProblem, jsonA, startApp } from './app-fixture.js';

let f: Fixture;
afterEach(async () => {
  await f?.close();
});

const post = (url: string, payload: unknown, headers: Record<string, string> = jsonA) =>
  f.app.inject({ method: 'POST', url, headers, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });

describe('every client error is problem+json with a stable code', () => {
  it('unknown task type: 400, lists the known types', async () => {
    f = await startApp();
    const p = expectProblem(await post('/v1/tasks', { type: 'summarise' }), 400, 'DROVER_ERR_UNKNOWN_TASK_TYPE');
    expect(p.detail).toContain('debate, debater, echo, judge, scrape, sleep');
    expect(p.instance).toBe('/v1/tasks');
  });

  it('input not matching the schema: 400 with JSON-pointer paths', async () => {
    f = await startApp();
    const p = expectProblem(await post('/v1/tasks', { type: 'sleep', input: { ms: -1, fail: 'yes', nap: true } }), 400, 'DROVER_ERR_INVALID_INPUT');
    expect(p.errors.map((e: { path: string }) => e.path).sort()).toEqual(['/input/fail', '/input/ms', '/input/nap']);
    expectProblem(await post('/v1/tasks', { type: 'sleep' }), 400, 'DROVER_ERR_INVALID_INPUT');
    const scrape = expectProblem(await post('/v1/tasks', { type: 'scrape', input: { url: 'https://x', zenrows: { js_render: 'yes' } } }), 400, 'DROVER_ERR_INVALID_INPUT');
    expect(scrape.errors).toContainEqual({ path: '/input/zenrows/js_render', message: 'must be boolean' });
  });

  it('unknown fields anywhere in the body: 400 VALIDATION, not silently stripped', async () => {
    f = await startApp();
    const p = expectProblem(await post('/v1/tasks', { type: 'echo', maxAttempt: 3 }), 400, 'DROVER_ERR_VALIDATION');
    expect(p.errors).toEqual([{ path: '/maxAttempt', message: 'is not a known field' }]);
    expectProblem(await post('/v1/tasks/batch', { tasks: [{ type: 'echo' }], dryRun: true }), 400, 'DROVER_ERR_VALIDATION');
  });

  it('out-of-range and mistyped fields: 400 VALIDATION (no type coercion of bodies)', async () => {
    f = await startApp();
    const p = expectProblem(await post('/v1/tasks', { type: 'echo', priority: 11 }), 400, 'DROVER_ERR_VALIDATION');
    expect(p.errors).toEqual([{ path: '/priority', message: 'must be <= 10' }]);
    expectProblem(await post('/v1/tasks', { type: 'echo', priority: '5' }), 400, 'DROVER_ERR_VALIDATION');
    expectProblem(await post('/v1/tasks', { type: 'echo', maxAttempts: 0 }), 400, 'DROVER_ERR_VALIDATION');
    expectProblem(await post('/v1/tasks', { type: 'echo', maxAttempts: 101 }), 400, 'DROVER_ERR_VALIDATION');
    expectProblem(await post('/v1/tasks', { input: 1 }), 400, 'DROVER_ERR_VALIDATION');
    expectProblem(await post('/v1/tasks', [1, 2]), 400, 'DROVER_ERR_VALIDATION');
    expectProblem(await post('/v1/tasks', ''), 400, 'DROVER_ERR_VALIDATION');
  });

  it('malformed JSON: 400 BAD_REQUEST', async () => {
    f = await startApp();
    expectProblem(await post('/v1/tasks', '{"type": "echo",'), 400, 'DROVER_ERR_BAD_REQUEST');
    expectProblem(await post('/v1/tasks', '{"__proto__": {"x": 1}, "type": "echo"}'), 400, 'DROVER_ERR_BAD_REQUEST');
  });

  it('wrong content type: 415', async () => {
    f = await startApp();
    const p = expectProblem(await post('/v1/tasks', 'type=echo', { ...authA, 'content-type': 'application/x-www-form-urlencoded' }), 415, 'DROVER_ERR_UNSUPPORTED_MEDIA_TYPE');
    expect(p.detail).toContain('application/json');
    expectProblem(await post('/v1/tasks', '{"type":"echo"}', { ...authA, 'content-type': 'text/plain' }), 415, 'DROVER_ERR_UNSUPPORTED_MEDIA_TYPE');
  });

  it('oversized body: 413 naming DROVER_BODY_LIMIT_BYTES', async () => {
    f = await startApp({ env: { DROVER_BODY_LIMIT_BYTES: '1024' } });
    const p = expectProblem(await post('/v1/tasks', { type: 'echo', input: 'x'.repeat(2000) }), 413, 'DROVER_ERR_PAYLOAD_TOO_LARGE');
    expect(p.detail).toContain('1024');
    expect(p.detail).toContain('DROVER_BODY_LIMIT_BYTES');
  });

  it('bad task id: 400 BAD_TASK_ID', async () => {
    f = await startApp();
    expectProblem(await f.app.inject({ method: 'GET', url: '/v1/tasks/bad%20id', headers: authA }), 400, 'DROVER_ERR_BAD_TASK_ID');
    expectProblem(await f.app.inject({ method: 'GET', url: `/v1/tasks/${'x'.repeat(129)}`, headers: authA }), 400, 'DROVER_ERR_BAD_TASK_ID');
    expectProblem(await f.app.inject({ method: 'POST', url: '/v1/tasks/%E2%9C%93/cancel', headers: authA }), 400, 'DROVER_ERR_BAD_TASK_ID');
    expectProblem(await post('/v1/tasks', { type: 'echo', parentId: 'no/slash' }), 400, 'DROVER_ERR_VALIDATION');
  });

  it('malformed percent-encoding in the URL: 400 BAD_REQUEST', async () => {
    f = await startApp();
    expectProblem(await f.app.inject({ method: 'GET', url: '/v1/tasks/%ZZ', headers: authA }), 400, 'DROVER_ERR_BAD_REQUEST');
  });

  it('bad cursor and bad list parameters: 400', async () => {
    f = await startApp();
    expectProblem(await f.app.inject({ method: 'GET', url: '/v1/tasks?cursor=not-a-cursor', headers: authA }), 400, 'DROVER_ERR_BAD_CURSOR');
    expectProblem(await f.app.inject({ method: 'GET', url: '/v1/tasks?limit=0', headers: authA }), 400, 'DROVER_ERR_VALIDATION');
    expectProblem(await f.app.inject({ method: 'GET', url: '/v1/tasks?limit=1001', headers: authA }), 400, 'DROVER_ERR_VALIDATION');
    expectProblem(await f.app.inject({ method: 'GET', url: '/v1/tasks?limit=ten', headers: authA }), 400, 'DROVER_ERR_VALIDATION');
    const status = expectProblem(await f.app.inject({ method: 'GET', url: '/v1/tasks?status=done', headers: authA }), 400, 'DROVER_ERR_VALIDATION');
    expect(status.detail).toContain('status');
    expectProblem(await f.app.inject({ method: 'GET', url: '/v1/tasks?queue=nope', headers: authA }), 400, 'DROVER_ERR_UNKNOWN_QUEUE');
    expectProblem(await f.app.inject({ method: 'GET', url: '/v1/tasks?colour=red', headers: authA }), 400, 'DROVER_ERR_VALIDATION');
    expectProblem(await f.app.inject({ method: 'GET', url: '/v1/tasks/x?wait=-1', headers: authA }), 400, 'DROVER_ERR_VALIDATION');
  });

  it('unknown queue on submit: 400 UNKNOWN_QUEUE listing DROVER_QUEUES', async () => {
    f = await startApp();
    const p = expectProblem(await post('/v1/tasks', { type: 'echo', queue: 'gpu' }), 400, 'DROVER_ERR_UNKNOWN_QUEUE');
    expect(p.detail).toContain('DROVER_QUEUES');
  });

  it('a task type whose declared queue is not configured: 400 UNKNOWN_QUEUE', async () => {
    f = await startApp({ env: { DROVER_QUEUES: 'general' } });
    const p = expectProblem(await post('/v1/tasks', { type: 'scrape', input: { url: 'https://x' } }), 400, 'DROVER_ERR_UNKNOWN_QUEUE');
    expect(p.detail).toContain('task type scrape');
  });

  it('unknown route: 404 ROUTE_NOT_FOUND (with or without a key)', async () => {
    f = await startApp();
    expectProblem(await f.app.inject({ method: 'GET', url: '/v2/tasks' }), 404, 'DROVER_ERR_ROUTE_NOT_FOUND');
    expectProblem(await f.app.inject({ method: 'GET', url: '/v1/tasks/abc/retry', headers: authA }), 404, 'DROVER_ERR_ROUTE_NOT_FOUND');
  });

  it('known path, wrong method: 405 with Allow', async () => {
    f = await startApp();
    const res = await f.app.inject({ method: 'DELETE', url: '/v1/tasks/abc', headers: authA });
    const p = expectProblem(res, 405, 'DROVER_ERR_METHOD_NOT_ALLOWED');
    expect(res.headers.allow).toBe('GET, HEAD');
    expect(p.detail).toContain('GET');
    expect((await f.app.inject({ method: 'GET', url: '/v1/queues/general/pause', headers: authA })).headers.allow).toBe('POST');
  });

  it('missing or invalid key: 401 with WWW-Authenticate: Bearer', async () => {
    f = await startApp();
    for (const headers of [{}, { authorization: 'Bearer wrong-key-0123456789' }, { authorization: 'Basic YTpi' }, { authorization: 'Bearer' }]) {
      const res = await f.app.inject({ method: 'GET', url: '/v1/tasks', headers });
      expectProblem(res, 401, 'DROVER_ERR_UNAUTHENTICATED');
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    }
    // The body is not even read for an unauthenticated caller.
    expectProblem(await post('/v1/tasks', '{not json', { 'content-type': 'application/json' }), 401, 'DROVER_ERR_UNAUTHENTICATED');
  });

  it('pause/resume by a non-admin: 403 naming DROVER_ADMIN_TENANTS; unknown queue: 404', async () => {
    f = await startApp();
    const p = expectProblem(await f.app.inject({ method: 'POST', url: '/v1/queues/general/pause', headers: authA }), 403, 'DROVER_ERR_FORBIDDEN');
    expect(p.detail).toContain('DROVER_ADMIN_TENANTS');
    expectProblem(await f.app.inject({ method: 'POST', url: '/v1/queues/gpu/pause', headers: authAdmin }), 404, 'DROVER_ERR_QUEUE_NOT_FOUND');
  });

  it('backend down: 503 BACKEND_UNAVAILABLE, never 500', async () => {
    const down = (b: MemoryBackend): Backend =>
      new Proxy(b, {
        get(target, prop, receiver) {
          if (['submit', 'get', 'list', 'counts', 'workers', 'submitMany'].includes(String(prop))) {
            return () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' }));
          }
          const v = Reflect.get(target, prop, receiver);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
    f = await startApp({ wrap: down });
    const submit = await post('/v1/tasks', { type: 'echo' });
    expectProblem(submit, 503, 'DROVER_ERR_BACKEND_UNAVAILABLE');
    expect(submit.headers['retry-after']).toBeDefined();
    expect(submit.body).not.toContain('ECONNREFUSED');
    expectProblem(await f.app.inject({ method: 'GET', url: '/v1/tasks/general.x', headers: authA }), 503, 'DROVER_ERR_BACKEND_UNAVAILABLE');
    expectProblem(await f.app.inject({ method: 'GET', url: '/v1/tasks', headers: authA }), 503, 'DROVER_ERR_BACKEND_UNAVAILABLE');
    expectProblem(await f.app.inject({ method: 'GET', url: '/v1/queues', headers: authA }), 503, 'DROVER_ERR_BACKEND_UNAVAILABLE');
    expectProblem(await f.app.inject({ method: 'GET', url: '/v1/workers', headers: authA }), 503, 'DROVER_ERR_BACKEND_UNAVAILABLE');
    expectProblem(await f.app.inject({ method: 'GET', url: '/metrics' }), 503, 'DROVER_ERR_BACKEND_UNAVAILABLE');
  });

  it('a closed backend: /readyz 503 and submits 503', async () => {
    f = await startApp();
    await f.backend.close();
    expectProblem(await f.app.inject({ method: 'GET', url: '/readyz' }), 503, 'DROVER_ERR_BACKEND_UNAVAILABLE');
    expectProblem(await post('/v1/tasks', { type: 'echo' }), 503, 'DROVER_ERR_BACKEND_UNAVAILABLE');
    f.backend = new MemoryBackend();
  });
});
