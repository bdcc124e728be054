import { taskFinished, testBroker, testRedisUrl, uniqueName, waitUntil } from '@drover/testkit';
import amqplib from 'amqplib';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, Consumer } from '../src/backend.js';
import { RabbitmqBackend } from '../src/backends/rabbitmq/rabbitmq-backend.js';
import { decodeTaskMessage, encodeTaskMessage } from '../src/backends/rabbitmq/task-message.js';
import { TaskKeys } from '../src/backends/rabbitmq/task-keys.js';
import { TaskStore } from '../src/backends/rabbitmq/task-store.js';
import { PermanentError } from '../src/errors.js';
import { completeSubmit } from '../src/task.js';

/**
 * The states a crash between Redis and the broker can leave behind, written directly, and what
 * the backend does with each: a record whose publish never happened is published by the relay;
 * a task whose worker died after its message was gone is requeued when its lease runs out; a
 * stale copy of a message is dropped; an exhausted task is dead-lettered.
 */
describe('rabbitmq backend: crash states between Redis and the broker', () => {
  let broker: Awaited<ReturnType<typeof testBroker>> | undefined;
  let amqpUrl: string;
  let redis: Redis;
  const backends: Backend[] = [];
  const consumers: Consumer[] = [];

  beforeAll(async () => {
    broker = await testBroker();
    amqpUrl = broker.url;
    redis = new Redis(testRedisUrl());
  }, 90_000);

  afterAll(async () => {
    await redis?.quit();
    await broker?.stop();
  });

  afterEach(async () => {
    for (const c of consumers.splice(0)) await c.close(0).catch(() => undefined);
    for (const b of backends.splice(0)) await b.close().catch(() => undefined);
  });

  const backend = (prefix: string, leaseMs?: number) => {
    const b = new RabbitmqBackend({ amqpUrl, redisUrl: testRedisUrl(), prefix, queues: ['alpha'], resultTtlSeconds: 3600, ...(leaseMs ? { leaseMs } : {}) });
    backends.push(b);
    return b;
  };
  const countingConsumer = async (b: Backend, runs: Map<string, number>, fail = false) => {
    consumers.push(
      await b.consume('alpha', {
        concurrency: 2,
        handler: async (t) => {
          runs.set(t.id, (runs.get(t.id) ?? 0) + 1);
          if (fail) throw new PermanentError('never works');
          return 'done';
        },
      }),
    );
  };
  const finished = (b: Backend, id: string) => taskFinished(b, id, 20_000);
  /** What TaskStore.submit stores for a request, as the backend's submit would pass it. */
  const storedFields = (req: ReturnType<typeof completeSubmit>) => ({ ...req, parentId: null, idempotencyKey: null, createdAt: new Date().toISOString() });
  const withChannel = async <T>(fn: (ch: amqplib.Channel) => Promise<T>): Promise<T> => {
    const conn = await amqplib.connect(amqpUrl);
    try {
      const ch = await conn.createChannel();
      const result = await fn(ch);
      // Closing the channel first settles its acks: a connection.close alone can overtake them
      // in the broker, which then requeues the messages as unacknowledged.
      await ch.close();
      return result;
    } finally {
      await conn.close();
    }
  };

  it('publishes a task written to Redis whose publish never happened (crash before the confirm)', async () => {
    const prefix = uniqueName('rmq-crash');
    const store = new TaskStore(redis, new TaskKeys(prefix), 3600);
    const req = completeSubmit({ type: 'echo', queue: 'alpha', tenant: 'acme', input: { lost: false } });
    const id = 'alpha.written-not-published';
    await store.submit([{ id, fingerprint: 'f', delayMs: 0, fields: storedFields(req) }], Date.now());

    const b = backend(prefix);
    const runs = new Map<string, number>();
    await countingConsumer(b, runs);
    const done = await finished(b, id);
    expect(done).toMatchObject({ status: 'succeeded', output: 'done', attempt: 1 });
    expect(runs.get(id)).toBe(1);
  });

  it('requeues a running task whose worker died after its message was gone (lease expiry)', async () => {
    const prefix = uniqueName('rmq-crash');
    const producer = backend(prefix);
    const { task } = await producer.submit(completeSubmit({ type: 'echo', queue: 'alpha', tenant: 'acme' }));
    // A worker claims it, its message is acknowledged (a redelivered copy dropped while the
    // lease was live), then the worker dies without recording anything.
    const store = new TaskStore(redis, new TaskKeys(prefix), 3600);
    await withChannel(async (ch) => {
      const msg = await waitUntil(async () => (await ch.get(`${prefix}.alpha~acme`)) || null, 'the message');
      const [claimed] = await store.start('alpha', [{ id: task.id, gen: 1, token: 'dead-worker.1' }], Date.now() + 300, Date.now());
      expect(claimed?.record.status).toBe('running');
      ch.ack(msg);
    });
    expect((await producer.get(task.id))?.status).toBe('running');

    const runs = new Map<string, number>();
    await countingConsumer(backend(prefix), runs);
    const done = await finished(producer, task.id);
    // The rerun is the second run started (the record says so), the lost one spent no attempt.
    expect(done).toMatchObject({ status: 'succeeded', output: 'done', attempt: 2 });
    expect(runs.get(task.id)).toBe(1);
  });

  it('fails a task whose workers keep dying on it (DROVER_POISON_CRASHES times): quarantined, instead of requeued forever', async () => {
    const prefix = uniqueName('rmq-crash');
    const producer = new RabbitmqBackend({ amqpUrl, redisUrl: testRedisUrl(), prefix, queues: ['alpha'], resultTtlSeconds: 3600, poisonCrashes: 3 });
    backends.push(producer);
    const { task } = await producer.submit(completeSubmit({ type: 'echo', queue: 'alpha', tenant: 'acme', maxAttempts: 5 }));
    const store = new TaskStore(redis, new TaskKeys(prefix), 3600);
    // Three workers in turn take the task's current message, claim it with a short lease and die
    // (the message acknowledged, nothing recorded); the relay requeues it after the first two.
    for (let death = 1; death <= 3; death++) {
      await withChannel(async (ch) => {
        const msg = await waitUntil(async () => (await ch.get(`${prefix}.alpha~acme`)) || null, `message ${death}`, 20_000);
        const delivery = decodeTaskMessage(msg.content)!;
        const [claimed] = await store.start('alpha', [{ id: task.id, gen: delivery.gen, token: `dead-worker-${death}.1` }], Date.now() + 300, Date.now());
        expect(claimed?.record.status, `claim ${death}`).toBe('running');
        ch.ack(msg);
      });
    }
    const failed = await finished(producer, task.id);
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'DROVER_ERR_TASK_QUARANTINED', retryable: false } });
    expect((await producer.counts('alpha')).failed).toBe(1);
    // No fourth message: the task is not run again.
    await new Promise((r) => setTimeout(r, 600));
    expect(await withChannel(async (ch) => (await ch.checkQueue(`${prefix}.alpha~acme`)).messageCount)).toBe(0);
  });

  it('drops a stale copy of a message (same task, old generation or already finished)', async () => {
    const prefix = uniqueName('rmq-crash');
    const b = backend(prefix);
    const runs = new Map<string, number>();
    await countingConsumer(b, runs);
    const { task } = await b.submit(completeSubmit({ type: 'echo', queue: 'alpha', tenant: 'acme' }));
    const first = await finished(b, task.id);
    // A relay that republished just before crashing, or a redelivery after the outcome was recorded;
    // one in the tenant's lane, one in the bare queue (where messages from before lanes wait).
    await withChannel(async (ch) => {
      ch.sendToQueue(`${prefix}.alpha~acme`, encodeTaskMessage(task.id, 1), { persistent: true });
      ch.sendToQueue(`${prefix}.alpha`, encodeTaskMessage(task.id, 0), { persistent: true });
    });
    const probe = await b.submit(completeSubmit({ type: 'echo', queue: 'alpha', tenant: 'acme' }));
    await finished(b, probe.task.id);
    await waitUntil(async () => (await b.counts('alpha')).queued === 0, 'stale copies consumed');
    expect(runs.get(task.id)).toBe(1);
    expect(await b.get(task.id)).toEqual(first);
  });

  it('acknowledges and drops messages it did not write, beside real ones in the same batch', async () => {
    const prefix = uniqueName('rmq-crash');
    const b = backend(prefix);
    const { task } = await b.submit(completeSubmit({ type: 'echo', queue: 'alpha', tenant: 'acme' }));
    // Published before the consumer starts, so they arrive in the same claim batches as the real
    // message: bodies that do not parse, and ids with control characters that name no record.
    await withChannel(async (ch) => {
      for (const body of ['garbage', `${task.id}\tx 1`, `x\n${task.id} 1`, `${task.id} one`, `${task.id} -1`, ' 1']) {
        ch.sendToQueue(`${prefix}.alpha~acme`, Buffer.from(body), { persistent: true });
      }
    });
    const runs = new Map<string, number>();
    await countingConsumer(b, runs);
    expect(await finished(b, task.id)).toMatchObject({ status: 'succeeded', output: 'done', attempt: 1 });
    await waitUntil(async () => (await b.counts('alpha')).queued === 0, 'foreign messages consumed');
    expect([...runs.entries()]).toEqual([[task.id, 1]]);
  });

  it('takes over a task whose lease expired before the relay saw it as a lost worker: the attempt is not counted, the loss is', async () => {
    // The worker died, and its message came back (broker redelivery) before the relay requeued
    // the task: the next claim finds it running on an expired lease.
    const prefix = uniqueName('rmq-crash');
    const store = new TaskStore(redis, new TaskKeys(prefix), 3600, 2);
    const req = completeSubmit({ type: 'echo', queue: 'alpha', tenant: 'acme', maxAttempts: 1 });
    const id = 'alpha.taken-over';
    await store.submit([{ id, fingerprint: 'f', delayMs: 0, fields: storedFields(req) }], Date.now());
    // Explicit clocks: each claim comes after the previous claim's lease ran out.
    let now = Date.now();
    const claim = async (token: string) => {
      const [c] = await store.start('alpha', [{ id, gen: 1, token }], now + 1000, now);
      now += 5000;
      return c;
    };
    const first = await claim('w1.1');
    expect(first).toMatchObject({ record: { attempt: 1 }, counted: 1 });
    // Two lost workers are tolerated: each rerun is the next run (record.attempt, what the
    // handler sees), while the counted attempts stay at 1, never past maxAttempts.
    expect(await claim('w2.1')).toMatchObject({ record: { attempt: 2 }, counted: 1 });
    expect(await claim('w3.1')).toMatchObject({ record: { attempt: 3 }, counted: 1 });
    expect((await store.get(id))?.status).toBe('running');
    // The third loss fails the task instead of running it a fourth time.
    expect(await claim('w4.1')).toBeNull();
    expect(await store.get(id)).toMatchObject({ status: 'failed', attempt: 3, error: { code: 'DROVER_ERR_TASK_QUARANTINED', retryable: false } });
    const counts = await store.stateCounts('alpha');
    expect(counts).toMatchObject({ running: 0, failed: 1 });
    // A live lease is still respected: a fresh task claimed now is not taken over before expiry.
    const other = 'alpha.live-lease';
    await store.submit([{ id: other, fingerprint: 'f', delayMs: 0, fields: storedFields(req) }], now);
    expect((await store.start('alpha', [{ id: other, gen: 1, token: 'a.1' }], now + 1000, now))[0]?.record.attempt).toBe(1);
    expect((await store.start('alpha', [{ id: other, gen: 1, token: 'b.1' }], now + 1500, now + 500))[0]).toBeNull();
  });

  it('cancels, instead of running again, a task whose cancel was requested while its worker died', async () => {
    const prefix = uniqueName('rmq-crash');
    const store = new TaskStore(redis, new TaskKeys(prefix), 3600, 2);
    const req = completeSubmit({ type: 'echo', queue: 'alpha', tenant: 'acme' });
    const fields = storedFields(req);
    let now = Date.now();
    await store.submit(
      [
        { id: 'alpha.redelivered', fingerprint: 'f', delayMs: 0, fields },
        { id: 'alpha.relayed', fingerprint: 'f', delayMs: 0, fields },
      ],
      now,
    );
    for (const id of ['alpha.redelivered', 'alpha.relayed']) {
      expect((await store.start('alpha', [{ id, gen: 1, token: 'dead.1' }], now + 1000, now))[0]?.record.status).toBe('running');
      // The cancel finds it running and flags it; the worker dies before it sees the flag.
      expect(await store.cancel(id, 'alpha', now)).toBe('running');
    }
    now += 5000;
    // Its message comes back to another worker after the lease: canceled, not run.
    expect((await store.start('alpha', [{ id: 'alpha.redelivered', gen: 1, token: 'next.1' }], now + 1000, now))[0]).toBeNull();
    // The relay finds the other's lease expired: canceled, not requeued.
    const { claims } = await store.relayClaim('alpha', now, 5000, 100);
    expect(claims.map((c) => c.id)).not.toContain('alpha.relayed');
    for (const id of ['alpha.redelivered', 'alpha.relayed']) {
      expect(await store.get(id), id).toMatchObject({ status: 'canceled', error: { code: 'DROVER_ERR_TASK_CANCELED' } });
    }
    expect(await store.stateCounts('alpha')).toMatchObject({ running: 0, failed: 0, canceled: 2 });
  });

  it('claims one of two copies of the same message that arrive in one batch', async () => {
    // A relay's republish of an unconfirmed submit can land beside the original; deliveries that
    // arrive together are claimed by one script call.
    const prefix = uniqueName('rmq-crash');
    const b = backend(prefix);
    const { task } = await b.submit(completeSubmit({ type: 'echo', queue: 'alpha', tenant: 'acme' }));
    const store = new TaskStore(redis, new TaskKeys(prefix), 3600);
    const now = Date.now();
    const claims = await store.start(
      'alpha',
      [
        { id: task.id, gen: 1, token: 'w.1' },
        { id: task.id, gen: 1, token: 'w.2' },
      ],
      now + 30_000,
      now,
    );
    expect(claims.map((c) => c?.record.status ?? null)).toEqual(['running', null]);
    expect((await b.counts('alpha')).running).toBe(1);
  });

  it('dead-letters a task that exhausted its attempts', async () => {
    const prefix = uniqueName('rmq-crash');
    const b = backend(prefix);
    await countingConsumer(b, new Map(), true);
    const { task } = await b.submit(completeSubmit({ type: 'echo', queue: 'alpha', tenant: 'acme', maxAttempts: 3 }));
    expect((await finished(b, task.id)).status).toBe('failed');
    const dead = await waitUntil(
      () => withChannel(async (ch) => (await ch.checkQueue(`${prefix}.dead`)).messageCount),
      'the dead-lettered message',
    );
    expect(dead).toBe(1);
  });
});
