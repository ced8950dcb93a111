-- claim: takes up to LIMIT claimable jobs of one queue in claim order
-- (priority desc, run_at asc, id asc) and marks them running under a fresh
-- lease. Scheduled and retrying jobs that are due are promoted first, so a
-- claim never needs a separate promoter. A paused queue yields nothing.
-- KEYS: the per-queue keys (keys.go order): 1 ready, 2 scheduled, 3 retrying,
--   4 running, 5 completed, 6 failed, 7 cancelled, 8 paused, 9 ids.
-- ARGV: 1 job key prefix, 2 unique key prefix, 3 wake channel, 4 the L
--   field of the claimed jobs ("STARTED_NS|EXPIRY_NS|OWNER"), 5 now (µs),
--   6 limit, 7 lease token base "QUEUE|RANDOM." (the i-th job gets base..i),
--   8 lease expiry (µs), 9 promote limit, 10 the token base's part after
--   its last '|' ("RANDOM."): the i-th job's member in the running set is
--   "RANDOM.i|ID", so finish fences a whole batch with one ZMSCORE.
-- Returns: 3 values per claimed job, in one flat array (a nested array per
--   job costs the server more to reply): id, N (its lease token is
--   base..N), and either the job's claim body (a string, see enqueue.lua:
--   the job was not claimed since enqueue, so its attempt was 0 and it has
--   no errors, result, progress or cancel request; the body leaves with
--   the ready-set member, as the job hash is the record from now on) or,
--   for any other job (one that was claimed or retried before, or
--   enqueued before layout 4 or with a large body), an array of its hash fields a (before the claim), d, g, m, ma, r,
--   e, res, pg, cr (false when absent). The caller applies the claim's own
--   changes (state running, attempt + 1, started_at, lease owner, token and
--   expiry) itself.
local jp = ARGV[1]
local lease, now_us, limit = ARGV[4], ARGV[5], tonumber(ARGV[6])
local token_base, exp_us, promote_limit, member_base = ARGV[7], ARGV[8], tonumber(ARGV[9]), ARGV[10]
if redis.call('EXISTS', KEYS[8]) == 1 or limit <= 0 then
  return {}
end
-- bulk runs cmd on key with list's elements as arguments, in chunks (Lua's
-- unpack has a stack limit); chunks stay even so ZADD pairs are not split.
local function bulk(cmd, key, list)
  for i = 1, #list, 1000 do
    redis.call(cmd, key, unpack(list, i, math.min(i + 999, #list)))
  end
end
local function promote(set)
  local due = redis.call('ZRANGEBYSCORE', set, '-inf', now_us, 'LIMIT', 0, promote_limit)
  if #due == 0 then
    return
  end
  local ready = {}
  for _, m in ipairs(due) do
    -- A member is the ID, then for a job not claimed since enqueue NUL and
    -- its claim body, which the ready member keeps (see enqueue.lua).
    local id, body = m, ''
    local z = string.find(m, '\0', 1, true)
    if z then
      id, body = string.sub(m, 1, z - 1), string.sub(m, z)
    end
    local k = jp .. id
    local f = redis.call('HMGET', k, 'p', 'rs')
    if f[2] then
      redis.call('HSET', k, 's', 'queued')
      ready[#ready + 1] = -tonumber(f[1])
      ready[#ready + 1] = f[2] .. id .. body
    end
  end
  bulk('ZREM', set, due)
  bulk('ZADD', KEYS[1], ready)
end
promote(KEYS[2])
promote(KEYS[3])
local members = redis.call('ZRANGE', KEYS[1], 0, limit - 1)
if #members == 0 then
  return {}
end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, #members - 1)
-- A member is RUNAT(17)..ID, then for a job not claimed since enqueue a
-- NUL byte and its claim body (see enqueue.lua).
local ids, bodies = {}, {}
for i, m in ipairs(members) do
  local z = string.find(m, '\0', 18, true)
  if z then
    ids[i], bodies[i] = string.sub(m, 18, z - 1), string.sub(m, z + 1)
  else
    ids[i], bodies[i] = string.sub(m, 18), false
  end
end
local out = {}
local running = {}
for i, id in ipairs(ids) do
  local k = jp .. id
  -- Numbers are formatted with '%d': Lua's own number-to-string
  -- conversion goes through the C library's float formatting, which the
  -- server profile showed as several percent of a claim.
  local num = string.format('%d', i)
  local payload = bodies[i]
  if payload then
    -- Never claimed since enqueue: the body is all the caller needs, and
    -- the attempt was 0.
    redis.call('HSET', k, 's', 'running', 'a', '1', 'lt', token_base .. num, 'L', lease)
  else
    local job = redis.call('HMGET', k, 'a', 'd', 'g', 'm', 'ma', 'r', 'e', 'res', 'pg', 'cr')
    if job[1] then
      if not job[3] then
        -- no g: the first layout-1 builds kept the args in x (one more
        -- read for those old records only)
        job[3] = redis.call('HGET', k, 'x')
      end
      local attempt = string.format('%d', tonumber(job[1]) + 1)
      redis.call('HSET', k, 's', 'running', 'a', attempt, 'lt', token_base .. num, 'L', lease)
      payload = job
    end
  end
  if payload then
    running[#running + 1] = exp_us
    running[#running + 1] = member_base .. num .. '|' .. id
    local n = #out
    out[n + 1], out[n + 2], out[n + 3] = id, i, payload
  end
end
bulk('ZADD', KEYS[4], running)
return out
