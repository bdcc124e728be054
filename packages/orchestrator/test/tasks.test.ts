import type { TaskRecord } from '@drover/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { type Fixture, authA, authB, expectProblem, jsonA, jsonB, startApp } from './app-fixture.js';

let f: Fixture;
afterEach(async () => {
  await f?.close();
});

const submit = (body: unknown, headers: Record<string, string> = jsonA) => f.app.inject({ method: 'POST', url: '/v1/tasks', headers, payload: JSON.stringify(body) });

describe('POST /v1/tasks', () => {
  it('answers 201 with the task record, defaults filled from the task type and config', async () => {
    f = await startApp({ env: { DROVER_TASK_TIMEOUT_MS: '4321', DROVER_TASK_MAX_ATTEMPTS: '4' } });
    const res = await submit({ type: 'echo', input: { hello: 'world' } });
    expect(res.statusCode).toBe(201);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const task = res.json() as TaskRecord;
    expect(task).toMatchObject({
      type: 'echo',
      queue: 'general',
      tenant: 'a',
      status: 'queued',
      input: { hello: 'world' },
      priority: 10,
      attempt: 0,
      maxAttempts: 4,
      timeoutMs: 4321,
      idempotencyKey: null,
    });
    expect(await f.backend.get(task.id)).toMatchObject({ id: task.id, tenant: 'a' });
    // scrape's declared queue is `scrape`.
    const scrape = await submit({ type: 'scrape', input: { url: 'https://example.com/' } });
    expect(scrape.json()).toMatchObject({ queue: 'scrape', type: 'scrape' });
  });

  it('honours every option of the body', async () => {
    f = await startApp();
    const res = await submit({ type: 'sleep', input: { ms: 5 }, queue: 'coding', priority: 9, delayMs: 60_000, maxAttempts: 7, backoffMs: 10, timeoutMs: 999 });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ queue: 'coding', priority: 9, status: 'delayed', maxAttempts: 7, timeoutMs: 999 });
  });

  it('takes queue and defaults from a task type a worker registered, and validates its input', async () => {
    f = await startApp({
      setup: (b) =>
        b.registerTaskTypes([
          {
            name: 'summarize',
            queue: 'analysis',
            inputSchema: { type: 'object', properties: { text: { type: 'string', maxLength: 10 } }, required: ['text'], additionalProperties: false },
            timeoutMs: 1234,
            maxAttempts: 7,
            backoffMs: 50,
          },
        ]),
    });
    const ok = await submit({ type: 'summarize', input: { text: 'short' } });
    expect(ok.statusCode).toBe(201);
    expect(ok.json()).toMatchObject({ queue: 'analysis', timeoutMs: 1234, maxAttempts: 7 });
    const bad = expectProblem(await submit({ type: 'summarize', input: { text: 'far too long for it', extra: 1 } }), 400, 'DROVER_ERR_INVALID_INPUT');
    expect(bad.errors).toEqual(
      expect.arrayContaining([
        { path: '/input/text', message: expect.stringContaining('10') },
        { path: '/input/extra', message: 'is not a known field' },
      ]),
    );
    const types = await f.app.inject({ method: 'GET', url: '/v1/task-types', headers: authA });
    expect(types.json().taskTypes.map((t: { name: string }) => t.name)).toEqual(['debate', 'debater', 'echo', 'judge', 'scrape', 'sleep', 'summarize']);
  });

  it('sees task types registered after start-up', async () => {
    f = await startApp();
    await f.backend.registerTaskTypes([{ name: 'late', queue: 'debate', inputSchema: {} }]);
    // The first miss may fall inside the re-read rate limit; the type shows up within moments.
    let res = await submit({ type: 'late' });
    for (let i = 0; i < 100 && res.statusCode === 400; i++) {
      await new Promise((r) => setTimeout(r, 20));
      res = await submit({ type: 'late' });
    }
    expect(res.statusCode).toBe(201);
    expect(res.json().queue).toBe('debate');
  });

  it('counts submissions in drover_tasks_submitted_total', async () => {
    f = await startApp();
    await submit({ type: 'echo' });
    await submit({ type: 'echo' });
    const metrics = await f.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/drover_tasks_submitted_total\{type="echo",queue="general"\} 2/);
  });
});

