-- An agent's inbox after a cursor, oldest first: its own inbox zset (direct and fan-out messages)
-- merged with broadcasts from other agents.
-- KEYS: 1 inbox zset, 2 broadcasts zset
-- ARGV: 1 agent id, 2 since (exclusive), 3 limit, 4 max broadcasts to examine
-- Returns: list of message json
local agent, since, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local budget = tonumber(ARGV[4])
local own = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. since, '+inf', 'LIMIT', 0, limit)
-- Broadcasts sent by the agent itself are skipped, so read in pages until enough are found.
-- Past the last own entry there is no need for more broadcasts than fill the page.
local casts = {}
local cursor = since
local exhausted = false
while #casts < limit and budget > 0 do
  local page = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. cursor, '+inf', 'LIMIT', 0, limit)
  if #page == 0 then exhausted = true; break end
  for _, id in ipairs(page) do
    budget = budget - 1
    if redis.call('HGET', '$MESSAGE$' .. id, 'from') ~= agent then casts[#casts + 1] = id end
    cursor = id
  end
end
-- When the broadcast scan stopped on its budget, own entries past where it stopped must wait for
-- the next page, or a later read (since = the last id returned) would skip unseen broadcasts.
local horizon = nil
if not exhausted and #casts < limit then horizon = tonumber(cursor) end
local out, i, j = {}, 1, 1
while #out < limit and (i <= #own or j <= #casts) do
  local pick
  if j > #casts or (i <= #own and tonumber(own[i]) < tonumber(casts[j])) then
    pick = own[i]; i = i + 1
  else
    pick = casts[j]; j = j + 1
  end
  if horizon and tonumber(pick) > horizon then break end
  local json = message_json('$MESSAGE$' .. pick)
  if json then out[#out + 1] = json end
end
return out
