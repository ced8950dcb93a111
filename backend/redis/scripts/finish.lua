-- finish: records the outcomes of many attempts of one queue, each fenced by
-- its lease token: a job changes only while it runs under that token.
-- A second outcome for the same claim is rejected like a stale one. The
-- lease fields are left in place (one HSET per job): they mean nothing once
-- the state is not running, and readers ignore them then.
-- KEYS: the per-queue keys (keys.go order): 1 ready, 2 scheduled, 3 retrying,
--   4 running, 5 completed, 6 failed, 7 cancelled, 8 paused, 9 ids.
-- ARGV: 1 job key prefix, 2 unique key prefix, 3 wake channel, 4 now (ns),
--   5 now (µs), then 8 values per outcome: id, lease token, outcome
--   (completed|retry|failed|cancelled|snoozed), result JSON ('' = none),
--   attempt error JSON ('' = none), run_at (ns), run_at (µs), run_at (17-digit
--   µs) — the run_at values matter for retry and snoozed only.
-- Returns: the IDs whose lease was lost (nothing changed for them).
local jp, chan, now_ns, now_us = ARGV[1], ARGV[3], ARGV[4], ARGV[5]
local final_set = { completed = 5, failed = 6, cancelled = 7 }
local adds = { {}, {}, {}, {}, {}, {}, {} } -- per KEYS index: score, member pairs
local done = {}
local lost = {}
for i = 6, #ARGV, 8 do
  local id, tok, oc, res, err = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local k = jp .. id
  local f = redis.call('HMGET', k, 's', 'lt', 'cr')
  if f[1] ~= 'running' or f[2] ~= tok then
    lost[#lost + 1] = id
  else
    done[#done + 1] = id
    local h
    local set = final_set[oc]
    if set then
      h = { 's', oc, 'ft', now_ns }
      if f[3] then
        redis.call('HDEL', k, 'cr')
      end
      if res ~= '' then
        h[#h + 1] = 'res'
        h[#h + 1] = res
      end
      adds[set][#adds[set] + 1] = now_us
      adds[set][#adds[set] + 1] = id
    else
      local run_ns, run_us, run_rs = ARGV[i + 5], ARGV[i + 6], ARGV[i + 7]
      h = { 'r', run_ns, 'rs', run_rs }
      if oc == 'retry' then
        set = 3
      elseif oc == 'snoozed' then
        h[#h + 1] = 'a'
        h[#h + 1] = tonumber(redis.call('HGET', k, 'a')) - 1
        if tonumber(run_us) <= tonumber(now_us) then
          set = 1
        else
          set = 2
        end
      else
        return redis.error_reply('finish: unknown outcome ' .. oc)
      end
      local states = { 'queued', 'scheduled', 'retrying' }
      h[#h + 1] = 's'
      h[#h + 1] = states[set]
      if set == 1 then
        adds[1][#adds[1] + 1] = -tonumber(redis.call('HGET', k, 'p'))
        adds[1][#adds[1] + 1] = run_rs .. id
      else
        adds[set][#adds[set] + 1] = run_us
        adds[set][#adds[set] + 1] = id
      end
    end
    if err ~= '' then
      -- Read only when needed: the common (completed) path names 3 fields.
      local e = redis.call('HGET', k, 'e')
      if not e or e == '' then
        e = '[' .. err .. ']'
      else
        e = string.sub(e, 1, -2) .. ',' .. err .. ']'
      end
      h[#h + 1] = 'e'
      h[#h + 1] = e
    end
    redis.call('HSET', k, unpack(h))
  end
end
local function bulk(cmd, key, list)
  for i = 1, #list, 1000 do
    redis.call(cmd, key, unpack(list, i, math.min(i + 999, #list)))
  end
end
bulk('ZREM', KEYS[4], done)
for set, list in ipairs(adds) do
  bulk('ZADD', KEYS[set], list)
end
if #adds[1] > 0 then
  redis.call('PUBLISH', chan, '1')
end
return lost
