-- Recipe instances: every change of an instance and its steps as one compare-and-set, with its event.
-- One script with several operations, so they share the instance JSON builder below.
-- KEYS: 1 instance hash, 2 instances zset, 3 cmd event stream
-- ARGV: 1 op, 2 now, 3 maxlen, 4.. per op:
--   start   4 instance id, 5 doc json, 6 graph json ({roles:[..], steps:[{id,role,action,needs,retries,cont}]}),
--           7 recipe json            -> {'ok', instance json, issued}
--   attach  4 step id, 5 attempt, 6 command id
--                                    -> {'ok', 'attached' | 'late' | 'orphan', instance json}
--   apply   4 step id, 5 attempt, 6 command id, 7 final command status, 8 agent id ('' = none), 9 error
--                                    -> {'ok', outcome, instance json, issued, cancel, shutdown}
--   stop    4 stopped by             -> {'ok', instance json, cancel, shutdown} | {'err', '404'|'400', text}
--   cleanup 4 command ids (comma-separated) -> {'ok', instance json}
--   reissue 4 step id, 5 cutoff ms   -> {'ok', 1, attempt} when the step has been `issuing` since before the
--           cutoff (the node creating its command died) and this caller now owns issuing it; else {'ok', 0, ''}
--   get                              -> {'ok', instance json} | {'err', '404', text}
--   many    (KEYS are instance hashes) -> {'ok', list of instance json, missing ones left out}
-- issued: flat list of step id, attempt pairs whose command the caller must now create and attach.
-- cancel: command ids still open in the instance. shutdown: flat list of role, agent id pairs still alive.
-- Step statuses: waiting -> issuing -> running -> succeeded | failed; canceled when the instance ends first.
local key, op, now, maxlen = KEYS[1], ARGV[1], ARGV[2], ARGV[3]

local function f(step, name) return 's:' .. step .. ':' .. name end

