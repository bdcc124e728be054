import type { Redis } from 'ioredis';
import type { Logger } from './logger.js';

/**
 * Who holds the cluster's leader lease: the holder runs the duties that must run once (schedule
 * firing). A holder is `<instance id>` with a fencing token, a number that grows with every new
 * holder; a write made on the leader's behalf names its token, and the store refuses it unless
 * that token still holds the lease (see `fenced` in the stores), so a leader that was paused or cut
 * off from Redis past its lease cannot write after its successor took over.
 */
export interface LeaderLeaseStore {
  /** Takes the lease if nobody holds it (or extends it if `id` does); the token, or null when another holds it. */
  acquire(id: string, ttlMs: number): Promise<number | null>;
  /** Extends the lease if `id` still holds it with `token`; false when it was lost. */
  renew(id: string, token: number, ttlMs: number): Promise<boolean>;
  /** Gives the lease up (on shutdown), so the next holder need not wait for it to expire. */
  release(id: string, token: number): Promise<void>;
  /** The holder's token, null when nobody holds it. */
  holder(): Promise<{ id: string; token: number } | null>;
}

/** A write made on a leader's behalf: refused unless `id` still holds the lease with `token`. */
export interface Fence {
  id: string;
  token: number;
}

/** The lease key of a Redis key base (a fenced script reads it: the stores and the lease share a base). */
export function leaderKey(keyBase: string): string {
  return `${keyBase}leader`;
}

/** The memory backend's: one process, so the one election in it always wins. */
export class LocalLeaderLease implements LeaderLeaseStore {
  private current: { id: string; token: number; until: number } | null = null;
  private tokens = 0;

  async acquire(id: string, ttlMs: number): Promise<number | null> {
    const now = Date.now();
    if (this.current && this.current.until > now && this.current.id !== id) return null;
    if (!this.current || this.current.id !== id || this.current.until <= now) this.current = { id, token: ++this.tokens, until: 0 };
    this.current.until = now + ttlMs;
    return this.current.token;
  }

  async renew(id: string, token: number, ttlMs: number): Promise<boolean> {
    const c = this.current;
    if (!c || c.id !== id || c.token !== token || c.until <= Date.now()) return false;
    c.until = Date.now() + ttlMs;
    return true;
  }

  async release(id: string, token: number): Promise<void> {
    if (this.current?.id === id && this.current.token === token) this.current = null;
  }

  async holder(): Promise<{ id: string; token: number } | null> {
    return this.holderNow();
  }

  /** For the memory backend's fenced writes, which run in the same turn. */
  holderNow(): { id: string; token: number } | null {
    const c = this.current;
    return c && c.until > Date.now() ? { id: c.id, token: c.token } : null;
  }
}

// KEYS[1] lease (value "<id>|<token>", expires)  KEYS[2] token counter  ARGV[1] id  ARGV[2] ttl ms
const ACQUIRE = `
local current = redis.call('GET', KEYS[1])
if current then
  local bar = string.find(current, '|', 1, true)
  if string.sub(current, 1, bar - 1) ~= ARGV[1] then return -1 end
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(string.sub(current, bar + 1))
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. token, 'PX', ARGV[2])
return token
`;

