import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { abortableSleep } from './abortable-sleep.js';
import { LuaScript } from './lua-script.js';
import { SEMAPHORE_ACQUIRE_LUA, SEMAPHORE_RENEW_LUA } from './rate-limit-scripts.js';
import { ScrapeError, ScrapeErrorCodes } from './scrape-error.js';

export interface Lease {
  release(): Promise<void>;
}

export interface Semaphore {
  acquire(options: { deadline: number; signal?: AbortSignal | undefined }): Promise<Lease>;
}

const POLL_MS = 25;

function slotTimeout(size: number): ScrapeError {
  return new ScrapeError(
    ScrapeErrorCodes.ZENROWS_SLOT_TIMEOUT,
    `All ${size} ZenRows slots stayed busy until the task's deadline (DROVER_ZENROWS_CONCURRENCY=${size}); retry later or raise the plan's concurrency.`,
    { retryable: true },
  );
}

/**
 * A cluster-wide counting semaphore (the ZenRows plan's concurrency). Holders are leases in a
 * sorted set scored by expiry and renewed while held, so the slot of a worker that crashed comes
 * back after one lease period instead of leaking forever.
 */
export class RedisSemaphore implements Semaphore {
  private readonly acquireScript = new LuaScript(SEMAPHORE_ACQUIRE_LUA);
  private readonly renewScript = new LuaScript(SEMAPHORE_RENEW_LUA);

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly size: number,
    private readonly leaseMs: number,
  ) {}

  async acquire(options: { deadline: number; signal?: AbortSignal | undefined }): Promise<Lease> {
    const token = randomUUID();
    for (;;) {
      const got = await this.acquireScript.run(this.redis, [this.key], [this.size, token, this.leaseMs]);
      if (Number(got) === 1) break;
      if (Date.now() + POLL_MS > options.deadline) throw slotTimeout(this.size);
      await abortableSleep(POLL_MS + Math.floor(Math.random() * POLL_MS), options.signal);
    }
    const timer = setInterval(() => {
      this.renewScript.run(this.redis, [this.key], [token, this.leaseMs]).catch(() => undefined);
    }, Math.max(100, Math.floor(this.leaseMs / 3)));
    timer.unref();
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(timer);
        await this.redis.zrem(this.key, token).catch(() => undefined);
      },
    };
  }
}

/** The same semaphore for one process. */
export class MemorySemaphore implements Semaphore {
  private held = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(private readonly size: number) {}

  async acquire(options: { deadline: number; signal?: AbortSignal | undefined }): Promise<Lease> {
    while (this.held >= this.size) {
      const remaining = options.deadline - Date.now();
      if (remaining <= 0) throw slotTimeout(this.size);
      await new Promise<void>((resolve, reject) => {
        const wake = () => {
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          clearTimeout(timer);
          const i = this.waiters.indexOf(wake);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(options.signal?.reason);
        };
        const timer = setTimeout(() => {
          const i = this.waiters.indexOf(wake);
          if (i >= 0) this.waiters.splice(i, 1);
          resolve();
        }, remaining);
        this.waiters.push(wake);
        options.signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
    this.held += 1;
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        this.held -= 1;
        this.waiters.shift()?.();
      },
    };
  }
}
