-- Delete one final command whose retention has passed, with every index entry (compare-and-set).
-- KEYS: 1 command hash, 2 commands_all zset, 3 finished zset
-- ARGV: 1 id, 2 cutoff (finishedAt at or before it is purged)
-- Returns: 1 when purged, 0 when skipped
local key, id = KEYS[1], ARGV[1]
local h = redis.call('HMGET', key, 'finishedAt', 'status', 'target', 'type')
if not h[2] then
  redis.call('ZREM', KEYS[3], id)
  return 0
end
local finished = tonumber(h[1] or '')
if not finished or finished > tonumber(ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[2], id)
redis.call('ZREM', KEYS[3], id)
redis.call('ZREM', '$CMDS_BY_TARGET$' .. h[3], id)
redis.call('ZREM', '$CMDS_BY_STATUS$' .. h[2], id)
redis.call('ZREM', '$CMDS_BY_TYPE$' .. h[4], id)
redis.call('ZREM', '$CMDS_QUEUE$' .. h[2] .. ':' .. h[3], id)
redis.call('DEL', key)
return 1
