import type { Redis } from 'ioredis';

/**
 * BullMQ's updateProgress, fenced by the attempt's lock: BullMQ's own script writes whoever calls
 * it, so an attempt whose worker was frozen past its lock (the job since taken over by another
 * worker, under another token) could write its progress over the later attempt's. Here the write
 * and its `progress` event happen only while the job's lock still holds this attempt's token.
 * The event is the one BullMQ writes (QueueEvents, and so Drover's event hub, read it as usual).
 */
const PROGRESS_LUA = `
-- KEYS[1] job key  KEYS[2] its lock  KEYS[3] events stream  KEYS[4] queue meta
-- ARGV[1] the attempt's lock token  ARGV[2] job id  ARGV[3] progress (JSON)
-- Returns 1 when written, 0 when the lock is not this attempt's (fenced off) or the job is gone.
if redis.call('GET', KEYS[2]) ~= ARGV[1] or redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local maxEvents = tonumber(redis.call('HGET', KEYS[4], 'opts.maxLenEvents') or '10000')
redis.call('HSET', KEYS[1], 'progress', ARGV[3])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', maxEvents, '*', 'event', 'progress', 'jobId', ARGV[2], 'data', ARGV[3])
return 1
`;

type WithProgress = Redis & { drvFencedProgress(...args: Array<string | number>): Promise<number> };

/** Writes a running job's progress if `token` still holds its lock; false when fenced off. */
export async function runFencedProgress(redis: Redis, keyPrefix: string, jobId: string, token: string, value: unknown): Promise<boolean> {
  if (!('drvFencedProgress' in redis)) redis.defineCommand('drvFencedProgress', { numberOfKeys: 4, lua: PROGRESS_LUA });
  const key = keyPrefix + jobId;
  return (await (redis as WithProgress).drvFencedProgress(key, `${key}:lock`, `${keyPrefix}events`, `${keyPrefix}meta`, token, jobId, JSON.stringify(value))) === 1;
}
