-- Accept, reject or end a pair (compare-and-set on its status).
--   accept: the invited agent (`to`), pending -> active
--   reject: the invited agent, pending -> rejected
--   end:    either agent, pending or active -> ended
-- A pending pair past its deadline is expired here first (the reaper may not have run yet).
-- KEYS: 1 pair hash, 2 pending zset, 3 bus events
-- ARGV: 1 now, 2 pair id, 3 action, 4 agent id, 5 reason, 6 maxlen
-- Returns: {'ok', pair json} or {'err', code, text}
--[[include:pair_lib]]
local key, id, action, agent = KEYS[1], ARGV[2], ARGV[3], ARGV[4]
local now = tonumber(ARGV[1])
local h = redis.call('HMGET', key, 'status', 'from', 'to', 'expiresAt')
if not h[1] then return { 'err', '404', 'pair not found' } end
local status = h[1]
if status == 'pending' and tonumber(h[4] or '0') <= now then
  pair_set_status(key, id, 'expired', now, KEYS[2])
  relay_emit(KEYS[3], ARGV[6], 'bus', 'pair.expired', 'server', id, '{"pair":' .. pair_json(key) .. '}')
  return { 'err', '409', 'pair is expired' }
end
local new
if action == 'accept' or action == 'reject' then
  if agent ~= h[3] then return { 'err', '403', 'only the invited agent (' .. h[3] .. ') can ' .. action .. ' this pair' } end
  if status ~= 'pending' then return { 'err', '409', 'pair is ' .. status } end
  if action == 'accept' then new = 'active' else new = 'rejected' end
  redis.call('HSET', key, 'respondedAt', now)
else
  if agent ~= h[2] and agent ~= h[3] then return { 'err', '403', 'agent ' .. agent .. ' is not part of this pair' } end
  if not PAIR_OPEN[status] then return { 'err', '409', 'pair is ' .. status } end
  new = 'ended'
  redis.call('HSET', key, 'endedAt', now, 'endedBy', agent)
end
if ARGV[5] ~= '' then redis.call('HSET', key, 'reason', ARGV[5]) end
pair_set_status(key, id, new, now, KEYS[2])
local json = pair_json(key)
local etype = 'pair.' .. new
if new == 'active' then etype = 'pair.accepted' end
relay_emit(KEYS[3], ARGV[6], 'bus', etype, agent, id, '{"pair":' .. json .. '}')
return { 'ok', json }
