-- Delete an automation: it leaves the due set and the event index at once, so no worker fires it again.
-- Its runs stay listable.
-- KEYS: 1 automation hash, 2 automations zset, 3 due zset, 4 auto event stream
-- ARGV: 1 id, 2 maxlen
-- Returns: 1 when deleted, 0 when there was no such automation
local key, id = KEYS[1], ARGV[1]
if redis.call('EXISTS', key) == 0 then return 0 end
local event = redis.call('HGET', key, 'event')
if event and event ~= '' then redis.call('SREM', '$AUTOMATIONS_ON$' .. event, id) end
redis.call('DEL', key)
redis.call('ZREM', KEYS[2], id)
redis.call('ZREM', KEYS[3], id)
relay_emit(KEYS[4], ARGV[2], 'auto', 'automation.deleted', 'server', id, '{"automationId":' .. cjson.encode(id) .. '}')
return 1
