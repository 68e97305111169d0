-- The per-request token check, in one round trip: is the token revoked, and its request count in
-- the current fixed rate window.
-- KEYS: 1 revoked marker, 2 rate window counter
-- ARGV: 1 limit per window (0 = unlimited: nothing is counted), 2 window length (ms)
-- Returns: {revoked 0/1, count in this window}
if redis.call('EXISTS', KEYS[1]) == 1 then return { 1, 0 } end
if tonumber(ARGV[1]) == 0 then return { 0, 0 } end
local n = redis.call('INCR', KEYS[2])
if n == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return { 0, n }
