-- enqueue: stores a batch of jobs of one queue atomically, enforcing unique
-- keys, and wakes watchers when a job became queued.
-- KEYS: the per-queue keys (keys.go order): 1 ready, 2 scheduled, 3 retrying,
--   4 running, 5 completed, 6 failed, 7 cancelled, 8 paused, 9 ids.
-- ARGV: 1 job key prefix, 2 unique key prefix, 3 wake channel, then 12
--   values per job: id, static JSON (d), args (g), meta (m, '' = none),
--   priority, max attempts, run_at (ns), run_at (17-digit µs: the ready
--   member prefix, and the scheduled set's score), unique key ('' = none), unique states (",a,b,"
--   form), scheduled (1 if run_at is after the enqueuer's now, else 0;
--   decided by the caller, since one call may carry the jobs of several
--   enqueuers with different nows), the head of the claim body ('' =
--   none) ("RUN_NS|MAX_ATTEMPTS|LEN:LEN:", to which the static JSON, args and
--   meta are appended; a job's ready- or scheduled-set member carries it
--   after a NUL byte, so claim.lua gets it with the member instead of
--   reading the job hash; see doc.go). The static JSON, args and meta are
--   separate fields so that a small job's every value stays within the
--   server's hash-max-listpack-value (64 bytes by default): the hash is
--   then a compact listpack, which made claims and finishes a third
--   cheaper for the server than the hashtable one long framed value forced.
-- Returns: 2 values per job: state of the job named, and the holder's ID when
--   the job was not stored ('' when it was). A job whose ID already exists is
--   not stored again (a replayed enqueue) and names itself.
local jp, up, chan = ARGV[1], ARGV[2], ARGV[3]
local out = {}
local ready, scheduled, ids = {}, {}, {}
-- Which IDs the queue holds already, with one ZMSCORE on its ID index
-- rather than one HGET per job: every job of the queue is in the index
-- (enqueue adds it in the same script, delete, prune and purge remove it
-- with the job). A job stored by this call is marked too, so a second
-- copy of an ID in one batch is a replay of the first.
local known = {}
do
  local idlist = {}
  for i = 4, #ARGV, 12 do
    idlist[#idlist + 1] = ARGV[i]
  end
  for c = 1, #idlist, 1000 do
    local part = redis.call('ZMSCORE', KEYS[9], unpack(idlist, c, math.min(c + 999, #idlist)))
    for j = 1, #part do
      if part[j] then
        known[idlist[c + j - 1]] = true
      end
    end
  end
end
for i = 4, #ARGV, 12 do
  local id, data, args, meta = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local prio, maxatt, run_ns, run_rs = ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7]
  local ukey, ustates = ARGV[i + 8], ARGV[i + 9]
  local k = jp .. id
  local existing = nil
  if known[id] then
    existing = redis.call('HGET', k, 's')
    if existing == 'running' and redis.call('ZSCORE', KEYS[5], id) then
      existing = 'completed' -- a short-form completion (see finish.lua)
    end
  end
  local holder = nil
  local holder_state = nil
  if existing then
    holder, holder_state = id, existing
  elseif ukey ~= '' then
    -- Every job ever enqueued with this key is in the set (until deleted or
    -- pruned); the key is held by one whose state is in its own unique states.
    local members = redis.call('SMEMBERS', up .. ukey)
    for _, m in ipairs(members) do
      local f = redis.call('HMGET', jp .. m, 's', 'us')
      if f[1] == 'running' and redis.call('ZSCORE', KEYS[5], m) then
        f[1] = 'completed' -- a short-form completion (see finish.lua)
      end
      if not f[1] then
        redis.call('SREM', up .. ukey, m)
      elseif string.find(f[2] or '', ',' .. f[1] .. ',', 1, true) then
        holder, holder_state = m, f[1]
        break
      end
    end
  end
  if holder then
    out[#out + 1] = holder_state
    out[#out + 1] = holder
  else
    local state
    -- A job's member carries its claim body (head ~= '') after a NUL
    -- byte: claim.lua reads it instead of the job hash (see doc.go).
    local head = ARGV[i + 11]
    local body = ''
    if head ~= '' then
      body = '\0' .. head .. data .. args .. meta
    end
    if ARGV[i + 10] == '1' then
      state = 'scheduled'
      scheduled[#scheduled + 1] = run_rs -- a score: leading zeros are fine
      scheduled[#scheduled + 1] = id .. body
    else
      state = 'queued'
      -- The score is -priority, negated as text: Lua's number-to-string
      -- conversion goes through the C library's float formatting, which is
      -- dear per job (the caller sends the priority as a decimal integer).
      local score = '0'
      if string.byte(prio) == 45 then
        score = string.sub(prio, 2)
      elseif prio ~= '0' then
        score = '-' .. prio
      end
      ready[#ready + 1] = score
      ready[#ready + 1] = run_rs .. id .. body
    end
    if ukey == '' and meta == '' then -- the common case, without a table
      redis.call('HSET', k, 'd', data, 'g', args, 'p', prio, 'ma', maxatt, 'a', '0', 's', state, 'r', run_ns,
        'rs', run_rs)
    else
      local h = { 'd', data, 'g', args, 'p', prio, 'ma', maxatt, 'a', '0', 's', state, 'r', run_ns, 'rs', run_rs }
      if meta ~= '' then
        h[#h + 1], h[#h + 2] = 'm', meta
      end
      if ukey ~= '' then
        h[#h + 1], h[#h + 2], h[#h + 3], h[#h + 4] = 'uk', ukey, 'us', ustates
        redis.call('SADD', up .. ukey, id)
      end
      redis.call('HSET', k, unpack(h))
    end
    ids[#ids + 1] = '0'
    ids[#ids + 1] = id
    known[id] = true
    out[#out + 1] = state
    out[#out + 1] = ''
  end
end
-- Sorted-set adds are deferred and sent in bulk (in chunks: Lua's unpack has
-- a stack limit). Unique checks above only read job hashes, so deferring
-- them changes nothing a later job of the batch sees.
local function bulk(cmd, key, list)
  for i = 1, #list, 1000 do
    redis.call(cmd, key, unpack(list, i, math.min(i + 999, #list)))
  end
end
bulk('ZADD', KEYS[1], ready)
bulk('ZADD', KEYS[2], scheduled)
bulk('ZADD', KEYS[9], ids)
if #ready > 0 then
  redis.call('PUBLISH', chan, '1')
end
return out
