import type { Redis } from 'ioredis';
import type { TaskTypeInfo, WorkerInfo } from '../../backend.js';

/** Drops expired workers and returns the rest, atomically (a renewal cannot be lost). */
const LIVE_WORKERS_LUA = `
--[[
  Input:
    KEYS[1] workers hash (id -> WorkerInfo JSON)
    KEYS[2] expiry sorted set (id -> expiry, epoch ms)
    ARGV[1] now, epoch ms
  Output:
    HGETALL of the workers hash after expired entries are removed
]]
local rcall = redis.call
local expired = rcall("ZRANGEBYSCORE", KEYS[2], "-inf", ARGV[1])
for _, id in ipairs(expired) do
  rcall("HDEL", KEYS[1], id)
end
if #expired > 0 then rcall("ZREMRANGEBYSCORE", KEYS[2], "-inf", ARGV[1]) end
return rcall("HGETALL", KEYS[1])
`;

type WithSweep = Redis & { droverLiveWorkers(...args: Array<string | number>): Promise<string[]> };

/**
 * Live workers and declared task types, in keys under `<prefix>:_drover:` (queue names start
 * with a letter, so no BullMQ queue can collide). Workers: a hash of id → JSON plus a sorted set
 * of id → expiry; expired entries are dropped by whoever reads them. Task types: a hash, no TTL.
 */
export class WorkerRegistry {
  private readonly workersKey: string;
  private readonly expiryKey: string;
  private readonly typesKey: string;

  constructor(
    private readonly redis: Redis,
    keyBase: string,
  ) {
    redis.defineCommand('droverLiveWorkers', { numberOfKeys: 2, lua: LIVE_WORKERS_LUA });
    this.workersKey = `${keyBase}workers`;
    this.expiryKey = `${keyBase}workers:expiry`;
    this.typesKey = `${keyBase}task-types`;
  }

  async heartbeat(worker: WorkerInfo, ttlMs: number): Promise<void> {
    await this.redis
      .multi()
      .hset(this.workersKey, worker.id, JSON.stringify(worker))
      .zadd(this.expiryKey, Date.now() + ttlMs, worker.id)
      .exec();
  }

  async remove(id: string): Promise<void> {
    await this.redis.multi().hdel(this.workersKey, id).zrem(this.expiryKey, id).exec();
  }

  async list(): Promise<WorkerInfo[]> {
    const flat = await (this.redis as WithSweep).droverLiveWorkers(this.workersKey, this.expiryKey, Date.now());
    const out: WorkerInfo[] = [];
    for (let i = 1; i < flat.length; i += 2) out.push(JSON.parse(flat[i]!) as WorkerInfo);
    return out;
  }

  async registerTypes(types: TaskTypeInfo[]): Promise<void> {
    if (types.length === 0) return;
    await this.redis.hset(this.typesKey, Object.fromEntries(types.map((t) => [t.name, JSON.stringify(t)])));
  }

  async types(): Promise<TaskTypeInfo[]> {
    const all = await this.redis.hgetall(this.typesKey);
    return Object.values(all).map((json) => JSON.parse(json) as TaskTypeInfo);
  }
}
