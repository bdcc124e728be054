import { createHash } from 'node:crypto';
import { buildApp } from '@drover/orchestrator';
import { MemoryBackend, createLogger, loadConfig } from '@drover/shared';
import { type Worker, builtinTasks, createWorker, defineTask } from '@drover/worker';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiClient } from '../support/api-client.js';
import { openSse } from '../support/sse-client.js';

const KEY_A = 'sse-key-a-0123456789abcdef';
const KEY_B = 'sse-key-b-0123456789abcdef';

/** Reports progress `steps` times, each after the test lets it (so a test can drop and resume between). */
const gates: Array<() => void> = [];
const stepper = defineTask({
  name: 'stepper',
  queue: 'general',
  input: Type.Object({ steps: Type.Integer() }),
  run: async (input, ctx) => {
    for (let i = 1; i <= input.steps; i++) {
      await new Promise<void>((r) => gates.push(r));
      await ctx.progress({ step: i });
      // Only the first step logs, so the other tests' expected sequences stay short.
      if (input.steps === 3 && i === 1) {
        ctx.log.debug('not followed: debug stays in the process log');
        ctx.log.info({ step: i }, 'step %d of %d done', i, input.steps);
      }
    }
    return { steps: input.steps };
  },
});
const release = async (n = 1) => {
  for (let i = 0; i < n; i++) {
    while (gates.length === 0) await new Promise((r) => setTimeout(r, 5));
    gates.shift()!();
  }
};

