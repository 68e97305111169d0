-- Read automations as the wire sees them: the stored document plus the fields runs change.
-- KEYS: 1 automations zset when ARGV[1] = 'all' (then the ids come from it, oldest first); else the
--       automation hashes to read
-- ARGV: 1 'all' | 'keys'
-- Returns: a list of automation json (missing ones left out)
local hkeys = KEYS
if ARGV[1] == 'all' then
  hkeys = {}
  for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do hkeys[#hkeys + 1] = '$AUTOMATION$' .. id end
end
local out = {}
for _, key in ipairs(hkeys) do
  local h = redis.call('HMGET', key, 'doc', 'nextRunAt', 'lastRunAt', 'lastRunId', 'lastRunStatus')
  if h[1] then
    out[#out + 1] = json_extend(h[1], '"nextRunAt":' .. num_or_null(h[2]) .. ',"lastRunAt":' .. num_or_null(h[3]) ..
      ',"lastRunId":' .. json_str_or_null(h[4]) .. ',"lastRunStatus":' .. json_str_or_null(h[5]))
  end
end
return out
