-- Set an agent's status (PATCH /agents/:id/status), behind the session guard.
-- KEYS: 1 agent hash, 2 agents_live, 3 agents_stale, 4 bus events
-- ARGV: 1 now, 2 id, 3 status, 4 sessionId, 5 sessionStartedAt, 6 maxlen
-- Returns: {'ok', previous status, agent json} or {'err', code, message}
local key, id = KEYS[1], ARGV[2]
if redis.call('EXISTS', key) == 0 then return { 'err', '404', 'agent not found' } end
local refused = check_session(key, ARGV[4], ARGV[5])
if refused then return refused end
if LIVE_STATUSES[ARGV[3]] then redis.call('HSET', key, 'lastSeen', ARGV[1]) end
local previous = apply_agent_status(key, id, ARGV[3], KEYS[2], KEYS[3])
local json = agent_json(key)
relay_emit(KEYS[4], ARGV[6], 'bus', 'agent.status', id, id, '{"agent":' .. json .. '}')
return { 'ok', previous or '', json }
