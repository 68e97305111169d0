-- Set fields of an existing connector hash (config, or the outcome of its last action).
-- KEYS: 1 connector hash
-- ARGV: field, value, field, value, …
-- Returns: 1 when written, 0 when the connector does not exist (it was deleted meanwhile)
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
