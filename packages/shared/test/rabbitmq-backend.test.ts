import { deleteKeys, testBroker, testRedisUrl, uniqueName } from '@drover/testkit';
import amqplib from 'amqplib';
import { afterAll, beforeAll } from 'vitest';
import { RabbitmqBackend } from '../src/backends/rabbitmq/rabbitmq-backend.js';
import { CONFORMANCE_QUEUES, type ConformanceStore, backendConformance } from './conformance/backend-conformance.js';
import { childrenConformance } from './conformance/children-conformance.js';

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
      for (const q of [...CONFORMANCE_QUEUES, 'dead']) await ch.deleteQueue(`${prefix}.${q}`);
      await ch.deleteExchange(`${prefix}.dead-letter`);
      await conn.close();
      await deleteKeys(testRedisUrl(), prefix);
    },
  };
};

backendConformance('rabbitmq', makeStore);
childrenConformance('rabbitmq', makeStore);
