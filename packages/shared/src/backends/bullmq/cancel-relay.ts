import { Redis, type RedisOptions } from 'ioredis';
import type { Attempt } from '../../attempt.js';
import type { SlotTable } from '../../slot-table.js';

/** How long a cancel message is remembered for a job this process has not started yet. */
const REMEMBER_MS = 60_000;

/** One consumer's running attempts, and the key prefix of its queue's jobs. */
export interface RunningAttempts {
  attempts: SlotTable<Attempt>;
  keyPrefix: string;
}

/**
 * Delivers cancel requests for running jobs to whichever process runs them: the cancel script
 * publishes the job id on one channel under the prefix, and every process that consumes listens.
 *
 * Two races are closed here. A message can arrive before the job it names reaches our processor
 * (the job travels on the worker's connection, the message on this one), so recent ids are kept
 * for a while and checked when a job starts. And a message sent while this subscriber was
 * reconnecting is lost, so after every reconnect the running jobs' `defa` flags are re-read.
 */
export class CancelRelay {
  /** Looked through only when a cancel arrives: a per-job index would cost every task. */
  private readonly consumers = new Set<RunningAttempts>();
  private readonly recent = new Map<string, number>();
  private subscriber: Redis | undefined;
  private ready: Promise<void> | undefined;

  constructor(
    private readonly connection: RedisOptions,
    readonly channel: string,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Subscribes once, on the first consumer. */
  start(): Promise<void> {
    if (this.ready) return this.ready;
    const sub = new Redis({ ...this.connection, maxRetriesPerRequest: null, lazyConnect: true });
    this.subscriber = sub;
    sub.on('error', this.onError);
    sub.on('message', (_channel: string, jobId: string) => this.deliver(jobId));
    let connectedOnce = false;
    sub.on('ready', () => {
      if (connectedOnce) void this.recheck();
      connectedOnce = true;
    });
    this.ready = sub.connect().then(async () => {
      await sub.subscribe(this.channel);
    });
    return this.ready;
  }

  /** True when a cancel for this job arrived before the job reached this process. */
  canceledEarly(jobId: string): boolean {
    return this.recent.size > 0 && this.recent.has(jobId);
  }

  /** A consumer's running attempts, so cancel messages for their jobs reach them. */
  register(running: RunningAttempts): void {
    this.consumers.add(running);
  }

  unregister(running: RunningAttempts): void {
    this.consumers.delete(running);
  }

  /** A cancel issued through this very process: no need to wait for the round trip. */
  deliver(jobId: string): void {
    let found = false;
    for (const { attempts } of this.consumers) {
      for (const attempt of attempts.values()) {
        if (attempt.taskId !== jobId) continue;
        attempt.cancel();
        found = true;
      }
    }
    if (found) return;
    const now = Date.now();
    for (const [id, at] of this.recent) {
      if (now - at < REMEMBER_MS) break;
      this.recent.delete(id);
    }
    this.recent.set(jobId, now);
  }

  private async recheck(): Promise<void> {
    const sub = this.subscriber;
    const entries = [...this.consumers].flatMap(({ attempts, keyPrefix }) => attempts.values().map((attempt) => ({ attempt, jobKey: keyPrefix + attempt.taskId })));
    if (!sub || entries.length === 0) return;
    try {
      const checker = sub.duplicate({ lazyConnect: false });
      checker.on('error', () => undefined);
      const flags = await checker.pipeline(entries.map((e) => ['hexists', e.jobKey, 'defa'])).exec();
      checker.disconnect();
      entries.forEach((e, i) => {
        if (flags?.[i]?.[1] === 1) e.attempt.cancel();
      });
    } catch (err) {
      this.onError(err);
    }
  }

  async close(): Promise<void> {
    const sub = this.subscriber;
    this.subscriber = undefined;
    this.ready = undefined;
    if (!sub) return;
    try {
      await sub.quit();
    } catch {
      sub.disconnect();
    }
  }
}
