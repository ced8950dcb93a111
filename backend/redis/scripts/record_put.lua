-- record_put: writes one record with compare-and-set on its version. A
-- record is stored in its namespace's hash as "VERSION|UPDATED_NS|VALUE".
-- KEYS: 1 the namespace's record hash.
-- ARGV: 1 record key, 2 value (JSON), 3 expected version (0 = must not
--   exist, -1 = any), 4 now (ns).
-- Returns: the new version, or -1 on a version conflict.
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local version = 0
if cur then
  version = tonumber(string.match(cur, '^(%d+)|'))
end
local want = tonumber(ARGV[3])
if want ~= -1 and want ~= version then
  return -1
end
version = version + 1
redis.call('HSET', KEYS[1], ARGV[1], version .. '|' .. ARGV[4] .. '|' .. ARGV[2])
return version
