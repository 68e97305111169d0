-- Reaper: release message claims whose expiry is at or before now, each announced as
-- message.claim_released (reason "expired"). Compare-and-set per message: a claim renewed in
-- between carries a later claimExpiresAt and is kept (and re-scored).
-- KEYS: 1 message claims zset, 2 bus events
-- ARGV: 1 now (ms), 2 batch size, 3 maxlen
-- Returns: {number of due entries examined, message id released, ...}
local now = tonumber(ARGV[1])
return reap_due(KEYS[1], ARGV[1], ARGV[2], function(id)
  local key = '$MESSAGE$' .. id
  local h = redis.call('HMGET', key, 'claimedBy', 'claimExpiresAt', 'doc')
  local expires = tonumber(h[2] or '0') or 0
  if not h[3] or not h[1] or h[1] == '' then
    redis.call('ZREM', KEYS[1], id)
  elseif expires > now then
    redis.call('ZADD', KEYS[1], expires, id)
  else
    redis.call('HDEL', key, 'claimedBy', 'claimedAt', 'claimExpiresAt')
    redis.call('ZREM', KEYS[1], id)
    relay_emit(KEYS[2], ARGV[3], 'bus', 'message.claim_released', 'server', id,
      '{"message":' .. message_json(key) .. ',"previousHolder":' .. cjson.encode(h[1]) .. ',"reason":"expired"}')
    return true
  end
  return false
end)
