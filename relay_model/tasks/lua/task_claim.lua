-- Claim a task for one agent: exactly one holder at a time; the holder may claim again to renew.
-- KEYS: 1 task hash, 2 task claims zset, 3 claimants set, 4 task events, 5 cb seq, 6 cbs all, 7 cbs due
-- ARGV: 1 now, 2 task id, 3 agent id, 4 ttl ms, 5 maxlen, 6 callback filter json
-- Returns: {'ok', newly claimed (0/1), task json} or {'err', code, text}
--[[include:task_lib]]
local key, id, agent = KEYS[1], ARGV[2], ARGV[3]
local now = tonumber(ARGV[1])
local ctx = { now = now, events = KEYS[4], maxlen = ARGV[5], cfg = ARGV[6],
  cb = { seq = KEYS[5], all = KEYS[6], due = KEYS[7] } }
local h = redis.call('HMGET', key, 'status', 'claimedBy', 'claimExpiresAt')
if not h[1] then return { 'err', '404', 'task not found' } end
local status = h[1]
if TASK_FINAL[status] then return { 'err', '409', 'task is ' .. status } end
local holder = h[2]
local held = TASK_HELD[status] and holder and holder ~= '' and tonumber(h[3] or '0') > now
if held and holder ~= agent then return { 'err', '409', 'task already claimed by ' .. holder } end
if holder and holder ~= '' and holder ~= agent then task_release(key, id, KEYS[2], KEYS[3]) end
local fresh = not (held and holder == agent)
task_hold(key, id, agent, now, tonumber(ARGV[4]), KEYS[2], KEYS[3])
local previous = status
if not TASK_HELD[status] then task_set_status(key, id, 'claimed') end
local json = task_changed(key, id, ctx, 'task.updated', fresh and 'claimed' or 'renewed', previous, agent, '')
return { 'ok', fresh and 1 or 0, json }
