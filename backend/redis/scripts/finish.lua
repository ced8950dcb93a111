-- finish: records the outcomes of many attempts of one queue, each fenced by
-- its lease token: a job changes only while it runs under that token.
-- A second outcome for the same claim is rejected like a stale one.
-- KEYS: the per-queue keys (keys.go order): 1 ready, 2 scheduled, 3 retrying,
--   4 running, 5 completed, 6 failed, 7 cancelled, 8 paused.
-- ARGV: 1 job key prefix, 2 unique key prefix, 3 wake channel, 4 now (ns),
--   5 now (µs), then 8 values per outcome: id, lease token, outcome
--   (completed|retry|failed|cancelled|snoozed), result JSON ('' = none),
--   attempt error JSON ('' = none), run_at (ns), run_at (µs), run_at (17-digit
--   µs) — the run_at values matter for retry and snoozed only.
-- Returns: the IDs whose lease was lost (nothing changed for them).
local jp, chan, now_ns, now_us = ARGV[1], ARGV[3], ARGV[4], ARGV[5]
local lost = {}
local woke = false
for i = 6, #ARGV, 8 do
  local id, tok, oc, res, err = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local run_ns, run_us, run_rs = ARGV[i + 5], ARGV[i + 6], ARGV[i + 7]
  local k = jp .. id
  local f = redis.call('HMGET', k, 's', 'lt', 'p', 'e')
  if f[1] ~= 'running' or f[2] ~= tok then
    lost[#lost + 1] = id
  else
    redis.call('ZREM', KEYS[4], id)
    redis.call('HDEL', k, 'lo', 'lt', 'le')
    if err ~= '' then
      local e = f[4]
      if not e or e == '' then
        e = '[' .. err .. ']'
      else
        e = string.sub(e, 1, -2) .. ',' .. err .. ']'
      end
      redis.call('HSET', k, 'e', e)
    end
    if oc == 'completed' or oc == 'failed' or oc == 'cancelled' then
      redis.call('HSET', k, 's', oc, 'ft', now_ns)
      redis.call('HDEL', k, 'cr')
      if oc == 'completed' then
        if res ~= '' then
          redis.call('HSET', k, 'res', res)
        end
        redis.call('ZADD', KEYS[5], now_us, id)
      elseif oc == 'failed' then
        redis.call('ZADD', KEYS[6], now_us, id)
      else
        redis.call('ZADD', KEYS[7], now_us, id)
      end
    elseif oc == 'retry' then
      redis.call('HSET', k, 's', 'retrying', 'r', run_ns, 'rs', run_rs)
      redis.call('ZADD', KEYS[3], run_us, id)
    elseif oc == 'snoozed' then
      redis.call('HINCRBY', k, 'a', -1)
      redis.call('HSET', k, 'r', run_ns, 'rs', run_rs)
      if tonumber(run_us) <= tonumber(now_us) then
        redis.call('HSET', k, 's', 'queued')
        redis.call('ZADD', KEYS[1], -tonumber(f[3]), run_rs .. id)
        woke = true
      else
        redis.call('HSET', k, 's', 'scheduled')
        redis.call('ZADD', KEYS[2], run_us, id)
      end
    else
      return redis.error_reply('finish: unknown outcome ' .. oc)
    end
  end
end
if woke then
  redis.call('PUBLISH', chan, '1')
end
return lost