describe('SSE task events', () => {
  let app: FastifyInstance;
  let backend: MemoryBackend;
  let worker: Worker;
  let base: string;
  let a: ApiClient;
  const authA = { authorization: `Bearer ${KEY_A}` };
  const authB = { authorization: `Bearer ${KEY_B}` };

  beforeEach(async () => {
    const config = loadConfig({
      DROVER_API_KEYS: `a:${KEY_A},b:sha256:${createHash('sha256').update(KEY_B).digest('hex')}`,
      DROVER_LOG_LEVEL: 'silent',
      DROVER_SSE_KEEPALIVE_MS: '200',
    });
    backend = new MemoryBackend();
    await backend.registerTaskTypes([{ name: 'stepper', queue: 'general', inputSchema: stepper.input as Record<string, unknown> }]);
    app = await buildApp({ config, backend, logger: createLogger({ service: 't', instance: 't', region: 'local', level: 'silent' }) });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    worker = createWorker({ backend, tasks: [stepper, ...builtinTasks()], concurrency: 4, queues: ['general', 'debate'], heartbeatMs: 200 });
    await worker.start();
    a = new ApiClient(base, KEY_A);
  });

  afterEach(async () => {
    for (const g of gates.splice(0)) g();
    await worker.drain(0);
    await app.close();
    await backend.close();
  });

  it("streams a task's state, progress and log events and ends with the task", async () => {
    const { body: task } = await a.request('POST', '/v1/tasks', { type: 'stepper', input: { steps: 3 } });
    const sse = await openSse(`${base}/v1/tasks/${task.id}/events`, authA);
    expect(sse.status).toBe(200);
    await release(3);
    await sse.ended;
    const seen = sse.events.map((e) => (e.event === 'state' ? e.data.status : e.event === 'log' ? `${e.data.level}: ${e.data.msg}` : `p${e.data.progress.step}`));
    expect(seen).toEqual(['queued', 'running', 'p1', 'info: step 1 of 3 done', 'p2', 'p3', 'succeeded']);
    expect(new Set(sse.events.map((e) => e.id)).size).toBe(7);
    expect(sse.events.every((e) => e.data.taskId === task.id)).toBe(true);
  });

  it('resumes after a dropped connection with Last-Event-ID: no gap, no duplicate', async () => {
    const { body: task } = await a.request('POST', '/v1/tasks', { type: 'stepper', input: { steps: 4 } });
    const first = await openSse(`${base}/v1/tasks/${task.id}/events`, authA);
    await release(1);
    const got = await first.next(3); // queued, running, p1
    first.drop();
    await release(2); // p2 and p3 happen while nobody listens
    const last = got[got.length - 1]!.id!;
    const second = await openSse(`${base}/v1/tasks/${task.id}/events`, { ...authA, 'last-event-id': last });
    await release(1);
    await second.ended;
    const all = [...got, ...second.events];
    expect(all.map((e) => (e.event === 'state' ? e.data.status : `p${e.data.progress.step}`))).toEqual(['queued', 'running', 'p1', 'p2', 'p3', 'p4', 'succeeded']);
    expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
    // A late reader without Last-Event-ID gets the same history, ids and all.
    const late = await openSse(`${base}/v1/tasks/${task.id}/events`, authA);
    await late.ended;
    expect(late.events.map((e) => e.id)).toEqual(all.map((e) => e.id));
  });

  it('a resume after the history aged out gets the final state and the end, not a stream that never ends', async () => {
    const { body: task } = await a.request('POST', '/v1/tasks?wait=10000', { type: 'echo', input: { n: 1 } });
    expect(task.status).toBe('succeeded');
    const seen = await openSse(`${base}/v1/tasks/${task.id}/events`, authA);
    await seen.ended;
    const lastId = seen.events[seen.events.length - 1]!.id!;
    // A replica whose event history began after the task ended (as after a restart, or past
    // DROVER_EVENT_RETENTION_SECONDS): it has nothing to replay after lastId.
    const config = loadConfig({ DROVER_API_KEYS: `a:${KEY_A}`, DROVER_LOG_LEVEL: 'silent', DROVER_SSE_KEEPALIVE_MS: '200' });
    const replica = await buildApp({ config, backend, logger: createLogger({ service: 't', instance: 't2', region: 'local', level: 'silent' }) });
    try {
      const other = await replica.listen({ host: '127.0.0.1', port: 0 });
      const resumed = await openSse(`${other}/v1/tasks/${task.id}/events`, { ...authA, 'last-event-id': lastId });
      await resumed.ended;
      expect(resumed.events.map((e) => (e.event === 'state' ? e.data.status : e.event))).toEqual(['succeeded']);
    } finally {
      await replica.close();
    }
  });

  it("includes the children's events with ?children=true", async () => {
    const { body: task } = await a.request('POST', '/v1/tasks', { type: 'debate', input: { topic: 'SSE', debaters: 2, rounds: 1 } });
    const sse = await openSse(`${base}/v1/tasks/${task.id}/events?children=true`, authA);
    await sse.ended;
    const { body: tree } = await a.request('GET', `/v1/tasks/${task.id}/tree`);
    const childIds = tree.tree.children.map((c: { id: string }) => c.id);
    expect(childIds).toHaveLength(3);
    for (const id of childIds) expect(sse.events.filter((e) => e.data.taskId === id && e.data.status === 'succeeded')).toHaveLength(1);
    const mine = sse.events.filter((e) => e.data.taskId === task.id).map((e) => e.data.status ?? 'progress');
    expect(mine).toContain('waiting');
    expect(mine[mine.length - 1]).toBe('succeeded');
  });

  it('streams only the caller tenant\'s events on /v1/events, with filters, and keeps idle streams alive', async () => {
    const b = new ApiClient(base, KEY_B);
    const sseB = await openSse(`${base}/v1/events?status=succeeded`, authB);
    const sseA = await openSse(`${base}/v1/events?type=echo`, authA);
    const { body: mine } = await a.request('POST', '/v1/tasks', { type: 'echo', input: 1 });
    const { body: theirs } = await b.request('POST', '/v1/tasks', { type: 'echo', input: 2 });
    await b.request('GET', `/v1/tasks/${theirs.id}?wait=5000`);
    await a.request('GET', `/v1/tasks/${mine.id}?wait=5000`);
    await sseB.next(1);
    await sseA.next(3);
    await new Promise((r) => setTimeout(r, 500));
    expect(sseB.events.map((e) => [e.data.taskId, e.data.status])).toEqual([[theirs.id, 'succeeded']]);
    expect(sseA.events.every((e) => e.data.taskId === mine.id)).toBe(true);
    expect(sseA.comments).toContain('keep-alive');
    sseA.drop();
    sseB.drop();
  });

  it("answers 404 for another tenant's task", async () => {
    const { body: task } = await a.request('POST', '/v1/tasks', { type: 'echo', input: 1 });
    const res = await fetch(`${base}/v1/tasks/${task.id}/events`, { headers: authB });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { code: string }).code).toBe('DROVER_ERR_TASK_NOT_FOUND');
  });
});
