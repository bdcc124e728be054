import { afterEach, describe, expect, it } from 'vitest';
import { type Fixture, authA, authAdmin, expectProblem, jsonA, startApp } from './app-fixture.js';

let f: Fixture;
afterEach(async () => {
  await f?.close();
});

describe('probes, metrics and docs (no authentication)', () => {
  it('/healthz answers 200 always', async () => {
    f = await startApp();
    const res = await f.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
    f.app.drover.draining = true;
    expect((await f.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it('/readyz answers 200 when the backend answers, 503 problem+json while draining', async () => {
    f = await startApp();
    expect((await f.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    f.app.drover.draining = true;
    expectProblem(await f.app.inject({ method: 'GET', url: '/readyz' }), 503, 'DROVER_ERR_SHUTTING_DOWN');
    // Draining only takes the replica out of rotation: requests in flight or still routed here are served.
    expect((await f.app.inject({ method: 'POST', url: '/v1/tasks', headers: jsonA, payload: { type: 'echo' } })).statusCode).toBe(201);
  });

  it('/metrics serves Prometheus text with queue gauges, submissions and request durations', async () => {
    f = await startApp();
    await f.app.inject({ method: 'POST', url: '/v1/tasks', headers: jsonA, payload: { type: 'echo' } });
    await f.app.inject({ method: 'POST', url: '/v1/tasks', headers: jsonA, payload: { type: 'sleep', input: { ms: 1 }, delayMs: 60_000 } });
    const res = await f.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toContain('drover_queue_backlog{queue="general"} 1');
    expect(res.body).toContain('drover_queue_backlog{queue="scrape"} 0');
    expect(res.body).toContain('drover_queue_depth{queue="general",state="delayed"} 1');
    expect(res.body).toContain('drover_tasks_submitted_total{type="echo",queue="general"} 1');
    expect(res.body).toMatch(/drover_http_request_duration_seconds_count\{method="POST",route="\/v1\/tasks",status_code="201"\} 2/);
  });

  it('/docs/json is an OpenAPI 3.1 document of the task routes, and /docs serves Swagger UI', async () => {
    f = await startApp();
    const res = await f.app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toEqual(expect.any(String));
    for (const [path, method] of [
      ['/v1/tasks', 'post'],
      ['/v1/tasks', 'get'],
      ['/v1/tasks/batch', 'post'],
      ['/v1/tasks/{id}', 'get'],
      ['/v1/tasks/{id}/cancel', 'post'],
      ['/v1/queues', 'get'],
      ['/v1/queues/{name}/pause', 'post'],
      ['/v1/workers', 'get'],
      ['/v1/task-types', 'get'],
    ] as const) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      expect(Object.keys(op.responses).length, `${method} ${path}`).toBeGreaterThan(0);
    }
    const submit = doc.paths['/v1/tasks'].post;
    const body = submit.requestBody.content['application/json'].schema;
    expect(body.additionalProperties).toBe(false);
    expect(Object.keys(body.properties)).toEqual(expect.arrayContaining(['type', 'input', 'queue', 'priority', 'idempotencyKey']));
    expect(submit.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toEqual(
      expect.arrayContaining(['query:wait', 'header:idempotency-key']),
    );
    expect(doc.components.schemas.TaskRecord.properties.status).toBeDefined();
    expect(doc.components.schemas.Problem.required).toEqual(expect.arrayContaining(['type', 'title', 'status', 'detail', 'code']));
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    // Every $ref resolves inside the document.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
    for (const ref of refs) {
      expect(ref.startsWith('#/components/schemas/'), ref).toBe(true);
      expect(doc.components.schemas[ref.slice('#/components/schemas/'.length)], ref).toBeDefined();
    }
    const ui = await f.app.inject({ method: 'GET', url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toMatch(/text\/html/);
  });

  it('sends security headers on every answer: a CSP that allows nothing on the API, its own on /docs', async () => {
    f = await startApp();
    const answers = [
      await f.app.inject({ method: 'GET', url: '/v1/queues', headers: authA }),
      await f.app.inject({ method: 'GET', url: '/v1/queues' }), // a 401
      await f.app.inject({ method: 'GET', url: '/healthz' }),
      await f.app.inject({ method: 'GET', url: '/no-such-route' }), // a 404
    ];
    for (const res of answers) {
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(res.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'");
      expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['x-powered-by']).toBeUndefined();
    }
    const ui = await f.app.inject({ method: 'GET', url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toContain('swagger');
    expect(ui.headers['content-security-policy']).toMatch(/script-src 'self'/);
  });

  it('DROVER_DOCS=false leaves /docs out', async () => {
    f = await startApp({ env: { DROVER_DOCS: 'false' } });
    expectProblem(await f.app.inject({ method: 'GET', url: '/docs/json' }), 404, 'DROVER_ERR_ROUTE_NOT_FOUND');
  });
});

describe('queues, workers, task types', () => {
  it('GET /v1/queues lists every configured queue with its counts and backlog', async () => {
    f = await startApp();
    await f.app.inject({ method: 'POST', url: '/v1/tasks', headers: jsonA, payload: { type: 'echo' } });
    const res = await f.app.inject({ method: 'GET', url: '/v1/queues', headers: authA });
    expect(res.statusCode).toBe(200);
    const queues = res.json().queues;
    expect(queues.map((q: { name: string }) => q.name)).toEqual(f.config.queues);
    expect(queues[0]).toEqual({ name: 'general', queued: 1, delayed: 0, waiting: 0, running: 0, succeeded: 0, failed: 0, canceled: 0, paused: false, backlog: 1 });
  });

  it('an admin pauses and resumes a queue; paused queues hold their tasks', async () => {
    f = await startApp();
    const paused = await f.app.inject({ method: 'POST', url: '/v1/queues/general/pause', headers: authAdmin });
    expect(paused.statusCode).toBe(200);
    expect(paused.json()).toMatchObject({ name: 'general', paused: true });
    expect(await f.backend.isPaused('general')).toBe(true);
    await f.backend.consume('general', { concurrency: 1, handler: async () => 'ok' });
    const id = (await f.app.inject({ method: 'POST', url: '/v1/tasks', headers: jsonA, payload: { type: 'echo' } })).json().id;
    expect((await f.backend.get(id))!.status).toBe('queued');
    const resumed = await f.app.inject({ method: 'POST', url: '/v1/queues/general/resume', headers: authAdmin });
    expect(resumed.json()).toMatchObject({ name: 'general', paused: false });
    const done = await f.app.inject({ method: 'GET', url: `/v1/tasks/${id}?wait=10000`, headers: authA });
    expect(done.json().status).toBe('succeeded');
  });

  it('GET /v1/workers lists live workers; where they run is shown to admin tenants only', async () => {
    f = await startApp();
    const now = new Date().toISOString();
    const worker = { id: 'w-1', hostname: 'h', pid: 1, queues: ['general'], taskTypes: ['echo'], concurrency: 3, busy: 1, startedAt: now, lastSeenAt: now, draining: false };
    await f.backend.heartbeat(worker, 60_000);
    const admin = await f.app.inject({ method: 'GET', url: '/v1/workers', headers: authAdmin });
    expect(admin.statusCode).toBe(200);
    expect(admin.json()).toEqual({ workers: [worker] });
    const tenant = await f.app.inject({ method: 'GET', url: '/v1/workers', headers: authA });
    expect(tenant.statusCode).toBe(200);
    const { id: _id, hostname: _hostname, pid: _pid, ...capacity } = worker;
    expect(tenant.json()).toEqual({ workers: [capacity] });
  });

  it('GET /v1/task-types lists built-ins with their input schemas', async () => {
    f = await startApp();
    const res = await f.app.inject({ method: 'GET', url: '/v1/task-types', headers: authA });
    expect(res.statusCode).toBe(200);
    const sleep = res.json().taskTypes.find((t: { name: string }) => t.name === 'sleep');
    expect(sleep).toMatchObject({ name: 'sleep', queue: 'general', builtin: true, inputSchema: { type: 'object', required: ['ms'] } });
  });
});

describe('authentication off (DROVER_AUTH=false)', () => {
  it('every request is tenant default, and is admin', async () => {
    f = await startApp({ env: { DROVER_AUTH: 'false', DROVER_API_KEYS: '' } });
    const res = await f.app.inject({ method: 'POST', url: '/v1/tasks', headers: { 'content-type': 'application/json' }, payload: { type: 'echo' } });
    expect(res.statusCode).toBe(201);
    expect(res.json().tenant).toBe('default');
    expect((await f.app.inject({ method: 'GET', url: `/v1/tasks/${res.json().id}` })).statusCode).toBe(200);
    expect((await f.app.inject({ method: 'POST', url: '/v1/queues/general/pause' })).statusCode).toBe(200);
  });
});
