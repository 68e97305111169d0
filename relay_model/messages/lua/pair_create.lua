-- Ask another agent to pair (status pending until accepted, rejected, ended or expired).
-- KEYS: 1 pair seq, 2 pairs_all, 3 pending zset, 4 open-pair link from->to, 5 from agent hash,
--       6 to agent hash, 7 bus events, 8 open-pair link to->from
-- ARGV: 1 now, 2 from, 3 to, 4 topic, 5 expiresAt, 6 meta json ('' = none), 7 maxlen
-- Returns: {'ok', pair json} or {'err', code, text}
--[[include:pair_lib]]
local now, from, to = tonumber(ARGV[1]), ARGV[2], ARGV[3]
if redis.call('EXISTS', KEYS[5]) == 0 then return { 'err', '404', 'agent ' .. from .. ' not found' } end
local status = redis.call('HGET', KEYS[6], 'status')
if not status then return { 'err', '404', 'agent ' .. to .. ' not found' } end
if status == 'offline' then return { 'err', '422', 'agent "' .. to .. '" is offline' } end
for _, link in ipairs({ KEYS[4], KEYS[8] }) do
  local open = redis.call('GET', link)
  if open and redis.call('EXISTS', '$PAIR$' .. open) == 1 then
    return { 'err', '409', 'agents ' .. from .. ' and ' .. to .. ' already have an open pair (' .. open .. ')' }
  end
end
if from == to then return { 'err', '400', 'an agent cannot pair with itself' } end
local id = redis.call('INCR', KEYS[1])
local key = '$PAIR$' .. id
redis.call('HSET', key, 'id', id, 'from', from, 'to', to, 'topic', ARGV[4], 'status', 'pending', 'meta', ARGV[6],
  'createdAt', now, 'updatedAt', now, 'expiresAt', ARGV[5])
redis.call('ZADD', KEYS[2], id, id)
redis.call('ZADD', '$PAIRS_BY_STATUS$pending', id, id)
redis.call('ZADD', '$PAIRS_BY_AGENT$' .. from, id, id)
redis.call('ZADD', '$PAIRS_BY_AGENT$' .. to, id, id)
redis.call('ZADD', KEYS[3], tonumber(ARGV[5]), id)
redis.call('SET', KEYS[4], id)
redis.call('SET', KEYS[8], id)
local json = pair_json(key)
relay_emit(KEYS[7], ARGV[7], 'bus', 'pair.requested', from, tostring(id), '{"pair":' .. json .. '}')
return { 'ok', json }
