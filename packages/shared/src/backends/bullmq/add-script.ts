import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * Adds many plain jobs (no delay, BullMQ priority 0, no BullMQ parent) to one queue in one script
 * call, together with their list-index entries. It writes exactly what BullMQ's own
 * addStandardJob script writes for such a job — the job hash, the `added` and `waiting` events,
 * the push on the wait list and the worker marker — so BullMQ workers, QueueEvents and tools see
 * ordinary jobs. What it saves is per-job overhead: BullMQ's addBulk sends one script call per
 * job inside a MULTI, with msgpack-encoded arguments and a Job object built for each.
 *
 * Pinned to the job layout of the BullMQ version in package.json; job-layout.test.ts compares a
 * job written here with one written by queue.add(), field by field, so an upgrade that changes
 * the layout fails a test instead of corrupting queues.
 */
const ADD_LUA = `
--[[
  Input:
    KEYS[1] wait key
    KEYS[2] meta key
    KEYS[3] active key
    KEYS[4] events stream key
    KEYS[5] marker key
    KEYS[6] index of all tasks (sorted set)

    ARGV[1] job key prefix ("<prefix>:<queue>:")
    ARGV[2] tenant index key prefix
    ARGV[3] timestamp (epoch ms)
    ARGV[4..] per job, 6 values: id, name, data JSON, opts JSON, tenant, index score
  Output:
    one flag per job: 1 added, 0 an existing job has this id (left untouched)
]]
local rcall = redis.call
local jobPrefix = ARGV[1]
local tenantPrefix = ARGV[2]
local timestamp = ARGV[3]

local maxEvents = rcall("HGET", KEYS[2], "opts.maxLenEvents")
if not maxEvents then
  maxEvents = 10000
  rcall("HSET", KEYS[2], "opts.maxLenEvents", maxEvents)
end

local added = {}
local flags = {}
local all = {}
local byTenant = {}
for i = 4, #ARGV, 6 do
  local jobId = ARGV[i]
  local jobKey = jobPrefix .. jobId
  if rcall("EXISTS", jobKey) == 1 then
    rcall("XADD", KEYS[4], "MAXLEN", "~", maxEvents, "*", "event", "duplicated", "jobId", jobId)
    flags[#flags + 1] = 0
  else
    local name = ARGV[i + 1]
    rcall("HMSET", jobKey, "name", name, "data", ARGV[i + 2], "opts", ARGV[i + 3],
      "timestamp", timestamp, "delay", 0, "priority", 0)
    rcall("XADD", KEYS[4], "*", "event", "added", "jobId", jobId, "name", name)
    added[#added + 1] = jobId
    flags[#flags + 1] = 1
    local score = ARGV[i + 5]
    all[#all + 1] = score
    all[#all + 1] = jobId
    local tenant = ARGV[i + 4]
    local t = byTenant[tenant]
    if not t then
      t = {}
      byTenant[tenant] = t
    end
    t[#t + 1] = score
    t[#t + 1] = jobId
  end
end

if #added > 0 then
  -- Same test as BullMQ's isQueuePausedOrMaxed: no marker while paused or at the global cap.
  local attrs = rcall("HMGET", KEYS[2], "paused", "concurrency")
  local pausedOrMaxed = attrs[1] and true or false
  if not pausedOrMaxed and attrs[2] then
    pausedOrMaxed = rcall("LLEN", KEYS[3]) >= tonumber(attrs[2])
  end
  -- LPUSH in order keeps FIFO: workers take from the other end. unpack() is bounded by Lua's
  -- stack, so push in slices.
  for s = 1, #added, 1000 do
    rcall("LPUSH", KEYS[1], unpack(added, s, math.min(s + 999, #added)))
  end
  if not pausedOrMaxed then rcall("ZADD", KEYS[5], 0, "0") end
  for _, jobId in ipairs(added) do
    rcall("XADD", KEYS[4], "MAXLEN", "~", maxEvents, "*", "event", "waiting", "jobId", jobId)
  end
  for s = 1, #all, 2000 do
    rcall("ZADD", KEYS[6], "NX", unpack(all, s, math.min(s + 1999, #all)))
  end
  for tenant, t in pairs(byTenant) do
    for s = 1, #t, 2000 do
      rcall("ZADD", tenantPrefix .. tenant, "NX", unpack(t, s, math.min(s + 1999, #t)))
    end
  end
end
return flags
`;

/** One job for the add script; `opts` and `data` are the JSON BullMQ would store. */
export interface PlainJob {
  id: string;
  name: string;
  data: string;
  opts: string;
  tenant: string;
  score: number;
}

const ADD_SHA = createHash('sha1').update(ADD_LUA).digest('hex');

/**
 * Adds `jobs` to the queue whose keys start with `keyPrefix`; one flag per job (1 added, 0 existed).
 *
 * Sent as a plain EVALSHA (EVAL once when Redis does not have the script yet), not through
 * ioredis's defineCommand: its Script#execute copies the arguments with a spread, which is a
 * loop, and a call with thousands of arguments made V8 compile that function on the stack (OSR)
 * for this script's command class. Node 20's V8 kept that code and entered it from every later
 * script call in the process, BullMQ's included, deoptimizing each time: on the drain benchmark,
 * a worker that had submitted its tasks deoptimized once every seven jobs (DEVELOPERS.md).
 */
export async function runAddScript(
  redis: Redis,
  keyPrefix: string,
  indexKey: string,
  tenantIndexPrefix: string,
  timestamp: number,
  jobs: readonly PlainJob[],
): Promise<number[]> {
  const head: Array<string | number> = [
    `${keyPrefix}wait`,
    `${keyPrefix}meta`,
    `${keyPrefix}active`,
    `${keyPrefix}events`,
    `${keyPrefix}marker`,
    indexKey,
    keyPrefix,
    tenantIndexPrefix,
    timestamp,
  ];
  if (jobs.length <= ADD_CHUNK) return addChunk(redis, head, jobs);
  // Chunks go out back to back on the one connection, so a large batch still costs about one
  // round trip; Redis runs them in order, so the wait list keeps submission order.
  const parts: Array<Promise<number[]>> = [];
  for (let i = 0; i < jobs.length; i += ADD_CHUNK) parts.push(addChunk(redis, head, jobs.slice(i, i + ADD_CHUNK)));
  return (await Promise.all(parts)).flat();
}

/**
 * Jobs per script call. Bounds a call's arguments (six per job: tens of thousands of them
 * overflow the stack when spread into one call) and how long one script holds Redis.
 */
const ADD_CHUNK = 1000;

/** `head`: the script's keys and fixed arguments, the same for every chunk. */
function addChunk(redis: Redis, head: ReadonlyArray<string | number>, jobs: readonly PlainJob[]): Promise<number[]> {
  const args = head.slice();
  for (const j of jobs) args.push(j.id, j.name, j.data, j.opts, j.tenant, j.score);
  return (redis.evalsha(ADD_SHA, 6, ...args) as Promise<number[]>).catch((err: unknown) => {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return redis.eval(ADD_LUA, 6, ...args) as Promise<number[]>;
  });
}
