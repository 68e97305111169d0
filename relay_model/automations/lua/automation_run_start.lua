-- Start one run of an automation, at most once per occasion.
-- mode 'slot': compare-and-set on the due set — only the caller that still sees the automation at the
--   slot it read moves it to its next slot; the fired key (SET NX) makes the slot run at most once even
--   if an update put an old slot back. mode 'event': the fired key alone (one run per event). mode
--   'manual': always runs.
-- KEYS: 1 automation hash, 2 due zset, 3 runs zset, 4 fired key (unused for manual), 5 runs of this automation,
--       6 running runs zset
-- ARGV: 1 now, 2 automation id, 3 mode, 4 expected due score, 5 next slot ('' = leave the due set),
--       6 run id, 7 run doc json, 8 fired-key ttl (s), 9 runs kept per automation
-- Returns: {'ok', 'started', automation json} | {'ok', 'skipped', reason} | {'err', '404', ...}
local key, id, mode = KEYS[1], ARGV[2], ARGV[3]
if redis.call('EXISTS', key) == 0 then
  if mode == 'slot' then redis.call('ZREM', KEYS[2], id) end
  return { 'err', '404', 'automation not found' }
end
if mode == 'slot' then
  local score = redis.call('ZSCORE', KEYS[2], id)
  if not score or tonumber(score) ~= tonumber(ARGV[4]) then return { 'ok', 'skipped', 'lost' } end
  if redis.call('HGET', key, 'enabled') ~= '1' then
    redis.call('ZREM', KEYS[2], id)
    return { 'ok', 'skipped', 'disabled' }
  end
  if ARGV[5] ~= '' then
    redis.call('ZADD', KEYS[2], ARGV[5], id)
    redis.call('HSET', key, 'nextRunAt', ARGV[5])
  else
    redis.call('ZREM', KEYS[2], id)
    redis.call('HSET', key, 'nextRunAt', '')
  end
  if not redis.call('SET', KEYS[4], ARGV[6], 'NX', 'EX', ARGV[8]) then return { 'ok', 'skipped', 'duplicate' } end
elseif mode == 'event' then
  if redis.call('HGET', key, 'enabled') ~= '1' then return { 'ok', 'skipped', 'disabled' } end
  if not redis.call('SET', KEYS[4], ARGV[6], 'NX', 'EX', ARGV[8]) then return { 'ok', 'skipped', 'duplicate' } end
end
local run_id = ARGV[6]
redis.call('SET', '$AUTOMATION_RUN$' .. run_id, ARGV[7])
redis.call('ZADD', KEYS[3], ARGV[1], run_id)
redis.call('ZADD', KEYS[5], ARGV[1], run_id)
redis.call('ZADD', KEYS[6], ARGV[1], run_id)
-- Keep the newest runs of each automation; trim one at a time so the script stays bounded.
if redis.call('ZCARD', KEYS[5]) > tonumber(ARGV[9]) then
  local oldest = redis.call('ZRANGE', KEYS[5], 0, 0)[1]
  redis.call('ZREM', KEYS[5], oldest)
  redis.call('ZREM', KEYS[3], oldest)
  redis.call('ZREM', KEYS[6], oldest)
  redis.call('DEL', '$AUTOMATION_RUN$' .. oldest)
end
redis.call('HSET', key, 'lastRunAt', ARGV[1], 'lastRunId', run_id, 'lastRunStatus', 'running')
local h = redis.call('HMGET', key, 'doc', 'nextRunAt', 'lastRunAt', 'lastRunId', 'lastRunStatus')
return { 'ok', 'started', json_extend(h[1], '"nextRunAt":' .. num_or_null(h[2]) .. ',"lastRunAt":' ..
  num_or_null(h[3]) .. ',"lastRunId":' .. json_str_or_null(h[4]) .. ',"lastRunStatus":' .. json_str_or_null(h[5])) }
