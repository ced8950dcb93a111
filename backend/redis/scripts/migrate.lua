-- migrate: checks and sets the layout version in one step, so a concurrent
-- Migrate of another build cannot write its version between this one's
-- check and write.
-- KEYS: 1 the schema key.
-- ARGV: 1 the version to record, then the versions it may replace ('' =
--   no version yet).
-- Returns: {1, previous} when recorded, {0, current} when refused.
local cur = redis.call('GET', KEYS[1]) or ''
for i = 2, #ARGV do
  if ARGV[i] == cur then
    redis.call('SET', KEYS[1], ARGV[1])
    return {1, cur}
  end
end
return {0, cur}
