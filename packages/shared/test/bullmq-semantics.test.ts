import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { deleteKeys, taskFinished, testRedisUrl, uniqueName, waitUntil } from '@drover/testkit';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TaskEvent } from '../src/backend.js';
import { BullmqBackend, type BullmqBackendOptions } from '../src/backends/bullmq/bullmq-backend.js';
import { type SubmitRequest, completeSubmit } from '../src/task.js';

/** What the conformance suite leaves to each backend: BullMQ-specific mapping and recovery. */
describe('bullmq backend semantics', () => {
  let prefix: string;
  const opened: BullmqBackend[] = [];
  const open = (over: Partial<BullmqBackendOptions> = {}) => {
    const b = new BullmqBackend({ redisUrl: testRedisUrl(), prefix, queues: ['alpha'], resultTtlSeconds: 3600, ...over });
    opened.push(b);
    return b;
  };
  const req = (over: Partial<SubmitRequest> = {}) => completeSubmit({ type: 'echo', queue: 'alpha', tenant: 'acme', input: { n: 1 }, timeoutMs: 10_000, ...over });
  const finished = taskFinished;

  beforeEach(() => {
    prefix = uniqueName('sem');
  });

  afterEach(async () => {
    for (const b of opened.splice(0)) await b.close();
    await deleteKeys(testRedisUrl(), prefix);
  });

  it('keeps maxAttempts 1 and uses ids of the form <queue>.<opaque>', async () => {
    const b = open();
    const { task } = await b.submit(req({ maxAttempts: 1 }));
    expect(task.id).toMatch(/^alpha\.[A-Za-z0-9_-]+$/);
    expect(await b.get(task.id)).toEqual(task);
    await b.consume('alpha', { concurrency: 1, handler: async () => 'ok' });
    expect(await finished(b, task.id)).toMatchObject({ status: 'succeeded', maxAttempts: 1, attempt: 1 });
  });

  it('shows a canceled task as canceled in get(), list() and events', async () => {
    const b = open();
    const events: TaskEvent[] = [];
    const off = await b.onEvent((e) => events.push(e));
    await b.pause('alpha');
    const { task } = await b.submit(req());
    await b.cancel(task.id);
    expect((await b.get(task.id))?.status).toBe('canceled');
    const page = await b.list({ status: 'canceled', limit: 10 });
    expect(page.items.map((t) => t.id)).toEqual([task.id]);
    expect((await b.list({ status: 'failed', limit: 10 })).items).toEqual([]);
    await waitUntil(() => events.some((e) => e.id === task.id && e.status === 'canceled'), 'canceled event');
    // Counts by state match what a list by that state returns (it said failed: 1 before).
    expect(await b.counts('alpha')).toMatchObject({ failed: 0, canceled: 1 });
    off();
  });

  it('lists every task once, oldest first, across pages, and skips tasks BullMQ has removed', async () => {
    const b = open();
    const first = await b.submitMany(Array.from({ length: 25 }, (_, i) => req({ input: { i } })));
    const other = await b.submit(req({ tenant: 'globex' }));
    const later = await b.submitMany(Array.from({ length: 5 }, (_, i) => req({ input: { i: 25 + i }, queue: 'beta' })));
    const all = [...first.map((r) => r.task.id), other.task.id, ...later.map((r) => r.task.id)];
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await b.list({ limit: 4, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((t) => t.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(all);
    expect((await b.list({ tenant: 'globex', limit: 10 })).items.map((t) => t.id)).toEqual([other.task.id]);
    expect((await b.list({ queue: 'beta', limit: 10 })).items.map((t) => t.id)).toEqual(later.map((r) => r.task.id));

    // As removeOnComplete/removeOnFail would: the job is gone, so the task is no longer listed.
    const redis = new Redis(testRedisUrl());
    await redis.del(`${prefix}:alpha:${first[0]!.task.id}`);
    await redis.quit();
    const page = await b.list({ limit: 100 });
    expect(page.items.map((t) => t.id)).toEqual(all.slice(1));
  });

  it('records children of a parent task', async () => {
    const b = open();
    const parent = await b.submit(req());
    const kids = await b.submitMany([req({ parentId: parent.task.id }), req({ parentId: parent.task.id })]);
    expect((await b.get(parent.task.id))?.children).toEqual(kids.map((k) => k.task.id));
    expect((await b.get(kids[0]!.task.id))?.parentId).toBe(parent.task.id);
  });

  it('shows a retry as delayed, then queued, then running again', async () => {
    const b = open();
    const events: TaskEvent[] = [];
    const off = await b.onEvent((e) => events.push(e));
    await b.consume('alpha', {
      concurrency: 1,
      handler: async (_t, ctx) => {
        if (ctx.attempt === 1) throw new Error('flaky');
        return 'ok';
      },
    });
    const { task } = await b.submit(req({ maxAttempts: 2, backoffMs: 50 }));
    await finished(b, task.id);
    await waitUntil(() => events.some((e) => e.id === task.id && e.status === 'succeeded'), 'succeeded event');
    const states = events.filter((e) => e.id === task.id && e.kind === 'state').map((e) => e.status);
    expect(states).toEqual(['queued', 'running', 'delayed', 'queued', 'running', 'succeeded']);
    off();
  });

  it('runs a task interrupted by close() again as its next attempt, without spending maxAttempts', async () => {
    const b = open();
    const first = await b.consume('alpha', {
      concurrency: 1,
      handler: (_t, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true })),
    });
    const { task } = await b.submit(req({ maxAttempts: 1 }));
    await waitUntil(async () => (await b.get(task.id))?.status === 'running', 'task to run');
    await first.close(50);
    expect((await b.get(task.id))?.status).toBe('queued');
    await b.consume('alpha', { concurrency: 1, handler: async (_t, ctx) => ctx.attempt });
    expect(await finished(b, task.id)).toMatchObject({ status: 'succeeded', attempt: 2, output: 2 });
  });

  it('runs again a task whose worker process was SIGKILLed', async () => {
    const timing = { lockDurationMs: 1000, stalledIntervalMs: 500 };
    const b = open(timing);
    const { task } = await b.submit(req({ input: { hang: true } }));
    // A worker in another process takes the task and hangs until it is killed.
    const src = resolve(import.meta.dirname, '../src/backends/bullmq/bullmq-backend.ts');
    const script = `
      const { BullmqBackend } = await import(${JSON.stringify(src)});
      const b = new BullmqBackend({ redisUrl: ${JSON.stringify(testRedisUrl())}, prefix: ${JSON.stringify(prefix)}, queues: ['alpha'], resultTtlSeconds: 3600, lockDurationMs: 1000, stalledIntervalMs: 500 });
      await b.consume('alpha', { concurrency: 1, handler: () => new Promise(() => undefined) });
      console.log('consuming');
    `;
    const child = spawn(process.execPath, ['--conditions=@drover/source', '--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await waitUntil(async () => (await b.get(task.id))?.status === 'running', 'the child to take the task', 20_000);
    child.kill('SIGKILL');
    await once(child, 'exit');
    // The rerun is the task's second attempt, in the record and in ctx.attempt (issue 11: it
    // showed attempt 1), while the lost run does not spend maxAttempts (1 here).
    let seen = 0;
    await b.consume('alpha', {
      concurrency: 1,
      handler: async (_t, ctx) => {
        seen = ctx.attempt;
        expect((await b.get(task.id))?.attempt).toBe(2);
        return 'recovered';
      },
    });
    expect(await finished(b, task.id, 20_000)).toMatchObject({ status: 'succeeded', output: 'recovered', attempt: 2, maxAttempts: 1 });
    expect(seen).toBe(2);
  }, 40_000);
});
