/**
 * Lua for the cluster-wide limits. Each script runs atomically in Redis and reads the clock
 * with TIME, so every worker pod is judged by one clock, not by its own.
 */

export const ACQUIRE_LUA = `
-- Admits one request against several limits at once, or says how long to wait.
-- KEYS[2i-1] = sliding log (zset of admitted request ids scored by ms) for limit i
-- KEYS[2i]   = cooldown hash for limit i: until (ms), factor (0..1], changed (ms)
-- ARGV[1] = window ms, ARGV[2] = unique request id, ARGV[2+i] = limit i per window (0 = cooldown only)
-- Returns {0, 0} when admitted (the id is logged under every limit), else {waitMs, i}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local n = #KEYS / 2
local waitMs, which = 0, 0
for i = 1, n do
  local log, cool = KEYS[2 * i - 1], KEYS[2 * i]
  local limit = tonumber(ARGV[2 + i])
  local c = redis.call('HMGET', cool, 'until', 'factor', 'changed')
  local untilMs = tonumber(c[1]) or 0
  local factor = tonumber(c[2]) or 1
  local changed = tonumber(c[3]) or 0
  if untilMs > now and untilMs - now > waitMs then
    waitMs, which = untilMs - now, i
  end
  -- Probe back up: after a quiet window at a reduced rate, double it (capped at the full rate).
  if factor < 1 and untilMs <= now and now - changed >= window then
    factor = math.min(1, factor * 2)
    redis.call('HSET', cool, 'factor', tostring(factor), 'changed', tostring(now))
  end
  if limit > 0 then
    local effective = math.max(1, math.floor(limit * factor))
    redis.call('ZREMRANGEBYSCORE', log, '-inf', now - window)
    local count = redis.call('ZCARD', log)
    if count >= effective then
      local oldest = redis.call('ZRANGE', log, count - effective, count - effective, 'WITHSCORES')
      local w = tonumber(oldest[2]) + window - now + 1
      if w > waitMs then waitMs, which = w, i end
    end
    -- Pacing: admissions at least half an interval apart, so the window's budget is not spent
    -- as one burst (kinder to the target, and steadier as seen from its side).
    if count > 0 then
      local newest = redis.call('ZRANGE', log, -1, -1, 'WITHSCORES')
      local gap = math.floor(window / effective / 2)
      local w = tonumber(newest[2]) + gap - now
      if w > waitMs then waitMs, which = w, i end
    end
  end
end
if waitMs > 0 then return {waitMs, which} end
for i = 1, n do
  if tonumber(ARGV[2 + i]) > 0 then
    redis.call('ZADD', KEYS[2 * i - 1], now, ARGV[2])
    redis.call('PEXPIRE', KEYS[2 * i - 1], window)
  end
end
return {0, 0}
`;

export const PENALIZE_LUA = `
-- Slows one key down for every worker after a 429 / Retry-After: halves its rate and pauses it.
-- KEYS[1] = cooldown hash (until, factor, changed)
-- ARGV[1] = pause ms (Retry-After, or a default), ARGV[2] = window ms, ARGV[3] = lowest factor
-- Returns the pause end (ms).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local c = redis.call('HMGET', KEYS[1], 'until', 'factor')
local untilMs = math.max(tonumber(c[1]) or 0, now + tonumber(ARGV[1]))
local factor = math.max(tonumber(ARGV[3]), (tonumber(c[2]) or 1) / 2)
redis.call('HSET', KEYS[1], 'until', tostring(untilMs), 'factor', tostring(factor), 'changed', tostring(now))
-- Long enough for the probes back to full rate (log2(1/lowest) windows) after the pause.
redis.call('PEXPIRE', KEYS[1], untilMs - now + tonumber(ARGV[2]) * 8)
return untilMs
`;

export const SEMAPHORE_ACQUIRE_LUA = `
-- Takes a slot of a counting semaphore whose holders are leases that expire.
-- KEYS[1] = zset of holders scored by lease expiry (ms)
-- ARGV[1] = size, ARGV[2] = holder token, ARGV[3] = lease ms
-- Returns 1 when the slot is held, else 0. Expired leases (crashed workers) are reaped first.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[2]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
  return 1
end
return 0
`;

export const SEMAPHORE_RENEW_LUA = `
-- Extends a held lease; a lease already reaped is not resurrected.
-- KEYS[1] = zset of holders; ARGV[1] = holder token, ARGV[2] = lease ms
-- Returns 1 when renewed, 0 when the lease was lost.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not s or tonumber(s) <= now then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return 1
`;
