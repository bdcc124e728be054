/**
 * Lua scripts of the Redis task store. Each state change of a task is one script, so the record,
 * the per-queue state indexes and the event it publishes change together or not at all.
 *
 * Record hash fields: d (static JSON), fp (idempotency fingerprint), s (status), a (attempt),
 * g (generation: bumped whenever a new broker message is made for the task), pr (priority),
 * seq, c (children, comma-joined), ik (idempotency key name), run (token of the running
 * attempt), cr (cancel requested), o/e/p (output, error, progress JSON), st/ft (started/finished).
 *
 * Events go out as `s|id|queue|status|atMs` and `p|id|queue|atMs|json` on the events channel.
 * The batch scripts of the hot path (START, FINISH) first ask whether anyone listens (a
 * subscriber of the channel, or any pattern subscriber) and publish only then: a message nobody
 * subscribed to is dropped by Redis anyway, and the check is atomic with the script, so a
 * listener sees exactly the events it would otherwise; a busy worker saves a command per task.
 */

/** Lua: one command over a long list in chunks of `step` members, since unpack() is bounded by Lua's C stack. */
const IN_CHUNKS = `
local function inChunks(cmd, key, list, step)
  for j = 1, #list, step do
    redis.call(cmd, key, unpack(list, j, math.min(j + step - 1, #list)))
  end
end
`;

/**
 * Lua: a running task whose worker is gone (its lease expired). Returns nil when it should run
 * again (the loss is counted); otherwise it records the task as canceled (its cancel was
 * requested while it ran) or failed (more losses than `tolerated`), puts it in the canceled or failed set,
 * gives it its TTL, and returns that status. The caller takes it out of the running set and
 * publishes the state event.
 */
const END_IF_LOST = `
local function endIfLost(key, id, tolerated, nowMs, finishedAt, failedKey, canceledKey, ttl, lostError, canceledError)
  local status, err, into
  if redis.call('HGET', key, 'cr') == '1' then
    status, err, into = 'canceled', canceledError, canceledKey
  elseif redis.call('HINCRBY', key, 'lost', 1) > tonumber(tolerated) then
    status, err, into = 'failed', lostError, failedKey
  else
    return nil
  end
  redis.call('HSET', key, 's', status, 'ft', finishedAt, 'e', err, 'run', '')
  redis.call('ZADD', into, nowMs, id)
  redis.call('EXPIRE', key, ttl)
  local ik = redis.call('HGET', key, 'ik')
  if ik and ik ~= '' then redis.call('EXPIRE', ik, ttl) end
  return status
end
`;

export const SUBMIT = `
-- KEYS[1] record  KEYS[2] idempotency key (or the record key when there is none)
-- KEYS[3] seq counter  KEYS[4] index (seq -> id)  KEYS[5] delayed zset  KEYS[6] outbox zset
-- ARGV[1] id  ARGV[2] static JSON  ARGV[3] fingerprint  ARGV[4] 'queued'|'delayed'
-- ARGV[5] due ms (delayed) or outbox re-publish time (queued)  ARGV[6] now ms
-- ARGV[7] '1' when an idempotency key is used  ARGV[8] parent id or ''  ARGV[9] record key prefix
-- ARGV[10] events channel  ARGV[11] queue  ARGV[12] priority  ARGV[13] tenant (its lane: topology.ts)
-- Returns {1, id} when created, {0, existingId, existingFingerprint} for a known key.
if ARGV[7] == '1' then
  local existing = redis.call('GET', KEYS[2])
  if existing then
    local fp = redis.call('HGET', ARGV[9] .. existing, 'fp')
    if fp then return {0, existing, fp} end
  end
  redis.call('SET', KEYS[2], ARGV[1])
end
local seq = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], 'd', ARGV[2], 'fp', ARGV[3], 's', ARGV[4], 'a', 0, 'g', 1, 'pr', ARGV[12], 'tn', ARGV[13], 'seq', seq, 'c', '',
  'ik', ARGV[7] == '1' and KEYS[2] or '')
redis.call('ZADD', KEYS[4], seq, ARGV[1])
if ARGV[4] == 'delayed' then
  redis.call('ZADD', KEYS[5], ARGV[5], ARGV[1])
else
  redis.call('ZADD', KEYS[6], ARGV[5], ARGV[1])
end
if ARGV[8] ~= '' then
  local parent = ARGV[9] .. ARGV[8]
  local c = redis.call('HGET', parent, 'c')
  if c then redis.call('HSET', parent, 'c', c == '' and ARGV[1] or (c .. ',' .. ARGV[1])) end
end
redis.call('PUBLISH', ARGV[10], 's|' .. ARGV[1] .. '|' .. ARGV[11] .. '|' .. ARGV[4] .. '|' .. ARGV[6])
return {1, ARGV[1]}
`;

