-- rescue: hands back running jobs of one queue whose lease expired before
-- now: cancelled when a cancel was requested while it ran, else queued at
-- now when attempts are left, failed otherwise, with an attempt error. Atomic, so a completion either lands first (the job is no
-- longer in the running set and stays completed) or after (fenced: the job
-- is no longer running). Lease fields stay; readers ignore them unless the
-- job is running. Running-set members are "RANDOM.N|ID" (see claim.lua); a
-- member without '|' (layout 1, before members carried the token) is the
-- ID itself.
-- KEYS: the per-queue keys (keys.go order): 1 ready, 2 scheduled, 3 retrying,
--   4 running, 5 completed, 6 failed, 7 cancelled, 8 paused, 9 ids.
-- ARGV: 1 job key prefix, 2 unique key prefix, 3 wake channel, 4 now (ns),
--   5 now (µs), 6 now (17-digit µs), 7 limit, 8 now (RFC 3339, for the error),
--   9 error message (a JSON string, quoted).
-- Returns: 3 values per rescued job: id, static data (the d field, which
--   names the kind), new state.
local jp, chan, now_ns, now_us, now_rs = ARGV[1], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local limit, at, msg = tonumber(ARGV[7]), ARGV[8], ARGV[9]
local members = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', '(' .. now_us, 'LIMIT', 0, limit)
local out = {}
local woke = false
for _, m in ipairs(members) do
  local id = string.sub(m, (string.find(m, '|', 1, true) or 0) + 1)
  local k = jp .. id
  redis.call('ZREM', KEYS[4], m)
  local f = redis.call('HMGET', k, 's', 'a', 'ma', 'd', 'p', 'e', 'cr')
  if f[1] == 'running' then
    local a = tonumber(f[2])
    local err = '{"attempt":' .. a .. ',"at":"' .. at .. '","message":' .. msg .. '}'
    local e = f[6]
    if not e or e == '' then
      e = '[' .. err .. ']'
    else
      e = string.sub(e, 1, -2) .. ',' .. err .. ']'
    end
    local state
    if f[7] == '1' or a >= tonumber(f[3]) then
      local set = KEYS[6]
      state = 'failed'
      if f[7] == '1' then
        set, state = KEYS[7], 'cancelled'
      end
      redis.call('HSET', k, 's', state, 'ft', now_ns, 'e', e)
      redis.call('HDEL', k, 'cr')
      redis.call('ZADD', set, now_us, id)
    else
      state = 'queued'
      redis.call('HSET', k, 's', state, 'r', now_ns, 'rs', now_rs, 'e', e)
      redis.call('ZADD', KEYS[1], -tonumber(f[5]), now_rs .. id)
      woke = true
    end
    out[#out + 1] = id
    out[#out + 1] = f[4]
    out[#out + 1] = state
  end
end
if woke then
  redis.call('PUBLISH', chan, '1')
end
return out
