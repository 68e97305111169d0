-- Set an agent's label or tags, re-index it, and audit the change when there is one.
-- KEYS: 1 agent hash, 2 bus events, 3 activity seq, 4 activity all
-- ARGV: 1 now, 2 id, 3 field ('label' | 'tags'), 4 value ('' = clear label; tags as json array),
--       5 maxlen, 6 audit clientId
-- Returns: {'ok', changed (0/1), agent json} or {'err', code, message}
local key, id, field, value = KEYS[1], ARGV[2], ARGV[3], ARGV[4]
if redis.call('EXISTS', key) == 0 then return { 'err', '404', 'agent not found' } end
local now = ARGV[1]
local changed = false
local title, body, icon, metadata
if field == 'label' then
  local before = redis.call('HGET', key, 'label') or ''
  changed = before ~= value
  if changed then
    if before ~= '' then redis.call('SREM', '$AGENTS_BY_LABEL$' .. before, id) end
    if value ~= '' then redis.call('SADD', '$AGENTS_BY_LABEL$' .. value, id) end
    redis.call('HSET', key, 'label', value)
    if value ~= '' then title = 'Agent label set' else title = 'Agent label cleared' end
    if value ~= '' then body = value else body = before end
    icon = 'ti-tag'
    metadata = '{"field":"label","previous":' .. json_str_or_null(before) .. ',"next":' .. json_str_or_null(value) .. '}'
  end
else
  local before = redis.call('HGET', key, 'tags') or '[]'
  changed = before ~= value
  if changed then
    set_index_members('$AGENTS_BY_TAG$', id, cjson.decode(before), cjson.decode(value))
    redis.call('HSET', key, 'tags', value)
    title = 'Agent tags updated'
    body = table.concat(cjson.decode(value), ', ')
    icon = 'ti-tags'
    metadata = '{"field":"tags","previous":' .. before .. ',"next":' .. value .. '}'
  end
end
local json = agent_json(key)
relay_emit(KEYS[2], ARGV[5], 'bus', 'agent.status', id, id, '{"agent":' .. json .. '}')
if changed then
  audit_agent_state(KEYS[3], KEYS[4], KEYS[2], ARGV[5], id, title, body, icon, metadata, ARGV[6], now)
end
return { 'ok', changed and 1 or 0, json }
