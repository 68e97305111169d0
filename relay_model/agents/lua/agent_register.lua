-- Register or update an agent (upsert).
-- KEYS: 1 agent hash, 2 agents_all zset, 3 agents_live zset, 4 agents_stale zset, 5 bus events
-- ARGV: 1 now, 2 id, 3 card json (static fields), 4 kind, 5 label ('' = none), 6 label given (0/1),
--       7 tags json ('' = keep), 8 caps json ('' = keep), 9 status, 10 sessionId, 11 sessionStartedAt,
--       12 tracked (0/1), 13 event stream maxlen, 14 display name
-- Returns: {'ok', created (0/1), agent json} or {'err', status code, message}
local key, id = KEYS[1], ARGV[2]
local now = tonumber(ARGV[1])
local exists = redis.call('EXISTS', key) == 1
if exists and ARGV[10] ~= '' then
  local refused = check_session(key, ARGV[10], ARGV[11])
  if refused then return refused end
end
local old = redis.call('HMGET', key, 'label', 'tags', 'caps', 'kind')
local old_tags = old[2] and cjson.decode(old[2]) or {}
local old_caps = old[3] and cjson.decode(old[3]) or {}

local label = ARGV[5]
if ARGV[6] ~= '1' then label = old[1] or '' end
local tags_json = ARGV[7]
if tags_json == '' then tags_json = old[2] or '[]' end
local caps_json = ARGV[8]
if caps_json == '' then caps_json = old[3] or '[]' end

redis.call('HSET', key, 'card', ARGV[3], 'kind', ARGV[4], 'label', label, 'tags', tags_json,
  'caps', caps_json, 'lastSeen', now, 'tracked', ARGV[12], 'name', ARGV[14])
if not exists then
  redis.call('HSET', key, 'registeredAt', now)
  redis.call('ZADD', KEYS[2], now, id)
end
if ARGV[10] ~= '' then
  redis.call('HSET', key, 'sessionId', ARGV[10], 'sessionStartedAt', ARGV[11])
end
set_index_members('$AGENTS_BY_TAG$', id, old_tags, cjson.decode(tags_json))
set_index_members('$AGENTS_BY_CAP$', id, old_caps, cjson.decode(caps_json))
if old[1] and old[1] ~= '' then redis.call('SREM', '$AGENTS_BY_LABEL$' .. old[1], id) end
if label ~= '' then redis.call('SADD', '$AGENTS_BY_LABEL$' .. label, id) end
if old[4] then redis.call('SREM', '$AGENTS_BY_KIND$' .. old[4], id) end
redis.call('SADD', '$AGENTS_BY_KIND$' .. ARGV[4], id)
apply_agent_status(key, id, ARGV[9], KEYS[3], KEYS[4])

local json = agent_json(key)
relay_emit(KEYS[5], ARGV[13], 'bus', 'agent.registered', id, id, '{"agent":' .. json .. '}')
return { 'ok', exists and 0 or 1, json }
