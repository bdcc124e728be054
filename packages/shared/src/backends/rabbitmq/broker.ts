import type { Channel, ConfirmChannel } from 'amqplib';
import amqp, { type AmqpConnectionManager, type ChannelWrapper } from 'amqp-connection-manager';
import { DroverError } from '../../errors.js';
import { encodeTaskMessage } from './task-message.js';
import type { Topology } from './topology.js';

export interface BrokerOptions {
  url: string;
  topology: Topology;
  queues: readonly string[];
  /** How long a publish may wait for the broker (reconnecting included) before it fails. */
  publishTimeoutMs?: number;
}

/**
 * One AMQP connection per backend instance, re-established by amqp-connection-manager after a
 * broker restart; every channel re-runs its setup on the new connection, so consumers come back
 * exactly once (the old channel died with the old connection). Publishes go through one confirm
 * channel: the promise resolves when the broker has the message (persisted, for a durable queue).
 */
export class Broker {
  readonly connection: AmqpConnectionManager;
  private readonly publisher: ChannelWrapper;
  /** Broker queue names this instance declared; the publisher declares them again after a reconnect. */
  private readonly declared: Set<string>;
  private readonly topology: Topology;
  private closing = false;
  /**
   * The broker refused our declarations (PRECONDITION_FAILED: a queue exists with other
   * arguments); every retry would be refused the same way, so publishes and pings fail at once
   * with what to fix instead of waiting for a confirm that never comes.
   */
  private refused: DroverError | undefined;

  constructor(options: BrokerOptions) {
    this.topology = options.topology;
    this.declared = new Set(options.queues.map((q) => options.topology.queueName(q)));
    this.connection = amqp.connect([options.url], { heartbeatIntervalInSeconds: 5, reconnectTimeInSeconds: 0.5 });
    // Disconnects are expected (broker restarts); the manager reconnects by itself.
    this.connection.on('connectFailed', () => undefined);
    this.connection.on('disconnect', () => undefined);
    this.publisher = this.connection.createChannel({
      name: 'drover-publisher',
      confirm: true,
      publishTimeout: options.publishTimeoutMs ?? 30_000,
      setup: async (ch: ConfirmChannel) => {
        this.watch(ch, () => this.closing);
        try {
          await this.topology.declare(ch, this.declared);
          this.refused = undefined;
        } catch (err) {
          this.refused = refusal(err);
          throw err;
        }
      },
    });
    this.publisher.on('error', () => undefined);
  }

  async ready(): Promise<void> {
    await this.connected();
  }

  /** Resolves once the publisher channel is set up; throws at once when the broker refused its setup. */
  private async connected(): Promise<void> {
    if (this.refused) throw this.refused;
    const waiting = this.publisher.waitForConnect().then(() => true);
    for (;;) {
      const up = await Promise.race([waiting, new Promise<false>((r) => setTimeout(() => r(false), 100).unref())]);
      if (up) return;
      if (this.refused) throw this.refused;
    }
  }

  /** Declares a queue (or a tenant's lane of it) this instance has not seen yet. */
  async ensureQueue(queue: string, tenant?: string): Promise<void> {
    const name = this.topology.queueName(queue, tenant);
    if (this.declared.has(name)) return this.connected();
    await this.publisher.assertQueue(name, this.topology.queueOptions());
    this.declared.add(name);
  }

  /**
   * Resolves once the broker confirmed every message. Each goes to its tenant's lane, which the
   * caller has declared (TenantLanes); a message without a tenant goes to the bare queue.
   */
  async publish(queue: string, messages: ReadonlyArray<{ id: string; gen: number; priority: number; tenant: string }>): Promise<void> {
    if (this.refused) throw this.refused;
    await this.ensureQueue(queue);
    await Promise.all(
      messages.map((m) => this.publisher.sendToQueue(this.topology.queueName(queue, m.tenant), encodeTaskMessage(m.id, m.gen), { persistent: true, priority: m.priority })),
    );
  }

  /** Messages ready for delivery in a queue's bare queue and the given lanes (not counting delivered, unacknowledged ones). */
  async readyCount(queue: string, tenants: readonly string[]): Promise<number> {
    await this.ensureQueue(queue);
    const counts = await Promise.all(
      ['', ...tenants].map(async (t) => {
        // assert, not check: a queue deleted behind our back is recreated instead of failing the channel
        return (await this.publisher.assertQueue(this.topology.queueName(queue, t), this.topology.queueOptions())).messageCount;
      }),
    );
    return counts.reduce((a, b) => a + b, 0);
  }

  async ping(): Promise<void> {
    if (this.refused) throw this.refused;
    if (this.connection.isConnected()) return;
    // Just created or reconnecting: give it a moment before calling the broker unreachable.
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 2000).unref());
    if ((await Promise.race([this.publisher.waitForConnect(), timeout])) === 'timeout') throw new DroverError('BACKEND_UNAVAILABLE', 'RabbitMQ is not reachable (check DROVER_AMQP_URL); reconnecting.');
  }

  /**
   * amqp-connection-manager only rebuilds channels on a new connection. When the broker closes
   * just one channel (a channel error, a deleted queue), reconnect, so every channel's setup runs
   * again, instead of leaving that channel dead.
   */
  watch(ch: Channel, closing: () => boolean): void {
    const owner = this.connection.connection;
    ch.on('error', () => undefined);
    ch.once('close', () => {
      setTimeout(() => {
        // Only when the channel's own connection is still the live one: a closed connection is
        // already being replaced.
        if (!closing() && !this.closing && owner && this.connection.connection === owner) this.connection.reconnect();
      }, 100).unref();
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.publisher.close().catch(() => undefined);
    await this.connection.close().catch(() => undefined);
  }
}

/** A declaration the broker refused because the queue exists with other arguments, or undefined. */
function refusal(err: unknown): DroverError | undefined {
  const message = err instanceof Error ? err.message : String(err);
  if (!/PRECONDITION_FAILED/.test(message)) return undefined;
  return new DroverError(
    'BACKEND_UNAVAILABLE',
    `RabbitMQ refused to declare Drover's queues: ${message}. A queue of this DROVER_PREFIX exists with other arguments: every Drover process on this broker must run with the same DROVER_RESULT_TTL_SECONDS (the dead-letter queue's message TTL), or use its own DROVER_PREFIX.`,
    { cause: err },
  );
}
