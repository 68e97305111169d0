-- Task helpers, included by the task scripts (--[[include:task_lib]]).
-- A task is a hash of plain fields; task_json builds the wire JSON from them, so user JSON
-- (metadata) is never decoded and re-encoded by cjson.
local TASK_FINAL = { done = true, failed = true, canceled = true }
local TASK_HELD = { claimed = true, in_progress = true, blocked = true }

local function task_json(key)
  local h = redis.call('HMGET', key, 'id', 'title', 'body', 'severity', 'status', 'target', 'channel', 'source',
    'externalId', 'type', 'metadata', 'claimedBy', 'claimedAt', 'claimExpiresAt', 'createdAt', 'updatedAt')
  if not h[1] then return nil end
  local metadata = 'null'
  if h[11] and h[11] ~= '' then metadata = h[11] end
  return '{"id":' .. h[1] .. ',"title":' .. cjson.encode(h[2] or '') .. ',"body":' .. cjson.encode(h[3] or '') ..
    ',"severity":' .. cjson.encode(h[4] or 'info') .. ',"status":' .. cjson.encode(h[5] or 'open') ..
    ',"target":' .. json_str_or_null(h[6]) .. ',"channel":' .. json_str_or_null(h[7]) ..
    ',"source":' .. json_str_or_null(h[8]) .. ',"externalId":' .. json_str_or_null(h[9]) ..
    ',"type":' .. json_str_or_null(h[10]) .. ',"metadata":' .. metadata ..
    ',"claimedBy":' .. json_str_or_null(h[12]) .. ',"claimedAt":' .. num_or_null(h[13]) ..
    ',"claimExpiresAt":' .. num_or_null(h[14]) .. ',"createdAt":' .. num_or_null(h[15]) ..
    ',"updatedAt":' .. num_or_null(h[16]) .. '}'
end

local function task_set_status(key, id, status)
  local old = redis.call('HGET', key, 'status')
  if old == status then return old end
  if old then redis.call('ZREM', '$TASKS_BY_STATUS$' .. old, id) end
  redis.call('ZADD', '$TASKS_BY_STATUS$' .. status, id, id)
  redis.call('HSET', key, 'status', status)
  return old
end

-- Stop the claim's clock (deadline, the holder's live-claim index) but keep `claimedBy` on record.
local function task_drop_hold(key, id, claims_key, claimants_key)
  local holder = redis.call('HGET', key, 'claimedBy')
  if holder and holder ~= '' then
    redis.call('ZREM', '$TASKS_HELD_BY$' .. holder, id)
    if redis.call('ZCARD', '$TASKS_HELD_BY$' .. holder) == 0 then redis.call('SREM', claimants_key, holder) end
  end
  redis.call('ZREM', claims_key, id)
  redis.call('HDEL', key, 'claimExpiresAt')
  return holder
end

-- Forget the claimant entirely (the task is free for anyone again).
local function task_release(key, id, claims_key, claimants_key)
  local holder = task_drop_hold(key, id, claims_key, claimants_key)
  if holder and holder ~= '' then redis.call('ZREM', '$TASKS_BY_CLAIMANT$' .. holder, id) end
  redis.call('HDEL', key, 'claimedBy', 'claimedAt', 'claimTtlMs')
  return holder
end

local function task_hold(key, id, agent, now, ttl, claims_key, claimants_key)
  local expires = now + ttl
  if redis.call('HGET', key, 'claimedBy') ~= agent then
    redis.call('HSET', key, 'claimedBy', agent, 'claimedAt', now)
    redis.call('ZADD', '$TASKS_BY_CLAIMANT$' .. agent, id, id)
  end
  redis.call('HSET', key, 'claimExpiresAt', expires, 'claimTtlMs', ttl)
  redis.call('ZADD', claims_key, expires, id)
  redis.call('ZADD', '$TASKS_HELD_BY$' .. agent, id, id)
  redis.call('SADD', claimants_key, agent)
end

-- Queue a callback delivery when the task belongs to an integration whose filters match
-- (the seed's dispatchTaskCallbacks). cfg_json: {"<integration>": {"targets": [...], "channels": [...]}}
-- for integrations that have a callbackUrl. cb = {seq, all, due}.
local function task_outbox(key, id, json, etype, now, cfg_json, cb)
  if cfg_json == '' or cfg_json == '{}' then return end
  local h = redis.call('HMGET', key, 'source', 'target', 'channel', 'requestedTarget')
  if not h[1] or h[1] == '' then return end
  local cfg = cjson.decode(cfg_json)[h[1]]
  if type(cfg) ~= 'table' then return end
  local targets, channels = cfg.targets or {}, cfg.channels or {}
  if #targets > 0 then
    local ok = false
    for _, t in ipairs(targets) do
      if t == h[2] or (h[4] and h[4] ~= '' and t == h[4]) then ok = true end
    end
    if not ok then return end
  end
  if #channels > 0 and h[3] and h[3] ~= '' then
    local ok = false
    for _, c in ipairs(channels) do if c == h[3] then ok = true end end
    if not ok then return end
  end
  local did = redis.call('INCR', cb.seq)
  local body = '{"type":' .. cjson.encode(etype) .. ',"deliveryId":' .. did .. ',"integration":' ..
    cjson.encode(h[1]) .. ',"task":' .. json .. ',"createdAt":' .. now .. '}'
  redis.call('HSET', '$CALLBACK$' .. did, 'id', did, 'integration', h[1], 'taskId', id, 'event', etype,
    'body', body, 'status', 'pending', 'attempts', 0, 'nextAt', now, 'createdAt', now, 'updatedAt', now)
  redis.call('ZADD', cb.all, did, did)
  redis.call('ZADD', '$CALLBACKS_BY_STATUS$pending', did, did)
  redis.call('ZADD', '$CALLBACKS_BY_INTEGRATION$' .. h[1], did, did)
  redis.call('ZADD', cb.due, now, did)
end

-- Record a change: history entry, live event, callback outbox. Returns the task json.
-- ctx = {now, events, maxlen, cfg, cb}
local function task_changed(key, id, ctx, etype, action, previous, agent, note)
  redis.call('HSET', key, 'updatedAt', ctx.now)
  local json = task_json(key)
  local status = redis.call('HGET', key, 'status')
  -- Retention (tasks_trim) reads final tasks by the time of their last change.
  if TASK_FINAL[status] then
    redis.call('ZADD', '$TASKS_FINAL$', ctx.now, id)
  else
    redis.call('ZREM', '$TASKS_FINAL$', id)
  end
  local hkey = '$TASK_HISTORY$' .. id
  local entry = '{"id":' .. (redis.call('LLEN', hkey) + 1) .. ',"taskId":' .. id .. ',"type":' .. cjson.encode(etype) ..
    ',"action":' .. cjson.encode(action) .. ',"status":' .. cjson.encode(status) ..
    ',"previousStatus":' .. json_str_or_null(previous) .. ',"agentId":' .. json_str_or_null(agent) ..
    ',"note":' .. json_str_or_null(note) .. ',"at":' .. ctx.now .. '}'
  redis.call('RPUSH', hkey, entry)
  local source = agent
  if not source or source == '' then source = redis.call('HGET', key, 'source') or 'server' end
  if source == '' then source = 'server' end
  relay_emit(ctx.events, ctx.maxlen, 'task', etype, source, tostring(id),
    '{"task":' .. json .. ',"action":' .. cjson.encode(action) .. ',"previousStatus":' .. json_str_or_null(previous) .. '}')
  task_outbox(key, id, json, etype, ctx.now, ctx.cfg, ctx.cb)
  return json
end
