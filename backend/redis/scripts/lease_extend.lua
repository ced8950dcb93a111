-- lease_extend: pushes the expiry of many leases of one queue, fenced by
-- token, storing progress when given.
-- KEYS: the per-queue keys (keys.go order): 1 ready, 2 scheduled, 3 retrying,
--   4 running, 5 completed, 6 failed, 7 cancelled, 8 paused, 9 ids.
-- ARGV: 1 job key prefix, 2 unique key prefix, 3 wake channel, 4 new expiry
--   (ns), 5 new expiry (µs), then 3 values per lease: id, lease token,
--   progress JSON ('' = keep). The expiry is the middle part of the L field
--   ("STARTED_NS|EXPIRY_NS|OWNER").
-- Returns: one code per lease, in order: 0 lost, 1 extended, 2 extended and
--   cancel requested.
-- Fencing checks the job hash and the running-set member "RANDOM.N|ID" (see
-- claim.lua), whose score is the expiry; a lease claimed under layout 1
-- (member = ID) is reported lost rather than given a second member.
local jp, exp_ns, exp_us = ARGV[1], ARGV[4], ARGV[5]
local out = {}
for i = 6, #ARGV, 3 do
  local id, tok, progress = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local k = jp .. id
  local f = redis.call('HMGET', k, 's', 'lt', 'cr', 'L')
  local m = string.match(tok, '[^|]*$') .. '|' .. id
  if f[1] == 'running' and f[2] == tok and redis.call('ZSCORE', KEYS[4], m) then
    local started, owner = string.match(f[4] or '', '^([^|]*)|[^|]*|(.*)$')
    local lease = (started or '') .. '|' .. exp_ns .. '|' .. (owner or '')
    if progress ~= '' then
      redis.call('HSET', k, 'L', lease, 'pg', progress)
    else
      redis.call('HSET', k, 'L', lease)
    end
    redis.call('ZADD', KEYS[4], 'XX', exp_us, m)
    if f[3] == '1' then
      out[#out + 1] = 2
    else
      out[#out + 1] = 1
    end
  else
    out[#out + 1] = 0
  end
end
return out
