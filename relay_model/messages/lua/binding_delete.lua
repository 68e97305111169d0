-- Remove a channel binding (and its pool slot).
-- KEYS: 1 binding hash, 2 bindings_all, 3 bus events, 4 pool holders set, 5 pool unclaimed set
-- ARGV: 1 binding id, 2 maxlen
-- Returns: {'ok', binding json} or {'err', code, text}
--[[include:pool_lib]]
local key, id = KEYS[1], ARGV[1]
local json = binding_json(key)
if not json then return { 'err', '404', 'channel binding not found' } end
local h = redis.call('HMGET', key, 'channelId', 'type', 'targetId', 'poolAgentId')
redis.call('ZREM', '$BINDINGS_OF_CHANNEL$' .. h[1], id)
if h[2] == 'pool' then
  redis.call('SREM', '$BINDINGS_OF_POOL$' .. h[3], id)
  redis.call('SREM', KEYS[5], id)
  pool_unhold(id, h[4], { holders = KEYS[4] })
end
redis.call('ZREM', KEYS[2], id)
redis.call('DEL', key)
relay_emit(KEYS[3], ARGV[2], 'bus', 'channel.binding_deleted', 'server', h[1], '{"binding":' .. json .. '}')
return { 'ok', json }
