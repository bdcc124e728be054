import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type {
  Backend,
  ConsumeOptions,
  Consumer,
  ListPage,
  ListQuery,
  QueueCounts,
  TaskEvent,
  TaskLogLine,
  TaskRef,
  TaskTypeInfo,
  WorkerInfo,
} from '../../backend.js';
import { RedisAgentPermits } from '../../agent-permits.js';
import { RedisScheduleStore } from '../../schedule-store.js';
import { RedisLeaderLease } from '../../leader-lease.js';
import { RedisRateWindows } from '../../rate-window.js';
import { DroverError } from '../../errors.js';
import { createRedis } from '../../redis-url.js';
import { submissionFingerprint } from '../../fingerprint.js';
import type { SubmitRequest, SubmitResult, TaskRecord } from '../../task.js';
import { newTaskId } from '../../task-id.js';
import { workerLossesTolerated } from '../../task-rules.js';
import { idempotencyConflict } from '../memory-backend.js';
import { Broker } from './broker.js';
import { EventBus } from './event-bus.js';
import { OutboxRelay } from './outbox-relay.js';
import { RabbitmqConsumer } from './rabbitmq-consumer.js';
import { TaskKeys } from './task-keys.js';
import { type NewTask, type SubmitOutcome, TaskStore } from './task-store.js';
import { TenantLanes } from './tenant-lanes.js';
import { Topology } from './topology.js';

export interface RabbitmqBackendOptions {
  amqpUrl: string;
  redisUrl: string;
  /** Namespaces Redis keys and broker queue/exchange names, so stores can share servers. */
  prefix: string;
  /** Queues declared up front (others are declared on first use). */
  queues: readonly string[];
  resultTtlSeconds: number;
  /** Lease of a running attempt; a worker silent this long is presumed lost. Default 30 s. */
  leaseMs?: number;
  /** Largest number of tasks written and published per round trip in submitMany. */
  submitChunk?: number;
  /** Crashes of its worker (lease expired mid-run) that quarantine a task as a poison task (DROVER_ERR_TASK_QUARANTINED). Default 3, as on bullmq. */
  poisonCrashes?: number;
}

/**
 * Tasks travel through RabbitMQ (durable priority queues, one lane per tenant, publisher confirms,
 * manual acks, prefetch = concurrency per channel); records, idempotency keys, the delay schedule, progress and events
 * live in Redis. See docs/rabbitmq.md for the design and the crash-safety argument.
 */
export class RabbitmqBackend implements Backend {
  readonly kind = 'rabbitmq' as const;
  private readonly redis: Redis;
  readonly agentPermits: RedisAgentPermits;
  private readonly pools = new Map<string, RedisAgentPermits>();

  permits(pool: string): RedisAgentPermits {
    let p = this.pools.get(pool);
    if (!p) {
      p = new RedisAgentPermits(this.redis, `${this.store.keys.base}pool:${pool}:`);
      this.pools.set(pool, p);
    }
    return p;
  }

  readonly schedules: RedisScheduleStore;
  readonly leaderLease: RedisLeaderLease;
  readonly rateWindows: RedisRateWindows;
  private readonly store: TaskStore;
  private readonly broker: Broker;
  private readonly bus: EventBus;
  private readonly relay: OutboxRelay;
  private readonly lanes: TenantLanes;
  private readonly topology: Topology;
  private readonly queues: Set<string>;
  private readonly consumers = new Set<RabbitmqConsumer>();
  private readonly instanceId = randomBytes(6).toString('hex');
  private readonly leaseMs: number;
  private readonly submitChunk: number;
  private closed = false;
  private everReady = false;

  constructor(options: RabbitmqBackendOptions) {
    this.leaseMs = options.leaseMs ?? 30_000;
    this.submitChunk = options.submitChunk ?? 250;
    this.queues = new Set(options.queues);
    const keys = new TaskKeys(options.prefix);
    this.redis = createRedis(options.redisUrl, { lazyConnect: false });
    this.agentPermits = new RedisAgentPermits(this.redis, `${options.prefix}:rmq:`);
    this.schedules = new RedisScheduleStore(this.redis, `${options.prefix}:rmq:`);
    this.leaderLease = new RedisLeaderLease(this.redis, `${options.prefix}:rmq:`);
    this.rateWindows = new RedisRateWindows(this.redis, `${options.prefix}:rmq:`);
    this.redis.on('error', () => undefined); // ioredis reconnects; commands fail or wait meanwhile
    this.redis.on('ready', () => {
      this.everReady = true;
    });
    this.store = new TaskStore(this.redis, keys, options.resultTtlSeconds, workerLossesTolerated(options.poisonCrashes));
    this.bus = new EventBus(() => this.redis.duplicate(), keys);
    this.topology = new Topology(options.prefix, options.resultTtlSeconds);
    this.broker = new Broker({ url: options.amqpUrl, topology: this.topology, queues: options.queues });
    this.lanes = new TenantLanes(this.broker, this.store);
    this.relay = new OutboxRelay(this.store, this.broker, this.lanes, () => this.queues);
    this.relay.start();
  }

