-- Reaper: tasks whose claimant went offline are marked `orphaned`, then released to `open`.
-- KEYS: 1 task claims zset, 2 claimants set, 3 task events, 4 cb seq, 5 cbs all, 6 cbs due
-- ARGV: 1 now, 2 maxlen, 3 callback filter json, 4 batch limit, 5.. agent ids found offline (or gone)
-- Returns: ids of the released tasks (at most the limit; the rest wait for the next pass)
--[[include:task_lib]]
local now = tonumber(ARGV[1])
local ctx = { now = now, events = KEYS[3], maxlen = ARGV[2], cfg = ARGV[3],
  cb = { seq = KEYS[4], all = KEYS[5], due = KEYS[6] } }
local released = {}
local limit = tonumber(ARGV[4])
for i = 5, #ARGV do
  local agent = ARGV[i]
  if #released >= limit then break end
  for _, id in ipairs(redis.call('ZRANGE', '$TASKS_HELD_BY$' .. agent, 0, limit - #released - 1)) do
    local key = '$TASK$' .. id
    local h = redis.call('HMGET', key, 'status', 'claimedBy')
    if h[1] and TASK_HELD[h[1]] and h[2] == agent then
      task_drop_hold(key, id, KEYS[1], KEYS[2])
      task_set_status(key, id, 'orphaned')
      task_changed(key, id, ctx, 'task.updated', 'orphaned', h[1], agent, 'claimant offline')
      task_release(key, id, KEYS[1], KEYS[2])
      task_set_status(key, id, 'open')
      task_changed(key, id, ctx, 'task.updated', 'released', 'orphaned', agent, 'claimant offline')
      released[#released + 1] = tonumber(id)
    else
      redis.call('ZREM', '$TASKS_HELD_BY$' .. agent, id)
    end
  end
  if redis.call('ZCARD', '$TASKS_HELD_BY$' .. agent) == 0 then redis.call('SREM', KEYS[2], agent) end
end
return released
