import type { AgentPermitStore } from '@drover/shared';

/** How long a permit no task needs is kept before it goes back to the cluster. */
const LINGER_MS = 200;
/** Waiting tasks ask the cluster again after this long, doubling up to MAX_POLL_MS. */
const FIRST_POLL_MS = 25;
const MAX_POLL_MS = 400;

export interface AgentCapOptions {
  store: AgentPermitStore;
  /** This process's id in the store (the worker id). */
  holder: string;
  /** DROVER_MAX_AGENTS. */
  limit: number;
  /** Lease of the permits; a crashed process's come back after it (DROVER_TASK_LEASE_MS). */
  leaseMs: number;
  onError?: (err: unknown) => void;
}

/**
 * This process's share of the cluster-wide agent cap. A task takes a permit before its handler
 * runs and gives it back when it ends. Permits pass from a finishing task straight to a waiting
 * one, and a freed permit lingers a moment before it goes back, so a busy worker asks Redis only
 * when it needs more permits than it holds: the store sees batches, not one call per task.
 * Tasks that wait ask again with a growing pause (25 ms up to 400 ms). Every permit held here is
 * counted cluster-wide, so running tasks never exceed the limit; held-but-idle permits are at
 * most LINGER_MS old.
 */
export class AgentCap {
  private held = 0;
  private inUse = 0;
  private readonly waiters: Array<{ grant: () => void; fail: (err: unknown) => void }> = [];
  private pumping = false;
  private lingerTimer: NodeJS.Timeout | undefined;
  private readonly renewTimer: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: AgentCapOptions) {
    this.renewTimer = setInterval(() => void this.renew(), Math.max(50, Math.floor(options.leaseMs / 3)));
    this.renewTimer.unref();
  }

  /** Takes a permit this process already holds, without waiting (the hot path). */
  tryTake(): boolean {
    if (this.inUse >= this.held) return false;
    this.inUse++;
    return true;
  }

  /** A permit now, from this process's or the cluster's, without waiting; false when the cap is reached. */
  async tryAcquire(): Promise<boolean> {
    if (this.tryTake()) return true;
    let granted = 0;
    try {
      granted = await this.options.store.acquire(this.options.holder, 1, this.options.limit, this.options.leaseMs);
    } catch (err) {
      this.options.onError?.(err);
    }
    if (granted === 0) return false;
    this.held += granted;
    this.inUse++;
    return true;
  }

  /** Nothing held or waited for: the cap can be dropped (its renew timer stops). */
  get idle(): boolean {
    return this.held === 0 && this.inUse === 0 && this.waiters.length === 0;
  }

  async acquire(signal: AbortSignal): Promise<void> {
    if (this.tryTake()) return;
    await new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const waiter = {
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
        fail: (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      void this.pump();
    });
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) {
      next.grant(); // the permit changes hands here: no round trip
      return;
    }
    this.inUse--;
    this.lingerTimer ??= setTimeout(() => {
      this.lingerTimer = undefined;
      void this.giveBack();
    }, LINGER_MS);
    this.lingerTimer.unref();
  }

  /** Permits this process holds (in use or lingering). */
  get holding(): number {
    return this.held;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.renewTimer);
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    for (const w of this.waiters.splice(0)) w.fail(new Error('worker closing'));
    const all = this.held;
    this.held = 0;
    this.inUse = 0;
    if (all > 0) await this.options.store.release(this.options.holder, all).catch(this.options.onError);
  }

  /** Asks the cluster for as many permits as tasks wait here, until none waits. One pump at a time. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    let pause = FIRST_POLL_MS;
    try {
      while (this.waiters.length > 0 && !this.closed) {
        let granted = 0;
        try {
          granted = await this.options.store.acquire(this.options.holder, this.waiters.length, this.options.limit, this.options.leaseMs);
        } catch (err) {
          this.options.onError?.(err);
        }
        this.held += granted;
        for (let i = 0; i < granted; i++) {
          const w = this.waiters.shift();
          if (!w) {
            // A waiter left (aborted) while we asked: keep the permit as a lingering one.
            this.release0();
            continue;
          }
          this.inUse++;
          w.grant();
        }
        if (this.waiters.length === 0) break;
        await new Promise((r) => setTimeout(r, pause * (0.5 + Math.random())));
        pause = Math.min(MAX_POLL_MS, pause * 2);
      }
    } finally {
      this.pumping = false;
    }
  }

  /** A permit granted for a waiter that has gone: idle from now on. */
  private release0(): void {
    this.inUse++;
    this.release();
  }

  private async giveBack(): Promise<void> {
    const idle = this.held - this.inUse;
    if (idle <= 0 || this.closed) return;
    this.held -= idle;
    await this.options.store.release(this.options.holder, idle).catch(this.options.onError);
  }

  private async renew(): Promise<void> {
    if (this.held > 0) await this.options.store.renew(this.options.holder, this.held, this.options.leaseMs).catch(this.options.onError);
  }
}
