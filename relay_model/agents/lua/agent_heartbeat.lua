-- Record a heartbeat; a stale or offline agent becomes online again.
-- KEYS: 1 agent hash, 2 agents_live, 3 agents_stale, 4 bus events
-- ARGV: 1 now, 2 id, 3 sessionId, 4 sessionStartedAt, 5 maxlen, 6 status ('' = keep, unless stale/offline)
-- Returns: {'ok', status changed (0/1), agent json} or {'err', code, message}
local key, id = KEYS[1], ARGV[2]
if redis.call('EXISTS', key) == 0 then return { 'err', '404', 'agent not found' } end
local refused = check_session(key, ARGV[3], ARGV[4])
if refused then return refused end
redis.call('HSET', key, 'lastSeen', ARGV[1])
local current = redis.call('HGET', key, 'status')
local wanted = ARGV[6]
if wanted == '' then
  if LIVE_STATUSES[current] then wanted = current else wanted = 'online' end
end
apply_agent_status(key, id, wanted, KEYS[2], KEYS[3])
local json = agent_json(key)
local changed = 0
if wanted ~= current then
  changed = 1
  relay_emit(KEYS[4], ARGV[5], 'bus', 'agent.status', id, id, '{"agent":' .. json .. '}')
end
return { 'ok', changed, json }
