import { Redis, type RedisOptions } from 'ioredis';

/** How long a cancel message is remembered for a job this process has not started yet. */
const REMEMBER_MS = 60_000;
/** Spare controllers kept for reuse (creating an AbortSignal is the costliest step per job). */
const POOL_MAX = 1024;

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
  private readonly running = new Map<string, { controller: AbortController; jobKey: string }>();
  private readonly recent = new Map<string, number>();
  private readonly pool: AbortController[] = [];
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

  /**
   * Registers a job this process is about to run; the returned signal aborts on its cancel. A
   * controller that was never aborted goes back to a pool when its job ends: runAttempt only
   * listens to it (and stops listening when the attempt ends), so reuse is safe and spares an
   * AbortSignal per job.
   */
  track(jobId: string, jobKey: string): AbortSignal {
    const controller = this.pool.pop() ?? new AbortController();
    this.running.set(jobId, { controller, jobKey });
    if (this.recent.size > 0 && this.recent.has(jobId)) controller.abort();
    return controller.signal;
  }

  /** `signal` is what track() returned: a re-delivered copy of the job may have replaced it. */
  untrack(jobId: string, signal: AbortSignal): void {
    const entry = this.running.get(jobId);
    if (!entry || entry.controller.signal !== signal) return;
    this.running.delete(jobId);
    if (!entry.controller.signal.aborted && this.pool.length < POOL_MAX) this.pool.push(entry.controller);
  }

  /** A cancel issued through this very process: no need to wait for the round trip. */
  deliver(jobId: string): void {
    const entry = this.running.get(jobId);
    if (entry) {
      entry.controller.abort();
      return;
    }
    const now = Date.now();
    for (const [id, at] of this.recent) {
      if (now - at < REMEMBER_MS) break;
      this.recent.delete(id);
    }
    this.recent.set(jobId, now);
  }

  private async recheck(): Promise<void> {
    const sub = this.subscriber;
    if (!sub || this.running.size === 0) return;
    try {
      const checker = sub.duplicate({ lazyConnect: false });
      checker.on('error', () => undefined);
      const entries = [...this.running];
      const flags = await checker.pipeline(entries.map(([, e]) => ['hexists', e.jobKey, 'defa'])).exec();
      checker.disconnect();
      entries.forEach(([, e], i) => {
        if (flags?.[i]?.[1] === 1) e.controller.abort();
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
