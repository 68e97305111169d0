-- Move an agent's read cursor. KEYS: 1 cursor, 2 message seq. ARGV: 1 position, 2 allow moving back (0/1).
-- Returns {cursor after the call, latest message id}.
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local wanted = tonumber(ARGV[1])
if wanted > current or ARGV[2] == '1' then
  redis.call('SET', KEYS[1], wanted)
  current = wanted
end
return { current, tonumber(redis.call('GET', KEYS[2]) or '0') }
