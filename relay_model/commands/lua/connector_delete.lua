-- Delete a connector and its index entry.
-- KEYS: 1 connector hash, 2 connectors_all zset
-- ARGV: 1 connector id
-- Returns: 1 when it existed, 0 otherwise
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])
