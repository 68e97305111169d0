-- Record one delivery attempt and settle the entry, if the caller still holds its lease.
-- KEYS: 1 delivery hash, 2 its attempts list, 3 callbacks due zset, 4 task events
-- ARGV: 1 now, 2 delivery id, 3 lease token, 4 outcome (delivered | retry | failed), 5 attempt json,
--       6 next attempt at (ms, outcome retry), 7 http status ('' = none), 8 error text, 9 maxlen
-- Returns: 1 when recorded, 0 when the lease was lost (another sender owns the entry now)
local key, id = KEYS[1], ARGV[2]
if redis.call('HGET', key, 'leaseOwner') ~= ARGV[3] then return 0 end
local h = redis.call('HMGET', key, 'status', 'integration', 'taskId', 'event')
redis.call('RPUSH', KEYS[2], ARGV[5])
redis.call('HDEL', key, 'leaseOwner', 'leaseUntil')
redis.call('HSET', key, 'updatedAt', ARGV[1], 'lastStatusCode', ARGV[7], 'lastError', ARGV[8])
local status = 'pending'
if ARGV[4] == 'retry' then
  redis.call('HSET', key, 'nextAt', ARGV[6])
  redis.call('ZADD', KEYS[3], tonumber(ARGV[6]), id)
else
  status = ARGV[4]
  redis.call('HDEL', key, 'nextAt')
  redis.call('ZREM', KEYS[3], id)
end
if status ~= h[1] then
  redis.call('ZREM', '$CALLBACKS_BY_STATUS$' .. h[1], id)
  redis.call('ZADD', '$CALLBACKS_BY_STATUS$' .. status, id, id)
  redis.call('HSET', key, 'status', status)
end
relay_emit(KEYS[4], ARGV[9], 'task', 'integration.callback', h[2], id,
  '{"deliveryId":' .. id .. ',"integration":' .. cjson.encode(h[2]) .. ',"taskId":' .. h[3] ..
  ',"event":' .. cjson.encode(h[4]) .. ',"status":' .. cjson.encode(status) .. ',"attempt":' .. ARGV[5] .. '}')
return 1
