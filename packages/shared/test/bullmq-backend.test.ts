import { deleteKeys, testRedisUrl, uniqueName } from '@drover/testkit';
import { BullmqBackend } from '../src/backends/bullmq/bullmq-backend.js';
import { CONFORMANCE_QUEUES, type ConformanceStore, backendConformance } from './conformance/backend-conformance.js';
import { childrenConformance } from './conformance/children-conformance.js';
import { fairnessConformance } from './conformance/fairness-conformance.js';

const makeStore = async (): Promise<ConformanceStore> => {
  const redisUrl = testRedisUrl();
  const prefix = uniqueName('conf');
  return {
    // Each open() is a separate client with its own connections, as another process would be.
    open: async () => new BullmqBackend({ redisUrl, prefix, queues: CONFORMANCE_QUEUES, resultTtlSeconds: 3600 }),
    teardown: () => deleteKeys(redisUrl, prefix),
  };
};

backendConformance('bullmq', makeStore);
childrenConformance('bullmq', makeStore);
fairnessConformance('bullmq', makeStore);
