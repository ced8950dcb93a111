-- promote: moves scheduled and retrying jobs of one queue whose run_at is due
-- to queued, and wakes watchers when any moved.
-- KEYS: the per-queue keys (keys.go order): 1 ready, 2 scheduled, 3 retrying,
--   4 running, 5 completed, 6 failed, 7 cancelled, 8 paused, 9 ids.
-- ARGV: 1 job key prefix, 2 unique key prefix, 3 wake channel, 4 now (µs),
--   5 limit (per set).
-- Returns: the number of jobs promoted.
local jp, chan, now_us, limit = ARGV[1], ARGV[3], ARGV[4], tonumber(ARGV[5])
local n = 0
for _, set in ipairs({ KEYS[2], KEYS[3] }) do
  local due = {}
  if limit - n > 0 then
    due = redis.call('ZRANGEBYSCORE', set, '-inf', now_us, 'LIMIT', 0, limit - n)
  end
  for _, m in ipairs(due) do
    -- A member is the ID, then for a job not claimed since enqueue NUL and
    -- its claim body, which the ready member keeps (see enqueue.lua).
    local id, body = m, ''
    local z = string.find(m, '\0', 1, true)
    if z then
      id, body = string.sub(m, 1, z - 1), string.sub(m, z)
    end
    local k = jp .. id
    local f = redis.call('HMGET', k, 'p', 'rs')
    redis.call('ZREM', set, m)
    if f[2] then
      redis.call('HSET', k, 's', 'queued')
      redis.call('ZADD', KEYS[1], -tonumber(f[1]), f[2] .. id .. body)
      n = n + 1
    end
  end
end
if n > 0 then
  redis.call('PUBLISH', chan, '1')
end
return n
