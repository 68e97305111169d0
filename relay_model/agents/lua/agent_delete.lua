-- Remove an agent and every index entry that points at it. Its messages stay in history.
-- KEYS: 1 agent hash, 2 agents_all, 3 agents_live, 4 agents_stale, 5 bus events
-- ARGV: 1 id, 2 maxlen
-- Returns: agent json of what was removed, or false when there was none
local key, id = KEYS[1], ARGV[1]
local json = agent_json(key)
if not json then return false end
local h = redis.call('HMGET', key, 'label', 'tags', 'caps', 'kind', 'status')
set_index_members('$AGENTS_BY_TAG$', id, cjson.decode(h[2] or '[]'), {})
set_index_members('$AGENTS_BY_CAP$', id, cjson.decode(h[3] or '[]'), {})
if h[1] and h[1] ~= '' then redis.call('SREM', '$AGENTS_BY_LABEL$' .. h[1], id) end
if h[4] then redis.call('SREM', '$AGENTS_BY_KIND$' .. h[4], id) end
if h[5] then redis.call('SREM', '$AGENTS_BY_STATUS$' .. h[5], id) end
redis.call('ZREM', KEYS[2], id)
redis.call('ZREM', KEYS[3], id)
redis.call('ZREM', KEYS[4], id)
redis.call('DEL', key)
relay_emit(KEYS[5], ARGV[2], 'bus', 'agent.removed', id, id, '{"agent":' .. json .. '}')
return json
