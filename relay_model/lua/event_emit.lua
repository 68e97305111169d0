-- Emit one event on behalf of Python code that changed nothing else in this group.
-- KEYS: 1 group event stream. ARGV: 1 group, 2 type, 3 source, 4 subject, 5 data json, 6 maxlen
-- Returns: the stream id
return relay_emit(KEYS[1], ARGV[6], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
