-- Acknowledge that an agent read a message; its read cursor moves forward to it (never back).
-- KEYS: 1 message hash, 2 the agent's read cursor, 3 bus events, 4 message seq
-- ARGV: 1 now, 2 message id, 3 agent id, 4 maxlen
-- Returns: {'ok', cursor, latest message id} or {'err', code, message}
local key, id, agent = KEYS[1], ARGV[2], ARGV[3]
if redis.call('EXISTS', key) == 0 then return { 'err', '404', 'message not found' } end
redis.call('HSET', key, 'read:' .. agent, ARGV[1])
local cursor = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(id) > cursor then
  cursor = tonumber(id)
  redis.call('SET', KEYS[2], cursor)
end
relay_emit(KEYS[3], ARGV[4], 'bus', 'message.read', agent, id,
  '{"messageId":' .. id .. ',"agentId":' .. cjson.encode(agent) .. ',"readAt":' .. ARGV[1] .. '}')
return { 'ok', cursor, tonumber(redis.call('GET', KEYS[4]) or '0') }