export const START = `
-- KEYS[1] running zset (score = lease expiry)  KEYS[2] failed zset  KEYS[3] canceled zset
-- ARGV[1] now ms  ARGV[2] lease expiry ms  ARGV[3] startedAt ISO  ARGV[4] events channel  ARGV[5] queue
-- ARGV[6] record key prefix  ARGV[7] worker losses tolerated  ARGV[8] worker-lost error JSON
-- ARGV[9] result ttl s  ARGV[10] canceled error JSON
-- ARGV[11..] triples: id, generation carried by the message, run token
-- Claims a batch of deliveries. Returns six values per delivery, flat: d, n, c, p, e, a (what a
-- running task's record needs beyond what the caller knows: startedAt and the generation are its
-- own arguments; n counts every run started, the record's attempt; a the runs that count against
-- maxAttempts) when it should run, or false, 0, false, false, false, 0 when the message must be
-- dropped: unknown or expired task, stale generation, finished or canceled, or running elsewhere
-- on a live lease. (A leftover outbox entry of a started task is cleared by the relay, which only
-- publishes queued tasks.) Per delivery one HMGET reads both what decides and what is returned and
-- one HSET marks it running; the leases of the whole batch go in with one ZADD.
-- A running task whose lease expired before the relay saw it (its worker died, and its message
-- came back) is taken over as the relay would have requeued it: the lost attempt does not count,
-- the loss does, and past ARGV[7] losses the task is failed instead of run again. One whose
-- cancel was requested while it ran is canceled instead (its worker died before it could).
${IN_CHUNKS}
${END_IF_LOST}
local listened = redis.call('PUBSUB', 'NUMPAT') > 0 or redis.call('PUBSUB', 'NUMSUB', ARGV[4])[2] > 0
local out = {}
local leases = {}
-- Ids claimed by this call: their leases are written at the end, so a second copy of the same
-- message in the batch (a relay's republish arriving beside the original) must be dropped here.
local claimed = {}
local n = 0
for i = 11, #ARGV, 3 do
  local id = ARGV[i]
  local key = ARGV[6] .. id
  local r = redis.call('HMGET', key, 's', 'g', 'a', 'd', 'c', 'p', 'e', 'n')
  local s = r[1]
  local run = s and r[2] == ARGV[i + 1] and not claimed[id]
  local a = run and tonumber(r[3]) + 1
  if run and s == 'running' then
    local lease = redis.call('ZSCORE', KEYS[1], id)
    run = not (lease and tonumber(lease) > tonumber(ARGV[1]))
    if run then
      a = a - 1
      local ended = endIfLost(key, id, ARGV[7], ARGV[1], ARGV[3], KEYS[2], KEYS[3], ARGV[9], ARGV[8], ARGV[10])
      if ended then
        run = false
        redis.call('ZREM', KEYS[1], id)
        redis.call('PUBLISH', ARGV[4], 's|' .. id .. '|' .. ARGV[5] .. '|' .. ended .. '|' .. ARGV[1])
      end
    end
  elseif run then
    run = s == 'queued'
  end
  if run then
    local runs = (tonumber(r[8]) or tonumber(r[3])) + 1
    redis.call('HSET', key, 's', 'running', 'a', a, 'n', runs, 'st', ARGV[3], 'run', ARGV[i + 2], 'cr', '0')
    claimed[id] = true
    leases[#leases + 1] = ARGV[2]
    leases[#leases + 1] = id
    if listened then redis.call('PUBLISH', ARGV[4], 's|' .. id .. '|' .. ARGV[5] .. '|running|' .. ARGV[1]) end
    out[n + 1] = r[4]
    out[n + 2] = runs
    out[n + 3] = r[5]
    out[n + 4] = r[6]
    out[n + 5] = r[7]
    out[n + 6] = a
  else
    out[n + 1] = false
    out[n + 2] = 0
    out[n + 3] = false
    out[n + 4] = false
    out[n + 5] = false
    out[n + 6] = 0
  end
  n = n + 6
end
inChunks('ZADD', KEYS[1], leases, 2000)
return out
`;

