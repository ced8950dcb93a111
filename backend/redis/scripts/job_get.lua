-- job_get: reads job records of one queue, with the state of a completion
-- finish.lua recorded in the short form filled in. That form writes no job
-- hash: it moves the job from the running set to the completed set only, so
-- a hash that still says running while the completed set holds the ID is a
-- completed job, finished at its score there, with no lease and no cancel
-- request.
-- KEYS: the per-queue keys (keys.go order): 1 ready, 2 scheduled, 3 retrying,
--   4 running, 5 completed, 6 failed, 7 cancelled, 8 paused, 9 ids.
-- ARGV: 1 job key prefix, 2 unique key prefix, 3 wake channel, then the IDs.
-- Returns: per ID, its hash in HGETALL form ({} when there is no such job);
--   a completed job's s, ft (ns) and cr come last and override the stored
--   ones.
local jp = ARGV[1]
local out = {}
for i = 4, #ARGV do
  local id = ARGV[i]
  local h = redis.call('HGETALL', jp .. id)
  if #h > 0 then
    local s = nil
    for f = 1, #h, 2 do
      if h[f] == 's' then
        s = h[f + 1]
        break
      end
    end
    if s == 'running' then
      local ft = redis.call('ZSCORE', KEYS[5], id)
      if ft then
        local n = #h
        h[n + 1], h[n + 2] = 's', 'completed'
        -- the score is integer µs; append the zeros as text, since µs
        -- times 1000 (~2e18) is not exact in a double
        h[n + 3], h[n + 4] = 'ft', string.format('%d', tonumber(ft)) .. '000'
        h[n + 5], h[n + 6] = 'cr', ''
      end
    end
  end
  out[#out + 1] = h
end
return out
