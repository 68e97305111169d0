-- Set an agent's status (PATCH /agents/:id/status), behind the session guard, and audit a change.
-- KEYS: 1 agent hash, 2 agents_live, 3 agents_stale, 4 bus events, 5 activity seq, 6 activity all
-- ARGV: 1 now, 2 id, 3 status, 4 sessionId, 5 sessionStartedAt, 6 maxlen, 7 audit clientId
-- Returns: {'ok', previous status, agent json} or {'err', code, message}
local key, id, status, now = KEYS[1], ARGV[2], ARGV[3], ARGV[1]
if redis.call('EXISTS', key) == 0 then return { 'err', '404', 'agent not found' } end
local refused = check_session(key, ARGV[4], ARGV[5])
if refused then return refused end
if LIVE_STATUSES[status] then redis.call('HSET', key, 'lastSeen', now) end
local previous = apply_agent_status(key, id, status, KEYS[2], KEYS[3])
local json = agent_json(key)
relay_emit(KEYS[4], ARGV[6], 'bus', 'agent.status', id, id, '{"agent":' .. json .. '}')
if previous ~= status then
  local h = redis.call('HMGET', key, 'label', 'name')
  local shown = h[1]
  if not shown or shown == '' then shown = h[2] or id end
  local metadata = '{"field":"status","previous":' .. json_str_or_null(previous) .. ',"next":' .. cjson.encode(status) .. '}'
  audit_agent_state(KEYS[5], KEYS[6], KEYS[4], ARGV[6], id, 'Agent ' .. status, shown, 'ti-activity', metadata,
    ARGV[7], now)
end
return { 'ok', previous or '', json }
