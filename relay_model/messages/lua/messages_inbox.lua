-- An agent's inbox after a cursor, oldest first: its own inbox zset (direct and fan-out messages)
-- merged with broadcasts from other agents.
-- KEYS: 1 inbox zset, 2 broadcasts zset, 3 message floor (retention deleted every id at or below it)
-- ARGV: 1 agent id, 2 since (exclusive), 3 limit, 4 max broadcasts to examine
-- Returns: list of message json
local agent, since, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local floor = tonumber(redis.call('GET', KEYS[3]) or '0')
if floor > 0 then
  -- Entries at or below the floor are deleted messages (fan-outs to agents that left the tag since
  -- retention ran): drop them, and never let them fill a page.
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', floor)
  if floor > tonumber(since) then since = tostring(floor) end
end
local budget = tonumber(ARGV[4])
local own = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. since, '+inf', 'LIMIT', 0, limit)
-- Broadcasts sent by the agent itself are skipped, so read in pages until enough are found; one
-- ZMSCORE against the agent's sent-messages index tells which of a page are its own.
local sent_by_agent = '$MESSAGES_BY_FROM$' .. agent
local casts = {}
local cursor = since
local exhausted = false
-- The first page is what the answer needs; pages grow when the agent's own broadcasts fill them.
local size = limit
while #casts < limit and budget > 0 do
  local page = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. cursor, '+inf', 'LIMIT', 0, math.min(budget, size))
  size = math.min(size * 4, 1000)
  if #page == 0 then exhausted = true; break end
  local own_flags = redis.call('ZMSCORE', sent_by_agent, unpack(page))
  for i, id in ipairs(page) do
    budget = budget - 1
    if not own_flags[i] then casts[#casts + 1] = id end
    cursor = id
    if #casts >= limit then break end
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
