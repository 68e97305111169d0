-- Sending a message, included by the send scripts (--[[include:send_lib]]).
-- send_message(K, A) sends one: de-duplicate, route replies, refuse offline direct targets, store, fan out, announce.
-- K (KEYS): 1 message seq, 2 idempotency key (unused when A[8] = 0), 3 msgs_all, 4 broadcasts, 5 bus events
-- A (ARGV): 1 now, 2 doc (json object without id/to/threadId), 3 from, 4 to ('' = route to replyTo's sender),
--       5 kind, 6 channel, 7 replyTo ('' = none), 8 has idempotency key (0/1), 9 claimable (0/1),
--       10 may reach offline agents (0/1), 11 maxlen, 12 thread id ('' = the parent's thread, else none)
-- Returns: {'ok', created (0/1), message json} or {'err', code, message}
-- Inboxes: a direct message lands in the target's inbox; `tag:`/`cap:`/`label:` land in the inbox of
-- every agent matching at send time except the sender; `broadcast` is one entry in the broadcast zset
-- that every inbox read merges in (except the sender's), so agents registered later see it too.
local function send_message(K, A)
  local from, to, kind, channel, reply_to = A[3], A[4], A[5], A[6], A[7]
  if A[8] == '1' then
    local existing = redis.call('GET', K[2])
    if existing then
      local json = message_json('$MESSAGE$' .. existing)
      if json then return { 'ok', 0, json } end
    end
  end
  local thread = A[12]
  if reply_to ~= '' then
    local parent = redis.call('HMGET', '$MESSAGE$' .. reply_to, 'from', 'thread')
    -- The seed's applyReplyRouting: without `to`, a reply goes to the parent's sender.
    if to == '' and parent[1] then to = parent[1] end
    if thread == '' then
      if parent[2] and parent[2] ~= '' then thread = parent[2] else thread = reply_to end
    end
  end
  if to == '' then return { 'err', '400', 'to is required (or provide replyTo to auto-route)' } end

  local fanout = nil
  local direct = true
  if to == 'broadcast' then
    direct = false
  elseif string.sub(to, 1, 4) == 'tag:' then
    direct = false; fanout = '$AGENTS_BY_TAG$' .. string.sub(to, 5)
  elseif string.sub(to, 1, 4) == 'cap:' then
    direct = false; fanout = '$AGENTS_BY_CAP$' .. string.sub(to, 5)
  elseif string.sub(to, 1, 6) == 'label:' then
    direct = false; fanout = '$AGENTS_BY_LABEL$' .. string.sub(to, 7)
  end
  if direct and A[10] ~= '1' then
    if redis.call('HGET', '$AGENT$' .. to, 'status') == 'offline' then
      return { 'err', '422', 'agent "' .. to .. '" is offline' }
    end
  end

  local id = redis.call('INCR', K[1])
  local doc = '{"id":' .. id .. ',"to":' .. cjson.encode(to) .. ',"threadId":' .. num_or_null(thread) .. ',' ..
    string.sub(A[2], 2)
  local key = '$MESSAGE$' .. id
  redis.call('HSET', key, 'doc', doc, 'from', from, 'to', to, 'kind', kind, 'channel', channel,
    'claimable', A[9], 'thread', thread)
  redis.call('ZADD', K[3], id, id)
  redis.call('ZADD', '$MESSAGES_BY_FROM$' .. from, id, id)
  redis.call('ZADD', '$MESSAGES_BY_TO$' .. to, id, id)
  redis.call('ZADD', '$MESSAGES_BY_KIND$' .. kind, id, id)
  if channel ~= '' then redis.call('ZADD', '$MESSAGES_BY_CHANNEL$' .. channel, id, id) end
  if to == 'broadcast' then
    redis.call('ZADD', K[4], id, id)
  elseif fanout then
    for _, member in ipairs(redis.call('SMEMBERS', fanout)) do
      if member ~= from then redis.call('ZADD', '$INBOX$' .. member, id, id) end
    end
  else
    redis.call('ZADD', '$INBOX$' .. to, id, id)
  end
  if A[8] == '1' then redis.call('SET', K[2], id) end
  -- What message_json(key) would read back: a new message is unclaimed.
  local json = json_extend(doc, '"claimedBy":null,"claimedAt":null,"claimExpiresAt":null')
  relay_emit(K[5], A[11], 'bus', 'message.created', from, tostring(id), '{"message":' .. json .. '}')
  return { 'ok', 1, json }
end
