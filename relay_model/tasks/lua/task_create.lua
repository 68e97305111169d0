-- Create a task, or update the one an integration created before with the same externalId.
-- KEYS: 1 task seq, 2 tasks_all, 3 external-id key (ignored when ARGV[14] = 0), 4 task events,
--       5 callback seq, 6 callbacks all, 7 callbacks due
-- ARGV: 1 now, 2 title, 3 body, 4 severity, 5 target, 6 channel, 7 source, 8 externalId, 9 type,
--       10 metadata json ('' = none), 11 requested target (relayRequestedTarget, '' = none), 12 maxlen,
--       13 callback filter json, 14 has externalId (0/1)
-- Returns: {'ok', created (0/1), task json}
--[[include:task_lib]]
local now = tonumber(ARGV[1])
local ctx = { now = now, events = KEYS[4], maxlen = ARGV[12], cfg = ARGV[13],
  cb = { seq = KEYS[5], all = KEYS[6], due = KEYS[7] } }
local function index(prefix, value, id)
  if value ~= '' then redis.call('ZADD', prefix .. value, id, id) end
end

if ARGV[14] == '1' then
  local existing = redis.call('GET', KEYS[3])
  if existing and redis.call('EXISTS', '$TASK$' .. existing) == 1 then
    local key = '$TASK$' .. existing
    local old_channel = redis.call('HGET', key, 'channel') or ''
    redis.call('HSET', key, 'title', ARGV[2], 'body', ARGV[3], 'severity', ARGV[4])
    if ARGV[9] ~= '' then redis.call('HSET', key, 'type', ARGV[9]) end
    if ARGV[10] ~= '' then redis.call('HSET', key, 'metadata', ARGV[10]) end
    if ARGV[11] ~= '' then redis.call('HSET', key, 'requestedTarget', ARGV[11]) end
    if ARGV[6] ~= '' and ARGV[6] ~= old_channel then
      if old_channel ~= '' then redis.call('ZREM', '$TASKS_BY_CHANNEL$' .. old_channel, existing) end
      redis.call('HSET', key, 'channel', ARGV[6])
      index('$TASKS_BY_CHANNEL$', ARGV[6], existing)
    end
    local status = redis.call('HGET', key, 'status')
    local json = task_changed(key, existing, ctx, 'task.updated', 'updated', status, '', '')
    return { 'ok', 0, json }
  end
end

local id = redis.call('INCR', KEYS[1])
local key = '$TASK$' .. id
redis.call('HSET', key, 'id', id, 'title', ARGV[2], 'body', ARGV[3], 'severity', ARGV[4], 'status', 'open',
  'target', ARGV[5], 'channel', ARGV[6], 'source', ARGV[7], 'externalId', ARGV[8], 'type', ARGV[9],
  'metadata', ARGV[10], 'requestedTarget', ARGV[11], 'createdAt', now)
redis.call('ZADD', KEYS[2], id, id)
redis.call('ZADD', '$TASKS_BY_STATUS$open', id, id)
index('$TASKS_BY_TARGET$', ARGV[5], id)
index('$TASKS_BY_CHANNEL$', ARGV[6], id)
index('$TASKS_BY_SOURCE$', ARGV[7], id)
if ARGV[14] == '1' then redis.call('SET', KEYS[3], id) end
local json = task_changed(key, id, ctx, 'task.created', 'created', nil, '', '')
return { 'ok', 1, json }
