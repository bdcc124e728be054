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
    KEYS[5] Drover's suspended zset of this queue (score = the run that suspended)
    KEYS[6] delayed zset

    ARGV[1] job key prefix ("<prefix>:<queue>:")
    ARGV[2] retention horizon, epoch ms (canceled entries older than this are dropped)
  Output:
    { canceled count, creation time (ms) of the oldest ready task or -1, waiting parents }
  A suspension marker counts while its job sits in the delayed set with the same run; stale
  markers (the parent ran again, finished or expired) are dropped here.
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
local waiting = 0
local marks = rcall("ZRANGE", KEYS[5], 0, -1, "WITHSCORES")
for i = 1, #marks, 2 do
  local id = marks[i]
  if rcall("ZSCORE", KEYS[6], id) and rcall("HGET", ARGV[1] .. id, "ats") == marks[i + 1] then
    waiting = waiting + 1
  elseif not rcall("ZSCORE", KEYS[6], id) then
    rcall("ZREM", KEYS[5], id)
  end
end
return { canceled, oldest, waiting }
`;

type WithExtras = Redis & { droverQueueExtras(...args: Array<string | number>): Promise<[number, number, number]> };

export function defineQueueExtrasScript(redis: Redis): void {
  redis.defineCommand('droverQueueExtras', { numberOfKeys: 6, lua: QUEUE_EXTRAS_LUA });
}

export async function runQueueExtrasScript(
  redis: Redis,
  keyPrefix: string,
  canceledKey: string,
  suspendedKey: string,
  horizonMs: number,
): Promise<{ canceled: number; oldestQueuedAt: number | null; waiting: number }> {
  const [canceled, oldest, waiting] = await (redis as WithExtras).droverQueueExtras(
    `${keyPrefix}wait`,
    `${keyPrefix}paused`,
    `${keyPrefix}prioritized`,
    canceledKey,
    suspendedKey,
    `${keyPrefix}delayed`,
    keyPrefix,
    horizonMs,
  );
  return { canceled: Number(canceled), oldestQueuedAt: Number(oldest) >= 0 ? Number(oldest) : null, waiting: Number(waiting) };
}
