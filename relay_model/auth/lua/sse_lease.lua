-- Take, renew or drop one SSE connection's lease in a token's lease set. Leases expire, so the
-- connections of a node that died stop counting once their lease runs out.
-- KEYS: 1 lease zset of the token
-- ARGV: 1 now (ms), 2 connection id, 3 lease expiry (ms; 0 = drop), 4 max connections (0 = no limit),
--       5 'take' | 'renew' | 'drop'
-- Returns: 1 when granted (or renewed/dropped), 0 when the token already holds the maximum.
local key, now, conn, expiry, max, op = KEYS[1], tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]),
  tonumber(ARGV[4]), ARGV[5]
if op == 'drop' then
  redis.call('ZREM', key, conn)
  return 1
end
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if op == 'take' and max > 0 and redis.call('ZCARD', key) >= max then return 0 end
redis.call('ZADD', key, expiry, conn)
redis.call('PEXPIREAT', key, expiry)
return 1
