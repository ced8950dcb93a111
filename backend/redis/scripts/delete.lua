-- delete: removes one job that is not running, with its unique-key entry.
-- Runs with lib_ready.lua prepended.
-- KEYS: the per-queue keys (keys.go order): 1 ready, 2 scheduled, 3 retrying,
--   4 running, 5 completed, 6 failed, 7 cancelled, 8 paused, 9 ids.
-- ARGV: 1 job key prefix, 2 unique key prefix, 3 wake channel, 4 id.
-- Returns: 0 not found, 1 deleted, 2 running (not deleted).
local id = ARGV[4]
local k = ARGV[1] .. id
local f = redis.call('HMGET', k, 's', 'rs', 'uk', 'r', 'ma', 'd', 'g', 'm', 'p')
local s = f[1]
if not s then
  return 0
end
if s == 'running' and redis.call('ZSCORE', KEYS[5], id) then
  s = 'completed' -- a short-form completion (see finish.lua)
end
if s == 'running' then
  return 2
end
local sets = { queued = 1, scheduled = 2, retrying = 3, completed = 5, failed = 6, cancelled = 7 }
local fields = { r = f[4], ma = f[5], d = f[6], g = f[7], m = f[8] }
if s == 'queued' then
  fresh_remove(KEYS[1], f[2] .. id, -(tonumber(f[9]) or 0), fields)
elseif s == 'scheduled' then
  fresh_remove(KEYS[2], id, f[2], fields)
else
  redis.call('ZREM', KEYS[sets[s]], id)
end
if f[3] then
  redis.call('SREM', ARGV[2] .. f[3], id)
end
redis.call('DEL', k)
redis.call('ZREM', KEYS[9], id)
return 1
