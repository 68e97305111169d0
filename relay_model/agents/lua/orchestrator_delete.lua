-- Remove an orchestrator and announce `orchestrator.removed` (its agent card is removed by the caller).
-- KEYS: 1 orchestrator hash, 2 orchestrators_all, 3 orchestrators_live, 4 orchestrators_stale, 5 bus events
-- ARGV: 1 id, 2 maxlen
-- Returns: the orchestrator json that was removed, or false when there was none
local key, id = KEYS[1], ARGV[1]
local json = redis.call('HGET', key, 'json')
if not json then return false end
redis.call('ZREM', KEYS[2], id)
redis.call('ZREM', KEYS[3], id)
redis.call('ZREM', KEYS[4], id)
redis.call('DEL', key)
relay_emit(KEYS[5], ARGV[2], 'bus', 'orchestrator.removed', id, id,
  '{"orchestratorId":' .. cjson.encode(id) .. ',"orchestrator":' .. json .. '}')
return json
