import type { Redis } from 'ioredis';

/**
 * What BullMQ's getJobCounts does not tell, in one call per queue: how many of the failed jobs
 * are canceled tasks (Drover keeps their ids in a sorted set by finish time, trimmed here to the
 * result retention), and when the oldest task ready to run was created. The oldest is looked
 * for at the tail of the wait and paused lists (BullMQ pushes new jobs at the head) and at the
 * head of the prioritized set (the next to run; within one priority the oldest), so the call
 * stays O(1) whatever the queue holds.
 */
const QUEUE_EXTRAS_LUA = `
--[[
  Input:
    KEYS[1] wait list
    KEYS[2] paused list
    KEYS[3] prioritized zset
    KEYS[4] Drover's canceled zset of this queue (score = finish time, ms)

    ARGV[1] job key prefix ("<prefix>:<queue>:")
    ARGV[2] retention horizon, epoch ms (canceled entries older than this are dropped)
  Output:
    { canceled count, creation time (ms) of the oldest ready task or -1 }
]]
local rcall = redis.call
rcall("ZREMRANGEBYSCORE", KEYS[4], "-inf", "(" .. ARGV[2])
local canceled = rcall("ZCARD", KEYS[4])
local oldest = -1
local function consider(id)
  if not id then return end
  local ts = tonumber(rcall("HGET", ARGV[1] .. id, "timestamp"))
  if ts and (oldest < 0 or ts < oldest) then oldest = ts end
end
consider(rcall("LINDEX", KEYS[1], -1))
consider(rcall("LINDEX", KEYS[2], -1))
consider(rcall("ZRANGE", KEYS[3], 0, 0)[1])
return { canceled, oldest }
`;

type WithExtras = Redis & { droverQueueExtras(...args: Array<string | number>): Promise<[number, number]> };

export function defineQueueExtrasScript(redis: Redis): void {
  redis.defineCommand('droverQueueExtras', { numberOfKeys: 4, lua: QUEUE_EXTRAS_LUA });
}

export async function runQueueExtrasScript(
  redis: Redis,
  keyPrefix: string,
  canceledKey: string,
  horizonMs: number,
): Promise<{ canceled: number; oldestQueuedAt: number | null }> {
  const [canceled, oldest] = await (redis as WithExtras).droverQueueExtras(
    `${keyPrefix}wait`,
    `${keyPrefix}paused`,
    `${keyPrefix}prioritized`,
    canceledKey,
    keyPrefix,
    horizonMs,
  );
  return { canceled: Number(canceled), oldestQueuedAt: Number(oldest) >= 0 ? Number(oldest) : null };
}
