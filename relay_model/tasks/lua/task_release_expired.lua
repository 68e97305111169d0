-- Reaper: release task claims whose deadline passed (compare-and-set per task).
-- KEYS: 1 task claims zset, 2 claimants set, 3 task events, 4 cb seq, 5 cbs all, 6 cbs due
-- ARGV: 1 now, 2 batch limit, 3 maxlen, 4 callback filter json
-- Returns: ids of the released tasks
--[[include:task_lib]]
local now = tonumber(ARGV[1])
local ctx = { now = now, events = KEYS[3], maxlen = ARGV[3], cfg = ARGV[4],
  cb = { seq = KEYS[4], all = KEYS[5], due = KEYS[6] } }
local released = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))) do
  local key = '$TASK$' .. id
  local h = redis.call('HMGET', key, 'status', 'claimedBy', 'claimExpiresAt')
  if h[1] and TASK_HELD[h[1]] and tonumber(h[3] or '0') <= now then
    task_release(key, id, KEYS[1], KEYS[2])
    task_set_status(key, id, 'open')
    task_changed(key, id, ctx, 'task.updated', 'released', h[1], h[2], 'claim expired')
    released[#released + 1] = tonumber(id)
  elseif not (h[1] and TASK_HELD[h[1]]) then
    -- The entry outlived its claim (task gone or finished): drop it.
    redis.call('ZREM', KEYS[1], id)
  end
end
return released
