-- List runs newest first, optionally of one status; examines at most a budget of entries.
-- KEYS: 1 runs index zset (all runs, or one automation's)
-- ARGV: 1 limit, 2 status ('' = any), 3 scan budget
-- Returns: a list of run json
local limit, status, budget = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local out, offset, page = {}, 0, 200
while #out < limit and offset < budget do
  local ids = redis.call('ZREVRANGE', KEYS[1], offset, offset + page - 1)
  if #ids == 0 then break end
  for _, id in ipairs(ids) do
    local doc = redis.call('GET', '$AUTOMATION_RUN$' .. id)
    if doc and (status == '' or cjson.decode(doc).status == status) then
      out[#out + 1] = doc
      if #out >= limit then break end
    end
  end
  offset = offset + page
end
return out
