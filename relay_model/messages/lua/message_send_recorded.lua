-- Send a message and record an activity (audit) entry about it in one call: a new task's `task`
-- message and its "Task created" entry (all their keys are the bus group's, so one cluster slot).
-- KEYS: 1-5 send_message's (lua/_send_lib.lua), 6 activity seq, 7 activity all
-- ARGV: 1-12 send_message's, 13 entry doc (json without id), 14 entry kind, 15 entry agent id ('' = none),
--       16 entry clientId ('' = none)
-- Returns: send_message's reply. The entry is recorded (and `activity.created` emitted after
-- `message.created`) unless the send was refused as bad input (400, which writes nothing): also when
-- the target is offline (422), as a task to an offline agent is still a created task.
--[[include:send_lib]]
local sent = send_message(KEYS, ARGV)
if sent[1] == 'ok' or sent[2] == '422' then
  local entry = add_activity(KEYS[6], KEYS[7], '$ACTIVITY_BY_KIND$', '$ACTIVITY_BY_AGENT$',
    '$ACTIVITY_CLIENT$', '$ACTIVITY$', ARGV[13], ARGV[14], ARGV[15], ARGV[16], ARGV[1])
  if entry then
    relay_emit(KEYS[5], ARGV[11], 'bus', 'activity.created', 'server', ARGV[15], '{"activity":' .. entry .. '}')
  end
end
return sent