describe('idempotency', () => {
  it('replays the original task for the same key and body (header), 200 + Idempotent-Replayed', async () => {
    f = await startApp();
    const headers = { ...jsonA, 'idempotency-key': 'order-42' };
    const first = await submit({ type: 'echo', input: { n: 1 } }, headers);
    expect(first.statusCode).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const again = await submit({ type: 'echo', input: { n: 1 } }, headers);
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json().id).toBe(first.json().id);
    expect(again.json().idempotencyKey).toBe('order-42');
  });

  it('treats the body field like the header, and both equal is fine', async () => {
    f = await startApp();
    const first = await submit({ type: 'echo', input: 1, idempotencyKey: 'k1' });
    const again = await submit({ type: 'echo', input: 1, idempotencyKey: 'k1' }, { ...jsonA, 'idempotency-key': 'k1' });
    expect([first.statusCode, again.statusCode]).toEqual([201, 200]);
    expect(again.json().id).toBe(first.json().id);
  });

  it('answers 409 for the same key with a different body', async () => {
    f = await startApp();
    const headers = { ...jsonA, 'idempotency-key': 'order-43' };
    expect((await submit({ type: 'echo', input: { n: 1 } }, headers)).statusCode).toBe(201);
    expectProblem(await submit({ type: 'echo', input: { n: 2 } }, headers), 409, 'DROVER_ERR_IDEMPOTENCY_CONFLICT');
  });

  it('answers 400 when header and body field differ', async () => {
    f = await startApp();
    const p = expectProblem(await submit({ type: 'echo', idempotencyKey: 'x' }, { ...jsonA, 'idempotency-key': 'y' }), 400, 'DROVER_ERR_VALIDATION');
    expect(p.detail).toMatch(/Idempotency-Key/);
  });

  it('scopes keys to the tenant', async () => {
    f = await startApp();
    const a = await submit({ type: 'echo', input: 1 }, { ...jsonA, 'idempotency-key': 'same' });
    const b = await submit({ type: 'echo', input: 2 }, { ...jsonB, 'idempotency-key': 'same' });
    expect([a.statusCode, b.statusCode]).toEqual([201, 201]);
    expect(a.json().id).not.toBe(b.json().id);
  });
});

describe('POST /v1/tasks/batch', () => {
  it('submits every task and answers 201 with the records in order', async () => {
    f = await startApp();
    const tasks = [{ type: 'echo', input: 1 }, { type: 'sleep', input: { ms: 1 }, priority: 3 }, { type: 'scrape', input: { url: 'https://example.com' } }];
    const res = await f.app.inject({ method: 'POST', url: '/v1/tasks/batch', headers: jsonA, payload: { tasks } });
    expect(res.statusCode).toBe(201);
    const records = res.json().tasks as TaskRecord[];
    expect(records.map((t) => [t.type, t.queue, t.tenant])).toEqual([
      ['echo', 'general', 'a'],
      ['sleep', 'general', 'a'],
      ['scrape', 'scrape', 'a'],
    ]);
    expect(records[1]!.priority).toBe(3);
  });

  it('checks every task before submitting any; errors name the index', async () => {
    f = await startApp();
    const tasks = [{ type: 'echo' }, { type: 'echo' }, { type: 'echo' }, { type: 'sleep', input: { ms: 'soon' } }, { type: 'nope' }];
    const p = expectProblem(await f.app.inject({ method: 'POST', url: '/v1/tasks/batch', headers: jsonA, payload: { tasks } }), 400, 'DROVER_ERR_INVALID_INPUT');
    expect(p.detail).toContain('tasks[3].input.ms');
    expect(p.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: '/tasks/3/input/ms' }), expect.objectContaining({ path: '/tasks/4/type' })]));
    const page = await f.backend.list({ limit: 100 });
    expect(page.items).toEqual([]);
  });

  it('refuses unknown fields inside an item, naming it', async () => {
    f = await startApp();
    const p = expectProblem(
      await f.app.inject({ method: 'POST', url: '/v1/tasks/batch', headers: jsonA, payload: { tasks: [{ type: 'echo' }, { type: 'echo', maxAttempt: 3 }] } }),
      400,
      'DROVER_ERR_VALIDATION',
    );
    expect(p.errors).toContainEqual({ path: '/tasks/1/maxAttempt', message: 'is not a known field' });
    expect(p.detail).toContain('tasks[1].maxAttempt');
  });

  it('refuses more than DROVER_BATCH_MAX tasks, naming the limit', async () => {
    f = await startApp({ env: { DROVER_BATCH_MAX: '3' } });
    const tasks = Array.from({ length: 4 }, () => ({ type: 'echo' }));
    const p = expectProblem(await f.app.inject({ method: 'POST', url: '/v1/tasks/batch', headers: jsonA, payload: { tasks } }), 400, 'DROVER_ERR_BATCH_TOO_LARGE');
    expect(p.detail).toContain('3');
    expect(p.detail).toContain('DROVER_BATCH_MAX');
    const ok = await f.app.inject({ method: 'POST', url: '/v1/tasks/batch', headers: jsonA, payload: { tasks: tasks.slice(1) } });
    expect(ok.statusCode).toBe(201);
  });

  it('replays per-task idempotency keys', async () => {
    f = await startApp();
    const payload = { tasks: [{ type: 'echo', input: 1, idempotencyKey: 'b-1' }] };
    const first = await f.app.inject({ method: 'POST', url: '/v1/tasks/batch', headers: jsonA, payload });
    const again = await f.app.inject({ method: 'POST', url: '/v1/tasks/batch', headers: jsonA, payload });
    expect([first.statusCode, again.statusCode]).toEqual([201, 200]);
    expect(again.json().tasks[0].id).toBe(first.json().tasks[0].id);
    expectProblem(await f.app.inject({ method: 'POST', url: '/v1/tasks/batch', headers: { ...jsonA, 'idempotency-key': 'x' }, payload }), 400, 'DROVER_ERR_VALIDATION');
  });
});

