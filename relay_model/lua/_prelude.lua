-- Shared helpers, prepended to every script when it is loaded (Redis 6.2 has no function libraries).
-- Keys built here are always `prefix .. id`, where the prefix is a key template marker that the
-- loader (relay_model/scripts.py) replaces with the prefix relay_model.keys builds, so they stay in
-- the caller's hash-tag slot.

-- Append one event to the group's capped stream and announce it on the events channel.
-- Returns the stream id. The channel payload is `group \n id \n type \n source \n subject \n data`
-- with source and subject JSON-encoded: they are ids chosen by clients and may hold a newline.
local function relay_emit(stream, maxlen, group, etype, source, subject, data)
  local id = redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*',
    't', etype, 's', source, 'j', subject, 'd', data)
  redis.call('PUBLISH', '__EVENTS_CHANNEL__', group .. '\n' .. id .. '\n' .. etype .. '\n' ..
    cjson.encode(source) .. '\n' .. cjson.encode(subject) .. '\n' .. data)
  return id
end

local function json_str_or_null(v)
  if v == nil or v == false or v == '' then return 'null' end
  return cjson.encode(v)
end

local function num_or_null(v)
  if v == nil or v == false or v == '' then return 'null' end
  return v
end

-- Splice extra `"k":v` pairs (already encoded) into a JSON object string.
local function json_extend(doc, extra)
  if extra == '' then return doc end
  local body = string.sub(doc, 1, -2)
  if body == '{' then return body .. extra .. '}' end
  return body .. ',' .. extra .. '}'
end

-- The agent as the wire sees it: the static card plus the fields scripts change.
local function agent_json(key)
  local h = redis.call('HMGET', key, 'card', 'status', 'lastSeen', 'registeredAt', 'sessionId',
    'sessionStartedAt', 'label', 'tags', 'caps', 'kind')
  if not h[1] then return nil end
  local extra = '"kind":' .. cjson.encode(h[10]) ..
    ',"status":' .. cjson.encode(h[2]) ..
    ',"label":' .. json_str_or_null(h[7]) ..
    ',"tags":' .. h[8] ..
    ',"capabilities":' .. h[9] ..
    ',"lastSeen":' .. num_or_null(h[3]) ..
    ',"registeredAt":' .. num_or_null(h[4]) ..
    ',"sessionId":' .. json_str_or_null(h[5]) ..
    ',"sessionStartedAt":' .. num_or_null(h[6])
  return json_extend(h[1], extra)
end

-- The message as the wire sees it: the stored document plus its claim state.
local function message_json(key)
  local h = redis.call('HMGET', key, 'doc', 'claimedBy', 'claimedAt', 'claimExpiresAt')
  if not h[1] then return nil end
  return json_extend(h[1], '"claimedBy":' .. json_str_or_null(h[2]) ..
    ',"claimedAt":' .. num_or_null(h[3]) .. ',"claimExpiresAt":' .. num_or_null(h[4]))
end

-- Record an activity (audit) entry unless its clientId was seen; returns the entry JSON or nil.
-- doc is the entry without its id; idx_kind/idx_agent are the index key prefixes.
local function add_activity(seq_key, all_key, kind_prefix, agent_prefix, client_prefix, act_prefix,
                            doc, kind, agent_id, client_id, created_at)
  if client_id ~= '' then
    if redis.call('EXISTS', client_prefix .. client_id) == 1 then return nil end
  end
  local id = redis.call('INCR', seq_key)
  local entry = '{"id":' .. id .. ',' .. string.sub(doc, 2)
  redis.call('SET', act_prefix .. id, entry)
  redis.call('ZADD', all_key, id, id)
  redis.call('ZADD', kind_prefix .. kind, id, id)
  if agent_id ~= '' then redis.call('ZADD', agent_prefix .. agent_id, id, id) end
  if client_id ~= '' then redis.call('SET', client_prefix .. client_id, id, 'EX', 86400) end
  return entry
end

