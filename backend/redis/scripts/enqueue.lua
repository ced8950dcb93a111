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
-- Returns: a string of one letter per job, q (stored, queued), s (stored,
--   scheduled) or d (not stored), then for each d job in order the state and
--   the ID of the job holding its place: the holder of its unique key, or
--   the job itself when its ID already exists (a replayed enqueue). One
--   string rather than two values per job: each reply element cost the
--   server a conversion and the client an allocation.
local jp, up, chan = ARGV[1], ARGV[2], ARGV[3]
-- Lists are filled through counters: Lua 5.1's # operator searches for the
-- table's border on every use.
local codes, nc, out, no = {}, 0, { '' }, 1
local ready, scheduled, ids, nr, ns, ni = {}, {}, {}, 0, 0, 0
-- Which IDs the queue holds already, with one ZMSCORE on its ID index
-- rather than one HGET per job: every job of the queue is in the index
-- (enqueue adds it in the same script, delete, prune and purge remove it
-- with the job). A job stored by this call is marked too, so a second
-- copy of an ID in one batch is a replay of the first.
local known = {}
do
  local idlist, n = {}, 0
  for i = 4, #ARGV, 12 do
    n = n + 1
    idlist[n] = ARGV[i]
  end
  for c = 1, n, 1000 do
    local part = redis.call('ZMSCORE', KEYS[9], unpack(idlist, c, math.min(c + 999, n)))
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
    nc = nc + 1
    codes[nc] = 'd'
    out[no + 1], out[no + 2], no = holder_state, holder, no + 2
  else
    local state, code
    -- A job's member carries its claim body (head ~= '') after a NUL
    -- byte: claim.lua reads it instead of the job hash (see doc.go). Each
    -- member is built by one concatenation (one new string, copied once).
    local head = ARGV[i + 11]
    if ARGV[i + 10] == '1' then
      state, code = 'scheduled', 's'
      scheduled[ns + 1] = run_rs -- a score: leading zeros are fine
      if head ~= '' then
        scheduled[ns + 2] = id .. '\0' .. head .. data .. args .. meta
      else
        scheduled[ns + 2] = id
      end
      ns = ns + 2
    else
      state, code = 'queued', 'q'
      -- The score is -priority, negated as text: Lua's number-to-string
      -- conversion goes through the C library's float formatting, which is
      -- dear per job (the caller sends the priority as a decimal integer).
      local score = '0'
      if string.byte(prio) == 45 then
        score = string.sub(prio, 2)
      elseif prio ~= '0' then
        score = '-' .. prio
      end
      ready[nr + 1] = score
      if head ~= '' then
        ready[nr + 2] = run_rs .. id .. '\0' .. head .. data .. args .. meta
      else
        ready[nr + 2] = run_rs .. id
      end
      nr = nr + 2
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
    ids[ni + 1], ids[ni + 2], ni = '0', id, ni + 2
    known[id] = true
    nc = nc + 1
    codes[nc] = code
  end
end
-- Sorted-set adds are deferred and sent in bulk (in chunks: Lua's unpack has
-- a stack limit). Unique checks above only read job hashes, so deferring
-- them changes nothing a later job of the batch sees.
local function bulk(cmd, key, list, n)
  for i = 1, n, 1000 do
    redis.call(cmd, key, unpack(list, i, math.min(i + 999, n)))
  end
end
bulk('ZADD', KEYS[1], ready, nr)
bulk('ZADD', KEYS[2], scheduled, ns)
bulk('ZADD', KEYS[9], ids, ni)
if nr > 0 then
  redis.call('PUBLISH', chan, '1')
end
out[1] = table.concat(codes)
return out
