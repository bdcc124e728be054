import { testRedisUrl, uniqueName } from '@drover/testkit';
import { Redis } from 'ioredis';
import { BullmqBackend } from '../src/backends/bullmq/bullmq-backend.js';
import { CONFORMANCE_QUEUES, backendConformance } from './conformance/backend-conformance.js';

backendConformance('bullmq', async () => {
  const redisUrl = testRedisUrl();
  const prefix = uniqueName('conf');
  return {
    // Each open() is a separate client with its own connections, as another process would be.
    open: async () => new BullmqBackend({ redisUrl, prefix, queues: CONFORMANCE_QUEUES, resultTtlSeconds: 3600 }),
    teardown: async () => {
      const redis = new Redis(redisUrl);
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
      await redis.quit();
    },
  };
});
