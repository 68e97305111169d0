-- Lease due callback deliveries to one sender. A lease moves the entry's due time to the lease's end,
-- so a sender that dies mid-delivery leaves the entry to be retried; `leaseOwner` makes the result of a
-- sender whose lease ran out count for nothing (callback_finish compares it).
-- KEYS: 1 callbacks due zset
-- ARGV: 1 now, 2 limit, 3 lease ms, 4 lease token
-- Returns: list of {id, integration, event, body, attempt number}
local now = tonumber(ARGV[1])
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))) do
  local key = '$CALLBACK$' .. id
  local h = redis.call('HMGET', key, 'status', 'integration', 'event', 'body')
  if h[1] == 'pending' then
    local attempt = redis.call('HINCRBY', key, 'attempts', 1)
    local lease_until = now + tonumber(ARGV[3])
    redis.call('HSET', key, 'leaseOwner', ARGV[4], 'leaseUntil', lease_until)
    redis.call('ZADD', KEYS[1], lease_until, id)
    out[#out + 1] = { id, h[2], h[3], h[4], attempt }
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
