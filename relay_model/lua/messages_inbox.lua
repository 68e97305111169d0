-- An agent's inbox after a cursor, oldest first: its own inbox zset merged with broadcasts
-- from other agents.
-- KEYS: 1 inbox zset, 2 broadcasts zset
-- ARGV: 1 agent id, 2 since (exclusive), 3 limit
-- Returns: list of message json
local agent, since, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local own = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. since, '+inf', 'LIMIT', 0, limit)
-- Broadcasts sent by the agent itself are skipped, so read in pages until enough are found.
local casts = {}
local cursor = since
while #casts < limit do
  local page = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. cursor, '+inf', 'LIMIT', 0, limit)
  if #page == 0 then break end
  for _, id in ipairs(page) do
    if redis.call('HGET', '$MESSAGE$' .. id, 'from') ~= agent then casts[#casts + 1] = id end
    cursor = id
  end
end
local out, i, j = {}, 1, 1
while #out < limit and (i <= #own or j <= #casts) do
  local pick
  if j > #casts or (i <= #own and tonumber(own[i]) < tonumber(casts[j])) then
    pick = own[i]; i = i + 1
  else
    pick = casts[j]; j = j + 1
  end
  local json = message_json('$MESSAGE$' .. pick)
  if json then out[#out + 1] = json end
end
return out
