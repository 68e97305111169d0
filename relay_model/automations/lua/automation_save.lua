-- Create or update an automation; keep its due-set entry and event-trigger index in step.
-- KEYS: 1 automation hash, 2 automations zset, 3 due zset, 4 auto event stream
-- ARGV: 1 now, 2 id, 3 doc json (id, name, enabled, trigger, action, timestamps), 4 'create' | 'update',
--       5 next slot ms ('' = not in the due set: disabled or event-triggered), 6 event type ('' = none),
--       7 enabled (0/1), 8 maxlen, 9 update only: the stored doc's updatedAt the change was built on
-- Returns: {'ok', automation json}, {'ok', ''} when ARGV[9] no longer matches (re-read and retry),
--          or {'err', '404', 'automation not found'}
local key, id = KEYS[1], ARGV[2]
local exists = redis.call('EXISTS', key) == 1
if ARGV[4] == 'update' and not exists then return { 'err', '404', 'automation not found' } end
if ARGV[4] == 'update' and ARGV[9] ~= '' then
  local stored = cjson.decode(redis.call('HGET', key, 'doc')).updatedAt
  if tonumber(stored) ~= tonumber(ARGV[9]) then return { 'ok', '' } end
end
if ARGV[4] == 'create' and exists then return { 'err', '409', 'automation already exists' } end
local old_event = redis.call('HGET', key, 'event')
if old_event and old_event ~= '' then redis.call('SREM', '$AUTOMATIONS_ON$' .. old_event, id) end
redis.call('HSET', key, 'doc', ARGV[3], 'event', ARGV[6], 'nextRunAt', ARGV[5], 'enabled', ARGV[7])
if ARGV[4] == 'create' then redis.call('ZADD', KEYS[2], ARGV[1], id) end
if ARGV[6] ~= '' then redis.call('SADD', '$AUTOMATIONS_ON$' .. ARGV[6], id) end
if ARGV[5] ~= '' then
  redis.call('ZADD', KEYS[3], ARGV[5], id)
else
  redis.call('ZREM', KEYS[3], id)
end
local h = redis.call('HMGET', key, 'doc', 'nextRunAt', 'lastRunAt', 'lastRunId', 'lastRunStatus')
local json = json_extend(h[1], '"nextRunAt":' .. num_or_null(h[2]) .. ',"lastRunAt":' .. num_or_null(h[3]) ..
  ',"lastRunId":' .. json_str_or_null(h[4]) .. ',"lastRunStatus":' .. json_str_or_null(h[5]))
local etype = ARGV[4] == 'create' and 'automation.created' or 'automation.updated'
relay_emit(KEYS[4], ARGV[8], 'auto', etype, 'server', id, '{"automation":' .. json .. '}')
return { 'ok', json }
