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
      return new BullmqBackend({ redisUrl: config.redisUrl!, prefix: config.prefix, queues: config.queues, resultTtlSeconds: config.tasks.resultTtlSeconds });
    }
    case 'rabbitmq': {
      const { RabbitmqBackend } = await import('./backends/rabbitmq/rabbitmq-backend.js');
      return new RabbitmqBackend({ amqpUrl: config.amqpUrl!, redisUrl: config.redisUrl!, prefix: config.prefix, queues: config.queues, resultTtlSeconds: config.tasks.resultTtlSeconds });
    }
  }
}
