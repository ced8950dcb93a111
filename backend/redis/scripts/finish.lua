-- finish: records the outcomes of many attempts of one queue, each fenced by
-- its lease token: a job changes only while it runs under that token.
-- A second outcome for the same claim is rejected like a stale one.
-- Fencing reads no job hash: a job runs under token "QUEUE|RANDOM.N" exactly
-- while the queue's running set holds the member "RANDOM.N|ID" (claim adds
-- it; finish and rescue remove it), so one ZMSCORE checks the whole batch.
-- The common outcome (completed, no result, no error: the short form)
-- writes no job hash at all: the job only moves from the running set to
-- the completed set, whose score is its finished_at. Its hash keeps saying
-- running; every reader takes "hash says running and the completed set
-- holds the ID" as completed (job_get.lua, enqueue's unique check, cancel,
-- retry, delete). That saves the server one HSET per job, a quarter of the
-- cost of a claim plus finish. Other outcomes write the hash; the lease
-- fields are left in place there (readers ignore them unless running), and
-- a final outcome clears the cancel-requested flag by setting it to ''
-- (readers take only '1' as set) in the same HSET rather than reading it.
-- KEYS: the per-queue keys (keys.go order): 1 ready, 2 scheduled, 3 retrying,
--   4 running, 5 completed, 6 failed, 7 cancelled, 8 paused, 9 ids.
-- ARGV: 1 job key prefix, 2 unique key prefix, 3 wake channel, 4 now (ns),
--   5 now (µs), 6 the number N of short-form outcomes, then N running-set
--   members ("RANDOM.N|ID") of jobs completed with no result and no error
--   (the common case in one argument: each argument costs the server about
--   half a µs to parse), then 7 values per other outcome: running-set
--   member, outcome (completed|retry|failed|cancelled|snoozed), result JSON
--   ('' = none), attempt error JSON ('' = none), run_at (ns), run_at (µs),
--   run_at (17-digit µs) — the run_at values matter for retry and snoozed
--   only. A retry or snoozed outcome of a job whose cancel was requested
--   (cr) ends it cancelled instead.
-- Returns: {lost, cancelled}: the IDs whose lease was lost (nothing changed
--   for them), and those whose retry or snoozed outcome ended cancelled.
local jp, chan, now_ns, now_us = ARGV[1], ARGV[3], ARGV[4], ARGV[5]
local final_set = { completed = 5, failed = 6, cancelled = 7 }
local known = { completed = true, failed = true, cancelled = true, retry = true, snoozed = true }
local short_end = 7 + tonumber(ARGV[6]) -- first index after the short form
-- The outcomes as {member, first ARGV index of the long form or nil}.
local members, long_at = {}, {}
for i = 7, short_end - 1 do
  members[#members + 1] = ARGV[i]
end
for i = short_end, #ARGV, 7 do
  if not known[ARGV[i + 1]] then
    return redis.error_reply('finish: unknown outcome ' .. ARGV[i + 1])
  end
  members[#members + 1] = ARGV[i]
  long_at[#members] = i
end
local scores = {}
for i = 1, #members, 1000 do
  local part = redis.call('ZMSCORE', KEYS[4], unpack(members, i, math.min(i + 999, #members)))
  for j = 1, #part do
    scores[i + j - 1] = part[j]
  end
end
local adds = { {}, {}, {}, {}, {}, {}, {} } -- per KEYS index: score, member pairs
local cancelled = {}
-- long records the outcome whose 7 values start at ARGV[i] in the job hash
-- and queues the job's move to the set of its new state.
local function long(id, i)
  local k = jp .. id
  local oc, res, err = ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  if (oc == 'retry' or oc == 'snoozed') and redis.call('HGET', k, 'cr') == '1' then
    oc = 'cancelled' -- its cancel was requested during this run: never retrying (DESIGN §2)
    cancelled[#cancelled + 1] = id
  end
  local h
  local set = final_set[oc]
  if set then
    h = { 's', oc, 'ft', now_ns, 'cr', '' }
    if res ~= '' then
      h[#h + 1] = 'res'
      h[#h + 1] = res
    end
    adds[set][#adds[set] + 1] = now_us
    adds[set][#adds[set] + 1] = id
  else
    local run_ns, run_us, run_rs = ARGV[i + 4], ARGV[i + 5], ARGV[i + 6]
    h = { 'r', run_ns, 'rs', run_rs }
    if oc == 'retry' then
      set = 3
    else -- snoozed
      h[#h + 1] = 'a'
      h[#h + 1] = tonumber(redis.call('HGET', k, 'a')) - 1
      if tonumber(run_us) <= tonumber(now_us) then
        set = 1
      else
        set = 2
      end
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
    -- Read only when needed: the common (completed) path reads nothing.
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
local completed = adds[5]
local done = {}
local seen = {}
local lost = {}
for n, m in ipairs(members) do
  local id = string.sub(m, (string.find(m, '|', 1, true) or 0) + 1)
  if not scores[n] or seen[m] then
    lost[#lost + 1] = id
  else
    seen[m] = true
    done[#done + 1] = m
    local i = long_at[n]
    if i then
      long(id, i)
    else -- the short form: no job hash write (see above)
      completed[#completed + 1] = now_us
      completed[#completed + 1] = id
    end
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
return { lost, cancelled }