local function list_json(csv)
  if not csv or csv == '' then return '[]' end
  local out = {}
  for item in string.gmatch(csv, '[^,]+') do out[#out + 1] = cjson.encode(item) end
  return '[' .. table.concat(out, ',') .. ']'
end

local function graph() return cjson.decode(redis.call('HGET', key, 'graph')) end

local function instance_json(g)
  local h = redis.call('HMGET', key, 'doc', 'status', 'updatedAt', 'endedAt', 'error', 'stoppedBy', 'cleanup')
  local steps = {}
  for _, s in ipairs(g.steps) do
    local v = redis.call('HMGET', key, f(s.id, 'status'), f(s.id, 'cmds'), f(s.id, 'attempt'),
      f(s.id, 'startedAt'), f(s.id, 'endedAt'), f(s.id, 'error'))
    steps[#steps + 1] = '{"id":' .. cjson.encode(s.id) .. ',"role":' .. cjson.encode(s.role) ..
      ',"action":' .. cjson.encode(s.action) .. ',"status":' .. cjson.encode(v[1]) ..
      ',"commandIds":' .. list_json(v[2]) .. ',"attempt":' .. num_or_null(v[3]) ..
      ',"startedAt":' .. num_or_null(v[4]) .. ',"endedAt":' .. num_or_null(v[5]) ..
      ',"error":' .. json_str_or_null(v[6]) .. '}'
  end
  local agents = {}
  for _, role in ipairs(g.roles) do
    local a = redis.call('HGET', key, 'agent:' .. role)
    if a then agents[#agents + 1] = cjson.encode(role) .. ':' .. cjson.encode(a) end
  end
  return json_extend(h[1], '"status":' .. cjson.encode(h[2]) .. ',"updatedAt":' .. num_or_null(h[3]) ..
    ',"endedAt":' .. num_or_null(h[4]) .. ',"error":' .. json_str_or_null(h[5]) ..
    ',"stoppedBy":' .. json_str_or_null(h[6]) .. ',"steps":[' .. table.concat(steps, ',') .. ']' ..
    ',"agents":{' .. table.concat(agents, ',') .. '},"cleanupCommandIds":' .. list_json(h[7]))
end

local function emit(etype, subject_step, g)
  local json = instance_json(g)
  local data = '{"instance":' .. json
  if subject_step then data = data .. ',"stepId":' .. cjson.encode(subject_step) end
  local id = redis.call('HGET', key, 'id')
  relay_emit(KEYS[3], maxlen, 'cmd', etype, 'recipe', id, data .. '}')
  return json
end

local function set_status(status)
  local id = redis.call('HGET', key, 'id')
  local old = redis.call('HGET', key, 'status')
  local created = redis.call('ZSCORE', KEYS[2], id) or now
  if old then redis.call('ZREM', '$RECIPES_BY_STATUS$' .. old, id) end
  redis.call('ZADD', '$RECIPES_BY_STATUS$' .. status, created, id)
  redis.call('HSET', key, 'status', status, 'updatedAt', now)
  if status ~= 'running' then redis.call('HSET', key, 'endedAt', now) end
end

local function append_cmd(step, cmd)
  local csv = redis.call('HGET', key, f(step, 'cmds')) or ''
  for item in string.gmatch(csv, '[^,]+') do if item == cmd then return end end
  redis.call('HSET', key, f(step, 'cmds'), csv == '' and cmd or (csv .. ',' .. cmd))
end

local function step_done(s)
  local st = redis.call('HGET', key, f(s.id, 'status'))
  return st == 'succeeded' or (st == 'failed' and s.cont)
end

-- Mark every waiting step whose needs are all done as issuing; return them as step, attempt pairs.
local function issue_ready(g)
  local by_id = {}
  for _, s in ipairs(g.steps) do by_id[s.id] = s end
  local issued = {}
  for _, s in ipairs(g.steps) do
    if redis.call('HGET', key, f(s.id, 'status')) == 'waiting' then
      local ready = true
      for _, need in ipairs(s.needs) do
        if not step_done(by_id[need]) then ready = false; break end
      end
      if ready then
        redis.call('HSET', key, f(s.id, 'status'), 'issuing', f(s.id, 'attempt'), 1, f(s.id, 'startedAt'), now,
          f(s.id, 'issuedAt'), now)
        issued[#issued + 1] = s.id
        issued[#issued + 1] = '1'
      end
    end
  end
  return issued
end

local function all_final(g)
  for _, s in ipairs(g.steps) do
    local st = redis.call('HGET', key, f(s.id, 'status'))
    if st ~= 'succeeded' and st ~= 'failed' and st ~= 'canceled' then return false end
  end
  return true
end

-- End the instance early: open steps are canceled; their open commands and the live agents are returned.
local function wind_down(g)
  local cancel, shutdown = {}, {}
  local shut = {}
  for _, s in ipairs(g.steps) do
    local st = redis.call('HGET', key, f(s.id, 'status'))
    if st == 'running' or st == 'issuing' then
      local cmd = redis.call('HGET', key, f(s.id, 'cmd'))
      if cmd then cancel[#cancel + 1] = cmd end
    end
    if st == 'waiting' or st == 'running' or st == 'issuing' then
      redis.call('HSET', key, f(s.id, 'status'), 'canceled', f(s.id, 'endedAt'), now)
    end
    if s.action == 'shutdown' and st == 'succeeded' then shut[s.role] = true end
  end
  for _, role in ipairs(g.roles) do
    local agent = redis.call('HGET', key, 'agent:' .. role)
    if agent and not shut[role] then
      shutdown[#shutdown + 1] = role
      shutdown[#shutdown + 1] = agent
    end
  end
  return cancel, shutdown
end

if op == 'many' then
  local out = {}
  for _, k in ipairs(KEYS) do
    key = k
    if redis.call('EXISTS', key) == 1 then out[#out + 1] = instance_json(graph()) end
  end
  return { 'ok', out }
end

if op == 'start' then
  local id = ARGV[4]
  local g = cjson.decode(ARGV[6])
  redis.call('HSET', key, 'id', id, 'doc', ARGV[5], 'graph', ARGV[6], 'recipe', ARGV[7])
  for _, s in ipairs(g.steps) do redis.call('HSET', key, f(s.id, 'status'), 'waiting') end
  redis.call('ZADD', KEYS[2], now, id)
  set_status('running')
  local issued = issue_ready(g)
  return { 'ok', emit('recipe.started', nil, g), issued }
end

if redis.call('EXISTS', key) == 0 then return { 'err', '404', 'recipe instance not found' } end
local g = graph()

if op == 'get' then return { 'ok', instance_json(g) } end

if op == 'cleanup' then
  local csv = redis.call('HGET', key, 'cleanup') or ''
  redis.call('HSET', key, 'cleanup', csv == '' and ARGV[4] or (csv .. ',' .. ARGV[4]), 'updatedAt', now)
  return { 'ok', instance_json(g) }
end

if op == 'stop' then
  local status = redis.call('HGET', key, 'status')
  if status ~= 'running' then return { 'err', '400', 'recipe instance is not running (' .. status .. ')' } end
  local cancel, shutdown = wind_down(g)
  set_status('stopped')
  redis.call('HSET', key, 'stoppedBy', ARGV[4])
  return { 'ok', emit('recipe.stopped', nil, g), cancel, shutdown }
end

local step, attempt, cmd = ARGV[4], ARGV[5], ARGV[6]
local current_attempt = redis.call('HGET', key, f(step, 'attempt'))
local step_status = redis.call('HGET', key, f(step, 'status'))
if not step_status then return { 'err', '404', 'recipe step not found' } end

if op == 'reissue' then
  if redis.call('HGET', key, 'status') ~= 'running' or step_status ~= 'issuing' then return { 'ok', 0, '' } end
  if tonumber(redis.call('HGET', key, f(step, 'issuedAt')) or '0') > tonumber(ARGV[5]) then return { 'ok', 0, '' } end
  redis.call('HSET', key, f(step, 'issuedAt'), now)
  return { 'ok', 1, current_attempt }
end

if op == 'attach' then
  append_cmd(step, cmd)
  if current_attempt ~= attempt then return { 'ok', 'late', instance_json(g) } end
  if step_status == 'issuing' then
    redis.call('HSET', key, f(step, 'status'), 'running', f(step, 'cmd'), cmd, 'updatedAt', now)
    return { 'ok', 'attached', emit('recipe.step', step, g) }
  end
  if step_status == 'canceled' then return { 'ok', 'orphan', instance_json(g) } end
  -- The command finished before it was attached (a fast agent): apply already moved the step on.
  return { 'ok', 'late', instance_json(g) }
end

if op == 'apply' then
  local final, agent, err = ARGV[7], ARGV[8], ARGV[9]
  if redis.call('HGET', key, 'status') ~= 'running' then return { 'ok', 'ended', instance_json(g), {}, {}, {} } end
  if current_attempt ~= attempt or (step_status ~= 'running' and step_status ~= 'issuing') then
    return { 'ok', 'stale', instance_json(g), {}, {}, {} }
  end
  append_cmd(step, cmd)
  local s
  for _, x in ipairs(g.steps) do if x.id == step then s = x end end
  if final == 'succeeded' then
    redis.call('HSET', key, f(step, 'status'), 'succeeded', f(step, 'endedAt'), now, f(step, 'cmd'), cmd)
    if s.action == 'spawn' and agent ~= '' then redis.call('HSET', key, 'agent:' .. s.role, agent) end
  else
    local text = err ~= '' and err or ('command ' .. final)
    redis.call('HSET', key, f(step, 'error'), text, f(step, 'cmd'), cmd)
    if tonumber(attempt) <= s.retries then
      local next_attempt = tonumber(attempt) + 1
      redis.call('HSET', key, f(step, 'status'), 'issuing', f(step, 'attempt'), next_attempt, f(step, 'issuedAt'), now,
        'updatedAt', now)
      return { 'ok', 'retry', emit('recipe.step', step, g), { step, tostring(next_attempt) }, {}, {} }
    end
    redis.call('HSET', key, f(step, 'status'), 'failed', f(step, 'endedAt'), now)
    if not s.cont then
      local cancel, shutdown = wind_down(g)
      set_status('failed')
      redis.call('HSET', key, 'error', 'step ' .. step .. ' failed: ' .. text)
      return { 'ok', 'failed', emit('recipe.failed', step, g), {}, cancel, shutdown }
    end
  end
  redis.call('HSET', key, 'updatedAt', now)
  emit('recipe.step', step, g)
  local issued = issue_ready(g)
  if #issued == 0 and all_final(g) then
    set_status('succeeded')
    return { 'ok', 'succeeded', emit('recipe.completed', nil, g), {}, {}, {} }
  end
  return { 'ok', 'advanced', instance_json(g), issued, {}, {} }
end

return { 'err', '400', 'unknown operation ' .. op }
