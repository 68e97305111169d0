-- Newest activity entries first from one index zset, optionally filtered by kind too.
-- KEYS: 1 index zset. ARGV: 1 before id (exclusive, '' = none), 2 limit, 3 kind ('' = any),
--       4 since id (exclusive, '' = none), 5 max entries to examine
-- Returns: list of entry json, newest first
local hi = '+inf'
if ARGV[1] ~= '' then hi = '(' .. ARGV[1] end
local lo = '-inf'
if ARGV[4] ~= '' then lo = '(' .. ARGV[4] end
local limit, kind, budget = tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[5])
local out = {}
while #out < limit and budget > 0 do
  local page = redis.call('ZREVRANGEBYSCORE', KEYS[1], hi, lo, 'LIMIT', 0, limit)
  if #page == 0 then break end
  for _, id in ipairs(page) do
    budget = budget - 1
    -- The kind index answers the kind filter without decoding the entry.
    if kind == '' or redis.call('ZSCORE', '$ACTIVITY_BY_KIND$' .. kind, id) then
      local entry = redis.call('GET', '$ACTIVITY$' .. id)
      if entry then
        out[#out + 1] = entry
        if #out >= limit then break end
      end
    end
    hi = '(' .. id
  end
end
return out
