import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { FAIR_ROUNDS } from './job-record.js';

/**
 * Adds many jobs (no delay, no BullMQ parent) to one queue in one script call, in BullMQ's
 * prioritized set, together with their list-index entries. It writes what BullMQ's own
 * addPrioritizedJob script writes for such a job — the job hash, the `added` and `waiting`
 * events, the entry in the prioritized set (scored from the priority and the queue's `pc`
 * counter, as getPriorityScore does) and the worker marker — so BullMQ workers, QueueEvents and
 * tools see ordinary prioritized jobs. What it saves is per-job overhead: BullMQ's addBulk sends
 * one script call per job inside a MULTI, with msgpack-encoded arguments and a Job object built
 * for each.
 *
 * Fair dispatch between tenants: the BullMQ priority of a job is its Drover priority's band plus a
 * round (job-record.ts, toBullmqPriority). Within a band, a tenant's next task gets round
 * max(its previous round + 1, the round at the band's head), so each round holds at most one task
 * per tenant and the queue serves tenants in turn (start-time fair queueing, as Hatchet's fair
 * queues or BullMQ Pro's groups): a tenant with 10,000 tasks queued delays a quiet one by one task,
 * not 10,000. Each tenant's last round per band is kept in a hash per queue, with an epoch per
 * band that moves on whenever the band is found empty (so old rounds stop counting). Tasks within
 * one round keep submission order (the `pc` counter).
 *
 * Pinned to the job layout of the BullMQ version in package.json; job-layout.test.ts compares a
 * job written here with one written by queue.add() with the same priority, field by field, so an
 * upgrade that changes the layout fails a test instead of corrupting queues.
 */