// KEYS[1] lease  ARGV[1] "<id>|<token>"  ARGV[2] ttl ms (0: release)
const RENEW = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '0' then redis.call('DEL', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
`;

type LeaseCommands = {
  drvLeaderAcquire(lease: string, counter: string, id: string, ttlMs: number): Promise<number>;
  drvLeaderRenew(lease: string, holder: string, ttlMs: number): Promise<number>;
};

/** bullmq and rabbitmq: the lease is one expiring Redis key, the token a counter beside it. */
export class RedisLeaderLease implements LeaderLeaseStore {
  readonly key: string;
  private readonly counter: string;
  private readonly redis: Redis & LeaseCommands;

  constructor(redis: Redis, keyBase: string) {
    if (!('drvLeaderAcquire' in redis)) {
      redis.defineCommand('drvLeaderAcquire', { numberOfKeys: 2, lua: ACQUIRE });
      redis.defineCommand('drvLeaderRenew', { numberOfKeys: 1, lua: RENEW });
    }
    this.redis = redis as Redis & LeaseCommands;
    this.key = leaderKey(keyBase);
    this.counter = `${keyBase}leader:token`;
  }

  async acquire(id: string, ttlMs: number): Promise<number | null> {
    const token = await this.redis.drvLeaderAcquire(this.key, this.counter, id, ttlMs);
    return token < 0 ? null : token;
  }

  async renew(id: string, token: number, ttlMs: number): Promise<boolean> {
    return (await this.redis.drvLeaderRenew(this.key, `${id}|${token}`, ttlMs)) === 1;
  }

  async release(id: string, token: number): Promise<void> {
    await this.redis.drvLeaderRenew(this.key, `${id}|${token}`, 0);
  }

  async holder(): Promise<{ id: string; token: number } | null> {
    const v = await this.redis.get(this.key);
    if (!v) return null;
    const bar = v.lastIndexOf('|');
    return { id: v.slice(0, bar), token: Number(v.slice(bar + 1)) };
  }
}

export interface LeaderElectionOptions {
  store: LeaderLeaseStore;
  /** This process, unique in the cluster. */
  id: string;
  /** How long a lease lasts without renewal: the longest a dead leader's duties stay unserved. */
  leaseMs: number;
  logger: Logger;
  /** Called when this process becomes leader, with its fencing token. */
  onElected?: (token: number) => void;
  /** Called when it stops being leader (lost, expired, or shut down). */
  onDeposed?: () => void;
}

/**
 * Campaigns for the lease every third of it and renews it as often while held. A leader that
 * cannot renew (Redis unreachable) steps down on its own once the lease may have expired in Redis
 * (counted from when its last successful renewal was sent, which Redis received later), so two
 * live leaders never both believe they lead; a leader too frozen to notice is fenced off by its
 * token. A follower takes over within one lease and one campaign interval of the leader's death.
 */
export class LeaderElection {
  private timer: NodeJS.Timeout | undefined;
  /** Steps down when the lease may have run out in Redis without a renewal. */
  private expiry: NodeJS.Timeout | undefined;
  private token: number | null = null;
  private round: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: LeaderElectionOptions) {}

  get isLeader(): boolean {
    return this.token !== null;
  }

  /** The fencing token while leader, else null. */
  get fencingToken(): number | null {
    return this.token;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.round;
    const token = this.token;
    if (token === null) return;
    this.depose('shutting down');
    await this.options.store.release(this.options.id, token).catch(() => undefined);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.round = this.campaign().finally(() => this.schedule(Math.max(50, Math.floor(this.options.leaseMs / 3))));
    }, ms);
    this.timer.unref();
  }

  private async campaign(): Promise<void> {
    const { store, id, leaseMs, logger } = this.options;
    const sentAt = Date.now();
    // A command to an unreachable Redis waits for the reconnect: give up on it after a third of
    // the lease, so the next round (and the step-down timer) are not held up behind it.
    const within = <T>(p: Promise<T>) => Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('Redis did not answer in time')), Math.max(50, Math.floor(leaseMs / 3))).unref())]);
    try {
      if (this.token === null) {
        const token = await within(store.acquire(id, leaseMs));
        if (token === null || this.stopped) return;
        this.token = token;
        this.held(sentAt);
        logger.info({ token }, 'leader: this orchestrator now runs the cluster-wide duties');
        this.options.onElected?.(token);
      } else if (await within(store.renew(id, this.token, leaseMs))) {
        this.held(sentAt);
      } else {
        this.depose('the lease was taken over');
      }
    } catch {
      // Redis unreachable: the expiry timer steps down once the lease may have run out.
    }
  }

  /** The lease holds until at least `sentAt` + lease (Redis received the command after it was sent). */
  private held(sentAt: number): void {
    clearTimeout(this.expiry);
    this.expiry = setTimeout(() => this.depose('Redis did not confirm a renewal for a whole lease'), Math.max(0, sentAt + this.options.leaseMs - Date.now()));
    this.expiry.unref();
  }

  private depose(why: string): void {
    clearTimeout(this.expiry);
    if (this.token === null) return;
    this.options.logger.warn({ token: this.token }, `leader: stepping down (${why})`);
    this.token = null;
    this.options.onDeposed?.();
  }
}
