import { taskFinished as finished, waitUntil } from '@drover/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Backend, TaskEvent, TaskHandler } from '../../src/backend.js';
import { PermanentError } from '../../src/errors.js';
import { type SubmitRequest, type TaskRecord, completeSubmit } from '../../src/task.js';

/**
 * One isolated store per test (a fresh memory instance, a fresh Redis prefix, fresh broker
 * names). `open()` returns a client of that store; calling it twice gives two clients that
 * share it, as two worker processes would.
 */
export interface ConformanceStore {
  open(): Promise<Backend>;
  teardown(): Promise<void>;
}

/** The queues every conformance test uses; a backend under test must accept them. */
export const CONFORMANCE_QUEUES = ['alpha', 'beta'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function backendConformance(name: string, makeStore: () => Promise<ConformanceStore>): void {
  describe(`Backend conformance: ${name}`, () => {
    let store: ConformanceStore;
    let backend: Backend;
    const clients: Backend[] = [];
    const closers: Array<() => Promise<void>> = [];

    const open = async () => {
      const b = await store.open();
      clients.push(b);
      return b;
    };
    const req = (over: Partial<SubmitRequest> = {}): SubmitRequest =>
      completeSubmit({ type: 'echo', queue: 'alpha', tenant: 'acme', input: { n: 1 }, timeoutMs: 10_000, ...over });
    const consume = async (b: Backend, queue: string, concurrency: number, handler: TaskHandler) => {
      const c = await b.consume(queue, { concurrency, handler });
      closers.push(() => c.close(0));
      return c;
    };

    beforeEach(async () => {
      store = await makeStore();
      backend = await open();
    });

    afterEach(async () => {
      for (const close of closers.splice(0)) await close().catch(() => undefined);
      for (const c of clients.splice(0)) await c.close().catch(() => undefined);
      await store.teardown();
    });

    describe('submit and get', () => {
      it('stores a complete task record and returns it from get()', async () => {
        const { task, created } = await backend.submit(req({ input: { hello: 'world' }, priority: 3, maxAttempts: 2 }));
        expect(created).toBe(true);
        expect(task).toMatchObject({
          type: 'echo',
          queue: 'alpha',
          tenant: 'acme',
          status: 'queued',
          input: { hello: 'world' },
          output: null,
          error: null,
          priority: 3,
          attempt: 0,
          maxAttempts: 2,
          timeoutMs: 10_000,
          parentId: null,
          children: [],
          idempotencyKey: null,
          startedAt: null,
          finishedAt: null,
        });
        expect(task.id).toMatch(/^[A-Za-z0-9._-]{1,128}$/);
        expect(Date.parse(task.createdAt)).toBeGreaterThan(Date.now() - 60_000);
        expect(await backend.get(task.id)).toEqual(task);
      });

      it('refuses an input it cannot store (DROVER_ERR_INPUT_UNSTORABLE) without failing the submissions beside it', async () => {
        // Built in code, as no HTTP body may nest this deep: JSON.stringify overflows on it.
        let deep: unknown = [];
        for (let i = 0; i < 20_000; i++) deep = [deep];
        const good = Array.from({ length: 30 }, (_, i) => backend.submit(req({ input: { i } })));
        const bad = [backend.submit(req({ input: deep })), backend.submit(req({ input: { n: 10n } })), backend.submit(req({ input: deep, idempotencyKey: 'deep' }))];
        const results = await Promise.allSettled([...good, ...bad]);
        const goodResults = results.slice(0, good.length);
        expect(goodResults.filter((r) => r.status === 'rejected')).toEqual([]);
        for (const r of results.slice(good.length)) {
          expect(r.status).toBe('rejected');
          expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'DROVER_ERR_INPUT_UNSTORABLE', status: 400 });
        }
        const ids = goodResults.map((r) => (r as PromiseFulfilledResult<{ task: TaskRecord }>).value.task.id);
        for (const id of ids) expect((await backend.get(id))?.status).toBe('queued');
        // In one batch (one request) the refusal is the whole batch's answer.
        await expect(backend.submitMany([req({ input: { n: 1 } }), req({ input: deep })])).rejects.toMatchObject({ code: 'DROVER_ERR_INPUT_UNSTORABLE' });
      });

      it('returns null for an unknown id', async () => {
        expect(await backend.get('alpha.no-such-task')).toBeNull();
        expect(await backend.cancel('alpha.no-such-task')).toBeNull();
      });

      it('submits a batch in order, each retrievable', async () => {
        const reqs = Array.from({ length: 25 }, (_, i) => req({ input: { i }, queue: i % 2 ? 'beta' : 'alpha' }));
        const results = await backend.submitMany(reqs);
        expect(results.map((r) => r.task.input)).toEqual(reqs.map((r) => r.input));
        expect(new Set(results.map((r) => r.task.id)).size).toBe(25);
        for (const r of results) expect((await backend.get(r.task.id))?.queue).toBe(r.task.queue);
      });

      it('round-trips JSON input and output of any shape', async () => {
        const input = {
          s: 'ünïcødé ✓ 😀',
          q: 'quote " back \\ slash / nl \n tab \t nul \u0000 end',
          big: 'x'.repeat(100_000),
          n: 1.5,
          b: false,
          z: null,
          a: [1, { x: [] }],
          o: { deep: { er: 'x' } },
        };
        await consume(backend, 'alpha', 1, async (t) => ({ got: t.input }));
        const { task } = await backend.submit(req({ input }));
        const done = await finished(backend, task.id);
        expect(done.status).toBe('succeeded');
        expect(done.output).toEqual({ got: input });
        expect(done.attempt).toBe(1);
        expect(done.startedAt).not.toBeNull();
        expect(done.finishedAt).not.toBeNull();
      });
    });

    describe('idempotency', () => {
      it('returns the original task for a repeated key and body', async () => {
        const a = await backend.submit(req({ idempotencyKey: 'order-1' }));
        const b = await backend.submit(req({ idempotencyKey: 'order-1' }));
        expect(a.created).toBe(true);
        expect(b.created).toBe(false);
        expect(b.task.id).toBe(a.task.id);
        expect(b.task.idempotencyKey).toBe('order-1');
        expect((await backend.counts('alpha')).queued).toBe(1);
      });

      it('deduplicates concurrent submissions with one key', async () => {
        const results = await Promise.all(Array.from({ length: 10 }, () => backend.submit(req({ idempotencyKey: 'race' }))));
        expect(new Set(results.map((r) => r.task.id)).size).toBe(1);
        expect(results.filter((r) => r.created)).toHaveLength(1);
      });

      it('refuses the same key with a different body (DROVER_ERR_IDEMPOTENCY_CONFLICT)', async () => {
        await backend.submit(req({ idempotencyKey: 'k', input: { v: 1 } }));
        await expect(backend.submit(req({ idempotencyKey: 'k', input: { v: 2 } }))).rejects.toMatchObject({
          code: 'DROVER_ERR_IDEMPOTENCY_CONFLICT',
        });
      });

      it('scopes keys per tenant', async () => {
        const a = await backend.submit(req({ idempotencyKey: 'k', tenant: 'acme' }));
        const b = await backend.submit(req({ idempotencyKey: 'k', tenant: 'globex' }));
        expect(b.created).toBe(true);
        expect(b.task.id).not.toBe(a.task.id);
      });

      it('deduplicates within a batch and against earlier submissions', async () => {
        const first = await backend.submit(req({ idempotencyKey: 'b1' }));
        const results = await backend.submitMany([req({ idempotencyKey: 'b1' }), req({ idempotencyKey: 'b2' }), req()]);
        expect(results[0]).toMatchObject({ created: false, task: { id: first.task.id } });
        expect(results[1]?.created).toBe(true);
        expect(results[2]?.created).toBe(true);
      });
    });

    describe('ordering, delay and retries', () => {
      it('runs higher priority first, FIFO within a priority', async () => {
        await backend.pause('alpha');
        const plan = [0, 5, 10, 5, 0, 10];
        const ids: string[] = [];
        for (const [i, priority] of plan.entries()) ids.push((await backend.submit(req({ priority, input: { i } }))).task.id);
        const order: number[] = [];
        await consume(backend, 'alpha', 1, async (t) => {
          order.push((t.input as { i: number }).i);
        });
        await backend.resume('alpha');
        await waitUntil(() => order.length === plan.length, 'all tasks to run');
        expect(order).toEqual([2, 5, 1, 3, 0, 4]);
      });

      it('holds a delayed task until its delay passes', async () => {
        const started: number[] = [];
        await consume(backend, 'alpha', 2, async () => {
          started.push(Date.now());
        });
        const t0 = Date.now();
        const { task } = await backend.submit(req({ delayMs: 700 }));
        expect(task.status).toBe('delayed');
        expect((await backend.counts('alpha')).delayed).toBe(1);
        await sleep(250);
        expect(started).toHaveLength(0);
        expect((await backend.get(task.id))?.status).toBe('delayed');
        const done = await finished(backend, task.id);
        expect(done.status).toBe('succeeded');
        expect(started[0]! - t0).toBeGreaterThanOrEqual(650);
      });

      it('retries a failing task with backoff until it succeeds', async () => {
        const seen: Array<{ attempt: number; at: number }> = [];
        await consume(backend, 'alpha', 1, async (_t, ctx) => {
          seen.push({ attempt: ctx.attempt, at: Date.now() });
          if (ctx.attempt < 3) throw new Error(`flaky ${ctx.attempt}`);
          return 'ok';
        });
        const { task } = await backend.submit(req({ maxAttempts: 3, backoffMs: 200 }));
        const done = await finished(backend, task.id);
        expect(done).toMatchObject({ status: 'succeeded', output: 'ok', attempt: 3, error: null });
        expect(seen.map((s) => s.attempt)).toEqual([1, 2, 3]);
        // Equal jitter: the wait after attempt n is at least half of backoffMs * 2^(n-1).
        expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(90);
        expect(seen[2]!.at - seen[1]!.at).toBeGreaterThanOrEqual(190);
      });

      it('fails after maxAttempts with the last error', async () => {
        let calls = 0;
        await consume(backend, 'alpha', 1, async (_t, ctx) => {
          calls++;
          throw Object.assign(new Error(`boom ${ctx.attempt}`), { code: 'UPSTREAM_DOWN' });
        });
        const { task } = await backend.submit(req({ maxAttempts: 2, backoffMs: 10 }));
        const done = await finished(backend, task.id);
        expect(done.status).toBe('failed');
        expect(done.attempt).toBe(2);
        expect(done.error).toEqual({ code: 'UPSTREAM_DOWN', message: 'boom 2', retryable: true });
        expect(calls).toBe(2);
      });

      it('does not retry a permanent error', async () => {
        let calls = 0;
        await consume(backend, 'alpha', 1, async () => {
          calls++;
          throw new PermanentError('bad input, will never work');
        });
        const { task } = await backend.submit(req({ maxAttempts: 5, backoffMs: 10 }));
        const done = await finished(backend, task.id);
        expect(done.status).toBe('failed');
        expect(done.error).toMatchObject({ message: 'bad input, will never work', retryable: false });
        expect(calls).toBe(1);
      });

      it('aborts the signal and fails the attempt on timeout', async () => {
        let aborted = false;
        await consume(backend, 'alpha', 1, async (_t, ctx) => {
          await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
          aborted = true;
          throw ctx.signal.reason;
        });
        const { task } = await backend.submit(req({ timeoutMs: 200, maxAttempts: 1 }));
        const done = await finished(backend, task.id);
        expect(aborted).toBe(true);
        expect(done.status).toBe('failed');
        expect(done.error).toMatchObject({ code: 'DROVER_ERR_TASK_TIMEOUT', retryable: true });
      });
    });

    describe('cancel', () => {
      it('cancels a queued task so it never runs', async () => {
        await backend.pause('alpha');
        const { task } = await backend.submit(req());
        const canceled = await backend.cancel(task.id);
        expect(canceled?.status).toBe('canceled');
        let ran = false;
        await consume(backend, 'alpha', 1, async () => {
          ran = true;
        });
        await backend.resume('alpha');
        const probe = await backend.submit(req());
        await finished(backend, probe.task.id);
        expect(ran).toBe(true); // the probe ran...
        const after = await backend.get(task.id);
        expect(after).toMatchObject({ status: 'canceled', attempt: 0, error: { code: 'DROVER_ERR_TASK_CANCELED', retryable: false } });
        expect(after?.finishedAt).not.toBeNull();
      });

      it('cancels a delayed task', async () => {
        const { task } = await backend.submit(req({ delayMs: 60_000 }));
        expect((await backend.cancel(task.id))?.status).toBe('canceled');
        expect((await backend.counts('alpha')).delayed).toBe(0);
      });

      it('aborts a running task and records it as canceled, without retrying', async () => {
        let attempts = 0;
        let sawAbort = false;
        await consume(backend, 'alpha', 1, async (_t, ctx) => {
          attempts++;
          await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
          sawAbort = true;
          throw ctx.signal.reason;
        });
        const { task } = await backend.submit(req({ maxAttempts: 3, backoffMs: 10 }));
        await waitUntil(async () => (await backend.get(task.id))?.status === 'running', 'task to run');
        await backend.cancel(task.id);
        const done = await finished(backend, task.id);
        expect(sawAbort).toBe(true);
        expect(done.status).toBe('canceled');
        expect(done.error?.code).toBe('DROVER_ERR_TASK_CANCELED');
        await sleep(200);
        expect(attempts).toBe(1);
      });

      it('cancels a running task from another client (another process)', async () => {
        const other = await open();
        await consume(other, 'alpha', 1, async (_t, ctx) => {
          await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
          throw ctx.signal.reason;
        });
        const { task } = await backend.submit(req());
        await waitUntil(async () => (await backend.get(task.id))?.status === 'running', 'task to run');
        await backend.cancel(task.id);
        expect((await finished(backend, task.id)).status).toBe('canceled');
      });

      it('leaves a finished task unchanged', async () => {
        await consume(backend, 'alpha', 1, async () => 42);
        const { task } = await backend.submit(req());
        await finished(backend, task.id);
        const after = await backend.cancel(task.id);
        expect(after).toMatchObject({ status: 'succeeded', output: 42 });
      });
    });

    describe('concurrency', () => {
      it('never runs more than the cap at once in one consumer, and uses all of it', async () => {
        let running = 0;
        let peak = 0;
        await consume(backend, 'alpha', 3, async () => {
          running++;
          peak = Math.max(peak, running);
          await sleep(40);
          running--;
        });
        const results = await backend.submitMany(Array.from({ length: 24 }, () => req()));
        for (const r of results) await finished(backend, r.task.id);
        expect(peak).toBe(3);
      });

      it('caps each of two clients independently (two worker processes)', async () => {
        const other = await open();
        let running = 0;
        let peak = 0;
        const perClient = [0, 0];
        const peakPerClient = [0, 0];
        const handler = (i: number): TaskHandler => async () => {
          running++;
          perClient[i]!++;
          peak = Math.max(peak, running);
          peakPerClient[i] = Math.max(peakPerClient[i]!, perClient[i]!);
          await sleep(40);
          perClient[i]!--;
          running--;
        };
        await consume(backend, 'alpha', 2, handler(0));
        await consume(other, 'alpha', 2, handler(1));
        const results = await backend.submitMany(Array.from({ length: 30 }, () => req()));
        for (const r of results) await finished(backend, r.task.id);
        expect(peakPerClient[0]).toBeLessThanOrEqual(2);
        expect(peakPerClient[1]).toBeLessThanOrEqual(2);
        expect(peak).toBeLessThanOrEqual(4);
        expect(peak).toBeGreaterThanOrEqual(3);
      });

      it('returns a task interrupted by close() to the queue, and another consumer finishes it', async () => {
        const first = await backend.consume('alpha', {
          concurrency: 1,
          handler: (_t, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true })),
        });
        const { task } = await backend.submit(req({ maxAttempts: 1 }));
        await waitUntil(async () => (await backend.get(task.id))?.status === 'running', 'task to run');
        await first.close(100);
        const other = await open();
        let seen = 0;
        await consume(other, 'alpha', 1, async (_t, ctx) => {
          seen = ctx.attempt;
          return 'second try';
        });
        const done = await finished(backend, task.id, 20_000);
        // The rerun is the second attempt (a handler can tell it ran before), and the interrupted
        // run did not spend the only attempt maxAttempts allows.
        expect(done).toMatchObject({ status: 'succeeded', output: 'second try', attempt: 2, maxAttempts: 1 });
        expect(seen).toBe(2);
      });
    });

    describe('counts, pause, events', () => {
      it('counts tasks per state', async () => {
        await backend.pause('alpha');
        await backend.submitMany([req(), req(), req(), req({ delayMs: 60_000 })]);
        await backend.submit(req({ queue: 'beta' }));
        expect(await backend.counts('alpha')).toMatchObject({ queued: 3, delayed: 1, running: 0, succeeded: 0, failed: 0, paused: true });
        await consume(backend, 'alpha', 3, async (t) => {
          if ((t.input as { fail?: boolean }).fail) throw new PermanentError('no');
          return null;
        });
        const f = await backend.submit(req({ input: { fail: true } }));
        await backend.resume('alpha');
        await finished(backend, f.task.id);
        await waitUntil(async () => (await backend.counts('alpha')).succeeded === 3, 'three successes');
        expect(await backend.counts('alpha')).toMatchObject({ queued: 0, delayed: 1, running: 0, succeeded: 3, failed: 1, paused: false });
        expect((await backend.counts('beta')).queued).toBe(1);
      });

      it('counts canceled tasks apart from failed ones, as list() by status finds them', async () => {
        await consume(backend, 'alpha', 2, async (t, ctx) => {
          if ((t.input as { fail?: boolean }).fail) throw new PermanentError('no');
          await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
          throw ctx.signal.reason;
        });
        const failing = await backend.submit(req({ input: { fail: true } }));
        await finished(backend, failing.task.id);
        const running = await backend.submit(req({ maxAttempts: 3 }));
        await waitUntil(async () => (await backend.get(running.task.id))?.status === 'running', 'task to run');
        await backend.cancel(running.task.id);
        await finished(backend, running.task.id);
        const delayed = await backend.submit(req({ delayMs: 60_000 }));
        await backend.cancel(delayed.task.id);
        await backend.pause('alpha');
        const queued = await backend.submit(req());
        await backend.cancel(queued.task.id);
        await waitUntil(async () => (await backend.counts('alpha')).canceled === 3, 'three canceled');
        expect(await backend.counts('alpha')).toMatchObject({ delayed: 0, running: 0, failed: 1, canceled: 3 });
        // On rabbitmq a canceled task's message stays in the broker until a consumer drops it.
        await backend.resume('alpha');
        await waitUntil(async () => (await backend.counts('alpha')).queued === 0, 'nothing queued');
        const listed = async (status: 'failed' | 'canceled') => (await backend.list({ tenant: 'acme', status, limit: 100 })).items.map((t) => t.id).sort();
        expect(await listed('failed')).toEqual([failing.task.id]);
        expect(await listed('canceled')).toEqual([running.task.id, delayed.task.id, queued.task.id].sort());
      });

      it('tells when the oldest ready task was created', async () => {
        await backend.pause('alpha');
        expect((await backend.counts('alpha')).oldestQueuedAt).toBeNull();
        const first = await backend.submit(req());
        await sleep(5);
        await backend.submit(req({ priority: 9 }));
        await backend.submit(req());
        await backend.submit(req({ delayMs: 60_000 }));
        const c = await backend.counts('alpha');
        // The broker behind the rabbitmq transport does not tell its messages' ages.
        if (name === 'rabbitmq') expect(c.oldestQueuedAt).toBeNull();
        else expect(c.oldestQueuedAt).toBe(Date.parse(first.task.createdAt));
      });

      it('shows running tasks in counts', async () => {
        let release!: () => void;
        const gate = new Promise<void>((r) => {
          release = r;
        });
        await consume(backend, 'alpha', 2, () => gate);
        const { task } = await backend.submit(req());
        await waitUntil(async () => (await backend.counts('alpha')).running === 1, 'one running');
        release();
        await finished(backend, task.id);
      });

      it('does not hand out tasks while paused, and resumes', async () => {
        await backend.pause('alpha');
        expect(await backend.isPaused('alpha')).toBe(true);
        let ran = 0;
        await consume(backend, 'alpha', 2, async () => {
          ran++;
        });
        const { task } = await backend.submit(req());
        await sleep(300);
        expect(ran).toBe(0);
        expect((await backend.get(task.id))?.status).toBe('queued');
        await backend.resume('alpha');
        expect(await backend.isPaused('alpha')).toBe(false);
        await finished(backend, task.id);
        expect(ran).toBe(1);
      });

      it('emits state and progress events', async () => {
        const events: TaskEvent[] = [];
        const off = await backend.onEvent((e) => events.push(e));
        closers.push(async () => off());
        await consume(backend, 'alpha', 1, async (_t, ctx) => {
          await ctx.progress(50);
          await ctx.progress({ step: 'done' });
          return 'ok';
        });
        const { task } = await backend.submit(req());
        await finished(backend, task.id);
        await waitUntil(() => events.some((e) => e.id === task.id && e.status === 'succeeded'), 'succeeded event');
        const mine = events.filter((e) => e.id === task.id);
        const states = mine.filter((e) => e.kind === 'state').map((e) => e.status);
        expect(states.indexOf('running')).toBeGreaterThanOrEqual(0);
        expect(states.indexOf('running')).toBeLessThan(states.indexOf('succeeded'));
        const progress = mine.filter((e) => e.kind === 'progress').map((e) => e.progress);
        expect(progress).toEqual([50, { step: 'done' }]);
        expect(mine.every((e) => e.queue === 'alpha')).toBe(true);
        expect((await backend.get(task.id))?.progress).toEqual({ step: 'done' });
      });

      it('publishes log lines as log events, in order with the state events, from another client', async () => {
        const other = await open();
        const events: TaskEvent[] = [];
        const off = await backend.onEvent((e) => events.push(e));
        closers.push(async () => off());
        await consume(other, 'alpha', 1, async (t) => {
          await other.publishLog(t, { level: 'info', msg: 'step 1 | of 2' });
          await other.publishLog(t, { level: 'warn', msg: 'step 2' });
          return 'ok';
        });
        const { task } = await backend.submit(req());
        await finished(backend, task.id);
        await waitUntil(() => events.some((e) => e.id === task.id && e.status === 'succeeded'), 'succeeded event');
        const mine = events.filter((e) => e.id === task.id && (e.kind === 'log' || e.status === 'running' || e.status === 'succeeded'));
        expect(mine.map((e) => (e.kind === 'log' ? e.log : e.status))).toEqual([
          'running',
          { level: 'info', msg: 'step 1 | of 2' },
          { level: 'warn', msg: 'step 2' },
          'succeeded',
        ]);
        expect(mine.every((e) => e.queue === 'alpha' && e.at > 0)).toBe(true);
      });

      it('emits events from work done by another client', async () => {
        const other = await open();
        const events: TaskEvent[] = [];
        const off = await backend.onEvent((e) => events.push(e));
        closers.push(async () => off());
        await consume(other, 'beta', 1, async () => 'x');
        const { task } = await backend.submit(req({ queue: 'beta' }));
        await waitUntil(() => events.some((e) => e.id === task.id && e.status === 'succeeded'), 'succeeded event from other client');
      });
    });

    describe('listing', () => {
      it('filters by tenant, status, type and queue, and pages with a cursor', async () => {
        await backend.pause('alpha');
        await backend.submitMany(Array.from({ length: 7 }, (_, i) => req({ input: { i } })));
        await backend.submitMany([req({ tenant: 'globex' }), req({ type: 'sleep' }), req({ queue: 'beta' })]);
        const seen: TaskRecord[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await backend.list({ tenant: 'acme', type: 'echo', queue: 'alpha', status: 'queued', limit: 3, ...(cursor ? { cursor } : {}) });
          seen.push(...page.items);
          cursor = page.nextCursor ?? undefined;
          if (++pages > 20) throw new Error('cursor does not advance');
        } while (cursor);
        expect(seen).toHaveLength(7);
        expect(new Set(seen.map((t) => t.id)).size).toBe(7);
        expect(seen.every((t) => t.tenant === 'acme' && t.type === 'echo' && t.queue === 'alpha')).toBe(true);
        const globex = await backend.list({ tenant: 'globex', limit: 50 });
        expect(globex.items).toHaveLength(1);
        expect(globex.nextCursor).toBeNull();
      });

      it('discards a finished task for good (record, listing, idempotency key) and leaves unfinished ones alone', async () => {
        await consume(backend, 'alpha', 2, async (t) => {
          if ((t.input as { fail?: boolean }).fail) throw new PermanentError('no');
          return 'ok';
        });
        const dead = await backend.submit(req({ input: { fail: true }, idempotencyKey: 'dead-1' }));
        const live = await backend.submit(req({ queue: 'beta' })); // no consumer on beta: stays queued
        expect(await finished(backend, dead.task.id)).toMatchObject({ status: 'failed' });
        expect(await backend.discard(dead.task.id)).toBe(true);
        expect(await backend.get(dead.task.id)).toBeNull();
        expect((await backend.list({ tenant: 'acme', status: 'failed', limit: 100 })).items.map((t) => t.id)).not.toContain(dead.task.id);
        expect((await backend.counts('alpha')).failed).toBe(0);
        // Gone is gone: a second discard finds nothing, and the idempotency key names a new task.
        expect(await backend.discard(dead.task.id)).toBe(false);
        const again = await backend.submit(req({ input: { fail: true }, idempotencyKey: 'dead-1' }));
        expect(again.created).toBe(true);
        // Unfinished and unknown tasks are not discarded.
        expect(await backend.discard(live.task.id)).toBe(false);
        expect((await backend.get(live.task.id))?.status).toBe('queued');
        expect(await backend.discard('alpha.no-such-task')).toBe(false);
      });

      it('rejects a cursor it did not issue', async () => {
        await expect(backend.list({ limit: 10, cursor: 'not-a-cursor' })).rejects.toMatchObject({ code: 'DROVER_ERR_BAD_CURSOR' });
      });
    });

    describe('workers and task types', () => {
      it('lists live workers and drops them after their ttl', async () => {
        const now = new Date().toISOString();
        const info = {
          id: 'w-1',
          hostname: 'h',
          pid: 1,
          queues: ['alpha'],
          taskTypes: ['echo'],
          concurrency: 3,
          busy: 1,
          startedAt: now,
          lastSeenAt: now,
          draining: false,
        };
        await backend.heartbeat(info, 400);
        await backend.heartbeat({ ...info, id: 'w-2' }, 60_000);
        expect((await backend.workers()).map((w) => w.id).sort()).toEqual(['w-1', 'w-2']);
        expect((await backend.workers()).find((w) => w.id === 'w-1')).toEqual(info);
        await waitUntil(async () => (await backend.workers()).length === 1, 'w-1 to expire', 5000);
        await backend.removeWorker('w-2');
        expect(await backend.workers()).toEqual([]);
      });

      it('remembers registered task types', async () => {
        await backend.registerTaskTypes([{ name: 'summarize', queue: 'alpha', inputSchema: { type: 'object' }, timeoutMs: 5000 }]);
        const other = await open();
        expect(await other.taskTypes()).toEqual([{ name: 'summarize', queue: 'alpha', inputSchema: { type: 'object' }, timeoutMs: 5000 }]);
      });

      it('answers ping while its services are up', async () => {
        await expect(backend.ping()).resolves.toBeUndefined();
      });
    });
  });
}
