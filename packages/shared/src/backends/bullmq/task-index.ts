import type { ChainableCommander, Redis } from 'ioredis';

/** Fraction steps per millisecond that keep scores of one batch distinct (2^12 fits a double). */
const STEPS_PER_MS = 4096;

/**
 * Creation-time index for list(): BullMQ keeps jobs in per-state sets ordered by different things
 * (insertion, priority, finish time), so paging all tasks by age needs an order of its own. Two
 * sorted sets of task id → creation time (all tasks; per tenant), written with NX so a repeated
 * idempotent submit keeps its original place. Ids whose job is gone (BullMQ's age-based removal)
 * are dropped as list() meets them, and anything older than the retention horizon is trimmed on
 * submit, so the index never outgrows the jobs it points at by much.
 */
export class TaskIndex {
  private seq = 0;

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
    return `${this.keyBase}index:tenant:${tenant}`;
  }

  /** A score for a task created at `ms`: ms plus a per-process step, so a batch keeps its order. */
  score(ms: number): number {
    this.seq = (this.seq + 1) % STEPS_PER_MS;
    return ms + this.seq / STEPS_PER_MS;
  }

  /** Queues the index writes for new tasks on `p` (same round trip as the adds). */
  add(p: ChainableCommander, tasks: Array<{ id: string; tenant: string; score: number }>, now: number): void {
    const byTenant = new Map<string, Array<string | number>>();
    const all: Array<string | number> = [];
    for (const t of tasks) {
      all.push(t.score, t.id);
      const list = byTenant.get(t.tenant);
      if (list) list.push(t.score, t.id);
      else byTenant.set(t.tenant, [t.score, t.id]);
    }
    const oldest = now - this.horizonMs;
    p.zadd(this.allKey(), 'NX', ...all).zremrangebyscore(this.allKey(), '-inf', oldest);
    for (const [tenant, members] of byTenant) {
      p.zadd(this.tenantKey(tenant), 'NX', ...members).zremrangebyscore(this.tenantKey(tenant), '-inf', oldest);
    }
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
