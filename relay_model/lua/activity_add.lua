-- Record one activity (audit) entry, de-duplicated by clientId, and announce it.
-- KEYS: 1 activity seq, 2 activity all, 3 bus events
-- ARGV: 1 doc (json without id), 2 kind, 3 agent id ('' = none), 4 clientId ('' = none), 5 now, 6 maxlen
-- Returns: the entry json, or false when the clientId was already recorded
local entry = add_activity(KEYS[1], KEYS[2], '$ACTIVITY_BY_KIND$', '$ACTIVITY_BY_AGENT$',
  '$ACTIVITY_CLIENT$', '$ACTIVITY$', ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
if not entry then return false end
relay_emit(KEYS[3], ARGV[6], 'bus', 'activity.created', 'server', ARGV[3], '{"activity":' .. entry .. '}')
return entry
