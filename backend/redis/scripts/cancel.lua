-- cancel: cancels one job. Scheduled, queued and retrying jobs become
-- cancelled at once; a running job gets the cancel-requested flag, which the
-- next lease extension reports to its worker. Runs with lib_ready.lua
-- prepended.
-- KEYS: the per-queue keys (keys.go order): 1 ready, 2 scheduled, 3 retrying,
--   4 running, 5 completed, 6 failed, 7 cancelled, 8 paused, 9 ids.
-- ARGV: 1 job key prefix, 2 unique key prefix, 3 wake channel, 4 id,
--   5 now (ns), 6 now (µs).
-- Returns: {0} not found; {2, state} wrong state (final); {1, job} where job
--   is the job hash in HGETALL form after the change.
local k = ARGV[1] .. ARGV[4]
local id, now_ns, now_us = ARGV[4], ARGV[5], ARGV[6]
local f = redis.call('HMGET', k, 's', 'rs', 'r', 'ma', 'd', 'g', 'm', 'p')
local s = f[1]
if not s then
  return { 0 }
end
local fields = { r = f[3], ma = f[4], d = f[5], g = f[6], m = f[7] }
if s == 'running' and redis.call('ZSCORE', KEYS[5], id) then
  s = 'completed' -- a short-form completion (see finish.lua)
end
if s == 'running' then
  redis.call('HSET', k, 'cr', '1')
elseif s == 'queued' or s == 'scheduled' or s == 'retrying' then
  if s == 'queued' then
    fresh_remove(KEYS[1], f[2] .. id, -(tonumber(f[8]) or 0), fields)
  elseif s == 'scheduled' then
    fresh_remove(KEYS[2], id, f[2], fields)
  else
    redis.call('ZREM', KEYS[3], id)
  end
  redis.call('HSET', k, 's', 'cancelled', 'ft', now_ns)
  redis.call('ZADD', KEYS[7], now_us, id)
else
  return { 2, s }
end
return { 1, redis.call('HGETALL', k) }
