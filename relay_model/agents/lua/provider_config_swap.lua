-- Replace a provider config only if it is still the one the new value was computed from (compare-and-set).
-- KEYS: 1 provider config key
-- ARGV: 1 expected current value ('' = none stored), 2 new value
-- Returns: 1 when written, 0 when another request changed it first
local current = redis.call('GET', KEYS[1]) or ''
if current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
