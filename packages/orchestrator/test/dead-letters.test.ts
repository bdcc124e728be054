import { PermanentError, type TaskRecord } from '@drover/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { type Fixture, authA, authB, expectProblem, jsonA, jsonB, startApp, until } from './app-fixture.js';

let f: Fixture;
afterEach(async () => {
  await f?.close();
});

const submit = async (body: unknown, headers: Record<string, string> = jsonA): Promise<TaskRecord> => {
  const res = await f.app.inject({ method: 'POST', url: '/v1/tasks', headers, payload: JSON.stringify(body) });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as TaskRecord;
};
const get = (url: string, headers: Record<string, string> = authA) => f.app.inject({ method: 'GET', url, headers });
const post = (url: string, body: unknown, headers: Record<string, string> = jsonA) => f.app.inject({ method: 'POST', url, headers, payload: JSON.stringify(body) });
const settled = (id: string) => until(async () => ['succeeded', 'failed', 'canceled'].includes((await f.backend.get(id))?.status ?? ''), `${id} to finish`);

/** A worker on the fixture's backend: echo input {fail: true} fails for good, {hang: true} runs into its timeout. */
async function startWorker(): Promise<void> {
  const c = await f.backend.consume('general', {
    concurrency: 8,
    handler: async (task, ctx) => {
      const input = task.input as { fail?: boolean; hang?: boolean; failOnce?: boolean };
      if (input.fail) throw new PermanentError('this input never works');
      if (input.hang) await new Promise((r) => ctx.signal.addEventListener('abort', r, { once: true }));
      return task.input;
    },
  });
  const close = f.close;
  f.close = async () => {
    await c.close(0);
    await close();
  };
}

