"""Make records look old without waiting: back-date an agent's heartbeat or a claim's expiry.

Writes the record and its deadline index together, exactly as the Lua scripts keep them, so the
data shape stays real. `index_only=True` moves only the index entry: what a reaper would see had it
read the index just before a heartbeat or renewal landed.
"""

from __future__ import annotations

from redis.asyncio import Redis

from relay_model import keys

LIVE = ("online", "idle", "busy")


async def backdate_agent(redis: Redis, agent_id: str, last_seen: int, *, index_only: bool = False) -> None:
    status = await redis.hget(keys.agent(agent_id), "status")
    pipe = redis.pipeline(transaction=True)
    if not index_only:
        pipe.hset(keys.agent(agent_id), "lastSeen", last_seen)
    if status in LIVE:
        pipe.zadd(keys.agents_live(), {agent_id: last_seen})
    elif status == "stale":
        pipe.zadd(keys.agents_stale(), {agent_id: last_seen})
    await pipe.execute()


async def backdate_claim(redis: Redis, message_id: int, expires_at: int, *, index_only: bool = False) -> None:
    pipe = redis.pipeline(transaction=True)
    if not index_only:
        pipe.hset(keys.message(message_id), "claimExpiresAt", expires_at)
    pipe.zadd(keys.message_claims(), {str(message_id): expires_at})
    await pipe.execute()
