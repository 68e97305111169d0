-- Record a run's outcome and announce it (`automation.run`) in the same step.
-- KEYS: 1 automation hash, 2 run key, 3 auto event stream, 4 running runs zset
-- ARGV: 1 automation id, 2 run id, 3 final run doc json, 4 status, 5 extra event data ('' or '"k":v,…'),
--       6 maxlen, 7 '1' = only if the stored run is still running (the reaper), else '0'
-- Returns: {'ok', automation json or 'null'} or {'ok', ''} when ARGV[7] = '1' and the run had finished
local key = KEYS[1]
if ARGV[7] == '1' then
  local doc = redis.call('GET', KEYS[2])
  if not doc or cjson.decode(doc).status ~= 'running' then return { 'ok', '' } end
end
redis.call('SET', KEYS[2], ARGV[3])
redis.call('ZREM', KEYS[4], ARGV[2])
local json = 'null'
if redis.call('EXISTS', key) == 1 then
  if redis.call('HGET', key, 'lastRunId') == ARGV[2] then redis.call('HSET', key, 'lastRunStatus', ARGV[4]) end
  local h = redis.call('HMGET', key, 'doc', 'nextRunAt', 'lastRunAt', 'lastRunId', 'lastRunStatus')
  json = json_extend(h[1], '"nextRunAt":' .. num_or_null(h[2]) .. ',"lastRunAt":' .. num_or_null(h[3]) ..
    ',"lastRunId":' .. json_str_or_null(h[4]) .. ',"lastRunStatus":' .. json_str_or_null(h[5]))
end
local data = '{"automation":' .. json .. ',"run":' .. ARGV[3]
if ARGV[5] ~= '' then data = data .. ',' .. ARGV[5] end
relay_emit(KEYS[3], ARGV[6], 'auto', 'automation.run', 'server', ARGV[2], data .. '}')
return { 'ok', json }
