-- lib_ready: not a script of its own; scripts.go prepends it to the scripts
-- that remove a queued job from the ready set by ID (cancel, delete).
-- A queued job's ready-set member is RUNAT(17)..ID, followed, for a job not
-- claimed since enqueue, by a NUL byte and its claim body (see enqueue.lua
-- and doc.go); the body is rebuilt from the job hash, which holds the same
-- values as long as the member carries it.
-- ready_remove(key, id, f) removes the member of job id from the ready set
-- key, where f holds the job hash's rs, r, ma, d, g, m and p fields (false
-- when absent), and reports whether a member was removed.
local function ready_remove(key, id, f)
  local plain = f.rs .. id
  if redis.call('ZREM', key, plain) == 1 then
    return true
  end
  local d, g, m = f.d or '', f.g or '', f.m or ''
  local body = (f.r or '') .. '|' .. (f.ma or '') .. '|' .. string.format('%d:%d:', #d, #g) .. d .. g .. m
  if redis.call('ZREM', key, plain .. '\0' .. body) == 1 then
    return true
  end
  -- Not found under either form (a record changed by hand): look among the
  -- members of the job's priority, which share the score -p.
  local p = -(tonumber(f.p or '0') or 0)
  for _, mem in ipairs(redis.call('ZRANGEBYSCORE', key, p, p)) do
    if string.sub(mem, 1, #plain + 1) == plain .. '\0' then
      redis.call('ZREM', key, mem)
      return true
    end
  end
  return false
end
