-- Reaper: stale agents whose last heartbeat is at or before the cutoff go offline, each with the seed's
-- "Heartbeat lost" activity entry. Compare-and-set per agent: only an agent still stale and still
-- silent is changed (a heartbeat in between made it online and took it out of the stale zset).
-- KEYS: 1 agents_live zset, 2 agents_stale zset, 3 bus events, 4 activity seq, 5 activity all
-- ARGV: 1 cutoff (ms), 2 batch size, 3 maxlen, 4 now (ms)
-- Returns: {number of due entries examined, id marked offline, ...}
local cutoff = tonumber(ARGV[1])
local now = ARGV[4]
return reap_due(KEYS[2], ARGV[1], ARGV[2], function(id)
  local key = '$AGENT$' .. id
  local h = redis.call('HMGET', key, 'status', 'lastSeen', 'tracked')
  local seen = tonumber(h[2] or '0') or 0
  if not h[1] or h[3] ~= '1' then
    redis.call('ZREM', KEYS[2], id)
  elseif h[1] ~= 'stale' then
    apply_agent_status(key, id, h[1], KEYS[1], KEYS[2])
  elseif seen > cutoff then
    redis.call('ZADD', KEYS[2], seen, id)
  else
    apply_agent_status(key, id, 'offline', KEYS[1], KEYS[2])
    relay_emit(KEYS[3], ARGV[3], 'bus', 'agent.status', 'server', id, '{"agent":' .. agent_json(key) .. '}')
    audit_agent_state(KEYS[4], KEYS[5], KEYS[3], ARGV[3], id, 'Heartbeat lost', 'Agent marked offline',
      'ti-heart-off', 'null', 'server-agent-' .. id .. '-heartbeat-lost-' .. now, now)
    return true
  end
  return false
end)
