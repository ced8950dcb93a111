-- lib_ready: not a script of its own; scripts.go prepends it to the scripts
-- that remove a job not yet claimed from the ready or scheduled set by ID
-- (cancel, delete, retry). Such a job's member is RUNAT(17)..ID in the
-- ready set and ID in the scheduled set, followed, for a job not claimed
-- since enqueue, by a NUL byte and its claim body (see enqueue.lua and
-- doc.go); the body is rebuilt from the job hash, which holds the same
-- values as long as the member carries it.
-- fresh_remove(key, prefix, score, f) removes the member of a job from
-- the set key, where prefix is the member without a body (RUNAT..ID or
-- ID), score the member's score (-priority, or run_at in µs) and f holds
-- the job hash's r, ma, d, g and m fields (false when absent); it reports
-- whether a member was removed.
local function fresh_remove(key, prefix, score, f)
  if redis.call('ZREM', key, prefix) == 1 then
    return true
  end
  local d, g, m = f.d or '', f.g or '', f.m or ''
  local body = (f.r or '') .. '|' .. (f.ma or '') .. '|' .. string.format('%d:%d:', #d, #g) .. d .. g .. m
  if redis.call('ZREM', key, prefix .. '\0' .. body) == 1 then
    return true
  end
  -- Not found under either form (a record changed by hand): look among the
  -- members with the job's score.
  for _, mem in ipairs(redis.call('ZRANGEBYSCORE', key, score, score)) do
    if string.sub(mem, 1, #prefix + 1) == prefix .. '\0' then
      redis.call('ZREM', key, mem)
      return true
    end
  end
  return false
end
