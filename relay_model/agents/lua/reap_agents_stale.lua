-- Reaper: live agents (online/idle/busy) whose last heartbeat is at or before the cutoff become stale.
-- Reads only what is due (the live zset is scored by lastSeen) and re-checks each agent's own record
-- before changing it, so an agent whose heartbeat landed first is left alone.
-- KEYS: 1 agents_live zset, 2 agents_stale zset, 3 bus events
-- ARGV: 1 cutoff (ms), 2 batch size, 3 maxlen
-- Returns: {number of due entries examined, id marked stale, ...}
local cutoff = tonumber(ARGV[1])
return reap_due(KEYS[1], ARGV[1], ARGV[2], function(id)
  local key = '$AGENT$' .. id
  local h = redis.call('HMGET', key, 'status', 'lastSeen', 'tracked')
  local seen = tonumber(h[2] or '0') or 0
  if not h[1] or h[3] ~= '1' then
    -- The index names an agent that is gone or never tracked (user, system): drop the entry.
    redis.call('ZREM', KEYS[1], id)
  elseif not LIVE_STATUSES[h[1]] then
    -- The index is out of step with the record: file the agent where its status says.
    apply_agent_status(key, id, h[1], KEYS[1], KEYS[2])
  elseif seen > cutoff then
    -- The record is newer than the index: re-score it, the agent is not due.
    redis.call('ZADD', KEYS[1], seen, id)
  else
    apply_agent_status(key, id, 'stale', KEYS[1], KEYS[2])
    relay_emit(KEYS[3], ARGV[3], 'bus', 'agent.status', 'server', id, '{"agent":' .. agent_json(key) .. '}')
    return true
  end
  return false
end)
