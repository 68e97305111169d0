-- List tasks newest first from one index zset, filtered by the other fields.
-- KEYS: 1 index zset
-- ARGV: 1 limit, 2 before id ('' = newest), 3 status, 4 target, 5 channel, 6 source, 7 claimedBy ('' = any),
--       8 scan budget
-- Returns: list of task json
--[[include:task_lib]]
local limit, budget = tonumber(ARGV[1]), tonumber(ARGV[8])
local max = '+inf'
if ARGV[2] ~= '' then max = '(' .. ARGV[2] end
local want = { status = ARGV[3], target = ARGV[4], channel = ARGV[5], source = ARGV[6], claimedBy = ARGV[7] }
local out, scanned = {}, 0
while #out < limit and scanned < budget do
  local page = redis.call('ZREVRANGEBYSCORE', KEYS[1], max, '-inf', 'LIMIT', 0, 200)
  if #page == 0 then break end
  for _, id in ipairs(page) do
    scanned = scanned + 1
    local key = '$TASK$' .. id
    local h = redis.call('HMGET', key, 'status', 'target', 'channel', 'source', 'claimedBy')
    local ok = h[1] ~= false
    if ok and want.status ~= '' and h[1] ~= want.status then ok = false end
    if ok and want.target ~= '' and h[2] ~= want.target then ok = false end
    if ok and want.channel ~= '' and h[3] ~= want.channel then ok = false end
    if ok and want.source ~= '' and h[4] ~= want.source then ok = false end
    if ok and want.claimedBy ~= '' and h[5] ~= want.claimedBy then ok = false end
    if ok then out[#out + 1] = task_json(key) end
    max = '(' .. id
    if #out >= limit then break end
  end
end
return out
