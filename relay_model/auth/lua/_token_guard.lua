-- The token check of a request, at the start of the script that does the request's work (a
-- ScriptGuard of kind "token", relay_model/scripts.py): is the token revoked, and how many requests
-- has it made in the current fixed rate window. Its KEYS and ARGV come after the script's own and are
-- taken off here, so the script that follows sees exactly its usual KEYS and ARGV.
-- KEYS: revoked marker, rate window counter
-- ARGV: limit per window (0 = unlimited: nothing is counted), window length (ms)
-- Refuses with an error reply 'RELAY_GUARD revoked' or 'RELAY_GUARD rate'; the script does not run.
local guard_window_ms = table.remove(ARGV)
local guard_limit = tonumber(table.remove(ARGV))
local guard_rate_key = table.remove(KEYS)
local guard_revoked_key = table.remove(KEYS)
if redis.call('EXISTS', guard_revoked_key) == 1 then return redis.error_reply('RELAY_GUARD revoked') end
if guard_limit > 0 then
  local n = redis.call('INCR', guard_rate_key)
  if n == 1 then redis.call('PEXPIRE', guard_rate_key, guard_window_ms) end
  if n > guard_limit then return redis.error_reply('RELAY_GUARD rate') end
end
