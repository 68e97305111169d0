-- Commands from one index zset (scored by createdAt), filtered by the other fields, bounded in work.
-- KEYS: 1 index zset (the most selective filter's: a target's queue, target, status, type or all)
-- ARGV: 1 since (inclusive createdAt ms, '' = none), 2 limit, 3 type, 4 status, 5 target ('' = any),
--       6 max entries to examine
-- With `since` the result is the oldest commands created at or after it; otherwise the newest.
-- Either way it is returned oldest first.
local since, limit = ARGV[1], tonumber(ARGV[2])
local want_type, want_status, want_target = ARGV[3], ARGV[4], ARGV[5]
local budget = tonumber(ARGV[6])
local ascending = since ~= ''
local out = {}
local offset = 0
local page_size = math.max(limit, 50)
while #out < limit and budget > 0 do
  local page
  if ascending then
    page = redis.call('ZRANGEBYSCORE', KEYS[1], since, '+inf', 'LIMIT', offset, page_size)
  else
    page = redis.call('ZREVRANGEBYSCORE', KEYS[1], '+inf', '-inf', 'LIMIT', offset, page_size)
  end
  if #page == 0 then break end
  offset = offset + #page
  for _, id in ipairs(page) do
    budget = budget - 1
    local h = redis.call('HMGET', '$COMMAND$' .. id, 'json', 'type', 'status', 'target')
    if h[1] and (want_type == '' or h[2] == want_type) and (want_status == '' or h[3] == want_status)
        and (want_target == '' or h[4] == want_target) then
      out[#out + 1] = h[1]
      if #out >= limit then break end
    end
    if budget <= 0 then break end
  end
end
if not ascending then
  local n = #out
  for k = 1, math.floor(n / 2) do out[k], out[n - k + 1] = out[n - k + 1], out[k] end
end
return out
