import type { Channel, Options } from 'amqplib';

/** Highest AMQP priority; Drover priorities 0-10 map onto it one to one. */
export const MAX_PRIORITY = 10;

/**
 * Broker names of one store (one prefix). Every Drover queue is a set of durable classic queues
 * with `x-max-priority` (no plugins needed), one lane per tenant, `<prefix>.<queue>~<tenant>`, so
 * that a consumer serves tenants in turn (fair dispatch: see rabbitmq-consumer.ts); the bare
 * `<prefix>.<queue>` is still consumed for messages published before lanes existed. Tasks that
 * exhaust their attempts are dead-lettered to `<prefix>.dead-letter` and kept in `<prefix>.dead`
 * for inspection, bounded in age and length.
 */
export class Topology {
  readonly deadLetterExchange: string;
  readonly deadQueue: string;

  constructor(
    readonly prefix: string,
    private readonly resultTtlSeconds: number,
  ) {
    this.deadLetterExchange = `${prefix}.dead-letter`;
    this.deadQueue = `${prefix}.dead`;
  }

  /** The broker queue of a Drover queue's tenant lane; without a tenant, the bare queue. */
  queueName(queue: string, tenant?: string): string {
    // Queue and tenant names are [a-z0-9_-]: '~' cannot occur in either.
    return tenant ? `${this.prefix}.${queue}~${tenant}` : `${this.prefix}.${queue}`;
  }

  queueOptions(): Options.AssertQueue {
    return {
      durable: true,
      arguments: { 'x-queue-type': 'classic', 'x-max-priority': MAX_PRIORITY, 'x-dead-letter-exchange': this.deadLetterExchange },
    };
  }

  /** Declares the dead-letter side and the given broker queues (idempotent: same arguments every time). */
  async declare(ch: Channel, names: Iterable<string>): Promise<void> {
    await ch.assertExchange(this.deadLetterExchange, 'fanout', { durable: true });
    await ch.assertQueue(this.deadQueue, {
      durable: true,
      arguments: { 'x-queue-type': 'classic', 'x-message-ttl': Math.min(this.resultTtlSeconds * 1000, 2 ** 31 - 1), 'x-max-length': 100_000 },
    });
    await ch.bindQueue(this.deadQueue, this.deadLetterExchange, '');
    for (const name of names) await ch.assertQueue(name, this.queueOptions());
  }
}
