import { RabbitmqServer, testRedisUrl, uniqueName, waitUntil } from '@drover/testkit';
import amqplib from 'amqplib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, Consumer, TaskEvent } from '../src/backend.js';
import { RabbitmqBackend } from '../src/backends/rabbitmq/rabbitmq-backend.js';
import { completeSubmit } from '../src/task.js';

/**
 * The broker goes away while tasks flow (its connections closed from the server side, or the
 * whole node restarted). Every task whose submit returned must finish, the worker's consumer
 * must come back by itself (exactly one consumer on the queue), and no outcome may be recorded
 * twice. Owns its broker, since it restarts it.
 */
describe('rabbitmq backend under broker faults', () => {
  let server: RabbitmqServer;
  const open: Backend[] = [];
  const consumers: Consumer[] = [];

  beforeAll(async () => {
    server = await RabbitmqServer.start();
  }, 90_000);

  afterAll(async () => {
    await server?.stop();
  });

  afterEach(async () => {
    for (const c of consumers.splice(0)) await c.close(0).catch(() => undefined);
    for (const b of open.splice(0)) await b.close().catch(() => undefined);
  });

  const client = (prefix: string) => {
    const b = new RabbitmqBackend({ amqpUrl: server.url, redisUrl: testRedisUrl(), prefix, queues: ['alpha'], resultTtlSeconds: 3600 });
    open.push(b);
    return b;
  };

  const consumerCount = async (queue: string) => {
    const conn = await amqplib.connect(server.url);
    try {
      const ch = await conn.createChannel();
      return (await ch.checkQueue(queue)).consumerCount;
    } finally {
      await conn.close();
    }
  };

  async function flowThrough(fault: () => Promise<void>) {
    const prefix = uniqueName('rmq-fault');
    const producer = client(prefix);
    const worker = client(prefix);
    const runs = new Map<string, number>();
    const succeededEvents = new Map<string, number>();
    const observer = client(prefix);
    await observer.onEvent((e: TaskEvent) => {
      if (e.status === 'succeeded') succeededEvents.set(e.id, (succeededEvents.get(e.id) ?? 0) + 1);
    });
    consumers.push(
      await worker.consume('alpha', {
        concurrency: 10,
        handler: async (t) => {
          runs.set(t.id, (runs.get(t.id) ?? 0) + 1);
          await new Promise((r) => setTimeout(r, 15));
          return { n: (t.input as { n: number }).n };
        },
      }),
    );

    // Submit in small batches for a while; the fault strikes in the middle of the flow.
    const confirmed: string[] = [];
    let refused = 0;
    let n = 0;
    let faultDone = false;
    const submitting = (async () => {
      while (!faultDone || n < 1200) {
        const batch = Array.from({ length: 20 }, () => completeSubmit({ type: 'echo', queue: 'alpha', tenant: 'acme', input: { n: n++ } }));
        try {
          const results = await producer.submitMany(batch);
          confirmed.push(...results.map((r) => r.task.id));
        } catch {
          refused += batch.length; // not confirmed: the caller was told so
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await waitUntil(() => confirmed.length >= 300, '300 confirmed tasks before the fault', 20_000);
    // The fault must strike with work in flight: tasks waiting on the broker and running.
    expect(await producer.counts('alpha')).toSatisfy((c: { queued: number; running: number }) => c.queued + c.running > 0);
    await fault();
    faultDone = true;
    await submitting;

    const total = confirmed.length;
    expect(total).toBeGreaterThanOrEqual(1000);
    await waitUntil(
      async () => {
        const c = await producer.counts('alpha');
        return c.succeeded >= total && c.running === 0 ? c : null;
      },
      `all ${total} confirmed tasks to finish`,
      60_000,
      200,
    );
    for (const id of confirmed) {
      const t = await producer.get(id);
      expect(t?.status, `task ${id}`).toBe('succeeded');
      expect(t?.output).toEqual({ n: (t?.input as { n: number } | undefined)?.n });
    }
    // Nothing recorded twice: one succeeded event per task, no task run twice.
    await waitUntil(() => confirmed.every((id) => succeededEvents.has(id)), 'succeeded events');
    expect([...succeededEvents.values()].every((count) => count === 1)).toBe(true);
    expect(confirmed.every((id) => runs.get(id) === 1)).toBe(true);
    // The worker's consumer came back, once.
    await waitUntil(async () => (await consumerCount(`${prefix}.alpha~acme`)) === 1, "one consumer on the tenant's lane");
    const counts = await producer.counts('alpha');
    expect(counts).toMatchObject({ queued: 0, running: 0, delayed: 0, failed: 0 });
    return { total, refused };
  }

  it('survives the broker closing every connection while tasks flow', async () => {
    const { total } = await flowThrough(() => server.closeAllConnections('drover fault test'));
    expect(total).toBeGreaterThanOrEqual(1000);
  }, 120_000);

  it('survives a broker restart while tasks flow', async () => {
    const { total } = await flowThrough(() => server.restart());
    expect(total).toBeGreaterThanOrEqual(1000);
  }, 150_000);
});