describe('GET /v1/tasks/:id and tenant isolation', () => {
  it("returns the caller's task and answers 404 (never 403) for another tenant's", async () => {
    f = await startApp();
    const id = (await submit({ type: 'echo', input: 'mine' })).json().id as string;
    const mine = await f.app.inject({ method: 'GET', url: `/v1/tasks/${id}`, headers: authA });
    expect(mine.statusCode).toBe(200);
    expect(mine.json()).toMatchObject({ id, input: 'mine', tenant: 'a' });
    expectProblem(await f.app.inject({ method: 'GET', url: `/v1/tasks/${id}`, headers: authB }), 404, 'DROVER_ERR_TASK_NOT_FOUND');
    expectProblem(await f.app.inject({ method: 'POST', url: `/v1/tasks/${id}/cancel`, headers: authB }), 404, 'DROVER_ERR_TASK_NOT_FOUND');
    expect((await f.backend.get(id))!.status).toBe('queued');
    const missing = expectProblem(await f.app.inject({ method: 'GET', url: '/v1/tasks/general.nope', headers: authB }), 404, 'DROVER_ERR_TASK_NOT_FOUND');
    const foreign = expectProblem(await f.app.inject({ method: 'GET', url: `/v1/tasks/${id}`, headers: authB }), 404, 'DROVER_ERR_TASK_NOT_FOUND');
    expect(foreign.detail.replace(id, 'X')).toBe(missing.detail.replace('general.nope', 'X'));
  });

  it('refuses a parentId that belongs to another tenant', async () => {
    f = await startApp();
    const parent = (await submit({ type: 'echo' }, jsonB)).json().id as string;
    expectProblem(await submit({ type: 'echo', parentId: parent }), 404, 'DROVER_ERR_TASK_NOT_FOUND');
    const own = (await submit({ type: 'echo' })).json().id as string;
    const child = await submit({ type: 'echo', parentId: own });
    expect(child.statusCode).toBe(201);
    expect((await f.backend.get(own))!.children).toEqual([child.json().id]);
  });
});

