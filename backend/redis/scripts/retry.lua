-- retry: makes a failed, cancelled or completed job queued again at now
-- (max attempts raised to attempt+1 when exhausted), or a scheduled or
-- retrying job due now; wakes watchers. Runs with lib_ready.lua prepended.
-- KEYS: the per-queue keys (keys.go order): 1 ready, 2 scheduled, 3 retrying,
--   4 running, 5 completed, 6 failed, 7 cancelled, 8 paused, 9 ids.
-- ARGV: 1 job key prefix, 2 unique key prefix, 3 wake channel, 4 id,
--   5 now (ns), 6 now (17-digit µs).
-- Returns: {0} not found; {2, state} wrong state (queued, running); {1, job}
--   where job is the job hash in HGETALL form after the change.
local k = ARGV[1] .. ARGV[4]
local id, now_ns, now_rs = ARGV[4], ARGV[5], ARGV[6]
local f = redis.call('HMGET', k, 's', 'a', 'ma', 'p', 'rs', 'r', 'd', 'g', 'm')
local s = f[1]
if not s then
  return { 0 }
end
if s == 'running' and redis.call('ZSCORE', KEYS[5], id) then
  s = 'completed' -- a short-form completion (see finish.lua)
end
if s == 'completed' then
  redis.call('ZREM', KEYS[5], id)
elseif s == 'failed' then
  redis.call('ZREM', KEYS[6], id)
elseif s == 'cancelled' then
  redis.call('ZREM', KEYS[7], id)
elseif s == 'scheduled' then
  fresh_remove(KEYS[2], id, f[5], { r = f[6], ma = f[3], d = f[7], g = f[8], m = f[9] })
elseif s == 'retrying' then
  redis.call('ZREM', KEYS[3], id)
else
  return { 2, s }
end
if tonumber(f[2]) >= tonumber(f[3]) then
  redis.call('HSET', k, 'ma', tonumber(f[2]) + 1)
end
redis.call('HSET', k, 's', 'queued', 'r', now_ns, 'rs', now_rs)
redis.call('HDEL', k, 'ft', 'cr', 'res') -- a plain completion of the rerun writes no hash (see finish.lua)
redis.call('ZADD', KEYS[1], -tonumber(f[4]), now_rs .. id)
redis.call('PUBLISH', ARGV[3], '1')
return { 1, redis.call('HGETALL', k) }
