import { PermanentError, type TaskRecord } from '@drover/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { type Fixture, authA, authB, jsonA, jsonB, startApp, until } from './app-fixture.js';

let f: Fixture;
afterEach(async () => {
  await f?.close();
});

/**
 * Tenant isolation on every route that names a task, a schedule or a dead letter (issue 14): tenant
 * b tries to read, wait on, stream, see the tree of, cancel, spawn into, retry and discard tenant
 * a's, and to find them in its lists and streams. Every attempt answers as if they did not exist.
 */
describe('tenant isolation', () => {
  it("never lets one tenant see or touch another's tasks, task streams, trees, dead letters or schedules", async () => {
    f = await startApp();
    const c = await f.backend.consume('general', {
      concurrency: 2,
      handler: async (task, ctx) => {
        if ((task.input as { fail?: boolean } | null)?.fail) throw new PermanentError('no');
        if ((task.input as { hold?: boolean } | null)?.hold) await new Promise((r) => ctx.signal.addEventListener('abort', r, { once: true }));
        return task.input;
      },
    });
    const post = (url: string, body: unknown, headers = jsonA) => f.app.inject({ method: 'POST', url, headers, payload: JSON.stringify(body) });
    const done = (await post('/v1/tasks?wait=5000', { type: 'echo', input: { secret: 'a-only' } })).json() as TaskRecord;
    const dead = (await post('/v1/tasks', { type: 'echo', input: { fail: true }, maxAttempts: 1 })).json() as TaskRecord;
    const held = (await post('/v1/tasks', { type: 'echo', input: { hold: true } })).json() as TaskRecord;
    const schedule = (await post('/v1/schedules', { everyMs: 3_600_000, task: { type: 'echo' } })).json() as { id: string };
    await until(async () => (await f.backend.get(dead.id))?.status === 'failed', 'the dead letter');

    const asB = (method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown) =>
      f.app.inject({ method, url, headers: body === undefined ? authB : jsonB, ...(body === undefined ? {} : { payload: JSON.stringify(body) }) });
    const attempts: Array<[string, Promise<{ statusCode: number; body: string }>]> = [];
    for (const id of [done.id, dead.id, held.id]) {
      attempts.push([`read ${id}`, asB('GET', `/v1/tasks/${id}`)]);
      attempts.push([`wait ${id}`, asB('GET', `/v1/tasks/${id}?wait=100`)]);
      attempts.push([`tree ${id}`, asB('GET', `/v1/tasks/${id}/tree`)]);
      attempts.push([`stream ${id}`, asB('GET', `/v1/tasks/${id}/events`)]);
      attempts.push([`cancel ${id}`, asB('POST', `/v1/tasks/${id}/cancel`, {})]);
      attempts.push([`spawn into ${id}`, asB('POST', '/v1/tasks', { type: 'echo', parentId: id })]);
      attempts.push([`batch spawn into ${id}`, asB('POST', '/v1/tasks/batch', { tasks: [{ type: 'echo', parentId: id }] })]);
      attempts.push([`retry ${id}`, asB('POST', `/v1/dead-letters/${id}/retry`, {})]);
      attempts.push([`discard ${id}`, asB('DELETE', `/v1/dead-letters/${id}`)]);
    }
    attempts.push(['read schedule', asB('GET', `/v1/schedules/${schedule.id}`)]);
    attempts.push(['delete schedule', asB('DELETE', `/v1/schedules/${schedule.id}`)]);
    for (const [what, pending] of attempts) {
      const res = await pending;
      expect(res.statusCode, `${what}: ${res.body}`).toBe(404);
      expect(res.body, what).not.toContain('a-only');
    }

    // Lists and bulk operations of b do not reach a's.
    expect(((await asB('GET', '/v1/tasks?limit=1000')).json() as { items: TaskRecord[] }).items).toEqual([]);
    expect(((await asB('GET', '/v1/dead-letters')).json() as { items: TaskRecord[] }).items).toEqual([]);
    expect((await asB('GET', '/v1/schedules')).json()).toEqual({ schedules: [] });
    expect((await asB('POST', '/v1/dead-letters/discard', {})).json()).toMatchObject({ count: 0 });
    expect((await asB('POST', '/v1/dead-letters/retry', { ids: [dead.id] })).json()).toMatchObject({ count: 0 });


    // All of a's are where they were.
    expect((await f.backend.get(dead.id))?.status).toBe('failed');
    expect((await f.backend.get(held.id))?.status).toBe('running');
    expect((await f.app.inject({ method: 'GET', url: `/v1/schedules/${schedule.id}`, headers: authA })).statusCode).toBe(200);
    await c.close(0);
  }, 30_000);
});
