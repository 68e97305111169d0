-- Message history from one index zset, filtered by the other fields, bounded in work.
-- KEYS: 1 index zset (the most selective filter's, or msgs_all)
-- ARGV: 1 since (exclusive, '' = none), 2 before (exclusive, '' = none), 3 limit,
--       4 from, 5 to, 6 channel, 7 kind ('' = any), 8 max entries to examine
-- With `since` the result is the oldest entries after it; otherwise the newest before `before`.
-- Either way it is returned oldest first.
local since, before, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local want = { from = ARGV[4], to = ARGV[5], channel = ARGV[6], kind = ARGV[7] }
local budget = tonumber(ARGV[8])
local ascending = since ~= ''
local out = {}
local lo, hi
if ascending then lo = '(' .. since else lo = '-inf' end
if before ~= '' then hi = '(' .. before else hi = '+inf' end
while #out < limit and budget > 0 do
  local page
  if ascending then
    page = redis.call('ZRANGEBYSCORE', KEYS[1], lo, hi, 'LIMIT', 0, limit)
  else
    page = redis.call('ZREVRANGEBYSCORE', KEYS[1], hi, lo, 'LIMIT', 0, limit)
  end
  if #page == 0 then break end
  for _, id in ipairs(page) do
    budget = budget - 1
    local key = '$MESSAGE$' .. id
    local h = redis.call('HMGET', key, 'from', 'to', 'channel', 'kind')
    if h[1] and (want.from == '' or h[1] == want.from) and (want.to == '' or h[2] == want.to)
        and (want.channel == '' or h[3] == want.channel) and (want.kind == '' or h[4] == want.kind) then
      out[#out + 1] = message_json(key)
      if #out >= limit then break end
    end
    if ascending then lo = '(' .. id else hi = '(' .. id end
  end
end
if not ascending then
  local n = #out
  for k = 1, math.floor(n / 2) do out[k], out[n - k + 1] = out[n - k + 1], out[k] end
end
return out