describe('dead letters', () => {
  it("lists only the caller's failed tasks, filtered by type, queue and error code, with a cursor", async () => {
    f = await startApp();
    await startWorker();
    const dead = [];
    for (let i = 0; i < 5; i++) dead.push(await submit({ type: 'echo', input: { fail: true, i }, maxAttempts: 1 }));
    const timedOut = await submit({ type: 'echo', input: { hang: true }, maxAttempts: 1, timeoutMs: 50 });
    const ok = await submit({ type: 'echo', input: { fine: true } });
    const theirs = await submit({ type: 'echo', input: { fail: true }, maxAttempts: 1 }, jsonB);
    const canceled = await submit({ type: 'sleep', input: { ms: 60_000 }, delayMs: 60_000 });
    await post(`/v1/tasks/${canceled.id}/cancel`, {});
    for (const t of [...dead, timedOut, ok, theirs]) await settled(t.id);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await get(`/v1/dead-letters?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json() as { items: TaskRecord[]; nextCursor: string | null };
      expect(body.items.every((t) => t.status === 'failed' && t.tenant === 'a')).toBe(true);
      seen.push(...body.items.map((t) => t.id));
      cursor = body.nextCursor;
      expect(++pages).toBeLessThan(10);
    } while (cursor);
    expect(seen.sort()).toEqual([...dead.map((t) => t.id), timedOut.id].sort());

    const byCode = (await get('/v1/dead-letters?code=DROVER_ERR_TASK_TIMEOUT')).json() as { items: TaskRecord[] };
    expect(byCode.items.map((t) => t.id)).toEqual([timedOut.id]);
    expect(((await get('/v1/dead-letters?type=sleep')).json() as { items: TaskRecord[] }).items).toEqual([]);
    expect(((await get('/v1/dead-letters', authB)).json() as { items: TaskRecord[] }).items.map((t) => t.id)).toEqual([theirs.id]);
    expectProblem(await get('/v1/dead-letters?queue=nowhere'), 400, 'DROVER_ERR_UNKNOWN_QUEUE');
    expectProblem(await get('/v1/dead-letters?code=not-a-code'), 400, 'DROVER_ERR_VALIDATION');
  });

  it('retries one as a new task with the same type, input and options, and the dead letter goes', async () => {
    f = await startApp();
    const dead = await submit({ type: 'echo', input: { fail: true, n: 7 }, maxAttempts: 2, priority: 4, timeoutMs: 5000, backoffMs: 1 });
    await startWorker();
    await settled(dead.id);
    expect((await f.backend.get(dead.id))?.status).toBe('failed');

    const res = await post(`/v1/dead-letters/${dead.id}/retry`, {});
    expect(res.statusCode, res.body).toBe(201);
    const retried = res.json() as TaskRecord;
    expect(retried.id).not.toBe(dead.id);
    expect(retried).toMatchObject({ type: 'echo', queue: 'general', tenant: 'a', input: { fail: true, n: 7 }, priority: 4, maxAttempts: 2, timeoutMs: 5000, parentId: null });
    expectProblem(await get(`/v1/tasks/${dead.id}`), 404, 'DROVER_ERR_TASK_NOT_FOUND');
    // The retry runs from a fresh attempt count (and, with this input, fails for good again: a
    // dead letter once more).
    await settled(retried.id);
    expect(await f.backend.get(retried.id)).toMatchObject({ status: 'failed', attempt: 1 });
    expect(((await get('/v1/dead-letters')).json() as { items: TaskRecord[] }).items.map((t) => t.id)).toEqual([retried.id]);
  });

  it('discards one; refuses tasks that are not dead letters and other tenants', async () => {
    f = await startApp();
    await startWorker();
    const dead = await submit({ type: 'echo', input: { fail: true }, maxAttempts: 1 });
    const ok = await submit({ type: 'echo', input: { fine: true } });
    const queued = await submit({ type: 'sleep', input: { ms: 1 }, delayMs: 60_000 });
    await settled(dead.id);
    await settled(ok.id);

    expectProblem(await f.app.inject({ method: 'DELETE', url: `/v1/dead-letters/${dead.id}`, headers: authB }), 404, 'DROVER_ERR_TASK_NOT_FOUND');
    expectProblem(await post(`/v1/dead-letters/${dead.id}/retry`, {}, jsonB), 404, 'DROVER_ERR_TASK_NOT_FOUND');
    expectProblem(await post(`/v1/dead-letters/${ok.id}/retry`, {}), 409, 'DROVER_ERR_NOT_DEAD_LETTER');
    expectProblem(await f.app.inject({ method: 'DELETE', url: `/v1/dead-letters/${queued.id}`, headers: authA }), 409, 'DROVER_ERR_NOT_DEAD_LETTER');
    expectProblem(await f.app.inject({ method: 'DELETE', url: '/v1/dead-letters/bad%20id', headers: authA }), 400, 'DROVER_ERR_BAD_TASK_ID');

    const res = await f.app.inject({ method: 'DELETE', url: `/v1/dead-letters/${dead.id}`, headers: authA });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ id: dead.id, discarded: true });
    expect(await f.backend.get(dead.id)).toBeNull();
    expectProblem(await f.app.inject({ method: 'DELETE', url: `/v1/dead-letters/${dead.id}`, headers: authA }), 404, 'DROVER_ERR_TASK_NOT_FOUND');
    expect((await f.backend.get(queued.id))?.status).toBe('delayed');
  });

  it('retries and discards in bulk by filter, a limit at a time, and never touches another tenant', async () => {
    f = await startApp();
    await startWorker();
    const failing = [];
    for (let i = 0; i < 5; i++) failing.push(await submit({ type: 'echo', input: { fail: true, i }, maxAttempts: 1 }));
    const timedOut = await submit({ type: 'echo', input: { hang: true }, maxAttempts: 1, timeoutMs: 50 });
    const theirs = await submit({ type: 'echo', input: { fail: true }, maxAttempts: 1 }, jsonB);
    for (const t of [...failing, timedOut, theirs]) await settled(t.id);

    // Discard by code: only the timed-out one.
    const discarded = await post('/v1/dead-letters/discard', { code: 'DROVER_ERR_TASK_TIMEOUT' });
    expect(discarded.statusCode, discarded.body).toBe(200);
    expect(discarded.json()).toEqual({ count: 1, ids: [timedOut.id], more: false });

    // Retry by type, two at a time: more says when to call again.
    const first = (await post('/v1/dead-letters/retry', { type: 'echo', limit: 2 })).json() as { count: number; ids: string[]; tasks: TaskRecord[]; more: boolean };
    expect(first).toMatchObject({ count: 2, more: true });
    expect(first.ids).toEqual(failing.slice(0, 2).map((t) => t.id));
    expect(first.tasks.map((t) => t.input)).toEqual([
      { fail: true, i: 0 },
      { fail: true, i: 1 },
    ]);
    const rest = (await post('/v1/dead-letters/retry', { ids: failing.slice(2).map((t) => t.id).concat(theirs.id) })).json() as { count: number; ids: string[] };
    expect(rest).toMatchObject({ count: 3, ids: failing.slice(2).map((t) => t.id) });
    // Tenant b's dead letter is untouched.
    expect((await f.backend.get(theirs.id))?.status).toBe('failed');
    expect(((await get('/v1/dead-letters', authB)).json() as { items: TaskRecord[] }).items.map((t) => t.id)).toEqual([theirs.id]);
    expectProblem(await post('/v1/dead-letters/retry', { limit: 5000 }), 400, 'DROVER_ERR_VALIDATION');
    expectProblem(await post('/v1/dead-letters/discard', { status: 'failed' }), 400, 'DROVER_ERR_VALIDATION');
  });
});
