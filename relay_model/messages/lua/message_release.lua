-- Release a message claim. Only the holder may release (an empty agent id releases any holder).
-- KEYS: 1 message hash, 2 message claims zset, 3 bus events
-- ARGV: 1 message id, 2 agent id, 3 maxlen
-- Returns: {'ok', 1, message json} or {'err', code, message}
local key, id, agent = KEYS[1], ARGV[1], ARGV[2]
local h = redis.call('HMGET', key, 'doc', 'claimedBy')
if not h[1] then return { 'err', '404', 'message not found' } end
if not h[2] or h[2] == '' then return { 'err', '409', 'message is not claimed' } end
if agent ~= '' and h[2] ~= agent then return { 'err', '409', 'message is claimed by another agent' } end
redis.call('HDEL', key, 'claimedBy', 'claimedAt', 'claimExpiresAt')
redis.call('ZREM', KEYS[2], id)
local json = message_json(key)
relay_emit(KEYS[3], ARGV[3], 'bus', 'message.claim_released', h[2], id,
  '{"message":' .. json .. ',"previousHolder":' .. cjson.encode(h[2]) .. ',"reason":"released"}')
return { 'ok', 1, json }
