-- Agents in registration order, optionally narrowed to the intersection of index sets.
-- KEYS: 1 agents_all zset, 2.. index sets to intersect (none = every agent)
-- Returns: list of agent json
local ids
if #KEYS > 1 then
  local sets = {}
  for i = 2, #KEYS do sets[#sets + 1] = KEYS[i] end
  ids = redis.call('SINTER', unpack(sets))
  local score = {}
  for _, id in ipairs(ids) do score[id] = tonumber(redis.call('ZSCORE', KEYS[1], id) or '0') end
  -- ZRANGE's order: by registration time, ties by id.
  table.sort(ids, function(a, b)
    if score[a] ~= score[b] then return score[a] < score[b] end
    return a < b
  end)
else
  ids = redis.call('ZRANGE', KEYS[1], 0, -1)
end
local out = {}
for _, id in ipairs(ids) do
  local json = agent_json('$AGENT$' .. id)
  if json then out[#out + 1] = json end
end
return out