  async submit(req: SubmitRequest): Promise<SubmitResult> {
    const [result] = await this.submitMany([req]);
    return result!;
  }

  /**
   * Redis first (record + outbox entry, one pipelined round trip per chunk), then the broker
   * (confirmed publishes), then the outbox entries are cleared. A task is only reported once
   * the broker confirmed it; a crash before that leaves an outbox entry the relay publishes.
   */
  async submitMany(reqs: SubmitRequest[]): Promise<SubmitResult[]> {
    this.assertOpen();
    // Chunks stream: chunk n+1 is written to Redis while chunk n's publishes await their
    // confirms, so the broker's confirm latency (a disk sync) is paid once, not once per chunk.
    // Each task still has its record before its message exists.
    const published: Array<Promise<SubmitResult[]>> = [];
    let failed = false;
    for (let i = 0; i < reqs.length && !failed; i += this.submitChunk) {
      const written = await this.write(reqs.slice(i, i + this.submitChunk));
      const p = this.publish(written);
      p.catch(() => {
        failed = true; // stop writing more; the caller gets the error from Promise.all
      });
      published.push(p);
    }
    return (await Promise.all(published)).flat();
  }

  private async write(reqs: SubmitRequest[]): Promise<Written> {
    for (const r of reqs) this.queues.add(r.queue); // the relay moves delayed tasks of every queue seen
    const now = Date.now();
    const createdAt = new Date(now).toISOString();
    const tasks: NewTask[] = reqs.map((req) => ({
      id: newTaskId(req.queue),
      // Only a keyed submission is ever compared with another one.
      fingerprint: req.idempotencyKey ? submissionFingerprint(req) : '',
      delayMs: req.delayMs,
      fields: {
        type: req.type,
        queue: req.queue,
        tenant: req.tenant,
        input: req.input,
        priority: req.priority,
        maxAttempts: req.maxAttempts,
        timeoutMs: req.timeoutMs,
        backoffMs: req.backoffMs,
        parentId: req.parentId ?? null,
        idempotencyKey: req.idempotencyKey ?? null,
        createdAt,
        ...(req.traceparent ? { traceparent: req.traceparent } : {}),
      },
    }));
    return { tasks, outcomes: await this.unavailableOnError(() => this.store.submit(tasks, now)) };
  }

  private async publish({ tasks, outcomes }: Written): Promise<SubmitResult[]> {
    const fresh = new Map<string, NewTask[]>();
    for (const [i, o] of outcomes.entries()) {
      const t = tasks[i]!;
      if (!o.created || t.delayMs > 0) continue;
      const list = fresh.get(t.fields.queue) ?? [];
      list.push(t);
      fresh.set(t.fields.queue, list);
    }
    for (const [queue, list] of fresh) {
      this.queues.add(queue);
      const messages = list.map((t) => ({ id: t.id, gen: 1, priority: t.fields.priority, tenant: t.fields.tenant }));
      try {
        await this.lanes.ensure(queue, messages);
        await this.broker.publish(queue, messages);
      } catch (err) {
        // Not confirmed: undo, so the caller's retry (same idempotency key) starts afresh. If the
        // undo fails too, the outbox entry gets published by the relay: the task still runs once.
        await this.store.abandon(list).catch(() => undefined);
        if (err instanceof DroverError) throw err; // e.g. the broker refused our queues: say why
        throw new DroverError('BACKEND_UNAVAILABLE', 'RabbitMQ did not confirm the task; nothing was enqueued. Retry the request.', { cause: err, retryable: true });
      }
      void this.store.published(queue, messages).catch(() => undefined); // the relay clears leftovers
    }
    return Promise.all(
      outcomes.map(async (o, i): Promise<SubmitResult> => {
        const t = tasks[i]!;
        if (o.created) return { task: newRecord(t), created: true };
        if (o.fingerprint !== t.fingerprint) throw idempotencyConflict(t.fields.idempotencyKey ?? '');
        const existing = await this.store.get(o.id);
        if (!existing) throw new DroverError('INTERNAL', 'The task of this idempotency key just expired; retry the request.', { retryable: true });
        return { task: existing, created: false };
      }),
    );
  }

  async get(id: string): Promise<TaskRecord | null> {
    return this.unavailableOnError(() => this.store.get(id));
  }

  async getMany(ids: readonly string[]): Promise<Array<TaskRecord | null>> {
    // Issued together, the reads go out back to back on the one connection.
    return this.unavailableOnError(() => Promise.all(ids.map((id) => this.store.get(id))));
  }

  async list(query: ListQuery): Promise<ListPage> {
    return this.store.list(query);
  }

  async discard(id: string): Promise<boolean> {
    const queue = await this.store.queueOf(id);
    if (!queue) return false;
    return this.unavailableOnError(() => this.store.discard(id, queue));
  }

