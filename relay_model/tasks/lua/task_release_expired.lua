-- Reaper: release task claims whose deadline passed (compare-and-set per task).
-- KEYS: 1 task claims zset, 2 claimants set, 3 task events, 4 cb seq, 5 cbs all, 6 cbs due
-- ARGV: 1 now, 2 batch limit, 3 maxlen, 4 callback filter json
-- Returns: {number of due entries examined, id of a released task, ...}
--[[include:task_lib]]
local now = tonumber(ARGV[1])
local ctx = { now = now, events = KEYS[3], maxlen = ARGV[3], cfg = ARGV[4],
  cb = { seq = KEYS[4], all = KEYS[5], due = KEYS[6] } }
return reap_due(KEYS[1], ARGV[1], ARGV[2], function(id)
  local key = '$TASK$' .. id
  local h = redis.call('HMGET', key, 'status', 'claimedBy', 'claimExpiresAt')
  local held = h[1] and TASK_HELD[h[1]]
  if not held then
    -- The entry outlived its claim (task gone or finished): drop it.
    redis.call('ZREM', KEYS[1], id)
  elseif tonumber(h[3] or '0') <= now then
    task_release(key, id, KEYS[1], KEYS[2])
    task_set_status(key, id, 'open')
    task_changed(key, id, ctx, 'task.updated', 'released', h[1], h[2], 'claim expired')
    return true
  end
  return false
end)
