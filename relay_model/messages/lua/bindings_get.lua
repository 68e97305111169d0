-- Read bindings. KEYS: the binding hashes. Returns one binding json (or false) per key.
--[[include:pool_lib]]
local out = {}
for i, key in ipairs(KEYS) do out[i] = binding_json(key) or false end
return out
