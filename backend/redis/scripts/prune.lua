-- prune: deletes up to LIMIT jobs of one queue in one final state that
-- finished before a time, with their unique-key entries.
-- KEYS: the per-queue keys (keys.go order): 1 ready, 2 scheduled, 3 retrying,
--   4 running, 5 completed, 6 failed, 7 cancelled, 8 paused, 9 ids.
-- ARGV: 1 job key prefix, 2 unique key prefix, 3 wake channel, 4 the index
--   into KEYS of the state's set (5, 6 or 7), 5 finished before (µs,
--   exclusive), 6 limit.
-- Returns: the IDs deleted.
local jp, up = ARGV[1], ARGV[2]
local set = KEYS[tonumber(ARGV[4])]
local ids = redis.call('ZRANGEBYSCORE', set, '-inf', '(' .. ARGV[5], 'LIMIT', 0, tonumber(ARGV[6]))
local jobs = {}
for _, id in ipairs(ids) do
  local k = jp .. id
  local uk = redis.call('HGET', k, 'uk')
  if uk then
    redis.call('SREM', up .. uk, id)
  end
  jobs[#jobs + 1] = k
end
for i = 1, #ids, 1000 do
  local j = math.min(i + 999, #ids)
  redis.call('DEL', unpack(jobs, i, j))
  redis.call('ZREM', set, unpack(ids, i, j))
  redis.call('ZREM', KEYS[9], unpack(ids, i, j))
end
return ids