export const FINISH = `
-- KEYS[1] running zset  KEYS[2] succeeded zset  KEYS[3] failed zset  KEYS[4] canceled zset
-- ARGV[1] finishedAt ISO  ARGV[2] now ms  ARGV[3] result ttl s  ARGV[4] events channel  ARGV[5] queue
-- ARGV[6] record key prefix  ARGV[7..] quintuples: id, run token, status, output JSON or '', error JSON or ''
-- Records outcomes of attempts holding their run token; for each returns 1, or 0 (changing
-- nothing) when another attempt took the task over, so an outcome is never recorded twice.
-- Per outcome the record is read, written and given its TTL; the state indexes of the whole
-- batch change with one ZREM and one ZADD per outcome kind.
${IN_CHUNKS}
local listened = redis.call('PUBSUB', 'NUMPAT') > 0 or redis.call('PUBSUB', 'NUMSUB', ARGV[4])[2] > 0
local out = {}
local done = {}
local succeeded = {}
local failed = {}
local canceled = {}
for i = 7, #ARGV, 5 do
  local id = ARGV[i]
  local key = ARGV[6] .. id
  local r = redis.call('HMGET', key, 's', 'run', 'ik')
  if r[1] == 'running' and r[2] == ARGV[i + 1] then
    local status = ARGV[i + 2]
    redis.call('HSET', key, 's', status, 'ft', ARGV[1], 'o', ARGV[i + 3], 'e', ARGV[i + 4], 'run', '')
    redis.call('EXPIRE', key, ARGV[3])
    if r[3] and r[3] ~= '' then redis.call('EXPIRE', r[3], ARGV[3]) end
    done[#done + 1] = id
    local into = status == 'succeeded' and succeeded or status == 'canceled' and canceled or failed
    into[#into + 1] = ARGV[2]
    into[#into + 1] = id
    if listened then redis.call('PUBLISH', ARGV[4], 's|' .. id .. '|' .. ARGV[5] .. '|' .. status .. '|' .. ARGV[2]) end
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
inChunks('ZREM', KEYS[1], done, 1000)
inChunks('ZADD', KEYS[2], succeeded, 2000)
inChunks('ZADD', KEYS[3], failed, 2000)
inChunks('ZADD', KEYS[4], canceled, 2000)
return out
`;

export const RETRY = `
-- KEYS[1] record  KEYS[2] running zset  KEYS[3] delayed zset
-- ARGV[1] id  ARGV[2] run token  ARGV[3] error JSON  ARGV[4] due ms  ARGV[5] now ms
-- ARGV[6] events channel  ARGV[7] queue
-- Puts a failed attempt on the schedule for its backoff; 0 when the run token is stale.
local r = redis.call('HMGET', KEYS[1], 's', 'run')
if r[1] ~= 'running' or r[2] ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 's', 'delayed', 'e', ARGV[3], 'run', '')
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
redis.call('PUBLISH', ARGV[6], 's|' .. ARGV[1] .. '|' .. ARGV[7] .. '|delayed|' .. ARGV[5])
return 1
`;

export const SUSPEND = `
-- KEYS[1] record  KEYS[2] running zset  KEYS[3] waiting zset
-- ARGV[1] id  ARGV[2] run token  ARGV[3] backstop wake ms  ARGV[4] now ms  ARGV[5] events channel
-- ARGV[6] queue
-- A parent waiting on its children: suspended (no slot held, the attempt does not count) until
-- WAKE or the backstop time; the relay then queues it with a new generation. 0 when stale.
local r = redis.call('HMGET', KEYS[1], 's', 'run')
if r[1] ~= 'running' or r[2] ~= ARGV[2] then return 0 end
redis.call('HINCRBY', KEYS[1], 'a', -1)
redis.call('HSET', KEYS[1], 's', 'waiting', 'run', '')
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('PUBLISH', ARGV[5], 's|' .. ARGV[1] .. '|' .. ARGV[6] .. '|waiting|' .. ARGV[4])
return 1
`;

