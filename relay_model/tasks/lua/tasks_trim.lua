-- Retention: delete final tasks (done, failed, canceled) past the age or count cap, oldest first,
-- with their history and every index entry. Tasks that are not final are never touched: the index
-- holds only final tasks, and each entry is re-checked against the task's own status.
-- KEYS: 1 final tasks zset (scored by the time of the last change), 2 tasks_all, 3 task claims zset
-- ARGV: 1 cutoff (ms: a task final since at or before it expired; 0 = no age cap),
--       2 final tasks to keep at most (0 = no count cap), 3 batch size
-- Returns: {examined, task id deleted, ...} (relay_model.reaper.drain's shape)
--[[include:task_lib]]
local cutoff, keep, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local excess = 0
if keep > 0 then excess = redis.call('ZCARD', KEYS[1]) - keep end
local oldest = redis.call('ZRANGE', KEYS[1], 0, limit - 1, 'WITHSCORES')
local out = { 0 }
for i = 1, #oldest, 2 do
  local id, at = oldest[i], tonumber(oldest[i + 1])
  if not (excess > 0 or (cutoff > 0 and at <= cutoff)) then break end
  out[1] = out[1] + 1
  excess = excess - 1
  redis.call('ZREM', KEYS[1], id)
  local key = '$TASK$' .. id
  local h = redis.call('HMGET', key, 'status', 'target', 'channel', 'source', 'externalId', 'claimedBy')
  if h[1] and TASK_FINAL[h[1]] then
    redis.call('ZREM', KEYS[2], id)
    redis.call('ZREM', KEYS[3], id)
    redis.call('ZREM', '$TASKS_BY_STATUS$' .. h[1], id)
    if h[2] and h[2] ~= '' then redis.call('ZREM', '$TASKS_BY_TARGET$' .. h[2], id) end
    if h[3] and h[3] ~= '' then redis.call('ZREM', '$TASKS_BY_CHANNEL$' .. h[3], id) end
    if h[4] and h[4] ~= '' then redis.call('ZREM', '$TASKS_BY_SOURCE$' .. h[4], id) end
    if h[6] and h[6] ~= '' then
      redis.call('ZREM', '$TASKS_BY_CLAIMANT$' .. h[6], id)
      redis.call('ZREM', '$TASKS_HELD_BY$' .. h[6], id)
    end
    if h[4] and h[4] ~= '' and h[5] and h[5] ~= '' then
      -- The integration's externalId names a new task from now on, unless it already names another.
      local ext = '$TASK_EXTERNAL$' .. h[4] .. ':' .. h[5]
      if redis.call('GET', ext) == id then redis.call('DEL', ext) end
    end
    redis.call('DEL', key, '$TASK_HISTORY$' .. id)
    out[#out + 1] = id
  end
end
return out
