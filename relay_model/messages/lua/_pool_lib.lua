-- Channel binding and pool-slot helpers, included by the binding scripts (--[[include:pool_lib]]).
-- Pool eligibility: an agent is eligible for pool p while its status is online, idle or busy and it
-- carries the tag `pool:p`. A slot stays with its agent while that agent is eligible.

local function binding_json(key)
  local h = redis.call('HMGET', key, 'id', 'channelId', 'type', 'targetId', 'address', 'mode', 'direction',
    'poolAgentId', 'createdAt', 'updatedAt')
  if not h[1] then return nil end
  return '{"id":' .. h[1] .. ',"channelId":' .. cjson.encode(h[2]) .. ',"target":{"type":' .. cjson.encode(h[3]) ..
    ',"id":' .. cjson.encode(h[4]) .. '},"address":' .. cjson.encode(h[5]) .. ',"mode":' .. cjson.encode(h[6]) ..
    ',"direction":' .. cjson.encode(h[7]) .. ',"poolAgentId":' .. json_str_or_null(h[8]) ..
    ',"createdAt":' .. num_or_null(h[9]) .. ',"updatedAt":' .. num_or_null(h[10]) .. '}'
end

local function pool_agent_eligible(agent, pool)
  if not agent or agent == '' then return false end
  local status = redis.call('HGET', '$AGENT$' .. agent, 'status')
  if not status or not LIVE_STATUSES[status] then return false end
  return redis.call('SISMEMBER', '$AGENTS_BY_TAG$pool:' .. pool, agent) == 1
end

-- The agents eligible for `pool`, sorted by id: the pool's tag set intersected with each live status set
-- inside Redis, rather than a status look-up per member of the tag (offline members included).
local function pool_eligible_agents(pool)
  local tag = '$AGENTS_BY_TAG$pool:' .. pool
  local out = {}
  for status in pairs(LIVE_STATUSES) do
    for _, m in ipairs(redis.call('SINTER', tag, '$AGENTS_BY_STATUS$' .. status)) do out[#out + 1] = m end
  end
  table.sort(out)
  return out
end

local function pool_unhold(bid, agent, pctx)
  if not agent or agent == '' then return end
  redis.call('SREM', '$POOL_HELD$' .. agent, bid)
  if redis.call('SCARD', '$POOL_HELD$' .. agent) == 0 then redis.call('SREM', pctx.holders, agent) end
end

-- Check one pool binding (compare-and-set): keep an eligible holder; otherwise give the slot to the
-- eligible agent holding the fewest slots (ties: lowest id), or leave it unclaimed.
-- Emits pool.binding_changed when the holder changes. pctx = {now, events, maxlen, holders, unclaimed}.
-- Returns the change json, or nil when nothing changed.
local function pool_assign(bid, pctx)
  local key = '$BINDING$' .. bid
  local h = redis.call('HMGET', key, 'type', 'targetId', 'poolAgentId', 'channelId')
  if h[1] ~= 'pool' then return nil end
  local pool, current = h[2], h[3] or ''
  if current ~= '' and pool_agent_eligible(current, pool) then return nil end
  local best, best_load = nil, nil
  -- The current holder (if any) is not eligible, so it is not among these.
  for _, m in ipairs(pool_eligible_agents(pool)) do
    local load = redis.call('SCARD', '$POOL_HELD$' .. m)
    if not best or load < best_load then best, best_load = m, load end
  end
  pool_unhold(bid, current, pctx)
  local new = best or ''
  if best then
    redis.call('SADD', '$POOL_HELD$' .. best, bid)
    redis.call('SADD', pctx.holders, best)
    redis.call('SREM', pctx.unclaimed, bid)
  else
    redis.call('SADD', pctx.unclaimed, bid)
  end
  if new == current then return nil end
  redis.call('HSET', key, 'poolAgentId', new, 'updatedAt', pctx.now)
  local change = '{"bindingId":' .. bid .. ',"channelId":' .. cjson.encode(h[4]) .. ',"pool":' .. cjson.encode(pool) ..
    ',"previousAgentId":' .. json_str_or_null(current) .. ',"newAgentId":' .. json_str_or_null(new) .. '}'
  relay_emit(pctx.events, pctx.maxlen, 'bus', 'pool.binding_changed', 'server', tostring(bid), change)
  return change
end
