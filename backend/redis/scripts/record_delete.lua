-- record_delete: removes one record with compare-and-set on its version.
-- KEYS: 1 the namespace's record hash.
-- ARGV: 1 record key, 2 expected version (-1 = any).
-- Returns: 1 deleted, 0 not found, -1 version conflict.
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then
  return 0
end
local want = tonumber(ARGV[2])
if want ~= -1 and want ~= tonumber(string.match(cur, '^(%d+)|')) then
  return -1
end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
