-- Move a command through its state machine as one compare-and-set, and announce `command.<status>`.
-- Modes: 'patch' (PATCH /api/commands/:id), 'cancel' (DELETE), 'expire' (the reaper, only when due).
--   pending  -> accepted | running | succeeded | failed | rejected | canceled | timed_out
--   accepted -> accepted | running | succeeded | failed | rejected | canceled | timed_out
--   running  -> running | succeeded | failed | canceled | timed_out
--   succeeded, failed, rejected, canceled, timed_out are final: nothing changes them again.
-- Repeating a non-final status (accepted, running) updates result/error without a transition.
-- KEYS: 1 command hash, 2 deadlines zset, 3 finished zset, 4 cmd events
-- ARGV: 1 now, 2 id, 3 mode, 4 status ('' = keep), 5 result json ('' = keep), 6 error given (0/1),
--       7 error text ('' with 6 = 1 clears it), 8 event stream maxlen
-- Returns: {'ok', 1, became final (0/1), command json}, {'ok', 0} when an expiry was not due or the
--          command is gone/final (the reaper skips it), or {'err', code, text}
local FINAL = { succeeded = true, failed = true, rejected = true, canceled = true, timed_out = true }
-- Only a command not yet running can be rejected.
local NEXT = {
  pending = { accepted = true, running = true },
  accepted = { accepted = true, running = true },
  running = { running = true, succeeded = true, failed = true, canceled = true, timed_out = true },
}
for k in pairs(FINAL) do
  NEXT.pending[k] = true
  NEXT.accepted[k] = true
end

local key, id, mode = KEYS[1], ARGV[2], ARGV[3]
local now = tonumber(ARGV[1])
local h = redis.call('HMGET', key, 'doc', 'status', 'target', 'expiresAt', 'source', 'createdAt', 'ttlMs', 'error')
if not h[1] then
  if mode == 'cancel' then return { 'err', '404', 'command not found or cannot be canceled' } end
  if mode == 'expire' then
    redis.call('ZREM', KEYS[2], id)
    return { 'ok', 0 }
  end
  return { 'err', '404', 'command not found' }
end
local current = h[2]
if FINAL[current] then
  if mode == 'cancel' then return { 'err', '404', 'command not found or cannot be canceled' } end
  if mode == 'expire' then
    redis.call('ZREM', KEYS[2], id)
    return { 'ok', 0 }
  end
  return { 'err', '409', 'command is already ' .. current .. '; a finished command cannot change' }
end

local wanted = ARGV[4]
if mode == 'cancel' then
  wanted = 'canceled'
elseif mode == 'expire' then
  local due = tonumber(h[4] or '')
  if not due or due > now then return { 'ok', 0 } end
  wanted = 'timed_out'
end
if wanted == '' then wanted = current end
if not NEXT[current][wanted] then
  if wanted == current then
    return { 'err', '409', 'command is still pending: accept, start or finish it to report a result' }
  end
  return { 'err', '409', 'cannot move command from ' .. current .. ' to ' .. wanted }
end

local created, target = h[6], h[3]
if wanted ~= current then
  redis.call('ZREM', '$CMDS_BY_STATUS$' .. current, id)
  redis.call('ZADD', '$CMDS_BY_STATUS$' .. wanted, created, id)
  redis.call('ZREM', '$CMDS_QUEUE$' .. current .. ':' .. target, id)
  redis.call('ZADD', '$CMDS_QUEUE$' .. wanted .. ':' .. target, created, id)
  redis.call('HSET', key, 'status', wanted)
  if wanted == 'accepted' then redis.call('HSET', key, 'acceptedAt', now) end
  if wanted == 'running' then redis.call('HSET', key, 'startedAt', now) end
end
local final = FINAL[wanted] and 1 or 0
if final == 1 then
  redis.call('HSET', key, 'finishedAt', now)
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[3], now, id)
end
if ARGV[5] ~= '' then redis.call('HSET', key, 'result', ARGV[5]) end
if ARGV[6] == '1' then redis.call('HSET', key, 'error', ARGV[7]) end
if mode == 'expire' and (h[8] == nil or h[8] == false or h[8] == '') then
  redis.call('HSET', key, 'error', 'command timed out: no final status within its ttl of ' .. (h[7] or '?') .. ' ms')
end
redis.call('HSET', key, 'updatedAt', now)

local d = redis.call('HMGET', key, 'status', 'result', 'error', 'updatedAt', 'acceptedAt', 'startedAt', 'finishedAt')
local json = json_extend(h[1], '"status":' .. cjson.encode(d[1]) ..
  ',"result":' .. ((d[2] and d[2] ~= '') and d[2] or 'null') ..
  ',"error":' .. json_str_or_null(d[3]) ..
  ',"updatedAt":' .. num_or_null(d[4]) ..
  ',"acceptedAt":' .. num_or_null(d[5]) ..
  ',"startedAt":' .. num_or_null(d[6]) ..
  ',"finishedAt":' .. num_or_null(d[7]))
redis.call('HSET', key, 'json', json)
relay_emit(KEYS[4], ARGV[8], 'cmd', 'command.' .. wanted, h[5], id, '{"command":' .. json .. '}')
return { 'ok', 1, final, json }
