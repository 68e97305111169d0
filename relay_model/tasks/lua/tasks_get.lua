-- Read tasks by id. KEYS: the task hashes. Returns one task json (or false) per key.
--[[include:task_lib]]
local out = {}
for i, key in ipairs(KEYS) do out[i] = task_json(key) or false end
return out
