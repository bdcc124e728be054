import { deleteKeys, testBroker, testRedisUrl, uniqueName } from '@drover/testkit';
import amqplib from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeSubmit } from '../src/task.js';
import { RabbitmqBackend } from '../src/backends/rabbitmq/rabbitmq-backend.js';
import { CONFORMANCE_QUEUES, type ConformanceStore, backendConformance } from './conformance/backend-conformance.js';
import { childrenConformance } from './conformance/children-conformance.js';
import { fairnessConformance } from './conformance/fairness-conformance.js';
import { TaskKeys } from '../src/backends/rabbitmq/task-keys.js';
import { Topology } from '../src/backends/rabbitmq/topology.js';
import { Redis } from 'ioredis';

// One private broker for the file (it takes seconds to start); tests are isolated by prefix.
let broker: Awaited<ReturnType<typeof testBroker>> | undefined;
let amqpUrl: string;

beforeAll(async () => {
  broker = await testBroker();
  amqpUrl = broker.url;
});

afterAll(async () => {
  await broker?.stop();
});

const makeStore = async (): Promise<ConformanceStore> => {
  const prefix = uniqueName('rmq');
  return {
    open: async () => new RabbitmqBackend({ amqpUrl, redisUrl: testRedisUrl(), prefix, queues: CONFORMANCE_QUEUES, resultTtlSeconds: 3600 }),
    teardown: async () => {
      const conn = await amqplib.connect(amqpUrl);
      const ch = await conn.createChannel();
      for (const name of await brokerQueues(prefix, CONFORMANCE_QUEUES)) await ch.deleteQueue(name);
      await ch.deleteExchange(`${prefix}.dead-letter`);
      await conn.close();
      await deleteKeys(testRedisUrl(), prefix);
    },
  };
};

/** Every broker queue of a prefix: the dead-letter queue, the bare queues and their tenant lanes. */
async function brokerQueues(prefix: string, queues: readonly string[]): Promise<string[]> {
  const redis = new Redis(testRedisUrl());
  try {
    const keys = new TaskKeys(prefix);
    const topology = new Topology(prefix, 3600);
    const names = [topology.deadQueue];
    for (const q of queues) for (const t of ['', ...(await redis.smembers(keys.lanes(q)))]) names.push(topology.queueName(q, t));
    return names;
  } finally {
    redis.disconnect();
  }
}

backendConformance('rabbitmq', makeStore);
childrenConformance('rabbitmq', makeStore);
fairnessConformance('rabbitmq', makeStore, 'lanes');

describe('rabbitmq: processes that disagree on the queues', () => {
  it('fails a submission at once, naming DROVER_RESULT_TTL_SECONDS, when the broker refuses our queue arguments', async () => {
    const prefix = uniqueName('rmq-ttl');
    const first = new RabbitmqBackend({ amqpUrl, redisUrl: testRedisUrl(), prefix, queues: ['alpha'], resultTtlSeconds: 3600 });
    let other: RabbitmqBackend | undefined;
    try {
      // The first process declares the queues; the other one, started later, disagrees.
      await first.submit(completeSubmit({ type: 'echo', queue: 'alpha', tenant: 'acme' }));
      other = new RabbitmqBackend({ amqpUrl, redisUrl: testRedisUrl(), prefix, queues: ['alpha'], resultTtlSeconds: 7200 });
      const started = Date.now();
      const err = await other.submit(completeSubmit({ type: 'echo', queue: 'alpha', tenant: 'acme' })).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'DROVER_ERR_BACKEND_UNAVAILABLE' });
      expect((err as Error).message).toContain('DROVER_RESULT_TTL_SECONDS');
      // Not the 30 s publish timeout: the refusal is known as soon as the channel's setup fails.
      expect(Date.now() - started).toBeLessThan(10_000);
      await expect(other.ping()).rejects.toThrow(/DROVER_RESULT_TTL_SECONDS/);
    } finally {
      await other?.close();
      await first.close();
      const conn = await amqplib.connect(amqpUrl);
      const ch = await conn.createChannel();
      for (const name of await brokerQueues(prefix, ['alpha'])) await ch.deleteQueue(name);
      await ch.deleteExchange(`${prefix}.dead-letter`);
      await conn.close();
      await deleteKeys(testRedisUrl(), prefix);
    }
  }, 30_000);
});
