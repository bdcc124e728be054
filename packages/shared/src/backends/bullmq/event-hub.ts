import { type ConnectionOptions, QueueEvents } from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';
import type { TaskEvent, TaskLogLine, TaskRef } from '../../backend.js';
import { CANCELED_CODE, decodeTaskError } from './job-record.js';

type Listener = (event: TaskEvent) => void;

/** The event name of a task's log line in BullMQ's events stream (BullMQ's own names never clash). */
const LOG_EVENT = 'drover:log';
/** BullMQ's default `streams.events.maxLen`. */
const EVENTS_MAX_LEN = 10_000;

/**
 * Fans BullMQ's per-queue event streams out to onEvent() listeners: one QueueEvents (one
 * blocking connection) per queue, shared by every listener, started by the first listener and
 * stopped when the last one leaves.
 */
export class EventHub {
  private readonly listeners = new Set<Listener>();
  private readonly readers = new Map<string, Promise<QueueEvents>>();
  private closed = false;

  constructor(
    private readonly producer: Redis,
    private readonly connection: RedisOptions,
    private readonly prefix: string,
    private readonly onError: (err: unknown) => void,
  ) {}

  get active(): boolean {
    return this.listeners.size > 0;
  }

  async subscribe(listener: Listener, queues: Iterable<string>): Promise<() => void> {
    this.listeners.add(listener);
    await Promise.all([...queues].map((q) => this.watch(q)));
    return () => {
      this.listeners.delete(listener);
      // Nobody listens: stop reading the streams (parsing every event costs CPU on a busy queue).
      if (this.listeners.size === 0) void this.stopReaders();
    };
  }

  /** Starts reading `queue`'s stream; resolves once nothing emitted from now on can be missed. */
  watch(queue: string): Promise<unknown> {
    let reader = this.readers.get(queue);
    if (!reader) {
      reader = this.start(queue);
      this.readers.set(queue, reader);
      reader.catch(() => this.readers.delete(queue));
    }
    return reader;
  }

  private async start(queue: string): Promise<QueueEvents> {
    // Start from the stream's current tail rather than '$': '$' means "whatever is last when the
    // first XREAD arrives", which would drop events emitted while the reader connects.
    const last = await this.producer.xrevrange(`${this.prefix}:${queue}:events`, '+', '-', 'COUNT', 1);
    const lastEventId = last[0]?.[0] ?? '0-0';
    const qe = new QueueEvents(queue, { connection: { ...this.connection, maxRetriesPerRequest: null } as ConnectionOptions, prefix: this.prefix, lastEventId });
    qe.on('error', this.onError);
    const emit = (e: TaskEvent) => {
      for (const l of this.listeners) l(e);
    };
    const state = (status: TaskEvent['status']) => (args: { jobId: string }) => {
      if (this.listeners.size > 0) emit({ kind: 'state', id: args.jobId, queue, status, at: Date.now() });
    };
    qe.on('waiting', state('queued'));
    qe.on('delayed', state('delayed'));
    qe.on('active', state('running'));
    qe.on('completed', state('succeeded'));
    qe.on('failed', (args: { jobId: string; failedReason: string }) => {
      const canceled = decodeTaskError(args.failedReason)?.code === CANCELED_CODE;
      state(canceled ? 'canceled' : 'failed')(args);
    });
    qe.on('progress', (args: { jobId: string; data: unknown }) => {
      if (this.listeners.size > 0) emit({ kind: 'progress', id: args.jobId, queue, progress: args.data, at: Date.now() });
    });
    // QueueEvents emits every event name it reads from the stream; its typings list only BullMQ's.
    (qe as unknown as NodeJS.EventEmitter).on(LOG_EVENT, (args: { jobId: string; level: TaskLogLine['level']; msg: string }) => {
      if (this.listeners.size > 0) emit({ kind: 'log', id: args.jobId, queue, log: { level: args.level, msg: args.msg }, at: Date.now() });
    });
    await qe.waitUntilReady();
    if (this.closed) await qe.close();
    return qe;
  }

  /**
   * Appends a task's log line to its queue's event stream, where every QueueEvents reader sees
   * it in order with the queue's own events; trimmed like BullMQ trims that stream.
   */
  async publishLog(task: TaskRef, line: TaskLogLine): Promise<void> {
    const stream = `${this.prefix}:${task.queue}:events`;
    await this.producer.xadd(stream, 'MAXLEN', '~', EVENTS_MAX_LEN, '*', 'event', LOG_EVENT, 'jobId', task.id, 'level', line.level, 'msg', line.msg);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    await this.stopReaders();
  }

  private async stopReaders(): Promise<void> {
    const readers = [...this.readers.values()];
    this.readers.clear();
    await Promise.all(readers.map((r) => r.then((qe) => qe.close()).catch(() => undefined)));
  }
}