export const WAKE = `
-- KEYS[1] record  KEYS[2] waiting zset
-- ARGV[1] id  ARGV[2] now ms
-- A child finished: its suspended parent comes due now (the relay queues it). 0 when not waiting.
if redis.call('HGET', KEYS[1], 's') ~= 'waiting' then return 0 end
redis.call('ZADD', KEYS[2], 'XX', ARGV[2], ARGV[1])
return 1
`;

export const REQUEUE = `
-- KEYS[1] record  KEYS[2] running zset
-- ARGV[1] id  ARGV[2] run token  ARGV[3] now ms  ARGV[4] events channel  ARGV[5] queue
-- An attempt interrupted by a closing consumer: back to queued, the attempt does not count.
-- The caller then returns the message to the broker (nack with requeue), same generation.
local r = redis.call('HMGET', KEYS[1], 's', 'run')
if r[1] ~= 'running' or r[2] ~= ARGV[2] then return 0 end
redis.call('HINCRBY', KEYS[1], 'a', -1)
redis.call('HSET', KEYS[1], 's', 'queued', 'run', '')
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[4], 's|' .. ARGV[1] .. '|' .. ARGV[5] .. '|queued|' .. ARGV[3])
return 1
`;

export const DISCARD = `
-- KEYS[1] record  KEYS[2] index  KEYS[3..5] succeeded, failed, canceled zsets  ARGV[1] id
-- Removes a finished task for good (the dead-letter queue's discard): 1, or 0 when the task is
-- unknown or not finished. Its idempotency key goes too, so the key may be used again.
local r = redis.call('HMGET', KEYS[1], 's', 'ik')
local s = r[1]
if s ~= 'succeeded' and s ~= 'failed' and s ~= 'canceled' then return 0 end
if r[2] and r[2] ~= '' then redis.call('DEL', r[2]) end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
return 1
`;

export const CANCEL = `
-- KEYS[1] record  KEYS[2] delayed zset  KEYS[3] outbox zset  KEYS[4] canceled zset
-- KEYS[5] waiting zset
-- ARGV[1] id  ARGV[2] now ms  ARGV[3] finishedAt ISO  ARGV[4] error JSON  ARGV[5] result ttl s
-- ARGV[6] events channel  ARGV[7] control channel  ARGV[8] queue
-- Queued/delayed/waiting: canceled at once (a broker message left behind is dropped on delivery).
-- Running: flags the record and tells every process, whose owner aborts the attempt.
-- Returns the status after the call, or false for an unknown task.
local r = redis.call('HMGET', KEYS[1], 's', 'ik')
local s = r[1]
if not s then return false end
if s == 'running' then
  redis.call('HSET', KEYS[1], 'cr', '1')
  redis.call('PUBLISH', ARGV[7], 'cancel|' .. ARGV[1])
  return s
end
if s ~= 'queued' and s ~= 'delayed' and s ~= 'waiting' then return s end
redis.call('HSET', KEYS[1], 's', 'canceled', 'ft', ARGV[3], 'e', ARGV[4])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[5])
if r[2] and r[2] ~= '' then redis.call('EXPIRE', r[2], ARGV[5]) end
redis.call('PUBLISH', ARGV[6], 's|' .. ARGV[1] .. '|' .. ARGV[8] .. '|canceled|' .. ARGV[2])
return 'canceled'
`;

export const PROGRESS = `
-- KEYS[1] record
-- ARGV[1] id  ARGV[2] run token  ARGV[3] progress JSON  ARGV[4] now ms  ARGV[5] events channel  ARGV[6] queue
local r = redis.call('HMGET', KEYS[1], 's', 'run')
if r[1] ~= 'running' or r[2] ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'p', ARGV[3])
redis.call('PUBLISH', ARGV[5], 'p|' .. ARGV[1] .. '|' .. ARGV[6] .. '|' .. ARGV[4] .. '|' .. ARGV[3])
return 1
`;

