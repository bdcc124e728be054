import type { Redis } from 'ioredis';

/** What the cancel script found (its return value). */
export const CancelResult = {
  NOT_FOUND: 0,
  /** Was waiting, prioritized, paused or delayed: now in `failed` with a canceled reason. */
  CANCELED: 1,
  FINISHED: 2,
  /** Active: flagged (BullMQ deferred failure) and announced on the cancel channel. */
  RUNNING: 3,
  /** Some other state (e.g. waiting-children): left alone. */
  OTHER: 4,
} as const;

/**
 * One script, so that a worker can never take the job between our check and our move: Redis
 * runs it atomically, and BullMQ's moveToActive is a script too. A job that is active gets the
 * BullMQ `defa` (deferred failure) field: if the running attempt misses the pub/sub message, or
 * its worker dies and the job is re-queued, BullMQ itself fails the job with our canceled reason
 * the next time any worker picks it up, without running it.
 */
const CANCEL_LUA = `
--[[
  Cancels a Drover task held in a BullMQ queue.
  Input:
    KEYS[1] job key
    KEYS[2] wait key
    KEYS[3] paused key
    KEYS[4] prioritized key
    KEYS[5] delayed key
    KEYS[6] active key
    KEYS[7] failed key
    KEYS[8] completed key
    KEYS[9] events stream key
    KEYS[10] Drover's canceled zset of this queue (score = finish time)

    ARGV[1] job id
    ARGV[2] failedReason to record (the encoded canceled TaskError)
    ARGV[3] now, epoch ms
    ARGV[4] pub/sub channel announcing cancels of running jobs
    ARGV[5] retention of failed jobs in ms (0: keep forever)
    ARGV[6] job key prefix ("<prefix>:<queue>:")
  Output:
    0 no such job, 1 canceled, 2 already finished, 3 running (flagged), 4 other state
]]
local rcall = redis.call
local jobId = ARGV[1]
if rcall("EXISTS", KEYS[1]) == 0 then return 0 end
if rcall("ZSCORE", KEYS[7], jobId) or rcall("ZSCORE", KEYS[8], jobId) then return 2 end

local removed = rcall("LREM", KEYS[2], 1, jobId)
if removed == 0 then removed = rcall("LREM", KEYS[3], 1, jobId) end
if removed == 0 then removed = rcall("ZREM", KEYS[4], jobId) end
local prev = "waiting"
if removed == 0 then
  removed = rcall("ZREM", KEYS[5], jobId)
  prev = "delayed"
end

if removed > 0 then
  local now = tonumber(ARGV[3])
  rcall("HSET", KEYS[1], "failedReason", ARGV[2], "finishedOn", now)
  rcall("ZADD", KEYS[7], now, jobId)
  rcall("ZADD", KEYS[10], now, jobId)
  rcall("XADD", KEYS[9], "MAXLEN", "~", 10000, "*", "event", "failed", "jobId", jobId,
    "failedReason", ARGV[2], "prev", prev)
  -- BullMQ trims failed jobs by age only when a worker fails one; trim here as well.
  local maxAge = tonumber(ARGV[5])
  if maxAge > 0 then
    local old = rcall("ZRANGEBYSCORE", KEYS[7], 0, now - maxAge, "LIMIT", 0, 1000)
    for _, oldId in ipairs(old) do
      rcall("DEL", ARGV[6] .. oldId, ARGV[6] .. oldId .. ":logs")
      rcall("ZREM", KEYS[7], oldId)
    end
  end
  return 1
end

if rcall("LPOS", KEYS[6], jobId) then
  rcall("HSET", KEYS[1], "defa", ARGV[2])
  rcall("PUBLISH", ARGV[4], jobId)
  return 3
end
return 4
`;

export interface CancelScriptArgs {
  /** "<prefix>:<queue>:" */
  keyPrefix: string;
  jobId: string;
  reason: string;
  channel: string;
  retentionMs: number;
  canceledKey: string;
}

type WithCancel = Redis & {
  droverCancel(...args: Array<string | number>): Promise<number>;
};

export function defineCancelScript(redis: Redis): void {
  redis.defineCommand('droverCancel', { numberOfKeys: 10, lua: CANCEL_LUA });
}

export function runCancelScript(redis: Redis, a: CancelScriptArgs): Promise<number> {
  const k = a.keyPrefix;
  return (redis as WithCancel).droverCancel(
    `${k}${a.jobId}`,
    `${k}wait`,
    `${k}paused`,
    `${k}prioritized`,
    `${k}delayed`,
    `${k}active`,
    `${k}failed`,
    `${k}completed`,
    `${k}events`,
    a.canceledKey,
    a.jobId,
    a.reason,
    Date.now(),
    a.channel,
    a.retentionMs,
    k,
  );
}
