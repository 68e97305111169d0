-- List callback deliveries newest first, each with its attempts.
-- KEYS: 1 index zset
-- ARGV: 1 limit, 2 status filter ('' = any), 3 integration filter ('' = any), 4 scan budget
-- Returns: list of delivery json
local limit, budget = tonumber(ARGV[1]), tonumber(ARGV[4])
local out, scanned, max = {}, 0, '+inf'
while #out < limit and scanned < budget do
  local page = redis.call('ZREVRANGEBYSCORE', KEYS[1], max, '-inf', 'LIMIT', 0, 200)
  if #page == 0 then break end
  for _, id in ipairs(page) do
    scanned = scanned + 1
    max = '(' .. id
    local h = redis.call('HMGET', '$CALLBACK$' .. id, 'id', 'integration', 'taskId', 'event', 'status', 'attempts',
      'nextAt', 'createdAt', 'updatedAt', 'lastStatusCode', 'lastError')
    if h[1] and (ARGV[2] == '' or h[5] == ARGV[2]) and (ARGV[3] == '' or h[2] == ARGV[3]) then
      local attempts = redis.call('LRANGE', '$CALLBACK_ATTEMPTS$' .. id, 0, -1)
      out[#out + 1] = '{"id":' .. h[1] .. ',"integration":' .. cjson.encode(h[2]) .. ',"taskId":' .. h[3] ..
        ',"event":' .. cjson.encode(h[4]) .. ',"status":' .. cjson.encode(h[5]) .. ',"attempts":' .. h[6] ..
        ',"nextAt":' .. num_or_null(h[7]) .. ',"createdAt":' .. h[8] .. ',"updatedAt":' .. h[9] ..
        ',"lastStatusCode":' .. num_or_null(h[10]) .. ',"lastError":' .. json_str_or_null(h[11]) ..
        ',"attemptLog":[' .. table.concat(attempts, ',') .. ']}'
      if #out >= limit then break end
    end
  end
end
return out
