-- Record a newly issued token (never its secret) and index it.
-- KEYS: 1 token record hash, 2 tokens_all zset
-- ARGV: 1 jti, 2 record doc (json), 3 expires at (ms), 4 record expiry (unix s), 5 now (ms)
-- Returns: 1
redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'exp', ARGV[3])
redis.call('EXPIREAT', KEYS[1], ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
return 1
