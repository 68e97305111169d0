-- Retention: delete the oldest activity entries past the age or count cap, with their index entries.
-- Entry ids grow with time, so what expires is a prefix of the ids: the batch walks the feed from its
-- lowest id, stops at the first entry still kept, then cuts each kind index and the index of every
-- agent it met below the highest id deleted (one ZREMRANGEBYSCORE each).
-- KEYS: 1 activity all zset
-- ARGV: 1 cutoff (ms: createdAt at or before it expired; 0 = no age cap),
--       2 entries to keep at most (0 = no count cap), 3 batch size, 4.. every activity kind
-- Returns: {examined, activity id deleted, ...} (relay_model.reaper.drain's shape)
local cutoff, keep, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local excess = 0
if keep > 0 then excess = redis.call('ZCARD', KEYS[1]) - keep end
local oldest = redis.call('ZRANGE', KEYS[1], 0, limit - 1)
local out = { 0 }
local top = nil
local agents = {}
for _, id in ipairs(oldest) do
  local key = '$ACTIVITY$' .. id
  local entry = redis.call('GET', key)
  local decoded = nil
  if entry then
    local ok, value = pcall(cjson.decode, entry)
    if ok and type(value) == 'table' then decoded = value end
  end
  -- The entry ends with createdAt (add_activity in _prelude.lua); an undecodable one is not kept.
  -- (The end anchor is written '$' because the loader reads a bare dollar sign as a key template.)
  local created = entry and tonumber(string.match(entry, '"createdAt":(%d+)}' .. '$') or '')
  if not created and decoded then created = tonumber(decoded.createdAt) end
  local expired = excess > 0 or not entry or (cutoff > 0 and (created or 0) <= cutoff)
  if not expired then break end
  out[1] = out[1] + 1
  excess = excess - 1
  top = id
  redis.call('ZREM', KEYS[1], id)
  if entry then
    if decoded and type(decoded.agentId) == 'string' and decoded.agentId ~= '' then agents[decoded.agentId] = true end
    redis.call('DEL', key)
    out[#out + 1] = id
  end
end
if top then
  for i = 4, #ARGV do redis.call('ZREMRANGEBYSCORE', '$ACTIVITY_BY_KIND$' .. ARGV[i], '-inf', top) end
  for agent in pairs(agents) do redis.call('ZREMRANGEBYSCORE', '$ACTIVITY_BY_AGENT$' .. agent, '-inf', top) end
end
return out
