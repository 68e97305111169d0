-- Forget the oldest settled (delivered or failed) deliveries beyond the retention count.
-- Pending ones are kept whatever their age: they still have to be sent.
-- KEYS: 1 callbacks all zset
-- ARGV: 1 deliveries to keep, 2 most to examine in one call
-- Returns: how many were removed
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[1])
if excess <= 0 then return 0 end
local removed = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, math.min(excess, tonumber(ARGV[2])) - 1)) do
  local key = '$CALLBACK$' .. id
  local h = redis.call('HMGET', key, 'status', 'integration')
  if h[1] ~= 'pending' then
    if h[1] then redis.call('ZREM', '$CALLBACKS_BY_STATUS$' .. h[1], id) end
    if h[2] then redis.call('ZREM', '$CALLBACKS_BY_INTEGRATION$' .. h[2], id) end
    redis.call('DEL', key, '$CALLBACK_ATTEMPTS$' .. id)
    redis.call('ZREM', KEYS[1], id)
    removed = removed + 1
  end
end
return removed
