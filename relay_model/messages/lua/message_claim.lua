-- Claim a claimable message for one agent: exactly one holder at a time; the holder may renew.
-- KEYS: 1 message hash, 2 message claims zset, 3 bus events, 4 the agent's inbox
-- ARGV: 1 now, 2 message id, 3 agent id, 4 ttl ms, 5 maxlen, 6 who claims ('' = anyone may; else a
--       bound token's description, and the agent must be able to read the message: see below)
-- Returns: {'ok', newly claimed (0/1), message json} or {'err', code, message}
local key, id, agent = KEYS[1], ARGV[2], ARGV[3]
local now = tonumber(ARGV[1])
local h = redis.call('HMGET', key, 'claimable', 'claimedBy', 'claimExpiresAt', 'from', 'to')
if not h[1] then return { 'err', '404', 'message not found' } end
-- The claim answers the message, so a bound token claims only what its agent may read: a message it
-- sent or that was addressed to it, a broadcast, or one that reached its inbox (a fan-out). Checked
-- before the claim rules, as the API checks read access before anything else.
if ARGV[6] ~= '' and h[5] ~= 'broadcast' and agent ~= h[4] and agent ~= h[5]
    and not redis.call('ZSCORE', KEYS[4], id) then
  return { 'err', '403', ARGV[6] .. ' cannot read message ' .. id }
end
if h[1] ~= '1' then return { 'err', '409', 'message is not claimable' } end
local holder = h[2]
local held = holder and holder ~= '' and tonumber(h[3] or '0') > now
if held and holder ~= agent then
  return { 'err', '409', 'message already claimed by ' .. holder }
end
local expires = now + tonumber(ARGV[4])
local fresh = not (held and holder == agent)
if fresh then redis.call('HSET', key, 'claimedAt', now) end
redis.call('HSET', key, 'claimedBy', agent, 'claimExpiresAt', expires)
redis.call('ZADD', KEYS[2], expires, id)
local json = message_json(key)
relay_emit(KEYS[3], ARGV[5], 'bus', 'message.claimed', agent, id, '{"message":' .. json .. '}')
return { 'ok', fresh and 1 or 0, json }
