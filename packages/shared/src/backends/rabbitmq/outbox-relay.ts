import type { Broker } from './broker.js';
import { OUTBOX_GRACE_MS, type TaskStore } from './task-store.js';
import type { TenantLanes } from './tenant-lanes.js';

export interface OutboxRelayOptions {
  /** Entries taken per queue per round. */
  batch?: number;
  /** Longest sleep between rounds when nothing is due sooner. */
  maxSleepMs?: number;
}

/**
 * Moves tasks from Redis to the broker: delayed tasks and retry backoffs that came due, tasks
 * whose worker lost its lease, and submits whose publish was never confirmed (a crash between
 * the Redis write and the broker's confirm). Every backend instance runs one; the claim script
 * leases each entry, so concurrent relays never publish the same entry at the same time, and a
 * relay that dies mid-round leaves its entries to be claimed again when the lease runs out.
 */
export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private stopped = false;
  private readonly batch: number;
  private readonly maxSleepMs: number;

  constructor(
    private readonly store: TaskStore,
    private readonly broker: Broker,
    private readonly lanes: TenantLanes,
    private readonly queues: () => Iterable<string>,
    options: OutboxRelayOptions = {},
  ) {
    this.batch = options.batch ?? 500;
    this.maxSleepMs = options.maxSleepMs ?? 200;
  }

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.round;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.round = this.runRound().then((sleep) => this.schedule(sleep));
    }, ms);
  }

  /** One pass over every queue; returns how long to sleep before the next. */
  private async runRound(): Promise<number> {
    let nextDue = Number.POSITIVE_INFINITY;
    let full = false;
    for (const queue of this.queues()) {
      if (this.stopped) return 0;
      try {
        const { nextDue: due, claims } = await this.store.relayClaim(queue, Date.now(), OUTBOX_GRACE_MS, this.batch);
        if (claims.length > 0) {
          await this.lanes.ensure(queue, claims);
          await this.broker.publish(queue, claims);
          await this.store.published(queue, claims);
        }
        if (claims.length === this.batch) full = true;
        if (due >= 0) nextDue = Math.min(nextDue, due);
      } catch {
        // Redis or the broker is down: the entries stay leased in Redis and come due again.
      }
    }
    if (full) return 0;
    return Math.max(5, Math.min(this.maxSleepMs, nextDue - Date.now()));
  }
}
