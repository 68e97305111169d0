-- Retention: delete the oldest messages past the age or count cap, with every index entry.
-- Message ids grow with time, so what expires is always a prefix of the ids: the batch walks
-- msgs_all from its lowest id and stops at the first message still kept. Every index scored by id
-- (by from/to/kind/channel, broadcasts, inboxes) is then cut below the highest id deleted with one
-- ZREMRANGEBYSCORE each, and that id is recorded as the floor that inbox reads start above (a
-- fan-out message may sit in the inbox of an agent that left the tag since; the floor hides it and
-- the next read of that inbox drops it).
-- KEYS: 1 msgs_all, 2 broadcasts, 3 message claims zset, 4 message floor
-- ARGV: 1 cutoff (ms: createdAt at or before it expired; 0 = no age cap),
--       2 messages to keep at most (0 = no count cap), 3 batch size
-- Returns: {examined, message id deleted, ...} (relay_model.reaper.drain's shape)
local cutoff, keep, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local excess = 0
if keep > 0 then excess = redis.call('ZCARD', KEYS[1]) - keep end
local oldest = redis.call('ZRANGE', KEYS[1], 0, limit - 1)
local out = { 0 }
local top = nil
local cut = {}      -- index keys to cut below `top`
local fanouts = {}  -- agent sets whose members' inboxes to cut

local function created_at(doc)
  -- The stored document ends with createdAt (relay_model.messages.messages._StoredDoc). The end
  -- anchor is written '$' because the loader reads a bare dollar sign as a key template.
  local at = string.match(doc, '"createdAt":(%d+)}' .. '$')
  if at then return tonumber(at) end
  local ok, decoded = pcall(cjson.decode, doc)
  if ok and type(decoded) == 'table' and tonumber(decoded.createdAt) then return tonumber(decoded.createdAt) end
  return 0
end

for _, id in ipairs(oldest) do
  local key = '$MESSAGE$' .. id
  local h = redis.call('HMGET', key, 'doc', 'from', 'to', 'kind', 'channel')
  local expired = excess > 0 or not h[1] or (cutoff > 0 and created_at(h[1]) <= cutoff)
  if not expired then break end
  out[1] = out[1] + 1
  excess = excess - 1
  top = id
  redis.call('ZREM', KEYS[1], id)
  if h[1] then
    redis.call('ZREM', KEYS[3], id)
    if not string.find(h[1], '"idempotencyKey":null,"createdAt":%d+}' .. '$') then
      local ok, decoded = pcall(cjson.decode, h[1])
      local idem = ok and type(decoded) == 'table' and decoded.idempotencyKey
      if type(idem) == 'string' and redis.call('GET', '$IDEMPOTENCY$' .. idem) == id then
        redis.call('DEL', '$IDEMPOTENCY$' .. idem)
      end
    end
    local to = h[3] or ''
    cut['$MESSAGES_BY_FROM$' .. (h[2] or '')] = true
    cut['$MESSAGES_BY_TO$' .. to] = true
    cut['$MESSAGES_BY_KIND$' .. (h[4] or '')] = true
    if h[5] and h[5] ~= '' then cut['$MESSAGES_BY_CHANNEL$' .. h[5]] = true end
    if to == 'broadcast' then
      cut[KEYS[2]] = true
    elseif string.sub(to, 1, 4) == 'tag:' then
      fanouts['$AGENTS_BY_TAG$' .. string.sub(to, 5)] = true
    elseif string.sub(to, 1, 4) == 'cap:' then
      fanouts['$AGENTS_BY_CAP$' .. string.sub(to, 5)] = true
    elseif string.sub(to, 1, 6) == 'label:' then
      fanouts['$AGENTS_BY_LABEL$' .. string.sub(to, 7)] = true
    else
      cut['$INBOX$' .. to] = true
    end
    redis.call('DEL', key)
    out[#out + 1] = id
  end
end
if top then
  for set in pairs(fanouts) do
    for _, member in ipairs(redis.call('SMEMBERS', set)) do cut['$INBOX$' .. member] = true end
  end
  for index in pairs(cut) do redis.call('ZREMRANGEBYSCORE', index, '-inf', top) end
  if tonumber(top) > tonumber(redis.call('GET', KEYS[4]) or '0') then redis.call('SET', KEYS[4], top) end
end
return out
