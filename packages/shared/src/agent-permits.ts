import type { Redis } from 'ioredis';

/**
 * The cluster-wide count of agents against DROVER_MAX_AGENTS. Worker processes hold permits, one
 * per task they run, each holder under a lease it renews: a crashed worker's permits come back
 * once its lease runs out. A grant never takes the total past the limit, so tasks running across
 * every queue and every process never exceed it.
 */
export interface AgentPermitStore {
  /** Grants `holder` up to `want` permits (fewer, or 0, when the cap is reached) and renews its lease. */
  acquire(holder: string, want: number, limit: number, leaseMs: number): Promise<number>;
  /** Gives back `count` of the holder's permits. */
  release(holder: string, count: number): Promise<void>;
  /** Keeps the holder's `held` permits alive; if its lease had already lapsed, they are re-registered. */
  renew(holder: string, held: number, leaseMs: number): Promise<void>;
  /** Permits held across the cluster (holders whose lease lapsed not counted). */
  used(): Promise<number>;
}

/** For the memory backend: one process, so the store is a map. */
export class LocalAgentPermits implements AgentPermitStore {
  private readonly holders = new Map<string, { count: number; until: number }>();

  async acquire(holder: string, want: number, limit: number, leaseMs: number): Promise<number> {
    const now = Date.now();
    const total = this.sweep(now);
    const grant = Math.max(0, Math.min(want, limit - total));
    const h = this.holders.get(holder) ?? { count: 0, until: 0 };
    h.count += grant;
    h.until = now + leaseMs;
    if (h.count > 0) this.holders.set(holder, h);
    return grant;
  }

  async release(holder: string, count: number): Promise<void> {
    const h = this.holders.get(holder);
    if (!h) return;
    h.count -= count;
    if (h.count <= 0) this.holders.delete(holder);
  }

  async renew(holder: string, held: number, leaseMs: number): Promise<void> {
    if (held <= 0) return;
    const h = this.holders.get(holder);
    if (h) h.until = Date.now() + leaseMs;
    else this.holders.set(holder, { count: held, until: Date.now() + leaseMs });
  }

  async used(): Promise<number> {
    return this.sweep(Date.now());
  }

  private sweep(now: number): number {
    let total = 0;
    for (const [id, h] of this.holders) {
      if (h.until <= now) this.holders.delete(id);
      else total += h.count;
    }
    return total;
  }
}

// KEYS[1] hash holder -> permits  KEYS[2] zset holder -> lease expiry (ms)
// Holders whose lease lapsed are swept first, so their permits count no more.
const SWEEP = `
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
if #lapsed > 0 then
  redis.call('HDEL', KEYS[1], unpack(lapsed))
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
end
local total = 0
for _, v in ipairs(redis.call('HVALS', KEYS[1])) do total = total + tonumber(v) end
`;

// ARGV[1] now  ARGV[2] holder  ARGV[3] want  ARGV[4] limit  ARGV[5] lease expiry. Returns the grant.
const ACQUIRE = `${SWEEP}
local grant = math.min(tonumber(ARGV[3]), tonumber(ARGV[4]) - total)
if grant < 0 then grant = 0 end
local held = tonumber(redis.call('HGET', KEYS[1], ARGV[2]) or '0')
if grant > 0 then held = redis.call('HINCRBY', KEYS[1], ARGV[2], grant) end
if held > 0 then redis.call('ZADD', KEYS[2], ARGV[5], ARGV[2]) end
return grant
`;

// ARGV[1] now  Returns the permits held across the cluster.
const USED = `${SWEEP}
return total
`;

// ARGV[1] holder  ARGV[2] count
const RELEASE = `
local left = redis.call('HINCRBY', KEYS[1], ARGV[1], -tonumber(ARGV[2]))
if left <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return left
`;

// ARGV[1] holder  ARGV[2] held  ARGV[3] lease expiry. The count is only written when the lease
// had lapsed (swept): otherwise the store's count is the truth (a grant may be on its way back).
const RENEW = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
`;

type Scripts = Record<'drvAgentAcquire' | 'drvAgentUsed' | 'drvAgentRelease' | 'drvAgentRenew', (...args: Array<string | number>) => Promise<number>>;

/** For bullmq and rabbitmq: two keys in the backend's Redis, changed only by atomic scripts. */
export class RedisAgentPermits implements AgentPermitStore {
  private readonly redis: Redis & Scripts;
  private readonly counts: string;
  private readonly leases: string;

  constructor(redis: Redis, keyBase: string) {
    for (const [name, lua] of [
      ['drvAgentAcquire', ACQUIRE],
      ['drvAgentUsed', USED],
      ['drvAgentRelease', RELEASE],
      ['drvAgentRenew', RENEW],
    ] as const) {
      if (!(name in redis)) redis.defineCommand(name, { numberOfKeys: 2, lua });
    }
    this.redis = redis as Redis & Scripts;
    this.counts = `${keyBase}agents`;
    this.leases = `${keyBase}agents:leases`;
  }

  acquire(holder: string, want: number, limit: number, leaseMs: number): Promise<number> {
    const now = Date.now();
    return this.redis.drvAgentAcquire(this.counts, this.leases, now, holder, want, limit, now + leaseMs);
  }

  async release(holder: string, count: number): Promise<void> {
    await this.redis.drvAgentRelease(this.counts, this.leases, holder, count);
  }

  async renew(holder: string, held: number, leaseMs: number): Promise<void> {
    if (held > 0) await this.redis.drvAgentRenew(this.counts, this.leases, holder, held, Date.now() + leaseMs);
  }

  used(): Promise<number> {
    return this.redis.drvAgentUsed(this.counts, this.leases, Date.now());
  }
}
