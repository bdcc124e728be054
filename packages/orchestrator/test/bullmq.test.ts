import { type Backend, Registry, createBackend, createLogger, loadConfig } from '@drover/shared';
import { testRedisUrl, uniqueName } from '@drover/testkit';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/index.js';
import { KEY_A, KEY_B, authA, authB, expectProblem, jsonA } from './app-fixture.js';

/** The API on the production backend (BullMQ on a real Redis), for what differs from memory. */
describe('on the bullmq backend', () => {
  let app: FastifyInstance;
  let backend: Backend;

  beforeAll(async () => {
    const config = loadConfig({
      DROVER_REDIS_URL: testRedisUrl(),
      DROVER_PREFIX: uniqueName('orch'),
      DROVER_API_KEYS: `a:${KEY_A},b:${KEY_B}`,
      DROVER_LOG_LEVEL: 'silent',
    });
    backend = await createBackend(config);
    const logger = createLogger({ service: 'orchestrator-test', instance: 't', region: 'local', level: 'silent' });
    app = await buildApp({ config, backend, logger, registry: new Registry() });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await backend?.close();
  });

  it('submits, replays by key, long-polls to the result, and isolates tenants', async () => {
    const consumer = await backend.consume('general', { concurrency: 2, handler: async (task) => ({ got: task.input }) });
    try {
      const headers = { ...jsonA, 'idempotency-key': uniqueName('k') };
      const first = await app.inject({ method: 'POST', url: '/v1/tasks', headers, payload: { type: 'echo', input: 5 } });
      expect(first.statusCode).toBe(201);
      const again = await app.inject({ method: 'POST', url: '/v1/tasks', headers, payload: { type: 'echo', input: 5 } });
      expect(again.statusCode).toBe(200);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expectProblem(await app.inject({ method: 'POST', url: '/v1/tasks', headers, payload: { type: 'echo', input: 6 } }), 409, 'DROVER_ERR_IDEMPOTENCY_CONFLICT');
      const id = first.json().id;
      const done = await app.inject({ method: 'GET', url: `/v1/tasks/${id}?wait=20000`, headers: authA });
      expect(done.json()).toMatchObject({ id, status: 'succeeded', output: { got: 5 } });
      expectProblem(await app.inject({ method: 'GET', url: `/v1/tasks/${id}`, headers: authB }), 404, 'DROVER_ERR_TASK_NOT_FOUND');
      const waited = await app.inject({ method: 'POST', url: '/v1/tasks?wait=20000', headers: jsonA, payload: { type: 'echo', input: 'w' } });
      expect(waited.json()).toMatchObject({ status: 'succeeded', output: { got: 'w' } });
    } finally {
      await consumer.close();
    }
  });

  it('lists with a cursor, cancels, reports queues, and refuses a bad cursor with 400', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await app.inject({ method: 'POST', url: '/v1/tasks', headers: jsonA, payload: { type: 'echo', queue: 'debate' } })).json().id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/v1/tasks?queue=debate&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = (await app.inject({ method: 'GET', url, headers: authA })).json();
      seen.push(...page.items.map((t: { id: string }) => t.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(ids);
    const canceled = await app.inject({ method: 'POST', url: `/v1/tasks/${ids[0]}/cancel`, headers: authA });
    expect(canceled.json().status).toBe('canceled');
    expectProblem(await app.inject({ method: 'POST', url: `/v1/tasks/${ids[0]}/cancel`, headers: authA }), 409, 'DROVER_ERR_TASK_FINISHED');
    const queues = (await app.inject({ method: 'GET', url: '/v1/queues', headers: authA })).json().queues;
    expect(queues.find((q: { name: string }) => q.name === 'debate')).toMatchObject({ queued: 6, backlog: 6 });
    expectProblem(await app.inject({ method: 'GET', url: '/v1/tasks?cursor=bogus', headers: authA }), 400, 'DROVER_ERR_BAD_CURSOR');
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toContain('drover_queue_backlog{queue="debate"} 6');
  });
});
