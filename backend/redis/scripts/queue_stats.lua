-- queue_stats: counts the jobs of one queue per state and finds the oldest
-- run_at among its queued jobs. The ready set is ordered by priority first,
-- so the oldest is the smallest first member among the distinct priorities
-- (one ZRANGEBYSCORE hop per priority level in use).
-- KEYS: the per-queue keys (keys.go order): 1 ready, 2 scheduled, 3 retrying,
--   4 running, 5 completed, 6 failed, 7 cancelled, 8 paused, 9 ids.
-- ARGV: none.
-- Returns: {queued, scheduled, retrying, running, completed, failed,
--   cancelled, paused (0|1), oldest queued run_at (17-digit µs, '' if none)}.
local out = {}
for _, idx in ipairs({ 1, 2, 3, 4, 5, 6, 7 }) do
  out[#out + 1] = redis.call('ZCARD', KEYS[idx])
end
out[#out + 1] = redis.call('EXISTS', KEYS[8])
local oldest = ''
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
while first[1] do
  local rs = string.sub(first[1], 1, 17)
  if oldest == '' or rs < oldest then
    oldest = rs
  end
  first = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. first[2], '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
end
out[#out + 1] = oldest
return out
