-- purge: deletes up to LIMIT jobs of one queue that are not running (queued,
-- scheduled, retrying and finished ones), with their unique-key entries.
-- Called repeatedly until it returns nothing, so one call stays short.
-- KEYS: the per-queue keys (keys.go order): 1 ready, 2 scheduled, 3 retrying,
--   4 running, 5 completed, 6 failed, 7 cancelled, 8 paused, 9 ids.
-- ARGV: 1 job key prefix, 2 unique key prefix, 3 wake channel, 4 limit.
-- Returns: the IDs deleted.
local jp, up, limit = ARGV[1], ARGV[2], tonumber(ARGV[4])
local function bulk(cmd, key, list)
  for i = 1, #list, 1000 do
    if key then
      redis.call(cmd, key, unpack(list, i, math.min(i + 999, #list)))
    else
      redis.call(cmd, unpack(list, i, math.min(i + 999, #list)))
    end
  end
end
local out = {}
for _, idx in ipairs({ 1, 2, 3, 5, 6, 7 }) do
  if #out >= limit then
    break
  end
  local members = redis.call('ZRANGE', KEYS[idx], 0, limit - #out - 1)
  local jobs = {}
  for _, m in ipairs(members) do
    local id = m
    -- Ready: RUNAT(17)..ID; scheduled: ID; either maybe followed by NUL and
    -- a claim body (see lib_ready.lua).
    local from = 1
    if idx == 1 then
      from = 18
    end
    if idx <= 2 then
      local z = string.find(m, '\0', from, true)
      id = string.sub(m, from, (z or 0) - 1)
    end
    local k = jp .. id
    local uk = redis.call('HGET', k, 'uk')
    if uk then
      redis.call('SREM', up .. uk, id)
    end
    jobs[#jobs + 1] = k
    out[#out + 1] = id
  end
  bulk('DEL', nil, jobs)
  bulk('ZREM', KEYS[idx], members)
end
bulk('ZREM', KEYS[9], out)
return out
