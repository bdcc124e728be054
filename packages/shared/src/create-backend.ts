import type { Backend } from './backend.js';
import type { DroverConfig } from './config.js';
import { MemoryBackend } from './backends/memory-backend.js';

/** The backend the configuration selects (DROVER_BACKEND). */
export async function createBackend(config: DroverConfig): Promise<Backend> {
  switch (config.backend) {
    case 'memory':
      return new MemoryBackend({ resultTtlMs: config.tasks.resultTtlSeconds * 1000 });
    case 'bullmq': {
      const { BullmqBackend } = await import('./backends/bullmq/bullmq-backend.js');
      // The stalled checker runs every half lease, so a lost job runs again within 1.5 leases.
      const { leaseMs, poisonCrashes, resultTtlSeconds } = config.tasks;
      return new BullmqBackend({ redisUrl: config.redisUrl!, prefix: config.prefix, queues: config.queues, resultTtlSeconds, lockDurationMs: leaseMs, stalledIntervalMs: Math.ceil(leaseMs / 2), poisonCrashes });
    }
    case 'rabbitmq': {
      const { RabbitmqBackend } = await import('./backends/rabbitmq/rabbitmq-backend.js');
      const { leaseMs, poisonCrashes, resultTtlSeconds } = config.tasks;
      return new RabbitmqBackend({ amqpUrl: config.amqpUrl!, redisUrl: config.redisUrl!, prefix: config.prefix, queues: config.queues, resultTtlSeconds, leaseMs, poisonCrashes });
    }
  }
}
