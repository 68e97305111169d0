-- Create a pending command, index it (all / target / status / type / target queue, ttl deadline)
-- and announce `command.requested`.
-- KEYS: 1 command hash, 2 commands_all zset, 3 deadlines zset, 4 cmd events
-- ARGV: 1 now (createdAt), 2 id, 3 static doc json, 4 full command json, 5 type, 6 source, 7 target,
--       8 expiresAt ('' = never), 9 ttlMs ('' = none), 10 event stream maxlen,
--       11 '1' when the id is the caller's idempotency key: an existing command is returned unchanged
-- Returns: {'ok', command json} or {'err', code, text}
local key, id = KEYS[1], ARGV[2]
if redis.call('EXISTS', key) == 1 then
  if ARGV[11] == '1' then return { 'ok', redis.call('HGET', key, 'json') } end
  return { 'err', '409', 'command id already exists' }
end
local now, ctype, target = ARGV[1], ARGV[5], ARGV[7]
redis.call('HSET', key, 'doc', ARGV[3], 'json', ARGV[4], 'status', 'pending', 'type', ctype,
  'source', ARGV[6], 'target', target, 'createdAt', now, 'updatedAt', now,
  'expiresAt', ARGV[8], 'ttlMs', ARGV[9])
redis.call('ZADD', KEYS[2], now, id)
redis.call('ZADD', '$CMDS_BY_TARGET$' .. target, now, id)
redis.call('ZADD', '$CMDS_BY_STATUS$' .. 'pending', now, id)
redis.call('ZADD', '$CMDS_BY_TYPE$' .. ctype, now, id)
redis.call('ZADD', '$CMDS_QUEUE$' .. 'pending:' .. target, now, id)
if ARGV[8] ~= '' then redis.call('ZADD', KEYS[3], ARGV[8], id) end
relay_emit(KEYS[4], ARGV[10], 'cmd', 'command.requested', ARGV[6], id, '{"command":' .. ARGV[4] .. '}')
return { 'ok', ARGV[4] }
