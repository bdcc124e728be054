import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DroverApiError,
  DroverAuthError,
  DroverConflictError,
  DroverNotFoundError,
  DroverValidationError,
  type TaskRecord,
} from '../src/index.js';
import { KEY_ADMIN, KEY_B, KEY_PAGER, type Orchestrator, startOrchestrator } from './orchestrator-fixture.js';

let o: Orchestrator;
beforeAll(async () => {
  o = await startOrchestrator();
});
afterAll(async () => {
  await o?.close();
});

/** The error a promise rejects with (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<DroverApiError> {
  try {
    await p;
  } catch (err) {
    return err as DroverApiError;
  }
  throw new Error('expected a rejection');
}

describe('tasks', () => {
  it('submits an echo task, reads it, and waits for it to succeed', async () => {
    const c = o.client();
    const task = await c.submit({ type: 'echo', input: { hello: 'world' } });
    expect(task.id).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(task.tenant).toBe('a');
    const read = await c.get(task.id);
    expect(read.id).toBe(task.id);
    const done = await c.wait(task.id, { timeoutMs: 10_000 });
    expect(done.status).toBe('succeeded');
    expect(done.output).toEqual({ hello: 'world' });
    expect(done.finishedAt).not.toBeNull();
  });

  it('submits with wait and answers the finished task', async () => {
    const done = await o.client().submit({ type: 'echo', input: 42 }, { wait: 10_000 });
    expect(done.status).toBe('succeeded');
    expect(done.output).toBe(42);
  });

  it('wait() polls again past one long-poll and gives the record back when its own timeout runs out', async () => {
    const c = o.client();
    const task = await c.submit({ type: 'stepper', input: { steps: 1 } });
    const started = Date.now();
    const still = await c.wait(task.id, { timeoutMs: 600, pollMs: 200 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    expect(['queued', 'running']).toContain(still.status);
    const finishing = c.wait(task.id, { pollMs: 200 });
    await new Promise((r) => setTimeout(r, 450));
    await o.release(1);
    expect((await finishing).status).toBe('succeeded');
  });

  it('answers the same task for a repeated idempotency key', async () => {
    const c = o.client();
    const key = `order-${Date.now()}`;
    const first = await c.submit({ type: 'echo', input: { n: 1 } }, { idempotencyKey: key });
    const again = await c.submit({ type: 'echo', input: { n: 1 } }, { idempotencyKey: key });
    expect(again.id).toBe(first.id);
    expect(again.idempotencyKey).toBe(key);
    const conflict = await rejection(c.submit({ type: 'echo', input: { n: 2 } }, { idempotencyKey: key }));
    expect(conflict).toBeInstanceOf(DroverConflictError);
    expect(conflict.code).toBe('DROVER_ERR_IDEMPOTENCY_CONFLICT');
    expect(conflict.status).toBe(409);
  });

  it('submits a batch and answers its tasks in order', async () => {
    const c = o.client();
    const tasks = await c.submitBatch([
      { type: 'echo', input: 'one' },
      { type: 'echo', input: 'two', priority: 3 },
      { type: 'sleep', input: { ms: 1 } },
    ]);
    expect(tasks.map((t) => t.input)).toEqual(['one', 'two', { ms: 1 }]);
    expect(tasks[1]!.priority).toBe(3);
    expect(new Set(tasks.map((t) => t.id)).size).toBe(3);
    for (const t of tasks) expect((await c.wait(t.id, { timeoutMs: 10_000 })).status).toBe('succeeded');
    const bad = await rejection(c.submitBatch([{ type: 'echo' }, { type: 'sleep', input: { ms: 'long' } }]));
    expect(bad).toBeInstanceOf(DroverValidationError);
    expect(bad.code).toBe('DROVER_ERR_INVALID_INPUT');
    expect(bad.errors.map((e) => e.path)).toContain('/tasks/1/input/ms');
  });

  it('iterates every task across pages following the cursor', async () => {
    // The pager tenant belongs to this test alone, so its list is exactly what it submitted.
    const requests: string[] = [];
    const c = o.client(KEY_PAGER, {
      fetch: (input, init) => {
        requests.push(String(input));
        return fetch(input, init);
      },
    });
    const submitted = await c.submitBatch(Array.from({ length: 7 }, (_, i) => ({ type: 'echo', input: i })));
    requests.length = 0;
    const seen: TaskRecord[] = [];
    for await (const t of c.tasks({ pageSize: 2 })) seen.push(t);
    expect(seen.map((t) => t.id).sort()).toEqual(submitted.map((t) => t.id).sort());
    expect(new Set(seen.map((t) => t.id)).size).toBe(7);
    const pages = requests.filter((u) => new URL(u).pathname === '/v1/tasks');
    expect(pages.length).toBeGreaterThanOrEqual(4);
    expect(pages.slice(1).every((u) => new URL(u).searchParams.has('cursor'))).toBe(true);
    expect(pages.every((u) => new URL(u).searchParams.get('limit') === '2')).toBe(true);

    const page = await c.list({ limit: 3, type: 'echo' });
    expect(page.items).toHaveLength(3);
    expect(typeof page.nextCursor).toBe('string');
    // Breaking out early reads no further pages.
    requests.length = 0;
    for await (const _ of c.tasks({ pageSize: 2 })) break;
    expect(requests).toHaveLength(1);
  });

  it('cancels a delayed task, and cancel of a finished one is a conflict', async () => {
    const c = o.client();
    const task = await c.submit({ type: 'echo', input: 1, delayMs: 60_000 });
    expect(task.status).toBe('delayed');
    const canceled = await c.cancel(task.id);
    expect(canceled.status).toBe('canceled');
    expect((await c.get(task.id)).status).toBe('canceled');
    const again = await rejection(c.cancel(task.id));
    expect(again).toBeInstanceOf(DroverConflictError);
    expect(again.code).toBe('DROVER_ERR_TASK_FINISHED');
  });

  it("reads a task's tree", async () => {
    const c = o.client();
    const parent = await c.submit({ type: 'echo', input: 'p', delayMs: 60_000 });
    const child = await c.submit({ type: 'echo', input: 'c', parentId: parent.id, delayMs: 60_000 });
    const { tree, size, truncated } = await c.tree(parent.id);
    expect(tree.id).toBe(parent.id);
    expect(tree.children.map((n) => n.id)).toEqual([child.id]);
    expect(size).toBe(2);
    expect(truncated).toBe(false);
    await c.cancel(parent.id);
    expect((await c.get(child.id)).status).toBe('canceled');
  });
});

describe('typed errors', () => {
  it('404 for an unknown or another tenant\'s task, 400 for a bad id or body', async () => {
    const c = o.client();
    const missing = await rejection(c.get('general.no-such-task'));
    expect(missing).toBeInstanceOf(DroverNotFoundError);
    expect(missing).toMatchObject({ status: 404, code: 'DROVER_ERR_TASK_NOT_FOUND', title: 'Task not found' });
    expect(missing.detail).toContain('general.no-such-task');
    expect(missing.message).toContain('DROVER_ERR_TASK_NOT_FOUND');

    const mine = await c.submit({ type: 'echo', input: 1 });
    const theirs = await rejection(o.client(KEY_B).get(mine.id));
    expect(theirs).toBeInstanceOf(DroverNotFoundError);

    const badId = await rejection(c.get('has spaces'));
    expect(badId).toBeInstanceOf(DroverValidationError);
    expect(badId.code).toBe('DROVER_ERR_BAD_TASK_ID');

    const typo = await rejection(c.submit({ type: 'echo', maxAttempt: 3 } as never));
    expect(typo).toBeInstanceOf(DroverValidationError);
    expect(typo.code).toBe('DROVER_ERR_VALIDATION');
    expect(typo.errors).toContainEqual({ path: '/maxAttempt', message: 'is not a known field' });
    expect((typo.body as { instance: string }).instance).toBe('/v1/tasks');

    const unknownType = await rejection(c.submit({ type: 'nope' }));
    expect(unknownType.code).toBe('DROVER_ERR_UNKNOWN_TASK_TYPE');
    expect(unknownType).toBeInstanceOf(DroverValidationError);
  });

  it('401 with a wrong key, and the key never shows in the error', async () => {
    const wrongKey = 'wrong-key-that-must-not-leak-9f8e7d';
    const c = o.client(wrongKey);
    const err = await rejection(c.get('general.whatever'));
    expect(err).toBeInstanceOf(DroverAuthError);
    expect(err).toMatchObject({ status: 401, code: 'DROVER_ERR_UNAUTHENTICATED' });
    // Not retried: a wrong key stays wrong.
    expect(c.lastAttempts).toBe(1);
    for (const text of [err.message, String(err), err.stack ?? '', JSON.stringify(err), JSON.stringify(err.body), err.detail]) {
      expect(text).not.toContain(wrongKey);
    }
  });

  it('403 for a non-admin pause; admins pause and resume', async () => {
    const err = await rejection(o.client().queues.pause('general'));
    expect(err).toBeInstanceOf(DroverAuthError);
    expect(err).toMatchObject({ status: 403, code: 'DROVER_ERR_FORBIDDEN' });
    const admin = o.client(KEY_ADMIN);
    expect((await admin.queues.pause('general')).paused).toBe(true);
    expect((await admin.queues.list()).find((q) => q.name === 'general')?.paused).toBe(true);
    expect((await admin.queues.resume('general')).paused).toBe(false);
    const unknown = await rejection(admin.queues.pause('nope'));
    expect(unknown).toBeInstanceOf(DroverNotFoundError);
    expect(unknown.code).toBe('DROVER_ERR_QUEUE_NOT_FOUND');
  });
});

describe('fleet', () => {
  it('lists queues, live workers and task types', async () => {
    const c = o.client();
    const queues = await c.queues.list();
    expect(queues.map((q) => q.name)).toContain('general');
    const workers = await c.workers.list();
    expect(workers.length).toBeGreaterThanOrEqual(1);
    expect(workers[0]!.queues).toContain('general');
    expect(workers[0]!.id).toBeUndefined(); // place is for admins
    expect((await o.client(KEY_ADMIN).workers.list())[0]!.id).toEqual(expect.any(String));
    const types = await c.taskTypes.list();
    // The worker registers echo too, and a registered type replaces the built-in of that name.
    expect(types.find((t) => t.name === 'echo')).toMatchObject({ queue: 'general', builtin: expect.any(Boolean) });
    expect(types.find((t) => t.name === 'stepper')?.inputSchema).toMatchObject({ type: 'object' });
  });
});