-- Record a `state` activity entry about agent `id` (the seed's agent audit) and announce it.
-- metadata is encoded JSON (or 'null'); `events`/`maxlen` are the bus stream and its cap.
local function audit_agent_state(seq_key, all_key, events, maxlen, id, title, body, icon, metadata, client_id, now)
  local jid = cjson.encode(id)
  local doc = '{"kind":"state","title":' .. cjson.encode(title) .. ',"body":' .. cjson.encode(body) ..
    ',"meta":' .. jid .. ',"icon":' .. cjson.encode(icon) .. ',"view":"chat","agentId":' .. jid ..
    ',"messageId":null,"metadata":' .. metadata .. ',"clientId":' .. cjson.encode(client_id) ..
    ',"createdAt":' .. now .. '}'
  local entry = add_activity(seq_key, all_key, '$ACTIVITY_BY_KIND$', '$ACTIVITY_BY_AGENT$',
    '$ACTIVITY_CLIENT$', '$ACTIVITY$', doc, 'state', id, client_id, now)
  if entry then
    relay_emit(events, maxlen, 'bus', 'activity.created', 'server', id, '{"activity":' .. entry .. '}')
  end
end

local LIVE_STATUSES = { online = true, idle = true, busy = true }

-- Put an agent into `status`, keeping the status index sets and the liveness zsets in step.
-- Untracked agents (user, system) never enter the liveness zsets, so the reaper never sees them.
local function apply_agent_status(key, id, status, live_key, stale_key)
  local old = redis.call('HGET', key, 'status')
  if old and old ~= status then redis.call('SREM', '$AGENTS_BY_STATUS$' .. old, id) end
  redis.call('SADD', '$AGENTS_BY_STATUS$' .. status, id)
  redis.call('HSET', key, 'status', status)
  if redis.call('HGET', key, 'tracked') ~= '1' then return old end
  local seen = tonumber(redis.call('HGET', key, 'lastSeen') or '0')
  if LIVE_STATUSES[status] then
    redis.call('ZADD', live_key, seen, id)
    redis.call('ZREM', stale_key, id)
  elseif status == 'stale' then
    redis.call('ZREM', live_key, id)
    redis.call('ZADD', stale_key, seen, id)
  else
    redis.call('ZREM', live_key, id)
    redis.call('ZREM', stale_key, id)
  end
  return old
end

-- Session guard: a request that carries an older session than the agent's current one is refused.
-- Returns nil when the request may proceed, else an error reply table.
local function check_session(key, session_id, started_at)
  if session_id == '' then return nil end
  local h = redis.call('HMGET', key, 'sessionId', 'sessionStartedAt')
  if not h[1] or h[1] == '' or h[1] == session_id then return nil end
  local current = tonumber(h[2] or '0') or 0
  local incoming = tonumber(started_at) or 0
  if incoming > current then
    -- A newer session than the one on record: adopt it.
    redis.call('HSET', key, 'sessionId', session_id, 'sessionStartedAt', incoming)
    return nil
  end
  return { 'err', '409', 'agent session is stale: a newer session is registered' }
end

local function set_index_members(prefix, id, old_list, new_list)
  for _, v in ipairs(old_list) do redis.call('SREM', prefix .. v, id) end
  for _, v in ipairs(new_list) do redis.call('SADD', prefix .. v, id) end
end

-- The reaper's scan of a deadline zset: at most `limit` members scored at or before `cutoff`, each
-- handed to `visit(id)`, which re-checks the member's own record and answers true when it changed
-- it. Returns `{examined, id, ...}` (the shape relay_model.reaper.drain reads): every examined member
-- leaves the due range (changed, re-scored or dropped), so a caller looping until a batch comes back
-- short ends.
local function reap_due(zset, cutoff, limit, visit)
  local due = redis.call('ZRANGEBYSCORE', zset, '-inf', cutoff, 'LIMIT', 0, tonumber(limit))
  local out = { #due }
  for _, id in ipairs(due) do
    if visit(id) then out[#out + 1] = id end
  end
  return out
end
