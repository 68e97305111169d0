-- Re-check pool slots (compare-and-set per binding) and move the ones whose holder is not eligible.
-- KEYS: 1 bus events, 2 pool holders set, 3 pool unclaimed set, 4 scope key (see mode)
-- ARGV: 1 mode, 2 now, 3 maxlen, 4 agent id (mode 'agent')
--   mode 'due'     (reaper): bindings held by agents no longer online/idle/busy, and unclaimed bindings
--   mode 'agent'   (an agent changed): bindings it holds and bindings of the pools its tags name
--   mode 'channel' (before routing): KEYS[4] is the channel's bindings zset; returns its bindings too
-- Returns: {changes (list of json), bindings (list of json, mode 'channel' only)}
--[[include:pool_lib]]
local mode = ARGV[1]
local pctx = { now = tonumber(ARGV[2]), events = KEYS[1], maxlen = ARGV[3], holders = KEYS[2], unclaimed = KEYS[3] }
local changes, seen, order = {}, {}, {}
local function consider(bid)
  if not seen[bid] then
    seen[bid] = true
    order[#order + 1] = bid
  end
end
if mode == 'due' then
  for _, agent in ipairs(redis.call('SMEMBERS', KEYS[2])) do
    local status = redis.call('HGET', '$AGENT$' .. agent, 'status')
    if not status or not LIVE_STATUSES[status] then
      for _, bid in ipairs(redis.call('SMEMBERS', '$POOL_HELD$' .. agent)) do consider(bid) end
    end
  end
  for _, bid in ipairs(redis.call('SMEMBERS', KEYS[3])) do consider(bid) end
elseif mode == 'agent' then
  local agent = ARGV[4]
  for _, bid in ipairs(redis.call('SMEMBERS', '$POOL_HELD$' .. agent)) do consider(bid) end
  local tags = redis.call('HGET', '$AGENT$' .. agent, 'tags')
  if tags then
    for _, tag in ipairs(cjson.decode(tags)) do
      if string.sub(tag, 1, 5) == 'pool:' then
        for _, bid in ipairs(redis.call('SMEMBERS', '$BINDINGS_OF_POOL$' .. string.sub(tag, 6))) do consider(bid) end
      end
    end
  end
else
  for _, bid in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do consider(bid) end
end
table.sort(order, function(a, b) return tonumber(a) < tonumber(b) end)
for _, bid in ipairs(order) do
  local change = pool_assign(bid, pctx)
  if change then changes[#changes + 1] = change end
end
local bindings = {}
if mode == 'channel' then
  for _, bid in ipairs(order) do
    local json = binding_json('$BINDING$' .. bid)
    if json then bindings[#bindings + 1] = json end
  end
end
return { changes, bindings }
