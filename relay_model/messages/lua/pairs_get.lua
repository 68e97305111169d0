-- Read pairs. KEYS: the pair hashes. Returns one pair json (or false) per key.
--[[include:pair_lib]]
local out = {}
for i, key in ipairs(KEYS) do out[i] = pair_json(key) or false end
return out