export const RENEW = `
-- KEYS[1] running zset
-- ARGV[1] lease expiry ms  ARGV[2] record key prefix  ARGV[3..] ids this process runs
-- Extends the leases of running attempts; returns the ids whose cancel was requested
-- (a backstop for a cancel message the subscriber missed).
local canceled = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  redis.call('ZADD', KEYS[1], 'XX', ARGV[1], id)
  if redis.call('HGET', ARGV[2] .. id, 'cr') == '1' then canceled[#canceled + 1] = id end
end
return canceled
`;

export const RELAY_CLAIM = `
-- KEYS[1] delayed zset  KEYS[2] outbox zset  KEYS[3] running zset  KEYS[4] failed zset
-- KEYS[5] canceled zset  KEYS[6] waiting zset
-- ARGV[1] now ms  ARGV[2] outbox lease ms  ARGV[3] batch limit  ARGV[4] record key prefix
-- ARGV[5] events channel  ARGV[6] queue  ARGV[7] worker losses tolerated  ARGV[8] finishedAt ISO
-- ARGV[9] worker-lost error JSON  ARGV[10] result ttl s  ARGV[11] canceled error JSON
-- 1. due delayed tasks and woken (or backstop-due) waiting parents become queued with a new
--    generation and enter the outbox;
-- 2. running tasks whose lease expired (their worker is gone) are requeued the same way, the
--    attempt not counted; a task whose workers were lost more than ARGV[7] times is failed
--    instead (a task that kills every worker that runs it must not loop forever), and one whose
--    cancel was requested while it ran is canceled (its worker died before it could);
-- 3. due outbox entries are leased for ARGV[2] ms and returned for publishing.
-- Returns {nextDueMs or -1, id1, gen1, priority1, tenant1 ('' for records older than lanes), id2, ...}.
${END_IF_LOST}
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[3])
local function ev(id, status)
  redis.call('PUBLISH', ARGV[5], 's|' .. id .. '|' .. ARGV[6] .. '|' .. status .. '|' .. ARGV[1])
end
for _, due in ipairs({{KEYS[1], 'delayed'}, {KEYS[6], 'waiting'}}) do
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', due[1], '-inf', now, 'LIMIT', 0, limit)) do
    local key = ARGV[4] .. id
    if redis.call('HGET', key, 's') == due[2] then
      redis.call('HSET', key, 's', 'queued')
      redis.call('HINCRBY', key, 'g', 1)
      redis.call('ZADD', KEYS[2], now, id)
      ev(id, 'queued')
    end
    redis.call('ZREM', due[1], id)
  end
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, limit)) do
  local key = ARGV[4] .. id
  if redis.call('HGET', key, 's') == 'running' then
    local ended = endIfLost(key, id, ARGV[7], now, ARGV[8], KEYS[4], KEYS[5], ARGV[10], ARGV[9], ARGV[11])
    if ended then
      ev(id, ended)
    else
      redis.call('HSET', key, 's', 'queued', 'run', '')
      redis.call('HINCRBY', key, 'a', -1)
      redis.call('HINCRBY', key, 'g', 1)
      redis.call('ZADD', KEYS[2], now, id)
      ev(id, 'queued')
    end
  end
  redis.call('ZREM', KEYS[3], id)
end
local out = {-1}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, limit)) do
  local r = redis.call('HMGET', ARGV[4] .. id, 's', 'g', 'pr', 'tn')
  if r[1] == 'queued' then
    redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), id)
    out[#out + 1] = id
    out[#out + 1] = r[2]
    out[#out + 1] = r[3]
    out[#out + 1] = r[4] or ''
  else
    redis.call('ZREM', KEYS[2], id)
  end
end
local nextDue = -1
for _, i in ipairs({1, 2, 3, 6}) do
  local head = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
  if head[2] then
    local at = tonumber(head[2])
    if nextDue < 0 or at < nextDue then nextDue = at end
  end
end
out[1] = nextDue
return out
`;

export const RELAY_DONE = `
-- KEYS[1] outbox zset
-- ARGV[1] record key prefix  ARGV[2..] pairs of id, generation that the broker confirmed
-- Removes outbox entries whose message is on the broker, unless the task has moved on to a
-- newer generation (which needs its own message).
local removed = 0
for i = 2, #ARGV, 2 do
  local g = redis.call('HGET', ARGV[1] .. ARGV[i], 'g')
  if not g or g == ARGV[i + 1] then
    removed = removed + redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return removed
`;