  async cancel(id: string): Promise<TaskRecord | null> {
    const queue = await this.store.queueOf(id);
    if (!queue) return null;
    const status = await this.store.cancel(id, queue, Date.now());
    if (!status) return null;
    const record = await this.store.get(id);
    if (status === 'canceled' && record?.parentId) await this.store.childEnded(record.parentId, id);
    return record;
  }

  async consume(queue: string, options: ConsumeOptions): Promise<Consumer> {
    this.assertOpen();
    this.queues.add(queue);
    await this.broker.ensureQueue(queue);
    const consumer = new RabbitmqConsumer({
      broker: this.broker,
      store: this.store,
      bus: this.bus,
      topology: this.topology,
      queue,
      options,
      instanceId: this.instanceId,
      leaseMs: this.leaseMs,
      onClosed: (c) => this.consumers.delete(c),
    });
    this.consumers.add(consumer);
    await consumer.start();
    return consumer;
  }

  /**
   * `queued` is the broker's ready count; every other state comes from Redis. The broker does not
   * tell its messages' ages, so the oldest queued task's age is unknown (null) on this transport.
   */
  async counts(queue: string): Promise<QueueCounts> {
    const [queued, rest] = await Promise.all([this.store.lanes(queue).then((lanes) => this.broker.readyCount(queue, lanes)), this.store.stateCounts(queue)]);
    return { queued, ...rest, oldestQueuedAt: null };
  }

  async pause(queue: string): Promise<void> {
    await this.store.setPaused(queue, true);
  }

  async resume(queue: string): Promise<void> {
    await this.store.setPaused(queue, false);
  }

  async isPaused(queue: string): Promise<boolean> {
    return this.store.isPaused(queue);
  }

  async onEvent(listener: (event: TaskEvent) => void): Promise<() => void> {
    return this.bus.onEvent(listener);
  }

  async publishLog(task: TaskRef, line: TaskLogLine): Promise<void> {
    await this.unavailableOnError(() => this.bus.publishLog(this.redis, task, line));
  }

  async heartbeat(worker: WorkerInfo, ttlMs: number): Promise<void> {
    await this.store.heartbeat(worker, ttlMs);
  }

  async removeWorker(id: string): Promise<void> {
    await this.store.removeWorker(id);
  }

  async workers(): Promise<WorkerInfo[]> {
    return this.store.workers();
  }

  async registerTaskTypes(types: TaskTypeInfo[]): Promise<void> {
    await this.store.registerTaskTypes(types);
  }

  async taskTypes(): Promise<TaskTypeInfo[]> {
    return this.store.taskTypes();
  }

  async ping(): Promise<void> {
    await this.broker.ping();
    await this.unavailableOnError(() => this.redis.ping());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers].map((c) => c.close(0)));
    const relayStopped = this.relay.stop();
    await this.broker.close();
    await relayStopped;
    await this.bus.close();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private assertOpen(): void {
    if (this.closed) throw new DroverError('BACKEND_UNAVAILABLE', 'The rabbitmq backend is closed.');
  }

  /**
   * Fails fast while Redis is down (ioredis would queue the command until it reconnects, and a
   * submission would hang): once connected, a connection that is not ready refuses at once; only
   * the very first connection is waited for, briefly.
   */
  private async redisUp(): Promise<void> {
    if (this.redis.status === 'ready') return;
    if (!this.everReady && (this.redis.status === 'connecting' || this.redis.status === 'connect' || this.redis.status === 'wait')) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.redis.off('ready', done);
          resolve();
        };
        const timer = setTimeout(done, 2000);
        this.redis.once('ready', done);
      });
      if ((this.redis.status as string) === 'ready') return;
    }
    throw new DroverError('BACKEND_UNAVAILABLE', `Redis (the task store, DROVER_REDIS_URL) is not connected (${this.redis.status}); retry shortly.`, { retryable: true });
  }

  private async unavailableOnError<T>(fn: () => Promise<T>): Promise<T> {
    if (this.redis.status !== 'ready') await this.redisUp();
    try {
      return await fn();
    } catch (err) {
      if (err instanceof DroverError) throw err;
      throw new DroverError('BACKEND_UNAVAILABLE', 'Redis (the task store, DROVER_REDIS_URL) did not answer; retry the request.', { cause: err, retryable: true });
    }
  }
}

interface Written {
  tasks: NewTask[];
  outcomes: SubmitOutcome[];
}

function newRecord(t: NewTask): TaskRecord {
  const f = t.fields;
  return {
    id: t.id,
    type: f.type,
    queue: f.queue,
    tenant: f.tenant,
    status: t.delayMs > 0 ? 'delayed' : 'queued',
    input: f.input,
    output: null,
    error: null,
    progress: null,
    priority: f.priority,
    attempt: 0,
    maxAttempts: f.maxAttempts,
    timeoutMs: f.timeoutMs,
    parentId: f.parentId,
    children: [],
    idempotencyKey: f.idempotencyKey,
    createdAt: f.createdAt,
    startedAt: null,
    finishedAt: null,
    ...(f.traceparent ? { traceparent: f.traceparent } : {}),
  };
}
