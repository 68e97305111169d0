-- Read agents by id. KEYS: the agent hashes. Returns one agent json (or false) per key.
local out = {}
for i, key in ipairs(KEYS) do out[i] = agent_json(key) or false end
return out
