import type { Redis } from 'ioredis';

/** Fraction steps per millisecond that keep scores of one batch distinct (2^12 fits a double). */
const STEPS_PER_MS = 4096;
/** Trimming old entries is housekeeping: once a second is plenty. */
const TRIM_EVERY_MS = 1000;

/**
 * Creation-time index for list(): BullMQ keeps jobs in per-state sets ordered by different things
 * (insertion, priority, finish time), so paging all tasks by age needs an order of its own. Two
 * sorted sets of task id → creation time (all tasks; per tenant), written with NX so a repeated
 * idempotent submit keeps its original place. Ids whose job is gone (BullMQ's age-based removal)
 * are dropped as list() meets them, and anything older than the retention horizon is trimmed by
 * submits (at most once a second), so the index never outgrows the jobs it points at by much.
 * Plain jobs get their entries from the add script (add-script.ts), in the same call as the job.
 */
export class TaskIndex {
  private seq = 0;
  private lastTrim = 0;

  constructor(
    private readonly redis: Redis,
    private readonly keyBase: string,
    /** How long an entry may stay: the result TTL plus slack for long-queued tasks. */
    private readonly horizonMs: number,
  ) {}

  allKey(): string {
    return `${this.keyBase}index`;
  }

  tenantKey(tenant: string): string {
    return `${this.tenantKeyPrefix()}${tenant}`;
  }

  /** What every tenant's index key starts with (the add script appends the tenant). */
  tenantKeyPrefix(): string {
    return `${this.keyBase}index:tenant:`;
  }

  /** A score for a task created at `ms`: ms plus a per-process step, so a batch keeps its order. */
  score(ms: number): number {
    this.seq = (this.seq + 1) % STEPS_PER_MS;
    return ms + this.seq / STEPS_PER_MS;
  }

  /**
   * Writes the index entries for new tasks (those the add script did not write itself). Plain
   * commands, not a pipeline object: ioredis sends commands issued in one tick together anyway.
   */
  add(tasks: Array<{ id: string; tenant: string; score: number }>): Promise<unknown> {
    const byTenant = new Map<string, Array<string | number>>();
    const all: Array<string | number> = [];
    for (const t of tasks) {
      all.push(t.score, t.id);
      const list = byTenant.get(t.tenant);
      if (list) list.push(t.score, t.id);
      else byTenant.set(t.tenant, [t.score, t.id]);
    }
    const writes: Array<Promise<unknown>> = [this.redis.zadd(this.allKey(), 'NX', ...all)];
    for (const [tenant, members] of byTenant) writes.push(this.redis.zadd(this.tenantKey(tenant), 'NX', ...members));
    return Promise.all(writes);
  }

  /** Drops entries older than the horizon from the index and these tenants' indexes, at most once a second. */
  trim(tenants: Iterable<string>, now: number): Promise<unknown> {
    if (now - this.lastTrim < TRIM_EVERY_MS) return Promise.resolve();
    this.lastTrim = now;
    const oldest = now - this.horizonMs;
    const writes: Array<Promise<unknown>> = [this.redis.zremrangebyscore(this.allKey(), '-inf', oldest)];
    for (const tenant of tenants) writes.push(this.redis.zremrangebyscore(this.tenantKey(tenant), '-inf', oldest));
    return Promise.all(writes);
  }

  /** Up to `count` entries after (score, id), oldest first. */
  async after(key: string, score: number, id: string, count: number): Promise<Array<{ id: string; score: number }>> {
    const out: Array<{ id: string; score: number }> = [];
    // Inclusive of `score`: ties are resolved by id, the order Redis keeps them in.
    const flat = await this.redis.zrangebyscore(key, score < 0 ? '-inf' : score, '+inf', 'WITHSCORES', 'LIMIT', 0, count + 64);
    for (let i = 0; i < flat.length && out.length < count; i += 2) {
      const member = flat[i]!;
      const s = Number(flat[i + 1]);
      if (s === score && member <= id) continue;
      out.push({ id: member, score: s });
    }
    return out;
  }

  async prune(key: string, ids: string[]): Promise<void> {
    if (ids.length > 0) await this.redis.zrem(key, ...ids);
  }
}
