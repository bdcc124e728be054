import { RedisServer, freePort, taskFinished, uniqueName, waitUntil } from '@drover/testkit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BullmqBackend } from '../src/backends/bullmq/bullmq-backend.js';
import { completeSubmit } from '../src/task.js';

/** Settles within `ms` or fails the test: "fails fast" means it never hangs. */
async function settlesWithin<T>(p: Promise<T>, ms: number): Promise<PromiseSettledResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([Promise.allSettled([p]).then((r) => r[0]!), hang]);
  } finally {
    clearTimeout(timer);
  }
}

describe('bullmq backend while Redis is down', () => {
  let server: RedisServer;
  let backend: BullmqBackend;
  const req = () => completeSubmit({ type: 'echo', queue: 'alpha', tenant: 'acme', input: { n: 1 } });

  beforeAll(async () => {
    server = await RedisServer.start();
    backend = new BullmqBackend({ redisUrl: server.url, prefix: uniqueName('down'), queues: ['alpha'], resultTtlSeconds: 60 });
  });

  afterAll(async () => {
    await backend?.close();
    await server?.stop();
  });

  it('fails producer calls fast with DROVER_ERR_BACKEND_UNAVAILABLE, and recovers by itself', async () => {
    const ran: string[] = [];
    const consumer = await backend.consume('alpha', { concurrency: 2, handler: async (t) => void ran.push(t.id) });
    const before = await backend.submit(req());
    await waitUntil(() => ran.includes(before.task.id), 'the first task to run');

    await server.kill();
    const calls: Array<() => Promise<unknown>> = [() => backend.submit(req()), () => backend.submitMany([req(), req()]), () => backend.get(before.task.id), () => backend.counts("alpha"), () => backend.ping()];
    for (const call of calls) {
      const outcome = await settlesWithin(call(), 5000);
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toMatchObject({ code: 'DROVER_ERR_BACKEND_UNAVAILABLE' });
    }

    await server.launch();
    // Same port, empty data set: the producer and the worker reconnect without being told to.
    const after = await waitUntil(() => backend.submit(req()).catch(() => null), 'submit to work again', 20_000, 200);
    const done = await taskFinished(backend, after.task.id, 30_000, 100);
    expect(done.status).toBe('succeeded');
    expect(ran).toContain(after.task.id);
    await consumer.close(0);
  }, 60_000);

  it('fails fast when Redis was never reachable, and closes without hanging', async () => {
    const port = await freePort();
    const orphan = new BullmqBackend({ redisUrl: `redis://127.0.0.1:${port}`, prefix: uniqueName('never'), queues: ['alpha'], resultTtlSeconds: 60 });
    const outcome = await settlesWithin(orphan.submit(req()), 5000);
    expect((outcome as PromiseRejectedResult).reason).toMatchObject({ code: 'DROVER_ERR_BACKEND_UNAVAILABLE' });
    expect((await settlesWithin(orphan.close(), 5000)).status).toBe('fulfilled');
  });

  it('cancels a running task whose cancel message went out while its worker was resubscribing', async () => {
    const prefix = uniqueName('resub');
    const worker = new BullmqBackend({ redisUrl: server.url, prefix, queues: ['alpha'], resultTtlSeconds: 60 });
    // Another process (an orchestrator): its cancel reaches the worker only through Redis.
    const orchestrator = new BullmqBackend({ redisUrl: server.url, prefix, queues: ['alpha'], resultTtlSeconds: 60 });
    const admin = new Redis(server.url);
    let started = '';
    const consumer = await worker.consume('alpha', {
      concurrency: 1,
      handler: (task, ctx) =>
        new Promise((_, reject) => {
          started = task.id;
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
        }),
    });
    try {
      const { task } = await orchestrator.submit(completeSubmit({ type: 'wait', queue: 'alpha', tenant: 'acme', input: null, timeoutMs: 60_000 }));
      await waitUntil(() => started === task.id, 'the task to start');
      // Drop the worker's subscription; ioredis waits before reconnecting, so the cancel below is
      // published while nobody listens, and only the re-check after the reconnect can catch it.
      expect(await admin.client('KILL', 'TYPE', 'pubsub')).toBeGreaterThan(0);
      expect((await orchestrator.cancel(task.id))?.id).toBe(task.id);
      const done = await taskFinished(orchestrator, task.id, 10_000, 50);
      expect(done.status).toBe('canceled');
    } finally {
      await consumer.close(0);
      await admin.quit();
      await Promise.all([worker.close(), orchestrator.close()]);
    }
  }, 30_000);
});
