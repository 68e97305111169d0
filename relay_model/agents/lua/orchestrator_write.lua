-- Every change to an orchestrator, as one script per call so the stored JSON, the liveness zsets,
-- its own agent card and the `orchestrator.status` event always move together.
-- Modes:
--   'upsert'    register or re-register (status online); ARGV 5..8 set doc and runtime fields
--   'heartbeat' lastSeen = now, back to online; ARGV 6..8 update runtime fields when not ''
--   'agents'    replace the managed-agent list (ARGV 9)
--   'reap'      compare-and-set: online -> stale or stale -> offline (ARGV 11) when lastSeen <= ARGV 10
-- KEYS: 1 orchestrator hash, 2 orchestrators_all, 3 orchestrators_live, 4 orchestrators_stale,
--       5 its agent hash, 6 agents_live, 7 agents_stale, 8 bus events
-- ARGV: 1 now, 2 id, 3 mode, 4 maxlen, 5 doc json, 6 version, 7 protocolVersion, 8 gitSha,
--       9 agents json, 10 reap cutoff, 11 reap status, 12 agent id, 13 api token ('' = none; upsert)
-- Returns: {'ok', changed (0/1; upsert: created), orchestrator json} or {'ok', 0, false} (reap skipped)
--          or {'err', code, text}
local key, id, mode = KEYS[1], ARGV[2], ARGV[3]
local now = tonumber(ARGV[1])
local exists = redis.call('EXISTS', key) == 1
if mode ~= 'upsert' and not exists then
  if mode == 'reap' then
    redis.call('ZREM', KEYS[3], id)
    redis.call('ZREM', KEYS[4], id)
    return { 'ok', 0, false }
  end
  return { 'err', '404', 'orchestrator not found' }
end
local before = redis.call('HGET', key, 'status')
local changed = 0

local function set_status(status)
  redis.call('HSET', key, 'status', status)
  local seen = redis.call('HGET', key, 'lastSeen')
  if status == 'online' then
    redis.call('ZADD', KEYS[3], seen, id)
    redis.call('ZREM', KEYS[4], id)
  elseif status == 'stale' then
    redis.call('ZREM', KEYS[3], id)
    redis.call('ZADD', KEYS[4], seen, id)
  else
    redis.call('ZREM', KEYS[3], id)
    redis.call('ZREM', KEYS[4], id)
  end
end

local function touch_agent()
  -- The orchestrator's own agent card lives as long as the orchestrator does.
  if redis.call('EXISTS', KEYS[5]) == 1 then
    redis.call('HSET', KEYS[5], 'lastSeen', now)
    local was = apply_agent_status(KEYS[5], ARGV[12], 'online', KEYS[6], KEYS[7])
    if was ~= 'online' then
      relay_emit(KEYS[8], ARGV[4], 'bus', 'agent.status', ARGV[12], ARGV[12], '{"agent":' .. agent_json(KEYS[5]) .. '}')
    end
  end
end

local function set_runtime(keep_empty)
  local fields = { 'version', 'protocolVersion', 'gitSha' }
  for i, f in ipairs(fields) do
    local v = ARGV[5 + i]
    if v ~= '' or not keep_empty then redis.call('HSET', key, f, v) end
  end
end

if mode == 'upsert' then
  -- The API token stays out of 'json': only the proxy reads it (OrchestratorStore.api_token).
  redis.call('HSET', key, 'doc', ARGV[5], 'lastSeen', now, 'apiToken', ARGV[13] or '')
  if not exists then
    redis.call('HSET', key, 'registeredAt', now, 'agents', '[]')
    redis.call('ZADD', KEYS[2], now, id)
    changed = 1
  end
  set_runtime(false)
  set_status('online')
  touch_agent()
elseif mode == 'heartbeat' then
  redis.call('HSET', key, 'lastSeen', now)
  set_runtime(true)
  set_status('online')
  touch_agent()
  if before ~= 'online' then changed = 1 end
elseif mode == 'agents' then
  redis.call('HSET', key, 'agents', ARGV[9])
  changed = 1
elseif mode == 'reap' then
  local wanted = ARGV[11]
  local from = wanted == 'stale' and 'online' or 'stale'
  local seen = tonumber(redis.call('HGET', key, 'lastSeen') or '0')
  if before ~= from or seen > tonumber(ARGV[10]) then
    -- Not due (a heartbeat won the race) or already moved on: leave it; fix a stray zset entry.
    if before ~= from then redis.call('ZREM', from == 'online' and KEYS[3] or KEYS[4], id) end
    return { 'ok', 0, false }
  end
  set_status(wanted)
  changed = 1
end

local h = redis.call('HMGET', key, 'doc', 'status', 'lastSeen', 'registeredAt', 'version', 'protocolVersion',
  'gitSha', 'agents')
local json = json_extend(h[1], '"status":' .. cjson.encode(h[2]) ..
  ',"lastSeen":' .. num_or_null(h[3]) ..
  ',"registeredAt":' .. num_or_null(h[4]) ..
  ',"version":' .. json_str_or_null(h[5]) ..
  ',"protocolVersion":' .. num_or_null(h[6]) ..
  ',"gitSha":' .. json_str_or_null(h[7]) ..
  ',"agents":' .. (h[8] or '[]'))
redis.call('HSET', key, 'json', json)
if mode ~= 'heartbeat' or changed == 1 then
  relay_emit(KEYS[8], ARGV[4], 'bus', 'orchestrator.status', id, id, '{"orchestrator":' .. json .. '}')
end
return { 'ok', changed, json }
