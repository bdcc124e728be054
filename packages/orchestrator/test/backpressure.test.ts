import { afterEach, describe, expect, it } from 'vitest';
import { type Fixture, expectProblem, jsonA, startApp, until } from './app-fixture.js';

let f: Fixture;
afterEach(async () => {
  await f?.close();
});

describe('backpressure', () => {
  it('answers 429 with Retry-After once the queue backlog reaches DROVER_MAX_BACKLOG', async () => {
    f = await startApp({ env: { DROVER_MAX_BACKLOG: '3' } });
    for (let i = 0; i < 3; i++) {
      const ok = await f.app.inject({ method: 'POST', url: '/v1/tasks', headers: jsonA, payload: { type: 'echo' } });
      expect(ok.statusCode).toBe(201);
    }
    const res = await f.app.inject({ method: 'POST', url: '/v1/tasks', headers: jsonA, payload: { type: 'echo' } });
    const p = expectProblem(res, 429, 'DROVER_ERR_BACKPRESSURE');
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(p.detail).toContain('DROVER_MAX_BACKLOG');
    const batch = await f.app.inject({ method: 'POST', url: '/v1/tasks/batch', headers: jsonA, payload: { tasks: [{ type: 'echo' }] } });
    expectProblem(batch, 429, 'DROVER_ERR_BACKPRESSURE');
    // Other queues are not affected.
    const other = await f.app.inject({ method: 'POST', url: '/v1/tasks', headers: jsonA, payload: { type: 'echo', queue: 'coding' } });
    expect(other.statusCode).toBe(201);
  });

  it('counts a backlog that existed before the app started, and admits again once it drains', async () => {
    f = await startApp({
      env: { DROVER_MAX_BACKLOG: '2' },
      setup: async (b) => {
        const { completeSubmit } = await import('@drover/shared');
        await b.submit(completeSubmit({ type: 'echo', queue: 'general', tenant: 'a' }));
        await b.submit(completeSubmit({ type: 'echo', queue: 'general', tenant: 'a' }));
      },
    });
    expectProblem(await f.app.inject({ method: 'POST', url: '/v1/tasks', headers: jsonA, payload: { type: 'echo' } }), 429, 'DROVER_ERR_BACKPRESSURE');
    await f.backend.consume('general', { concurrency: 5, handler: async () => 'ok' });
    // GET /v1/queues reads fresh counts, which also refresh the backpressure figure.
    await until(async () => {
      const queues = await f.app.inject({ method: 'GET', url: '/v1/queues', headers: jsonA });
      return queues.json().queues.find((q: { name: string }) => q.name === 'general').backlog === 0;
    }, 'the backlog to drain');
    const ok = await f.app.inject({ method: 'POST', url: '/v1/tasks', headers: jsonA, payload: { type: 'echo' } });
    expect(ok.statusCode).toBe(201);
  });
});
