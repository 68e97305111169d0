-- Read messages by key. KEYS: message hashes. Returns one message json (or false) per key.
local out = {}
for i, key in ipairs(KEYS) do out[i] = message_json(key) or false end
return out
