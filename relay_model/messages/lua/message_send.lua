-- Send a message: de-duplicate, route replies, refuse offline direct targets, store, fan out, announce.
-- KEYS, ARGV and the reply: send_message's (lua/_send_lib.lua).
--[[include:send_lib]]
return send_message(KEYS, ARGV)
