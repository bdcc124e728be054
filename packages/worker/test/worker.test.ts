import { MemoryBackend, type TaskRecord, completeSubmit } from '@drover/shared';
import { taskFinished, waitUntil } from '@drover/testkit';
import { Type } from '@sinclair/typebox';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Worker, createWorker, defineTask, echoTask, sleepTask, startHealthServer } from '../src/index.js';

const finished = taskFinished;

describe('worker', () => {
  let backend: MemoryBackend;
  const workers: Worker[] = [];
  const submit = async (type: string, input: unknown, over: Partial<Parameters<typeof completeSubmit>[0]> = {}): Promise<TaskRecord> =>
    (await backend.submit(completeSubmit({ type, queue: 'general', tenant: 't', input, timeoutMs: 10_000, ...over }))).task;
  const start = async (options: Partial<Parameters<typeof createWorker>[0]>) => {
    const w = createWorker({ backend, tasks: [echoTask, sleepTask], heartbeatMs: 200, ...options });
    workers.push(w);
    await w.start();
    return w;
  };

  beforeEach(() => {
    backend = new MemoryBackend();
  });
  afterEach(async () => {
    for (const w of workers.splice(0)) await w.drain(0);
    await backend.close();
  });

  it('keeps tasks across worker processes under the agent cap (maxAgents), and passes permits from task to task', async () => {
    let running = 0;
    let peak = 0;
    const agent = defineTask({
      name: 'agent',
      input: Type.Object({}),
      run: async () => {
        peak = Math.max(peak, ++running);
        await new Promise((r) => setTimeout(r, 20));
        running--;
        return 'ok';
      },
    });
    // Two workers of 4 slots each on one backend share a cap of 3.
    for (let i = 0; i < 2; i++) await start({ tasks: [agent], concurrency: 4, queues: ['general'], maxAgents: 3, agentLeaseMs: 5000 });
    const tasks = await Promise.all(Array.from({ length: 30 }, () => submit('agent', {})));
    for (const t of tasks) expect((await finished(backend, t.id)).status).toBe('succeeded');
    expect(peak).toBe(3);
    await waitUntil(async () => (await backend.agentPermits.used()) === 0, 'permits returned');
  });

  it('never runs more tasks at once than its concurrency, across queues, and uses all of it', async () => {
    let running = 0;
    let peak = 0;
    const busy = (name: string, queue: string) =>
      defineTask({
        name,
        queue,
        input: Type.Object({}),
        run: async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((r) => setTimeout(r, 30));
          running--;
        },
      });
    const w = await start({ tasks: [busy('a', 'general'), busy('b', 'coding')], concurrency: 3 });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      ids.push((await submit('a', {})).id, (await submit('b', {}, { queue: 'coding' })).id);
    }
    for (const id of ids) expect((await finished(backend, id)).status).toBe('succeeded');
    expect(peak).toBe(3);
    expect(w.peakRunning).toBe(3);
  });

  it('holds a per-type cap below the process cap', async () => {
    let running = 0;
    let peak = 0;
    const scarce = defineTask({
      name: 'scarce',
      input: Type.Object({}),
      concurrency: 1,
      run: async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 20));
        running--;
      },
    });
    await start({ tasks: [scarce, echoTask], concurrency: 4 });
    const ids = [];
    for (let i = 0; i < 8; i++) ids.push((await submit('scarce', {})).id);
    for (const id of ids) await finished(backend, id);
    expect(peak).toBe(1);
  });

  it('rejects input that does not match the task schema, without retrying', async () => {
    await start({});
    const t = await submit('sleep', { ms: 'soon' }, { maxAttempts: 3 });
    const done = await finished(backend, t.id);
    expect(done.status).toBe('failed');
    expect(done.attempt).toBe(1);
    expect(done.error).toMatchObject({ code: 'DROVER_ERR_TASK_INPUT_REJECTED', retryable: false });
    expect(done.error?.message).toContain('/ms');
  });

  it('fails a task type it has no handler for, naming the types it knows', async () => {
    await start({});
    const t = await submit('translate', {}, { maxAttempts: 3 });
    const done = await finished(backend, t.id);
    expect(done.error).toMatchObject({ code: 'DROVER_ERR_NO_HANDLER', retryable: false });
    expect(done.error?.message).toContain('echo, sleep');
  });

  it('runs built-in tasks and stops sleep on cancel', async () => {
    await start({});
    const echo = await submit('echo', { hi: [1, 2] });
    expect(await finished(backend, echo.id)).toMatchObject({ status: 'succeeded', output: { hi: [1, 2] } });
    const sleeper = await submit('sleep', { ms: 60_000 });
    await waitUntil(async () => (await backend.get(sleeper.id))?.status === 'running', 'sleep to start');
    await backend.cancel(sleeper.id);
    expect((await finished(backend, sleeper.id)).status).toBe('canceled');
  });

  it('registers its task types and heartbeats until drained', async () => {
    const w = await start({ concurrency: 2 });
    expect((await backend.taskTypes()).map((t) => t.name).sort()).toEqual(['echo', 'sleep']);
    const live = await backend.workers();
    expect(live).toHaveLength(1);
    expect(live[0]).toMatchObject({ id: w.id, concurrency: 2, queues: ['general'], taskTypes: ['echo', 'sleep'], draining: false });
    await w.drain(0);
    expect(await backend.workers()).toEqual([]);
  });

  it('drain lets a short task finish and returns a long one to the queue', async () => {
    const w = await start({ concurrency: 2 });
    const short = await submit('sleep', { ms: 100 });
    const long = await submit('sleep', { ms: 60_000 });
    await waitUntil(async () => (await backend.counts('general')).running === 2, 'both running');
    await w.drain(400);
    expect((await backend.get(short.id))?.status).toBe('succeeded');
    expect((await backend.get(long.id))?.status).toBe('queued');
    // It ran once (attempt 1); the interrupted run does not spend maxAttempts, so a new worker
    // runs it as attempt 2 even though maxAttempts is 1.
    expect(await backend.get(long.id)).toMatchObject({ attempt: 1, maxAttempts: 1 });
  });

  it('counts outcomes in its metrics and serves health endpoints', async () => {
    const w = await start({});
    const ok = await submit('echo', 1);
    const bad = await submit('sleep', { ms: 0, fail: true });
    await finished(backend, ok.id);
    await finished(backend, bad.id);
    const health = await startHealthServer({ worker: w, backend, registry: w.registry, host: '127.0.0.1', port: 0 });
    try {
      const metrics = await (await fetch(`${health.url}/metrics`)).text();
      expect(metrics).toMatch(/drover_tasks_total\{type="echo",outcome="succeeded"\} 1/);
      expect(metrics).toMatch(/drover_tasks_total\{type="sleep",outcome="failed"\} 1/);
      expect(metrics).toMatch(/drover_worker_capacity 3/);
      expect((await fetch(`${health.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${health.url}/readyz`)).status).toBe(200);
      await w.drain(0);
      expect((await fetch(`${health.url}/readyz`)).status).toBe(503);
      expect((await fetch(`${health.url}/nope`)).status).toBe(404);
    } finally {
      await health.close();
    }
  });
});
