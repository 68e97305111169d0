-- Revoke a token: stamp its record and set the revocation marker every API node checks.
-- KEYS: 1 token record hash, 2 revoked marker
-- ARGV: 1 now (ms)
-- Returns: {'ok', revokedAt} or {'err', '404', text} when the token is unknown or already revoked.
local h = redis.call('HMGET', KEYS[1], 'doc', 'revokedAt', 'exp')
if not h[1] or (h[2] and h[2] ~= '') then
  return { 'err', '404', 'token not found or already revoked' }
end
local now = tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'revokedAt', now)
-- The marker lives exactly as long as the token would; after that the signature check refuses it.
local remaining = tonumber(h[3] or '0') - now
if remaining > 0 then redis.call('SET', KEYS[2], now, 'PX', remaining) end
return { 'ok', now }