describe('GET /v1/tasks', () => {
  it("walks every one of the caller's tasks exactly once with the cursor", async () => {
    f = await startApp();
    const mine: string[] = [];
    for (let i = 0; i < 23; i++) {
      mine.push((await submit({ type: 'echo', input: i })).json().id);
      if (i % 4 === 0) await submit({ type: 'echo', input: i }, jsonB);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/v1/tasks?limit=5${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const res = await f.app.inject({ method: 'GET', url, headers: authA });
      expect(res.statusCode).toBe(200);
      const page = res.json() as { items: TaskRecord[]; nextCursor: string | null };
      expect(page.items.length).toBeLessThanOrEqual(5);
      expect(page.items.every((t) => t.tenant === 'a')).toBe(true);
      seen.push(...page.items.map((t) => t.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null && pages < 50);
    expect(seen).toEqual(mine);
    expect(new Set(seen).size).toBe(23);
  });

  it('filters by status, type and queue and defaults the limit to 50', async () => {
    f = await startApp();
    for (let i = 0; i < 55; i++) await submit({ type: 'echo' });
    await submit({ type: 'sleep', input: { ms: 1 }, delayMs: 60_000 });
    await submit({ type: 'scrape', input: { url: 'https://example.com' } });
    const all = (await f.app.inject({ method: 'GET', url: '/v1/tasks', headers: authA })).json();
    expect(all.items).toHaveLength(50);
    expect(all.nextCursor).toEqual(expect.any(String));
    const delayed = (await f.app.inject({ method: 'GET', url: '/v1/tasks?status=delayed', headers: authA })).json();
    expect(delayed.items.map((t: TaskRecord) => t.type)).toEqual(['sleep']);
    const scrape = (await f.app.inject({ method: 'GET', url: '/v1/tasks?queue=scrape&type=scrape', headers: authA })).json();
    expect(scrape.items).toHaveLength(1);
    expect(scrape.nextCursor).toBeNull();
  });
});

describe('POST /v1/tasks/:id/cancel', () => {
  it('cancels a queued task', async () => {
    f = await startApp();
    const id = (await submit({ type: 'echo' })).json().id;
    const res = await f.app.inject({ method: 'POST', url: `/v1/tasks/${id}/cancel`, headers: authA });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id, status: 'canceled', error: { code: 'DROVER_ERR_TASK_CANCELED' } });
    // A second cancel: the task is finished now.
    const again = expectProblem(await f.app.inject({ method: 'POST', url: `/v1/tasks/${id}/cancel`, headers: authA }), 409, 'DROVER_ERR_TASK_FINISHED');
    expect(again.detail).toContain('canceled');
  });

  it('accepts an empty JSON body (curl -X POST -H content-type: application/json)', async () => {
    f = await startApp();
    const id = (await submit({ type: 'echo' })).json().id;
    const res = await f.app.inject({ method: 'POST', url: `/v1/tasks/${id}/cancel`, headers: jsonA, payload: '' });
    expect(res.statusCode).toBe(200);
  });

  it('cancels a running task: it finishes as canceled', async () => {
    f = await startApp();
    let started!: () => void;
    const running = new Promise<void>((r) => {
      started = r;
    });
    await f.backend.consume('general', {
      concurrency: 1,
      handler: (_task, ctx) =>
        new Promise((_, reject) => {
          started();
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
        }),
    });
    const id = (await submit({ type: 'echo' })).json().id;
    await running;
    const res = await f.app.inject({ method: 'POST', url: `/v1/tasks/${id}/cancel`, headers: authA });
    expect(res.statusCode).toBe(200);
    const done = await f.app.inject({ method: 'GET', url: `/v1/tasks/${id}?wait=10000`, headers: authA });
    expect(done.json().status).toBe('canceled');
  });

  it('answers 409 naming the status for a task that succeeded', async () => {
    f = await startApp();
    await f.backend.consume('general', { concurrency: 1, handler: async () => 'ok' });
    const id = (await submit({ type: 'echo' })).json().id;
    const done = await f.app.inject({ method: 'GET', url: `/v1/tasks/${id}?wait=10000`, headers: authA });
    expect(done.json().status).toBe('succeeded');
    const p = expectProblem(await f.app.inject({ method: 'POST', url: `/v1/tasks/${id}/cancel`, headers: authA }), 409, 'DROVER_ERR_TASK_FINISHED');
    expect(p.detail).toContain('succeeded');
  });
});
