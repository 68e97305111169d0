-- Set a task's status (PATCH /api/tasks/:id/status).
--   open                     releases any claim
--   claimed/in_progress/blocked  with agentId: that agent holds the claim (renewed); a live claim
--                            of another agent refuses the change
--   orphaned / done / failed / canceled  stop the claim's clock, keep claimedBy on record
-- KEYS: 1 task hash, 2 task claims zset, 3 claimants set, 4 task events, 5 cb seq, 6 cbs all, 7 cbs due
-- ARGV: 1 now, 2 task id, 3 status, 4 agent id ('' = none), 5 note, 6 maxlen, 7 callback filter json,
--       8 default claim ttl ms, 9 '1' when only the claimant may change it (an agent or orchestrator
--       token: ARGV 4 is then the agent it acts as)
-- Returns: {'ok', task json} or {'err', code, text}
--[[include:task_lib]]
local key, id, status, agent = KEYS[1], ARGV[2], ARGV[3], ARGV[4]
local now = tonumber(ARGV[1])
local ctx = { now = now, events = KEYS[4], maxlen = ARGV[6], cfg = ARGV[7],
  cb = { seq = KEYS[5], all = KEYS[6], due = KEYS[7] } }
local h = redis.call('HMGET', key, 'status', 'claimedBy', 'claimExpiresAt', 'claimTtlMs')
if not h[1] then return { 'err', '404', 'task not found' } end
local current, holder = h[1], h[2]
local held = TASK_HELD[current] and holder and holder ~= '' and tonumber(h[3] or '0') > now
if held and agent ~= '' and holder ~= agent then return { 'err', '409', 'task is claimed by ' .. holder } end
-- A claimant-only change: the claimant of record (live or not) may change the task; a task nobody
-- holds may only be taken (claimed / in_progress / blocked), which makes the caller its claimant.
if ARGV[9] == '1' and (holder or '') ~= agent then
  if holder and holder ~= '' then
    return { 'err', '403', 'task ' .. id .. ' is claimed by ' .. holder ..
      ': only its claimant or an operator may change its status' }
  end
  if not TASK_HELD[status] then
    return { 'err', '403', 'task ' .. id .. ' is not claimed by ' .. agent ..
      ': claim it before setting it ' .. status }
  end
end

if status == 'open' then
  task_release(key, id, KEYS[2], KEYS[3])
elseif TASK_HELD[status] then
  local who = agent
  if who == '' then who = (held and holder) or '' end
  if who == '' then return { 'err', '400', 'agentId required' } end
  if holder and holder ~= '' and holder ~= who then task_release(key, id, KEYS[2], KEYS[3]) end
  local ttl = tonumber(h[4] or '') or tonumber(ARGV[8])
  if holder ~= who then ttl = tonumber(ARGV[8]) end
  task_hold(key, id, who, now, ttl, KEYS[2], KEYS[3])
else
  task_drop_hold(key, id, KEYS[2], KEYS[3])
end
task_set_status(key, id, status)
local json = task_changed(key, id, ctx, 'task.updated', 'status', current, agent, ARGV[5])
return { 'ok', json }
