import type { Redis } from 'ioredis';

/** The answer of RateWindowStore.take(). */
export interface RateDecision {
  allowed: boolean;
  /** When refused: how long until the window that refused ends (ms). */
  retryAfterMs: number;
}

/**
 * Fixed-window counters shared by every orchestrator replica (per-tenant submission rates): the
 * memory backend keeps them in the process, bullmq and rabbitmq in Redis, changed by one atomic
 * script so replicas never both spend the last unit.
 */
export interface RateWindowStore {
  /** Takes `n` units of `key`'s budget of `limit` per `windowMs`; nothing is taken when refused. */
  take(key: string, n: number, limit: number, windowMs: number): Promise<RateDecision>;
}

export class LocalRateWindows implements RateWindowStore {
  private readonly windows = new Map<string, { start: number; used: number }>();

  async take(key: string, n: number, limit: number, windowMs: number): Promise<RateDecision> {
    const now = Date.now();
    const start = now - (now % windowMs);
    const w = this.windows.get(key);
    const used = w && w.start === start ? w.used : 0;
    if (used + n > limit) return { allowed: false, retryAfterMs: start + windowMs - now };
    this.windows.set(key, { start, used: used + n });
    return { allowed: true, retryAfterMs: 0 };
  }
}

// KEYS[1] the window's counter  ARGV[1] n  ARGV[2] limit  ARGV[3] ms left in the window
// Returns 0 when taken, else the ms left in the window.
const TAKE = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return tonumber(ARGV[3]) end
redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 0
`;

export class RedisRateWindows implements RateWindowStore {
  private readonly redis: Redis & { drvRateTake(key: string, n: number, limit: number, left: number): Promise<number> };

  constructor(
    redis: Redis,
    private readonly keyBase: string,
  ) {
    if (!('drvRateTake' in redis)) redis.defineCommand('drvRateTake', { numberOfKeys: 1, lua: TAKE });
    this.redis = redis as RedisRateWindows['redis'];
  }

  async take(key: string, n: number, limit: number, windowMs: number): Promise<RateDecision> {
    const now = Date.now();
    const start = now - (now % windowMs);
    const left = start + windowMs - now;
    const refused = await this.redis.drvRateTake(`${this.keyBase}rate:${key}:${start}`, n, limit, Math.max(1, left));
    return refused === 0 ? { allowed: true, retryAfterMs: 0 } : { allowed: false, retryAfterMs: refused };
  }
}
