"""Background-work bookkeeping that `/api/health` shows: worker liveness and the reaper's last run.

Worker liveness is per worker: every `WORKER_HEARTBEAT_S` a worker's own loop sets its key
`relay:{sys}:worker:<id>` with a ttl of `WORKER_ALIVE_S` and scores itself (last beat, ms) in the
`relay:{sys}:workers` index, in one pipelined round trip (no MULTI: the relay runs on Redis Cluster
too; both writes are idempotent and the next beat repairs a half-done one). A killed or hung worker
stops refreshing: its key expires and the index read below stops counting it within `WORKER_ALIVE_S`.
`relay worker --check` reads the key (relay_worker/liveness.py).
"""

from __future__ import annotations

from typing import Any

import msgspec
from redis.asyncio import Redis

from relay_model import keys
from relay_model.clock import now_ms

# A worker counts as alive while its last beat is younger than WORKER_ALIVE_S (its key's ttl).
# Index entries older than WORKER_FORGET_S are dropped (a SIGKILLed worker never removes its own).
WORKER_HEARTBEAT_S = 3.0
WORKER_ALIVE_S = 10.0
WORKER_FORGET_S = 300.0


class WorkersHealth(msgspec.Struct, kw_only=True, rename="camel"):
    """`/api/health`'s `workers`: the workers whose own key is live."""

    alive: int
    ids: list[str]
    alive_after_s: float = WORKER_ALIVE_S


class ReaperHealth(msgspec.Struct, kw_only=True, rename="camel"):
    """The last periodic pass (written by the worker that ran it; `POST /api/system/reap` is not counted)."""

    last_run_at: int
    ago_ms: int
    worker_id: str
    slot: int
    duration_ms: float
    interval_s: float
    last_report: dict[str, int]
    last_touched_at: int | None = None


_encode = msgspec.json.Encoder().encode
_decode_counts = msgspec.json.Decoder(dict[str, int]).decode


class MaintenanceStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def worker_heartbeat(self, worker_id: str) -> None:
        now = now_ms()
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(keys.worker_heartbeat(worker_id), now, px=int(WORKER_ALIVE_S * 1000))
        pipe.zadd(keys.workers(), {worker_id: now})
        pipe.zremrangebyscore(keys.workers(), "-inf", now - int(WORKER_FORGET_S * 1000))
        await pipe.execute()

    async def worker_gone(self, worker_id: str) -> None:
        pipe = self.redis.pipeline(transaction=False)
        pipe.delete(keys.worker_heartbeat(worker_id))
        pipe.zrem(keys.workers(), worker_id)
        await pipe.execute()

    async def worker_key_ttl_ms(self, worker_id: str) -> int:
        """What is left of a worker's liveness key (≤ 0: expired or never set)."""
        ttl: int = await self.redis.pttl(keys.worker_heartbeat(worker_id))
        return ttl

    async def workers(self) -> WorkersHealth:
        """Workers whose key is live: the index holds each one's last beat, the key lives WORKER_ALIVE_S after it."""
        ids = await self.redis.zrangebyscore(keys.workers(), now_ms() - int(WORKER_ALIVE_S * 1000), "+inf")
        return WorkersHealth(alive=len(ids), ids=list(ids))

    async def record_reaper_run(
        self,
        *,
        worker_id: str,
        slot: int,
        started_at: int,
        duration_ms: float,
        interval_s: float,
        counts: dict[str, int],
        touched: bool,
    ) -> None:
        mapping: dict[str, Any] = {
            "lastRunAt": started_at,
            "workerId": worker_id,
            "slot": slot,
            "durationMs": round(duration_ms, 2),
            "intervalS": interval_s,
            "lastReport": _encode(counts),
        }
        if touched:
            mapping["lastTouchedAt"] = started_at
        await self.redis.hset(keys.reaper_status(), mapping=mapping)  # type: ignore[misc]

    async def reaper(self) -> ReaperHealth | None:
        h: dict[str, str] = await self.redis.hgetall(keys.reaper_status())  # type: ignore[misc]
        if not h.get("lastRunAt"):
            return None
        last = int(h["lastRunAt"])
        return ReaperHealth(
            last_run_at=last,
            ago_ms=max(0, now_ms() - last),
            worker_id=h.get("workerId", ""),
            slot=int(h.get("slot") or 0),
            duration_ms=float(h.get("durationMs") or 0),
            interval_s=float(h.get("intervalS") or 0),
            last_report=_decode_counts(h.get("lastReport") or "{}"),
            last_touched_at=int(h["lastTouchedAt"]) if h.get("lastTouchedAt") else None,
        )
