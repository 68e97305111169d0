-- Bind a channel to a route target; a pool binding gets its first slot holder at once.
-- KEYS: 1 binding seq, 2 bindings_all, 3 the channel's bindings zset, 4 channel agent hash, 5 bus events,
--       6 pool holders set, 7 pool unclaimed set
-- ARGV: 1 now, 2 channelId, 3 target type, 4 target id, 5 address, 6 mode, 7 direction, 8 maxlen
-- Returns: {'ok', binding json} or {'err', code, text}
--[[include:pool_lib]]
local now = tonumber(ARGV[1])
local channel, ttype, tid, address, mode = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if redis.call('HGET', KEYS[4], 'kind') ~= 'channel' then return { 'err', '404', 'channel not found' } end
local existing = redis.call('ZRANGE', KEYS[3], 0, -1)
for _, bid in ipairs(existing) do
  local h = redis.call('HMGET', '$BINDING$' .. bid, 'mode', 'address')
  if h[1] == 'exclusive' then
    return { 'err', '409', 'channel ' .. channel .. ' already has an exclusive binding' }
  end
  if h[2] == address then return { 'err', '409', 'channel ' .. channel .. ' is already bound to ' .. address } end
end
if mode == 'exclusive' and #existing > 0 then
  return { 'err', '409', 'an exclusive binding must be the only binding of channel ' .. channel }
end
local id = redis.call('INCR', KEYS[1])
local key = '$BINDING$' .. id
redis.call('HSET', key, 'id', id, 'channelId', channel, 'type', ttype, 'targetId', tid, 'address', address,
  'mode', mode, 'direction', ARGV[7], 'poolAgentId', '', 'createdAt', now, 'updatedAt', now)
redis.call('ZADD', KEYS[2], id, id)
redis.call('ZADD', KEYS[3], id, id)
if ttype == 'pool' then
  redis.call('SADD', '$BINDINGS_OF_POOL$' .. tid, id)
  pool_assign(tostring(id), { now = now, events = KEYS[5], maxlen = ARGV[8], holders = KEYS[6], unclaimed = KEYS[7] })
end
local json = binding_json(key)
relay_emit(KEYS[5], ARGV[8], 'bus', 'channel.binding_created', 'server', channel, '{"binding":' .. json .. '}')
return { 'ok', json }
