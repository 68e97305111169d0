-- Drop due-set entries whose automation no longer has a pending slot (deleted, disabled or no longer
-- scheduled), re-checked against the automation's own record: an entry a concurrent save just put
-- back stays.
-- KEYS: 1 due zset
-- ARGV: automation ids
-- Returns: how many entries were dropped
local dropped = 0
for _, id in ipairs(ARGV) do
  local next_at = redis.call('HGET', '$AUTOMATION$' .. id, 'nextRunAt')
  if not next_at or next_at == '' then
    dropped = dropped + redis.call('ZREM', KEYS[1], id)
  end
end
return dropped
