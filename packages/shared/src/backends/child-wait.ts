import type { Redis } from 'ioredis';
import type { ChildWait } from '../suspend-signal.js';
import { FINISHED_STATUSES, type TaskRecord } from '../task.js';

/** In a parent's wait set: the parent waits for any one child (race), not all (all, result). */
const ANY_MARKER = '*any';

/**
 * KEYS[1] the parent's wait set  ARGV[1] the child that ended  ARGV[2] ANY_MARKER.
 * 1 when this child completes the wait (the last of all, or the first of any), else 0.
 */
const CROSS_OFF = `
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return 0 end
if redis.call('SISMEMBER', KEYS[1], ARGV[2]) == 1 then
  redis.call('DEL', KEYS[1])
  return 1
end
if redis.call('SCARD', KEYS[1]) == 0 then return 1 end
return 0
`;

type WithCrossOff = Redis & { drvCrossOff(key: string, child: string, any: string): Promise<number> };

/**
 * What a suspended parent waits on, in Redis (bullmq and rabbitmq): a set of the children it still
 * needs. Each child that ends crosses itself off; the one that completes the wait wakes the parent,
 * so a fan-out of N children resumes its parent about once, not N times.
 */
export class ChildWaits {
  private readonly redis: WithCrossOff;

  constructor(
    redis: Redis,
    private readonly keyBase: string,
    private readonly ttlMs: number,
  ) {
    if (!('drvCrossOff' in redis)) redis.defineCommand('drvCrossOff', { numberOfKeys: 1, lua: CROSS_OFF });
    this.redis = redis as WithCrossOff;
  }

  /** Records what `parentId` waits on (replacing an earlier wait). */
  async set(parentId: string, wait: ChildWait): Promise<void> {
    const key = this.key(parentId);
    await this.redis
      .multi()
      .del(key)
      .sadd(key, ...wait.ids, ...(wait.mode === 'any' ? [ANY_MARKER] : []))
      .pexpire(key, this.ttlMs)
      .exec();
  }

  /** Crosses a child off its parent's wait; true when that ends the wait. */
  async crossOff(parentId: string, childId: string): Promise<boolean> {
    return (await this.redis.drvCrossOff(this.key(parentId), childId, ANY_MARKER)) === 1;
  }

  /**
   * After set() and the suspension: children that ended before the set existed crossed nothing
   * off, so read them (`read`, the backend's getMany) and cross them off now. True when the wait is
   * already over (the caller wakes the parent).
   */
  async settle(parentId: string, wait: ChildWait, read: (ids: string[]) => Promise<Array<TaskRecord | null>>): Promise<boolean> {
    const records = await read(wait.ids);
    const ended = wait.ids.filter((_, i) => records[i] === null || FINISHED_STATUSES.has(records[i]!.status));
    let over = wait.mode === 'any' ? ended.length > 0 : ended.length === wait.ids.length;
    for (const id of ended) if (await this.crossOff(parentId, id)) over = true;
    return over;
  }

  private key(parentId: string): string {
    return `${this.keyBase}wait:${parentId}`;
  }
}
