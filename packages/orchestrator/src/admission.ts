import { type Backend, type QueueCounts, backlogOf } from '@drover/shared';
import type { Logger } from '@drover/shared';
import { problemError } from './problem.js';

export interface AdmissionOptions {
  backend: Backend;
  maxBacklog: number;
  logger: Logger;
  /** How old a cached backlog may be before a request triggers a refresh. */
  ttlMs?: number;
  /** Seconds a refused client is told to wait (Retry-After). */
  retryAfterSeconds?: number;
}

interface Cached {
  backlog: number;
  at: number;
  refreshing: boolean;
}

/**
 * Backpressure: refuses submissions to a queue whose backlog (queued + running) has reached
 * DROVER_MAX_BACKLOG. The check must cost nothing on the submit hot path, so it reads a per-queue
 * figure cached for ttlMs and refreshed in the background; between refreshes it counts its own
 * admissions, so a burst cannot overshoot by more than what other replicas admit meanwhile.
 */
export class Admission {
  private readonly cache = new Map<string, Cached>();
  private readonly ttlMs: number;
  private readonly retryAfter: string;

  constructor(private readonly options: AdmissionOptions) {
    this.ttlMs = options.ttlMs ?? 500;
    this.retryAfter = String(options.retryAfterSeconds ?? 2);
  }

  /** Throws DROVER_ERR_BACKPRESSURE (429, Retry-After) when `queue` is full. Synchronous on purpose. */
  check(queue: string, adding = 1): void {
    let c = this.cache.get(queue);
    if (c === undefined) {
      c = { backlog: 0, at: 0, refreshing: false };
      this.cache.set(queue, c);
    }
    if (!c.refreshing && Date.now() - c.at > this.ttlMs) void this.refresh(queue, c);
    if (c.backlog + adding > this.options.maxBacklog) {
      throw problemError(
        'BACKPRESSURE',
        `Queue ${queue} has a backlog of ${c.backlog} tasks, the limit is ${this.options.maxBacklog} (DROVER_MAX_BACKLOG); retry after ${this.retryAfter} s.`,
        undefined,
        { 'retry-after': this.retryAfter },
      );
    }
  }

  /** Counts tasks admitted since the last refresh. */
  admitted(queue: string, n = 1): void {
    const c = this.cache.get(queue);
    if (c) c.backlog += n;
  }

  /** Feeds counts read elsewhere (GET /v1/queues) into the cache. */
  observe(queue: string, counts: QueueCounts): void {
    this.cache.set(queue, { backlog: backlogOf(counts), at: Date.now(), refreshing: false });
  }

  /** Reads every queue's counts now (at start-up, so the first requests see real figures). */
  async warm(queues: readonly string[]): Promise<void> {
    await Promise.all(
      queues.map(async (q) => {
        try {
          this.observe(q, await this.options.backend.counts(q));
        } catch (err) {
          this.options.logger.warn({ err, queue: q }, 'could not read queue counts for backpressure; will retry on demand');
        }
      }),
    );
  }

  private async refresh(queue: string, c: Cached): Promise<void> {
    c.refreshing = true;
    try {
      const counts = await this.options.backend.counts(queue);
      c.backlog = backlogOf(counts);
      c.at = Date.now();
    } catch (err) {
      // Keep the last figure; the submit itself will report the backend as unavailable.
      c.at = Date.now();
      this.options.logger.warn({ err, queue }, 'could not refresh queue backlog');
    } finally {
      c.refreshing = false;
    }
  }
}