const ADD_LUA = `
--[[
  Input:
    KEYS[1] prioritized key
    KEYS[2] meta key
    KEYS[3] active key
    KEYS[4] events stream key
    KEYS[5] marker key
    KEYS[6] index of all tasks (sorted set)
    KEYS[7] priority counter key ('pc')
    KEYS[8] the queue's last round per tenant (hash)

    ARGV[1] job key prefix ("<prefix>:<queue>:")
    ARGV[2] tenant index key prefix
    ARGV[3] timestamp (epoch ms)
    ARGV[4] rounds per priority band
    ARGV[5..] per job, 7 values: id, name, data JSON, opts JSON (without priority), tenant, index score, band
  Output:
    one flag per job: 1 added, 0 an existing job has this id (left untouched)
]]
local rcall = redis.call
local jobPrefix = ARGV[1]
local tenantPrefix = ARGV[2]
local timestamp = ARGV[3]
local rounds = tonumber(ARGV[4])

local maxEvents = rcall("HGET", KEYS[2], "opts.maxLenEvents")
if not maxEvents then
  maxEvents = 10000
  rcall("HSET", KEYS[2], "opts.maxLenEvents", maxEvents)
end

-- Rounds are counted per priority band. A band's state: the round at its head (the one being
-- served), and its epoch, moved on whenever the band is found empty so that rounds from before
-- (fields "<tenant>|<band>" = "<epoch>:<round>") no longer count.
if rcall("ZCARD", KEYS[1]) == 0 then rcall("DEL", KEYS[8]) end
local bands = {}
local function band(b)
  local s = bands[b]
  if s then return s end
  local lo = string.format("%.0f", (1 + b * rounds) * 0x100000000)
  local hi = string.format("%.0f", (1 + (b + 1) * rounds) * 0x100000000)
  local top = rcall("ZRANGEBYSCORE", KEYS[1], lo, "(" .. hi, "WITHSCORES", "LIMIT", 0, 1)
  local epoch = tonumber(rcall("HGET", KEYS[8], "~" .. b) or "0")
  local head = 0
  if #top == 0 then
    epoch = epoch + 1
    rcall("HSET", KEYS[8], "~" .. b, epoch)
  else
    head = (math.floor(tonumber(top[2]) / 0x100000000) - 1) % rounds
  end
  s = { head = head, epoch = epoch }
  bands[b] = s
  return s
end
local last = {}

local added = {}
local flags = {}
local all = {}
local byTenant = {}
for i = 5, #ARGV, 7 do
  local jobId = ARGV[i]
  local jobKey = jobPrefix .. jobId
  if rcall("EXISTS", jobKey) == 1 then
    rcall("XADD", KEYS[4], "MAXLEN", "~", maxEvents, "*", "event", "duplicated", "jobId", jobId)
    flags[#flags + 1] = 0
  else
    local name = ARGV[i + 1]
    local tenant = ARGV[i + 4]
    local b = tonumber(ARGV[i + 6])
    local s = band(b)
    local field = tenant .. "|" .. b
    local previous = last[field]
    if previous == nil then
      previous = -1
      local stored = rcall("HGET", KEYS[8], field)
      if stored then
        local sep = string.find(stored, ":", 1, true)
        if tonumber(string.sub(stored, 1, sep - 1)) == s.epoch then previous = tonumber(string.sub(stored, sep + 1)) end
      end
    end
    local round = math.max(previous + 1, s.head)
    if round > rounds - 1 then round = rounds - 1 end
    last[field] = round
    local priority = 1 + b * rounds + round
    local opts = ARGV[i + 3]
    if opts == "{}" then
      opts = '{"priority":' .. priority .. '}'
    else
      opts = '{"priority":' .. priority .. ',' .. string.sub(opts, 2)
    end
    rcall("HMSET", jobKey, "name", name, "data", ARGV[i + 2], "opts", opts,
      "timestamp", timestamp, "delay", 0, "priority", priority)
    rcall("XADD", KEYS[4], "*", "event", "added", "jobId", jobId, "name", name)
    local counter = rcall("INCR", KEYS[7])
    rcall("ZADD", KEYS[1], priority * 0x100000000 + counter % 0x100000000, jobId)
    added[#added + 1] = jobId
    flags[#flags + 1] = 1
    local score = ARGV[i + 5]
    all[#all + 1] = score
    all[#all + 1] = jobId
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
  for field, round in pairs(last) do
    local b = tonumber(string.match(field, "|(%d+)$"))
    rcall("HSET", KEYS[8], field, bands[b].epoch .. ":" .. round)
  end
  -- Same test as BullMQ's isQueuePausedOrMaxed: no marker while paused or at the global cap.
  local attrs = rcall("HMGET", KEYS[2], "paused", "concurrency")
  local pausedOrMaxed = attrs[1] and true or false
  if not pausedOrMaxed and attrs[2] then
    pausedOrMaxed = rcall("LLEN", KEYS[3]) >= tonumber(attrs[2])
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
  /** The Drover priority's band: 0 for priority 10, 10 for priority 0 (job-record.ts). */
  band: number;
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
  roundsKey: string,
  timestamp: number,
  jobs: readonly PlainJob[],
): Promise<number[]> {
  const head: Array<string | number> = [
    `${keyPrefix}prioritized`,
    `${keyPrefix}meta`,
    `${keyPrefix}active`,
    `${keyPrefix}events`,
    `${keyPrefix}marker`,
    indexKey,
    `${keyPrefix}pc`,
    roundsKey,
    keyPrefix,
    tenantIndexPrefix,
    timestamp,
    FAIR_ROUNDS,
  ];
  if (jobs.length <= ADD_CHUNK) return addChunk(redis, head, jobs);
  // Chunks go out back to back on the one connection, so a large batch still costs about one
  // round trip; Redis runs them in order, so the rounds and the counter keep submission order.
  const parts: Array<Promise<number[]>> = [];
  for (let i = 0; i < jobs.length; i += ADD_CHUNK) parts.push(addChunk(redis, head, jobs.slice(i, i + ADD_CHUNK)));
  return (await Promise.all(parts)).flat();
}

/**
 * Jobs per script call. Bounds a call's arguments (seven per job: tens of thousands of them
 * overflow the stack when spread into one call) and how long one script holds Redis.
 */
const ADD_CHUNK = 1000;

/** `head`: the script's keys and fixed arguments, the same for every chunk. */
function addChunk(redis: Redis, head: ReadonlyArray<string | number>, jobs: readonly PlainJob[]): Promise<number[]> {
  const args = head.slice();
  for (const j of jobs) args.push(j.id, j.name, j.data, j.opts, j.tenant, j.score, j.band);
  return (redis.evalsha(ADD_SHA, 8, ...args) as Promise<number[]>).catch((err: unknown) => {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return redis.eval(ADD_LUA, 8, ...args) as Promise<number[]>;
  });
}
