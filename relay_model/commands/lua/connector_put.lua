-- Register or re-describe a connector; its config is replaced only when one is given.
-- KEYS: 1 connector hash, 2 connectors_all zset
-- ARGV: 1 connector id, 2 now (ms), 3 doc (json), 4 has config (0/1), 5 config (json)
-- Returns: 1 when the connector is new, 0 when it existed
local created = redis.call('HSETNX', KEYS[1], 'createdAt', ARGV[2])
redis.call('HSET', KEYS[1], 'doc', ARGV[3], 'updatedAt', ARGV[2])
if ARGV[4] == '1' then redis.call('HSET', KEYS[1], 'config', ARGV[5]) end
redis.call('ZADD', KEYS[2], 'NX', ARGV[2], ARGV[1])
return created
