-- Pair helpers, included by the pair scripts (--[[include:pair_lib]]).
local PAIR_OPEN = { pending = true, active = true }

local function pair_json(key)
  local h = redis.call('HMGET', key, 'id', 'from', 'to', 'topic', 'status', 'meta', 'createdAt', 'updatedAt',
    'expiresAt', 'respondedAt', 'endedAt', 'endedBy', 'reason')
  if not h[1] then return nil end
  local meta = 'null'
  if h[6] and h[6] ~= '' then meta = h[6] end
  return '{"id":' .. h[1] .. ',"from":' .. cjson.encode(h[2]) .. ',"to":' .. cjson.encode(h[3]) ..
    ',"topic":' .. json_str_or_null(h[4]) .. ',"status":' .. cjson.encode(h[5]) .. ',"meta":' .. meta ..
    ',"createdAt":' .. num_or_null(h[7]) .. ',"updatedAt":' .. num_or_null(h[8]) ..
    ',"expiresAt":' .. num_or_null(h[9]) .. ',"respondedAt":' .. num_or_null(h[10]) ..
    ',"endedAt":' .. num_or_null(h[11]) .. ',"endedBy":' .. json_str_or_null(h[12]) ..
    ',"reason":' .. json_str_or_null(h[13]) .. '}'
end

local function pair_between_key(a, b)
  return '$PAIR_BETWEEN$' .. a .. '\n' .. b
end

-- Move a pair to `status`, keeping the status index, the pending deadline and the open-pair link in step.
local function pair_set_status(key, id, status, now, pending_key)
  local h = redis.call('HMGET', key, 'status', 'from', 'to')
  redis.call('ZREM', '$PAIRS_BY_STATUS$' .. h[1], id)
  redis.call('ZADD', '$PAIRS_BY_STATUS$' .. status, id, id)
  redis.call('HSET', key, 'status', status, 'updatedAt', now)
  if status ~= 'pending' then redis.call('ZREM', pending_key, id) end
  if not PAIR_OPEN[status] then
    for _, link in ipairs({ pair_between_key(h[2], h[3]), pair_between_key(h[3], h[2]) }) do
      if redis.call('GET', link) == tostring(id) then redis.call('DEL', link) end
    end
  end
end
