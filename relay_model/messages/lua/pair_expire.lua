-- Reaper: pending pairs past their deadline become expired (compare-and-set per pair).
-- KEYS: 1 pending zset, 2 bus events
-- ARGV: 1 now, 2 batch limit, 3 maxlen
-- Returns: list of expired pair json
--[[include:pair_lib]]
local now = tonumber(ARGV[1])
local expired = {}
reap_due(KEYS[1], ARGV[1], ARGV[2], function(id)
  local key = '$PAIR$' .. id
  local h = redis.call('HMGET', key, 'status', 'expiresAt')
  if h[1] == 'pending' and tonumber(h[2] or '0') <= now then
    pair_set_status(key, id, 'expired', now, KEYS[1])
    local json = pair_json(key)
    relay_emit(KEYS[2], ARGV[3], 'bus', 'pair.expired', 'server', id, '{"pair":' .. json .. '}')
    expired[#expired + 1] = json
    return true
  end
  redis.call('ZREM', KEYS[1], id)
  return false
end)
return expired
